// Set-based statements for a group of money movements, so a group costs the same number of round
// trips whatever its size. Writes take their rows as one JSON array (json_to_recordset). Lookups
// take one array per key column and join their unnest to the table: the generic plan is a nested
// loop of primary-key probes, pruned to one partition per row at run time.
#include "evoucher/store/money_path.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "pq.hpp"

namespace evoucher::store {
namespace {

using json = nlohmann::json;

const Statement kFindCards{
    "mp_find_cards",
    "SELECT c.token, c.member_id, c.status, m.district FROM cards c JOIN members m ON m.id = c.member_id "
    "WHERE c.token = ANY($1::text[])"};
const Statement kFindMerchants{
    "mp_find_merchants",
    "SELECT id, business_no, name, district, category, annual_revenue, status, benefit_kind, benefit_rate_bp "
    "FROM merchants WHERE id = ANY($1::text[])"};
const Statement kPaymentMembers{
    "mp_payment_members",
    "SELECT district, id, member_id FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) "
    "JOIN payments ON district = x.d AND id = x.pid"};
// NO KEY UPDATE: it serialises money movements, yet lets cards that reference the member be added.
const Statement kLockMembers{
    "mp_lock_members", "SELECT id FROM members WHERE id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE"};
const Statement kBalances{
    "mp_balances",
    "SELECT district, key, balance FROM unnest($1::text[], $2::text[]) AS x(d, k) "
    "JOIN accounts ON district = x.d AND key = x.k"};
const Statement kMonths{
    "mp_months",
    "SELECT district, member_id, month::text, loaded, eligible_spent "
    "FROM unnest($1::text[], $2::text[], $3::date[]) AS x(d, mid, m) "
    "JOIN member_months ON district = x.d AND member_id = x.mid AND month = x.m"};
const Statement kKeys{
    "mp_keys",
    "SELECT district, key, request_hash, status, answer FROM unnest($1::text[], $2::text[]) AS x(d, k) "
    "JOIN idempotency_keys ON district = x.d AND key = x.k"};
const Statement kPolicyVersions{
    "mp_policy_versions",
    "SELECT id, scope, to_char(effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM policies"};
const Statement kTakeIds{
    "mp_take_ids",
    "SELECT nextval('operation_id_seq'), nextval('journal_id_seq') FROM generate_series(1, $1)"};
const Statement kOpenAccounts{
    "mp_open_accounts",
    "INSERT INTO accounts (district, key, normal, min_balance) "
    "SELECT x.district, x.key, x.normal, x.min_balance "
    "  FROM json_to_recordset($1::json) AS x(district text, key text, normal smallint, min_balance bigint) "
    " WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.district = x.district AND a.key = x.key) "
    "ON CONFLICT (district, key) DO NOTHING"};
// A posting to an unknown account inserts a NULL account_id, which NOT NULL refuses.
const Statement kInsertJournals{
    "mp_insert_journals",
    "WITH j AS (INSERT INTO journals (district, id, kind, occurred_at, reference) "
    "           SELECT x.district, x.id, x.kind, x.occurred_at, NULLIF(x.reference, '') "
    "             FROM json_to_recordset($1::json) AS x(district text, id bigint, kind text, "
    "                                                   occurred_at timestamptz, reference text)) "
    "INSERT INTO entries (district, journal_id, seq, account_id, amount) "
    "SELECT x.district, x.journal, x.seq, a.id, x.amount "
    "  FROM json_to_recordset($2::json) AS x(district text, journal bigint, seq smallint, key text, amount bigint) "
    "  LEFT JOIN accounts a ON a.district = x.district AND a.key = x.key"};
const Statement kInsertPayments{
    "mp_insert_payments",
    "INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district, "
    "merchant_category, merchant_revenue, benefit_kind, benefit_rate_bp, channel, price, discount, charged, "
    "paid_points, paid_cash, eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, "
    "fee_support, city_policy_id, district_policy_id, occurred_at, business_date, journal_id) "
    "SELECT * FROM json_to_recordset($1::json) AS x(district text, id bigint, event_id text, card_token text, "
    "member_id text, merchant_id text, merchant_district text, merchant_category text, merchant_revenue bigint, "
    "benefit_kind text, benefit_rate_bp integer, channel text, price bigint, discount bigint, charged bigint, "
    "paid_points bigint, paid_cash bigint, eligible_before bigint, eligible bigint, city_cashback bigint, "
    "district_cashback bigint, merchant_cashback bigint, fee_support bigint, city_policy_id bigint, "
    "district_policy_id bigint, occurred_at timestamptz, business_date date, journal_id bigint)"};
const std::string kMoneyRowsSql =
    " (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
    "SELECT * FROM json_to_recordset($1::json) AS x(district text, id bigint, member_id text, amount bigint, "
    "bank_ref text, occurred_at timestamptz, journal_id bigint)";
const Statement kInsertLoads{"mp_insert_loads", "INSERT INTO loads" + kMoneyRowsSql};
const Statement kInsertRefunds{"mp_insert_refunds", "INSERT INTO refunds" + kMoneyRowsSql};
const Statement kInsertKeys{
    "mp_insert_keys",
    "INSERT INTO idempotency_keys (district, key, request_hash, status, answer) "
    "SELECT * FROM json_to_recordset($1::json) AS x(district text, key text, request_hash text, status smallint, "
    "answer text)"};
const Statement kAddMonths{
    "mp_add_months",
    "INSERT INTO member_months AS m (district, member_id, month, loaded, eligible_spent) "
    "SELECT * FROM json_to_recordset($1::json) AS x(district text, member text, month date, loaded bigint, "
    "eligible bigint) "
    "ON CONFLICT (district, member_id, month) DO UPDATE SET loaded = m.loaded + EXCLUDED.loaded, "
    "eligible_spent = m.eligible_spent + EXCLUDED.eligible_spent"};
// A month that falls (a cancellation) was raised before, so its row is there; an upsert would
// check the negative proposed row against the table's CHECKs before finding the conflict.
const Statement kLowerMonths{
    "mp_lower_months",
    "UPDATE member_months m SET loaded = m.loaded + x.loaded, eligible_spent = m.eligible_spent + x.eligible "
    "FROM json_to_recordset($1::json) AS x(district text, member text, month date, loaded bigint, eligible bigint) "
    "WHERE m.district = x.district AND m.member_id = x.member AND m.month = x.month"};

// Built on first use: kPaymentColumns lives in another translation unit.
const Statement& lock_payments_statement() {
  static const Statement st{
      "mp_lock_payments",
      "SELECT " + kPaymentColumns +
          ", cashback_posted_at IS NOT NULL, national_pool_id, city_pool_id, district_pool_id, "
          "posted_national, posted_city, posted_district, posted_merchant "
          "FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) JOIN payments ON district = x.d AND id = x.pid "
          "ORDER BY district, id FOR UPDATE OF payments"};
  return st;
}

// Each distinct pair once, as two parallel array literals.
std::pair<std::string, std::string> columns(const std::vector<std::pair<std::string, std::string>>& pairs) {
  const std::set<std::pair<std::string, std::string>> unique(pairs.begin(), pairs.end());
  std::vector<std::string> a, b;
  for (const auto& [x, y] : unique) {
    a.push_back(x);
    b.push_back(y);
  }
  return {text_array(a), text_array(b)};
}

std::pair<std::string, std::string> columns(const std::vector<std::pair<std::string, std::int64_t>>& pairs) {
  const std::set<std::pair<std::string, std::int64_t>> unique(pairs.begin(), pairs.end());
  std::vector<std::string> a;
  std::vector<long long> b;
  for (const auto& [x, y] : unique) {
    a.push_back(x);
    b.push_back(y);
  }
  return {text_array(a), bigint_array(b)};
}

json optional_json(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

template <typename... Args>
pqxx::result run_mapped(Tx& tx, const Statement& st, Args&&... args) {
  return with_unavailable_mapped([&] { return run(tx, st, std::forward<Args>(args)...); });
}

}  // namespace

std::vector<Card> find_cards(Tx& tx, const std::vector<std::string>& tokens) {
  std::vector<Card> out;
  for (const auto& r : run_mapped(tx, kFindCards, text_array(tokens)))
    out.push_back({r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>()});
  return out;
}

std::vector<Merchant> find_merchants(Tx& tx, const std::vector<std::string>& ids) {
  std::vector<Merchant> out;
  for (const auto& r : run_mapped(tx, kFindMerchants, text_array(ids)))
    out.push_back(Merchant{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>(),
                           r[3].as<std::string>(), r[4].as<std::string>(), won(r[5]), r[6].as<std::string>(),
                           opt<std::string>(r[7]), opt<int>(r[8])});
  return out;
}

std::map<std::pair<std::string, std::int64_t>, std::string> payment_members(
    Tx& tx, const std::vector<std::pair<std::string, std::int64_t>>& payments) {
  std::map<std::pair<std::string, std::int64_t>, std::string> out;
  const auto [districts, ids] = columns(payments);
  for (const auto& r : run_mapped(tx, kPaymentMembers, districts, ids))
    out[{r[0].as<std::string>(), r[1].as<std::int64_t>()}] = r[2].as<std::string>();
  return out;
}

void lock_members(Tx& tx, std::vector<std::string> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  run_mapped(tx, kLockMembers, text_array(ids));
}

std::map<DistrictKey, Won> account_balances(Tx& tx, const std::vector<DistrictKey>& accounts) {
  std::map<DistrictKey, Won> out;
  const auto [districts, keys] = columns(accounts);
  for (const auto& r : run_mapped(tx, kBalances, districts, keys))
    out[{r[0].as<std::string>(), r[1].as<std::string>()}] = won(r[2]);
  return out;
}

std::map<MonthKey, MonthTotals> member_months(Tx& tx, const std::vector<MonthKey>& months) {
  const std::set<MonthKey> unique(months.begin(), months.end());
  std::vector<std::string> districts, members, firsts;
  for (const auto& m : unique) {
    districts.push_back(m.district);
    members.push_back(m.member);
    firsts.push_back(m.month);
  }
  std::map<MonthKey, MonthTotals> out;
  for (const auto& r : run_mapped(tx, kMonths, text_array(districts), text_array(members), text_array(firsts)))
    out[{r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()}] = {won(r[3]), won(r[4])};
  return out;
}

std::map<DistrictKey, StoredKey> stored_keys(Tx& tx, const std::vector<DistrictKey>& keys) {
  std::map<DistrictKey, StoredKey> out;
  const auto [districts, names] = columns(keys);
  for (const auto& r : run_mapped(tx, kKeys, districts, names)) {
    StoredKey k{r[2].as<std::string>(), r[3].is_null() ? 0 : r[3].as<int>(),
                r[4].is_null() ? std::string() : r[4].as<std::string>()};
    out[{r[0].as<std::string>(), r[1].as<std::string>()}] = std::move(k);
  }
  return out;
}

std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<std::pair<std::string, std::int64_t>>& payments) {
  std::vector<PaymentRow> out;
  const auto [districts, ids] = columns(payments);
  for (const auto& r : run_mapped(tx, lock_payments_statement(), districts, ids)) {
    PaymentRow row;
    row.record = payment_from_row(r);
    row.posted.posted = r[30].as<bool>();
    row.posted.pools = {opt<std::int64_t>(r[31]), opt<std::int64_t>(r[32]), opt<std::int64_t>(r[33])};
    row.posted.amounts = {won(r[34]), won(r[35]), won(r[36]), won(r[37])};
    out.push_back(std::move(row));
  }
  return out;
}

std::vector<PolicyVersion> policy_versions(Tx& tx) {
  std::vector<PolicyVersion> out;
  for (const auto& r : run_mapped(tx, kPolicyVersions))
    out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), parse_rfc3339(r[2].as<std::string>()).value()});
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> take_ids(Tx& tx, int n) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  if (n <= 0) return out;
  for (const auto& r : run_mapped(tx, kTakeIds, n)) out.emplace_back(r[0].as<std::int64_t>(), r[1].as<std::int64_t>());
  return out;
}

