// Set-based statements for a group of money movements. Lookups take one array per key column
// and probe the table once per element through a LATERAL subquery. Its LIMIT 1 (or its row lock)
// keeps the planner from flattening it into a join, so the plan stays a nested loop of key probes
// whatever the statistics say (a table analyzed while empty was otherwise read whole for every
// row), pruned to one partition per row at run time.
// Results come back as JSON arrays, one per kind of fact, and writes take their rows as JSON
// arrays (json_to_recordset).
#include "evoucher/store/money_path.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "pq.hpp"

namespace evoucher::store {
namespace {

using json = nlohmann::json;

// The columns of a payment row, in the order payment_from_row reads them.
const std::string kPaymentColumns =
    "p.district, p.id, p.event_id, p.card_token, p.member_id, p.merchant_id, p.merchant_district, "
    "p.merchant_category, p.merchant_revenue, p.benefit_kind, p.benefit_rate_bp, p.channel, p.price, p.discount, "
    "p.charged, p.paid_points, p.paid_cash, p.eligible_before, p.eligible, p.city_cashback, p.district_cashback, "
    "p.merchant_cashback, p.fee_support, p.cancelled, p.refunded_cash, p.city_policy_id, p.district_policy_id, "
    "to_char(p.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), p.business_date::text, "
    "p.journal_id";


const Statement kLockMembers{
    "mp_lock_members",
    "WITH found_cards AS ( "
    "  SELECT c.* FROM unnest($1::text[]) AS x(token) CROSS JOIN LATERAL ( "
    "    SELECT c.token, c.member_id, c.status, m.district FROM cards c JOIN members m ON m.id = c.member_id "
    "     WHERE c.token = x.token LIMIT 1) c), "
    "found_payments AS ( "
    "  SELECT p.* FROM unnest($2::text[], $3::bigint[]) AS x(d, pid) CROSS JOIN LATERAL ( "
    "    SELECT district, id, member_id FROM payments WHERE district = x.d AND id = x.pid LIMIT 1) p), "
    // Locked one by one in id order. NO KEY UPDATE serialises money movements, yet lets cards that
    // reference the member be added.
    "locked AS ( "
    "  SELECT l.id FROM (SELECT member_id FROM found_cards UNION SELECT member_id FROM found_payments "
    "                    UNION SELECT unnest($4::text[]) ORDER BY 1) o(id) "
    "  CROSS JOIN LATERAL (SELECT id FROM members WHERE id = o.id FOR NO KEY UPDATE) l) "
    "SELECT (SELECT count(*) FROM locked), "
    "       (SELECT coalesce(json_agg(json_build_array(token, member_id, status, district)), '[]') FROM found_cards), "
    "       (SELECT coalesce(json_agg(json_build_array(district, id, member_id)), '[]') FROM found_payments)"};

const Statement kFacts{
    "mp_facts",
    "SELECT "
    " (SELECT coalesce(json_agg(json_build_array(id, business_no, name, district, category, annual_revenue, status, "
    "                                            benefit_kind, benefit_rate_bp)), '[]') "
    "    FROM unnest($1::text[]) AS x(mid) CROSS JOIN LATERAL (SELECT * FROM merchants WHERE id = x.mid LIMIT 1) m), "
    " (SELECT coalesce(json_agg(json_build_array(id, scope, "
    "          to_char(effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') FROM policies), "
    " (SELECT coalesce(json_agg(json_build_array(a.district, a.key, a.balance)), '[]') "
    "    FROM unnest($2::text[], $3::text[]) AS x(d, k) "
    "    CROSS JOIN LATERAL (SELECT district, key, balance FROM accounts WHERE district = x.d AND key = x.k LIMIT 1) a), "
    " (SELECT coalesce(json_agg(json_build_array(m.district, m.member_id, m.month::text, m.loaded, m.eligible_spent)), "
    "                  '[]') "
    "    FROM unnest($4::text[], $5::text[], $6::date[]) AS x(d, mid, mo) "
    "    CROSS JOIN LATERAL (SELECT * FROM member_months WHERE district = x.d AND member_id = x.mid AND month = x.mo "
    "                        LIMIT 1) m), "
    " (SELECT coalesce(json_agg(json_build_array(ik.district, ik.key, ik.request_hash, ik.status, ik.answer)), '[]') "
    "    FROM unnest($7::text[], $8::text[]) AS x(d, k) "
    "    CROSS JOIN LATERAL (SELECT * FROM idempotency_keys WHERE district = x.d AND key = x.k LIMIT 1) ik), "
    " (SELECT coalesce(json_agg(json_build_array(nextval('operation_id_seq'), nextval('journal_id_seq'))), '[]') "
    "    FROM generate_series(1, $9)), "
    " (SELECT coalesce(json_agg(json_build_array(pe.endpoint, pe.event_id, pe.request_hash, pe.status, pe.answer)), "
    "                  '[]') "
    "    FROM unnest($10::text[], $11::text[]) AS x(ep, ev) "
    "    CROSS JOIN LATERAL (SELECT * FROM processor_events WHERE endpoint = x.ep AND event_id = x.ev LIMIT 1) pe), "
    " (SELECT coalesce(json_agg(json_build_array(x.d, x.mid, "
    "          to_char(greatest(l.at, r.at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') "
    "    FROM unnest($12::text[], $13::text[]) AS x(d, mid) "
    "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM loads WHERE district = x.d AND member_id = x.mid) l "
    "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM refunds WHERE district = x.d AND member_id = x.mid) r "
    "   WHERE greatest(l.at, r.at) IS NOT NULL)"};

const std::string kEventColumns =
    "endpoint, event_id, request_hash, status, answer, decision, reason, district, card_token, member_id, "
    "merchant_id, amount, occurred_at, operation";
const std::string kEventRecordset =
    "x(endpoint text, event_id text, request_hash text, status smallint, answer text, decision text, reason text, "
    "district text, card_token text, member_id text, merchant_id text, amount bigint, occurred_at timestamptz, "
    "operation text)";

const Statement kFindEvent{
    "mp_find_event",
    "SELECT request_hash, status, answer FROM processor_events WHERE endpoint = $1 AND event_id = $2"};
const Statement kLockEvent{
    "mp_lock_event", "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))"};
const Statement kInsertEvent{
    "mp_insert_event", "INSERT INTO processor_events (" + kEventColumns + ") SELECT * FROM json_to_recordset($1::json) AS " +
                           kEventRecordset};

const Statement kOpenAccounts{
    "mp_open_accounts",
    "INSERT INTO accounts (district, key, normal, min_balance) "
    "SELECT x.district, x.key, x.normal, x.min_balance "
    "  FROM json_to_recordset($1::json) AS x(district text, key text, normal smallint, min_balance bigint) "
    "ON CONFLICT (district, key) DO NOTHING"};

// A posting to an unknown account inserts a NULL account_id, which NOT NULL refuses. A month
// that falls (a cancellation) was raised before, so its row is there; an upsert would check the
// negative proposed row against the table's CHECKs before finding the conflict.
const Statement kWriteGroup{
    "mp_write_group",
    "WITH j AS (INSERT INTO journals (district, id, kind, occurred_at, reference) "
    "  SELECT x.district, x.id, x.kind, x.occurred_at, NULLIF(x.reference, '') "
    "    FROM json_to_recordset($1::json) AS x(district text, id bigint, kind text, occurred_at timestamptz, "
    "                                          reference text)), "
    "e AS (INSERT INTO entries (district, journal_id, seq, account_id, amount) "
    "  SELECT x.district, x.journal, x.seq, a.id, x.amount "
    "    FROM json_to_recordset($2::json) AS x(district text, journal bigint, seq smallint, key text, amount bigint) "
    "    LEFT JOIN LATERAL (SELECT id FROM accounts WHERE district = x.district AND key = x.key LIMIT 1) a ON true), "
    "p AS (INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district, "
    "  merchant_category, merchant_revenue, benefit_kind, benefit_rate_bp, channel, price, discount, charged, "
    "  paid_points, paid_cash, eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, "
    "  fee_support, city_policy_id, district_policy_id, occurred_at, business_date, journal_id) "
    "  SELECT * FROM json_to_recordset($3::json) AS x(district text, id bigint, event_id text, card_token text, "
    "  member_id text, merchant_id text, merchant_district text, merchant_category text, merchant_revenue bigint, "
    "  benefit_kind text, benefit_rate_bp integer, channel text, price bigint, discount bigint, charged bigint, "
    "  paid_points bigint, paid_cash bigint, eligible_before bigint, eligible bigint, city_cashback bigint, "
    "  district_cashback bigint, merchant_cashback bigint, fee_support bigint, city_policy_id bigint, "
    "  district_policy_id bigint, occurred_at timestamptz, business_date date, journal_id bigint)), "
    "l AS (INSERT INTO loads (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
    "  SELECT * FROM json_to_recordset($4::json) AS x(district text, id bigint, member_id text, amount bigint, "
    "  bank_ref text, occurred_at timestamptz, journal_id bigint)), "
    "r AS (INSERT INTO refunds (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
    "  SELECT * FROM json_to_recordset($5::json) AS x(district text, id bigint, member_id text, amount bigint, "
    "  bank_ref text, occurred_at timestamptz, journal_id bigint)), "
    "k AS (INSERT INTO idempotency_keys (district, key, request_hash, status, answer) "
    "  SELECT * FROM json_to_recordset($6::json) AS x(district text, key text, request_hash text, status smallint, "
    "  answer text)), "
    "mu AS (INSERT INTO member_months AS m (district, member_id, month, loaded, eligible_spent) "
    "  SELECT * FROM json_to_recordset($7::json) AS x(district text, member text, month date, loaded bigint, "
    "  eligible bigint) "
    "  ON CONFLICT (district, member_id, month) DO UPDATE SET loaded = m.loaded + EXCLUDED.loaded, "
    "  eligible_spent = m.eligible_spent + EXCLUDED.eligible_spent), "
    "ml AS (UPDATE member_months m SET loaded = m.loaded + x.loaded, eligible_spent = m.eligible_spent + x.eligible "
    "  FROM json_to_recordset($8::json) AS x(district text, member text, month date, loaded bigint, eligible bigint) "
    "  WHERE m.district = x.district AND m.member_id = x.member AND m.month = x.month), "
    "ev AS (INSERT INTO processor_events (" + kEventColumns + ") "
    "  SELECT * FROM json_to_recordset($9::json) AS " + kEventRecordset + ") "
    "SELECT 1"};

const Statement kLockPayments{
    "mp_lock_payments",
    "SELECT " + kPaymentColumns +
        ", k.payment_id IS NOT NULL, k.national_pool_id, k.city_pool_id, k.district_pool_id, "
        "coalesce(k.posted_national, 0), coalesce(k.posted_city, 0), coalesce(k.posted_district, 0), "
        "coalesce(k.posted_merchant, 0) "
        "FROM (SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1, 2) AS x(d, pid) "
        "CROSS JOIN LATERAL (SELECT * FROM payments WHERE district = x.d AND id = x.pid FOR UPDATE) p "
        "LEFT JOIN LATERAL (SELECT * FROM cashback_postings WHERE district = p.district "
        "                   AND business_date = p.business_date AND payment_id = p.id LIMIT 1) k ON true"};

const Statement kLockPools{
    "mp_lock_pools", "SELECT id FROM pools WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"};

PaymentRecord payment_from_row(const pqxx::row& r) {
  PaymentRecord p;
  p.district = r[0].as<std::string>();
  p.id = r[1].as<std::int64_t>();
  p.event_id = r[2].as<std::string>();
  p.card_token = r[3].as<std::string>();
  p.member = r[4].as<std::string>();
  p.merchant = r[5].as<std::string>();
  p.merchant_district = r[6].as<std::string>();
  p.merchant_category = r[7].as<std::string>();
  p.merchant_revenue = won(r[8]);
  if (!r[9].is_null()) p.benefit_kind = r[9].as<std::string>();
  if (!r[10].is_null()) p.benefit_rate_bp = r[10].as<int>();
  p.channel = r[11].as<std::string>();
  p.price = won(r[12]);
  p.discount = won(r[13]);
  p.charged = won(r[14]);
  p.paid_points = won(r[15]);
  p.paid_cash = won(r[16]);
  p.eligible_before = won(r[17]);
  p.eligible = won(r[18]);
  p.city_cashback = won(r[19]);
  p.district_cashback = won(r[20]);
  p.merchant_cashback = won(r[21]);
  p.fee_support = won(r[22]);
  p.cancelled = won(r[23]);
  p.refunded_cash = won(r[24]);
  if (!r[25].is_null()) p.city_policy_id = r[25].as<std::int64_t>();
  if (!r[26].is_null()) p.district_policy_id = r[26].as<std::int64_t>();
  p.occurred_at = parse_rfc3339(r[27].as<std::string>()).value();
  p.business_date = r[28].as<std::string>();
  p.journal_id = r[29].as<std::int64_t>();
  return p;
}


// Each distinct pair once, as two parallel array literals.
template <typename Second>
std::pair<std::string, std::string> columns(const std::vector<std::pair<std::string, Second>>& pairs) {
  const std::set<std::pair<std::string, Second>> unique(pairs.begin(), pairs.end());
  std::vector<std::string> a;
  std::vector<Second> b;
  for (const auto& [x, y] : unique) {
    a.push_back(x);
    b.push_back(y);
  }
  if constexpr (std::is_same_v<Second, std::string>) {
    return {text_array(a), text_array(b)};
  } else {
    return {text_array(a), bigint_array({b.begin(), b.end()})};
  }
}

std::string distinct_array(const std::vector<std::string>& values) {
  const std::set<std::string> unique(values.begin(), values.end());
  return text_array({unique.begin(), unique.end()});
}

json parsed(const pqxx::field& f) { return json::parse(f.c_str()); }

std::optional<std::string> text_or_null(const json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<std::string>();
}

json optional_json(const std::optional<std::int64_t>& v) { return v ? json(*v) : json(nullptr); }

std::string dump(const json& rows) { return rows.dump(-1, ' ', false, json::error_handler_t::replace); }

template <typename... Args>
pqxx::result run_mapped(Tx& tx, const Statement& st, Args&&... args) {
  return with_unavailable_mapped([&] { return run(tx, st, std::forward<Args>(args)...); });
}

json payment_json(const PaymentRecord& p) {
  return {{"district", p.district},
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
          {"journal_id", p.journal_id}};
}

json event_json(const EventRow& e) {
  auto text = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"endpoint", e.endpoint},
          {"event_id", e.event_id},
          {"request_hash", e.request_hash},
          {"status", e.status},
          {"answer", e.answer},
          {"decision", e.decision},
          {"reason", text(e.reason)},
          {"district", text(e.district)},
          {"card_token", text(e.card)},
          {"member_id", text(e.member)},
          {"merchant_id", text(e.merchant)},
          {"amount", e.amount ? json(e.amount->value()) : json(nullptr)},
          {"occurred_at", e.occurred_at ? json(format_rfc3339(*e.occurred_at)) : json(nullptr)},
          {"operation", text(e.operation)}};
}

