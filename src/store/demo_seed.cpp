// Seeds the districts, policies, pools, merchants, members and cards of the demo.
#include "evoucher/store/demo_seed.hpp"

#include "evoucher/store/pools.hpp"
#include "evoucher/store/districts.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/store/programs.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/store/ledger.hpp"

namespace evoucher::store {
namespace {

constexpr const char* kCityRules = R"({
  "brackets": [{"up_to": 500000, "rate_bp": 1000}, {"up_to": 1000000, "rate_bp": 100}],
  "revenue_ceiling": 3000000000,
  "revenue_tiers": [],
  "excluded_categories": {"voucher": ["department_store", "large_mart", "entertainment", "gambling"], "cashback": []},
  "funding_split": {"national": 4, "city": 2},
  "monthly_load_limit": 1000000,
  "balance_cap": 2000000,
  "refund_min_used_pct": 60
})";

constexpr const char* kBupyeongRules = R"({"topup_bp": 200, "fee_support_bp": 50})";

struct DemoMerchant {
  const char* id;
  const char* business_no;
  const char* name;
  const char* district;
  const char* category;
  long long revenue;
  const char* benefit_kind;  // nullptr: not 혜택+
  int benefit_bp;
};

const DemoMerchant kMerchants[] = {
    {"bp-bakery", "122-81-00001", "부평 베이커리", "bupyeong", "bakery", 100'000'000, "pre_discount", 500},
    {"bp-cafe", "122-81-00002", "부평 카페", "bupyeong", "cafe", 80'000'000, nullptr, 0},
    {"bp-market", "122-81-00003", "부평 종합시장 정육점", "bupyeong", "butcher", 250'000'000, "merchant_cashback", 200},
    {"bp-mart", "122-81-00004", "부평 대형마트", "bupyeong", "large_mart", 90'000'000'000, nullptr, 0},
    {"ys-books", "131-81-00001", "연수 서점", "yeonsu", "bookstore", 500'000'000, "merchant_cashback", 300},
    {"ys-diner", "131-81-00002", "연수 식당", "yeonsu", "restaurant", 400'000'000, "pre_discount", 300},
    {"ys-clinic", "131-81-00003", "연수 의원", "yeonsu", "clinic", 4'000'000'000, nullptr, 0},
};

struct DemoMember {
  const char* id;
  const char* district;
  const char* card;
};

const DemoMember kMembers[] = {
    {"m1", "bupyeong", "c1"}, {"m2", "bupyeong", "c2"}, {"m3", "yeonsu", "c3"}, {"m4", "city", "c4"}};

}  // namespace

bool seed_demo(Connection& connection) {
  Tx tx(connection);
  if (find_district(tx, "bupyeong")) return false;
  create_district(tx, {"city", "인천광역시", "인천e음"});
  create_district(tx, {"bupyeong", "부평구", "부평e음"});
  create_district(tx, {"yeonsu", "연수구", "연수e음"});
  const auto march = parse_rfc3339("2020-03-01T00:00:00+09:00").value();
  create_policy(tx, "city", march, kCityRules);
  create_policy(tx, "bupyeong", march, kBupyeongRules);
  create_pool(tx, "national", "2020-01-01", "2020-12-31", Won(40'000'000'000));
  create_pool(tx, "city", "2020-01-01", "2020-12-31", Won(20'000'000'000));
  create_pool(tx, "district:bupyeong", "2020-01-01", "2020-12-31", Won(1'000'000'000));
  for (const auto& m : kMerchants) {
    Merchant merchant{m.id, m.business_no, m.name, m.district, m.category, Won(m.revenue), MerchantStatus::active, std::nullopt,
                      std::nullopt, std::nullopt};
    if (m.benefit_kind) {
      merchant.benefit_kind = m.benefit_kind;
      merchant.benefit_rate_bp = m.benefit_bp;
    }
    create_merchant(tx, merchant);
  }
  for (const auto& m : kMembers) {
    create_member(tx, {m.id, m.district});
    create_card(tx, m.card, m.id);
  }
  tx.commit();
  return true;
}

bool seed_demo_relief(Connection& connection) {
  Tx tx(connection);
  if (find_program(tx, "relief-2020")) return false;
  Program relief{"relief-2020", "2020 재난지원금", "bupyeong",   "district", 0, "2020-05-11", "2020-08-31",
                 "2020-08-31",  std::nullopt,      true};
  relief = create_program(tx, relief, Won(10'000'000)).second;
  const auto granted_at = parse_rfc3339("2020-05-11T09:00:00+09:00").value();
  open_account(tx, "bupyeong", {accounts::pool_drawn(relief.pool_id), Normal::debit, std::nullopt});
  std::vector<std::pair<std::string, std::string>> wallets;
  for (const auto& m : kMembers)
    if (std::string(m.district) == "bupyeong") wallets.emplace_back(m.district, m.id);
  open_wallets(tx, relief.id, wallets);
  std::vector<GrantRow> grants;
  for (const auto& [district, member] : wallets) {
    const auto posted = post_journal(tx, {district, "grant", granted_at, "grant " + relief.id,
                                          engine::grant_postings(relief.id, relief.pool_id, member, Won(100'000))});
    if (!posted.journal_id) throw std::runtime_error("the demo's relief grant was refused: " + posted.detail);
    grants.push_back({district, member, Won(100'000), *posted.journal_id});
  }
  insert_grants(tx, relief.id, grants);
  tx.commit();
  return true;
}

}  // namespace evoucher::store