void open_accounts(Tx& tx, const std::vector<std::pair<std::string, AccountSpec>>& accounts) {
  if (accounts.empty()) return;
  json rows = json::array();
  for (const auto& [district, spec] : accounts)
    rows.push_back({{"district", district},
                    {"key", spec.key},
                    {"normal", static_cast<int>(spec.normal)},
                    {"min_balance", spec.min_balance ? json(spec.min_balance->value()) : json(nullptr)}});
  run_mapped(tx, kOpenAccounts, rows.dump());
}

void insert_journals(Tx& tx, const std::vector<JournalRow>& journals) {
  if (journals.empty()) return;
  json heads = json::array();
  json lines = json::array();
  for (const auto& j : journals) {
    if (j.postings.size() < 2 || engine::imbalance(j.postings) != Won(0))
      throw std::logic_error("journal " + j.reference + " does not balance");
    heads.push_back({{"district", j.district},
                     {"id", j.id},
                     {"kind", j.kind},
                     {"occurred_at", format_rfc3339(j.occurred_at)},
                     {"reference", j.reference}});
    int seq = 0;
    for (const auto& p : j.postings)
      lines.push_back(
          {{"district", j.district}, {"journal", j.id}, {"seq", ++seq}, {"key", p.account}, {"amount", p.amount.value()}});
  }
  run_mapped(tx, kInsertJournals, heads.dump(), lines.dump());
}