json money_rows(const std::vector<MoneyRecord>& records) {
  json rows = json::array();
  for (const auto& m : records)
    rows.push_back({{"district", m.district},
                    {"id", m.id},
                    {"member_id", m.member},
                    {"amount", m.amount.value()},
                    {"bank_ref", m.bank_ref},
                    {"occurred_at", format_rfc3339(m.occurred_at)},
                    {"journal_id", m.journal_id}});
  return rows;
}

}  // namespace

Locked lock_members(Tx& tx, const LockRequest& request) {
  const auto [districts, ids] = columns(request.payments);
  const auto row = run_mapped(tx, kLockMembers, distinct_array(request.card_tokens), districts, ids,
                              distinct_array(request.members))
                       .at(0);
  Locked out;
  for (const auto& c : parsed(row[1]))
    out.cards.push_back({c[0].get<std::string>(), c[1].get<std::string>(), c[2].get<std::string>(),
                         c[3].get<std::string>()});
  for (const auto& p : parsed(row[2]))
    out.payment_members[{p[0].get<std::string>(), p[1].get<std::int64_t>()}] = p[2].get<std::string>();
  return out;
}

Facts read_facts(Tx& tx, const FactsRequest& request) {
  const auto [account_districts, account_keys] = columns(request.accounts);
  const std::set<MonthKey> months(request.months.begin(), request.months.end());
  std::vector<std::string> month_districts, month_members, month_firsts;
  for (const auto& m : months) {
    month_districts.push_back(m.district);
    month_members.push_back(m.member);
    month_firsts.push_back(m.month);
  }
  const auto [key_districts, key_names] = columns(request.keys);
  const auto [event_endpoints, event_ids] = columns(request.events);
  const auto [member_districts, member_ids] = columns(request.members);
  const auto row = run_mapped(tx, kFacts, distinct_array(request.merchants), account_districts, account_keys,
                              text_array(month_districts), text_array(month_members), text_array(month_firsts),
                              key_districts, key_names, request.ids, event_endpoints, event_ids, member_districts,
                              member_ids)
                       .at(0);
  Facts out;
  for (const auto& m : parsed(row[0]))
    out.merchants.push_back(Merchant{m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<std::string>(),
                                     m[3].get<std::string>(), m[4].get<std::string>(), Won(m[5].get<std::int64_t>()),
                                     m[6].get<std::string>(), text_or_null(m[7]),
                                     m[8].is_null() ? std::nullopt : std::optional<int>(m[8].get<int>())});
  for (const auto& v : parsed(row[1]))
    out.versions.push_back(
        {v[0].get<std::int64_t>(), v[1].get<std::string>(), parse_rfc3339(v[2].get<std::string>()).value()});
  for (const auto& a : parsed(row[2]))
    out.balances[{a[0].get<std::string>(), a[1].get<std::string>()}] = Won(a[2].get<std::int64_t>());
  for (const auto& m : parsed(row[3]))
    out.months[{m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<std::string>()}] = {
        Won(m[3].get<std::int64_t>()), Won(m[4].get<std::int64_t>())};
  for (const auto& k : parsed(row[4]))
    out.keys[{k[0].get<std::string>(), k[1].get<std::string>()}] = {
        k[2].get<std::string>(), k[3].is_null() ? 0 : k[3].get<int>(), k[4].is_null() ? "" : k[4].get<std::string>()};
  for (const auto& i : parsed(row[5])) out.ids.emplace_back(i[0].get<std::int64_t>(), i[1].get<std::int64_t>());
  for (const auto& e : parsed(row[6]))
    out.events[{e[0].get<std::string>(), e[1].get<std::string>()}] = {e[2].get<std::string>(), e[3].get<int>(),
                                                                      e[4].get<std::string>()};
  for (const auto& m : parsed(row[7]))
    out.latest_money[{m[0].get<std::string>(), m[1].get<std::string>()}] = parse_rfc3339(m[2].get<std::string>()).value();
  return out;
}

