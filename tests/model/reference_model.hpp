// The randomized model test's reference model of PRODUCT.md's rules, written here and sharing
// nothing with src/engine: the rules as this test reads them, and the world they act on.
#pragma once

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace evoucher::testing::model {

using json = nlohmann::json;
using i64 = long long;

__extension__ typedef __int128 Wide;

// floor(amount * numerator / denominator), the one rounding rule.
inline i64 part_of(i64 amount, i64 numerator, i64 denominator) {
  const Wide product = static_cast<Wide>(amount) * numerator;
  Wide quotient = product / denominator;
  if (product % denominator != 0 && product < 0) --quotient;
  return static_cast<i64>(quotient);
}

struct City {
  std::vector<std::pair<i64, int>> brackets;  // {up_to, rate_bp}
  i64 ceiling;
  std::vector<std::pair<i64, int>> tiers;  // {over, percent_of_rate}
  std::set<std::string> no_voucher, no_cashback;
  int split_national, split_city;
  i64 load_limit, balance_cap;
  int refund_pct;
  json to_json() const {
    json b = json::array(), t = json::array();
    for (auto [u, r] : brackets) b.push_back({{"up_to", u}, {"rate_bp", r}});
    for (auto [o, p] : tiers) t.push_back({{"over", o}, {"percent_of_rate", p}});
    return {{"brackets", b},
            {"revenue_ceiling", ceiling},
            {"revenue_tiers", t},
            {"excluded_categories", {{"voucher", no_voucher}, {"cashback", no_cashback}}},
            {"funding_split", {{"national", split_national}, {"city", split_city}}},
            {"monthly_load_limit", load_limit},
            {"balance_cap", balance_cap},
            {"refund_min_used_pct", refund_pct}};
  }
};
struct DistrictRule {
  int topup_bp, fee_bp;
};

// Instants are Unix seconds; business dates and months are Seoul's (UTC+9).
inline std::string iso(i64 t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}
inline std::string seoul_date(i64 t) { return iso(t + 9 * 3600).substr(0, 10); }
inline std::string seoul_month(i64 t) { return iso(t + 9 * 3600).substr(0, 7); }

struct Version {
  i64 from;
  i64 id = 0;  // the service's id, once posted
};
struct CityVersion : Version {
  City rules;
};
struct DistrictVersion : Version {
  std::string district;
  DistrictRule rules;
};

struct Merchant {
  std::string id, district, category;
  i64 revenue;
  std::string benefit;  // "", "pre_discount", "merchant_cashback"
  int rate = 0;
  bool active = true;
};

struct Earned {
  i64 eligible = 0, city = 0, district = 0, merchant = 0, fee = 0;
};

struct Payment {
  std::string id, member, district;
  Merchant merchant;  // the terms at payment time
  const CityVersion* city = nullptr;
  const DistrictVersion* dpol = nullptr;
  i64 at = 0;
  i64 charged = 0, paid_cash = 0, paid_points = 0, eligible_before = 0;
  i64 cancelled = 0, refunded_cash = 0;
  Earned earned;
  bool posted = false;
  i64 posted_nat = 0, posted_cty = 0, posted_dist = 0, posted_merch = 0;
};

struct Member {
  std::string id, district, card;
  bool card_active = true;
  i64 cash = 0, points = 0, loaded_total = 0, refunded_total = 0;
  std::map<std::string, i64> month_loaded, month_eligible;
};

struct Pool {
  std::string source;
  i64 id = 0, budget, drawn = 0;
};

inline Earned earnings(i64 charged, i64 eligible_before, const Merchant& m, const std::string& card_district,
                const City& c, const DistrictVersion* d) {
  Earned e;
  if (m.revenue <= c.ceiling && !c.no_cashback.count(m.category)) {
    const i64 cap = c.brackets.back().first;
    e.eligible = std::min(charged, std::max<i64>(0, cap - eligible_before));
    int percent = 100;
    i64 best = -1;
    for (auto [over, pct] : c.tiers)
      if (over < m.revenue && over > best) best = over, percent = pct;
    i64 lower = 0;
    for (auto [up_to, rate] : c.brackets) {
      const i64 from = std::max(lower, eligible_before), to = std::min(up_to, eligible_before + e.eligible);
      if (to > from) e.city += part_of(to - from, static_cast<i64>(rate) * percent, 1'000'000);
      lower = up_to;
    }
  }
  if (d && !m.benefit.empty() && m.district == card_district) {
    e.district = part_of(e.eligible, d->rules.topup_bp, 10'000);
    e.fee = part_of(charged, d->rules.fee_bp, 10'000);
  }
  if (m.benefit == "merchant_cashback") e.merchant = part_of(charged, m.rate, 10'000);
  return e;
}

}  // namespace evoucher::testing::model