void insert_payments(Tx& tx, const std::vector<PaymentRecord>& payments) {
  if (payments.empty()) return;
  json rows = json::array();
  for (const auto& p : payments)
    rows.push_back({{"district", p.district},
                    {"id", p.id},
                    {"event_id", p.event_id},
                    {"card_token", p.card_token},
                    {"member_id", p.member},
                    {"merchant_id", p.merchant},
                    {"merchant_district", p.merchant_district},
                    {"merchant_category", p.merchant_category},
                    {"merchant_revenue", p.merchant_revenue.value()},
                    {"benefit_kind", p.benefit_kind ? json(*p.benefit_kind) : json(nullptr)},
                    {"benefit_rate_bp", p.benefit_rate_bp ? json(*p.benefit_rate_bp) : json(nullptr)},
                    {"channel", p.channel},
                    {"price", p.price.value()},
                    {"discount", p.discount.value()},
                    {"charged", p.charged.value()},
                    {"paid_points", p.paid_points.value()},
                    {"paid_cash", p.paid_cash.value()},
                    {"eligible_before", p.eligible_before.value()},
                    {"eligible", p.eligible.value()},
                    {"city_cashback", p.city_cashback.value()},
                    {"district_cashback", p.district_cashback.value()},
                    {"merchant_cashback", p.merchant_cashback.value()},
                    {"fee_support", p.fee_support.value()},
                    {"city_policy_id", optional_json(p.city_policy_id)},
                    {"district_policy_id", optional_json(p.district_policy_id)},
                    {"occurred_at", format_rfc3339(p.occurred_at)},
                    {"business_date", p.business_date},
                    {"journal_id", p.journal_id}});
  run_mapped(tx, kInsertPayments, rows.dump(-1, ' ', false, json::error_handler_t::replace));
}