std::optional<StoredKey> find_event(Tx& tx, const EventKey& key) {
  const auto rows = run_mapped(tx, kFindEvent, key.first, key.second);
  if (rows.empty()) return std::nullopt;
  return StoredKey{rows[0][0].as<std::string>(), rows[0][1].as<int>(), rows[0][2].as<std::string>()};
}

void lock_event(Tx& tx, const EventKey& key) { run_mapped(tx, kLockEvent, key.first, key.second); }

void insert_event(Tx& tx, const EventRow& event) {
  run_mapped(tx, kInsertEvent, dump(json::array({event_json(event)})));
}

std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<PaymentKey>& payments) {
  std::vector<PaymentRow> out;
  if (payments.empty()) return out;
  const auto [districts, ids] = columns(payments);
  for (const auto& r : run_mapped(tx, kLockPayments, districts, ids)) {
    PaymentRow row;
    row.record = payment_from_row(r);
    row.posted.posted = r[30].as<bool>();
    row.posted.pools = {opt<std::int64_t>(r[31]), opt<std::int64_t>(r[32]), opt<std::int64_t>(r[33])};
    row.posted.amounts = {won(r[34]), won(r[35]), won(r[36]), won(r[37])};
    out.push_back(std::move(row));
  }
  return out;
}

void lock_pools(Tx& tx, const std::vector<std::int64_t>& pool_ids) {
  if (pool_ids.empty()) return;
  run_mapped(tx, kLockPools, bigint_array({pool_ids.begin(), pool_ids.end()}));
}