namespace {
void insert_money_rows(Tx& tx, const Statement& st, const std::vector<MoneyRecord>& records) {
  if (records.empty()) return;
  json rows = json::array();
  for (const auto& m : records)
    rows.push_back({{"district", m.district},
                    {"id", m.id},
                    {"member_id", m.member},
                    {"amount", m.amount.value()},
                    {"bank_ref", m.bank_ref},
                    {"occurred_at", format_rfc3339(m.occurred_at)},
                    {"journal_id", m.journal_id}});
  run_mapped(tx, st, rows.dump(-1, ' ', false, json::error_handler_t::replace));
}
}  // namespace

void insert_loads(Tx& tx, const std::vector<MoneyRecord>& loads) { insert_money_rows(tx, kInsertLoads, loads); }
void insert_refunds(Tx& tx, const std::vector<MoneyRecord>& refunds) { insert_money_rows(tx, kInsertRefunds, refunds); }

void insert_keys(Tx& tx, const std::vector<KeyRow>& keys) {
  if (keys.empty()) return;
  json rows = json::array();
  for (const auto& k : keys)
    rows.push_back({{"district", k.district},
                    {"key", k.key},
                    {"request_hash", k.request_hash},
                    {"status", k.status},
                    {"answer", k.answer}});
  run_mapped(tx, kInsertKeys, rows.dump(-1, ' ', false, json::error_handler_t::replace));
}

void add_to_months(Tx& tx, const std::vector<MonthDelta>& deltas) {
  json raised = json::array();
  json lowered = json::array();
  for (const auto& d : deltas) {
    if (d.loaded == Won(0) && d.eligible_spent == Won(0)) continue;
    json row{{"district", d.month.district},
             {"member", d.month.member},
             {"month", d.month.month},
             {"loaded", d.loaded.value()},
             {"eligible", d.eligible_spent.value()}};
    (d.loaded < Won(0) || d.eligible_spent < Won(0) ? lowered : raised).push_back(std::move(row));
  }
  if (!raised.empty()) run_mapped(tx, kAddMonths, raised.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!lowered.empty()) run_mapped(tx, kLowerMonths, lowered.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace evoucher::store