void open_accounts(Tx& tx, const std::vector<std::pair<std::string, AccountSpec>>& accounts) {
  if (accounts.empty()) return;
  json rows = json::array();
  for (const auto& [district, spec] : accounts)
    rows.push_back({{"district", district},
                    {"key", spec.key},
                    {"normal", static_cast<int>(spec.normal)},
                    {"min_balance", spec.min_balance ? json(spec.min_balance->value()) : json(nullptr)}});
  run_mapped(tx, kOpenAccounts, dump(rows));
}

void write_group(Tx& tx, const GroupWrites& w) {
  json heads = json::array(), lines = json::array(), payments = json::array(), keys = json::array();
  json raised = json::array(), lowered = json::array(), events = json::array();
  for (const auto& e : w.events) events.push_back(event_json(e));
  for (const auto& j : w.journals) {
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
  for (const auto& p : w.payments) payments.push_back(payment_json(p));
  for (const auto& k : w.keys)
    keys.push_back({{"district", k.district},
                    {"key", k.key},
                    {"request_hash", k.request_hash},
                    {"status", k.status},
                    {"answer", k.answer}});
  for (const auto& d : w.months) {
    if (d.loaded == Won(0) && d.eligible_spent == Won(0)) continue;
    json row{{"district", d.month.district},
             {"member", d.month.member},
             {"month", d.month.month},
             {"loaded", d.loaded.value()},
             {"eligible", d.eligible_spent.value()}};
    (d.loaded < Won(0) || d.eligible_spent < Won(0) ? lowered : raised).push_back(std::move(row));
  }
  run_mapped(tx, kWriteGroup, dump(heads), dump(lines), dump(payments), dump(money_rows(w.loads)),
             dump(money_rows(w.refunds)), dump(keys), dump(raised), dump(lowered), dump(events));
  record_audit(tx, w.audits);
}

}  // namespace evoucher::store
