// Set-based statements for a group of money movements. Lookups take one array per key column
// and probe the table once per element through a LATERAL subquery. Its LIMIT 1 (or its row lock)
// keeps the planner from flattening it into a join, so the plan stays a nested loop of key probes
// whatever the statistics say (a table analyzed while empty was otherwise read whole for every
// row), pruned to one partition per row at run time.
// Results come back as JSON arrays, one per kind of fact; writes take their rows as one array
// parameter per column (unnest).
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
    "p.journal_id, p.cashback_forfeited, p.paid_program, p.refunded_program";


// Each money-path statement comes in variants: a group of payments alone does not name the
// tables only cancellations, loads and refunds need. With generic plans, PostgreSQL 15 locks and
// opens every partition of every table a statement names, on every execution, even when its
// arrays are empty.

// Parameters numbered in the order a statement's text asks for them.
class Params {
 public:
  std::string add(const std::string& type) { return "$" + std::to_string(++count_) + "::" + type; }

 private:
  int count_ = 0;
};

std::string lock_members_sql(bool payments) {
  Params p;
  // Each parameter is numbered in its own statement: the operands of one `+` chain are unsequenced.
  const auto cards = p.add("text[]");
  std::string sql =
      "WITH found_cards AS ( "
      "  SELECT c.* FROM unnest(" + cards + ") AS x(token) CROSS JOIN LATERAL ( "
      "    SELECT c.token, c.member_id, c.status, m.district FROM cards c JOIN members m ON m.id = c.member_id "
      "     WHERE c.token = x.token LIMIT 1) c), ";
  if (payments) {
    const auto districts = p.add("text[]");
    const auto ids = p.add("bigint[]");
    sql += "found_payments AS ( "
           "  SELECT p.* FROM unnest(" + districts + ", " + ids + ") AS x(d, pid) "
           "  CROSS JOIN LATERAL (SELECT district, id, member_id FROM payments WHERE district = x.d AND id = x.pid "
           "                      LIMIT 1) p), ";
  }
  const auto members = p.add("text[]");
  // Locked one by one in id order. NO KEY UPDATE serialises money movements, yet lets cards that
  // reference the member be added.
  sql += "locked AS ( "
         "  SELECT l.id FROM (SELECT member_id FROM found_cards " +
         std::string(payments ? "UNION SELECT member_id FROM found_payments " : "") +
         "                    UNION SELECT unnest(" + members + ") ORDER BY 1) o(id) "
         "  CROSS JOIN LATERAL (SELECT id FROM members WHERE id = o.id FOR NO KEY UPDATE) l) "
         "SELECT (SELECT count(*) FROM locked), "
         "       (SELECT coalesce(json_agg(json_build_array(token, member_id, status, district)), '[]') "
         "          FROM found_cards), ";
  sql += payments ? "(SELECT coalesce(json_agg(json_build_array(district, id, member_id)), '[]') FROM found_payments)"
                  : "'[]'::json";
  return sql;
}

const Statement kLockMembers{"mp_lock_members", lock_members_sql(false)};
const Statement kLockMembersAndPayments{"mp_lock_members_payments", lock_members_sql(true)};

// A fact only loads and refunds read, probed by two text arrays (`before` arrays `after`); a
// group without them reads an empty list and names neither the table nor the parameters.
std::string admin_fact(bool admin, Params& p, const std::string& before, const std::string& after) {
  if (!admin) return " '[]'::json";
  const auto first = p.add("text[]");
  const auto second = p.add("text[]");
  return before + first + ", " + second + after;
}

// The fraud counters of each (district, member, business date) asked for.
std::string days_fact(Params& p) {
  const auto districts = p.add("text[]");
  const auto members = p.add("text[]");
  const auto dates = p.add("date[]");
  return ", (SELECT coalesce(json_agg(json_build_array(c.district, c.member_id, c.business_date::text, c.merchants, "
         "          c.counts, c.cards, c.times_ms)), '[]') "
         "    FROM unnest(" + districts + ", " + members + ", " + dates + ") AS x(d, mid, day) "
         "    CROSS JOIN LATERAL (SELECT * FROM payment_counters WHERE district = x.d AND member_id = x.mid "
         "                        AND business_date = x.day LIMIT 1) c)";
}

// `admin`: loads and refunds, which also read idempotency keys and each member's latest load or
// refund.
std::string facts_sql(bool admin) {
  Params p;
  const auto merchants = p.add("text[]");
  const auto account_districts = p.add("text[]");
  const auto account_keys = p.add("text[]");
  const auto month_districts = p.add("text[]");
  const auto month_members = p.add("text[]");
  const auto month_firsts = p.add("date[]");
  std::string sql =
      "SELECT "
      " (SELECT coalesce(json_agg(json_build_array(id, business_no, name, district, category, annual_revenue, "
      "          status, benefit_kind, benefit_rate_bp, owner_member)), '[]') "
      "    FROM unnest(" + merchants + ") AS x(mid) "
      "    CROSS JOIN LATERAL (SELECT * FROM merchants WHERE id = x.mid LIMIT 1) m), "
      " (SELECT coalesce(json_agg(json_build_array(id, scope, "
      "          to_char(effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') "
      "    FROM policies), "
      " (SELECT coalesce(json_agg(json_build_array(a.district, a.key, a.balance, a.id)), '[]') "
      "    FROM unnest(" + account_districts + ", " + account_keys + ") AS x(d, k) "
      "    CROSS JOIN LATERAL (SELECT district, key, balance, id FROM accounts WHERE district = x.d AND key = x.k "
      "                        LIMIT 1) a), "
      " (SELECT coalesce(json_agg(json_build_array(m.district, m.member_id, m.month::text, m.loaded, "
      "          m.eligible_spent)), '[]') "
      "    FROM unnest(" + month_districts + ", " + month_members + ", " + month_firsts + ") AS x(d, mid, mo) "
      "    CROSS JOIN LATERAL (SELECT * FROM member_months WHERE district = x.d AND member_id = x.mid "
      "                        AND month = x.mo LIMIT 1) m), ";
  sql += admin_fact(admin, p,
                    " (SELECT coalesce(json_agg(json_build_array(ik.district, ik.key, ik.request_hash, ik.status, "
                    "          ik.answer)), '[]') "
                    "    FROM unnest(",
                    ") AS x(d, k) "
                    "    CROSS JOIN LATERAL (SELECT * FROM idempotency_keys WHERE district = x.d AND key = x.k "
                    "                        LIMIT 1) ik)") +
         ", ";
  const auto ids = p.add("integer");
  const auto endpoints = p.add("text[]");
  const auto events = p.add("text[]");
  sql += " (SELECT coalesce(json_agg(json_build_array(nextval('operation_id_seq'), nextval('journal_id_seq'))), '[]') "
         "    FROM generate_series(1, " + ids + ")), "
         " (SELECT coalesce(json_agg(json_build_array(pe.endpoint, pe.event_id, pe.request_hash, pe.status, "
         "          pe.answer)), '[]') "
         "    FROM unnest(" + endpoints + ", " + events + ") AS x(ep, ev) "
         "    CROSS JOIN LATERAL (SELECT * FROM processor_events WHERE endpoint = x.ep AND event_id = x.ev "
         "                        LIMIT 1) pe), ";
  sql += admin_fact(admin, p,
                          " (SELECT coalesce(json_agg(json_build_array(x.d, x.mid, "
                          "          to_char(greatest(l.at, r.at) AT TIME ZONE 'UTC', "
                          "                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') "
                          "    FROM unnest(",
                          ") AS x(d, mid) "
                          "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM loads WHERE district = x.d "
                          "                        AND member_id = x.mid) l "
                          "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM refunds WHERE district = x.d "
                          "                        AND member_id = x.mid) r "
                          "   WHERE greatest(l.at, r.at) IS NOT NULL)");
  sql += days_fact(p);  // numbered after every parameter above
  const auto wallet_districts = p.add("text[]");
  const auto wallet_members = p.add("text[]");
  return sql + ", (SELECT coalesce(json_agg(json_build_array(w.district, w.member_id, w.program_id, a.balance, a.id, "
               "          g.expires_on::text, g.categories, g.over_ceiling_allowed, g.pool_id, g.grant_from::text)), '[]') "
               "    FROM unnest(" + wallet_districts + ", " + wallet_members + ") AS x(d, mid) "
               "    CROSS JOIN LATERAL (SELECT * FROM program_wallets WHERE district = x.d AND member_id = x.mid) w "
               "    CROSS JOIN LATERAL (SELECT balance, id FROM accounts WHERE district = w.district "
               "                        AND id = w.account_id LIMIT 1) a "
               "    CROSS JOIN LATERAL (SELECT * FROM programs WHERE id = w.program_id LIMIT 1) g)";
}

const Statement kFacts{"mp_facts", facts_sql(false)};
const Statement kFactsAdmin{"mp_facts_admin", facts_sql(true)};

// A table's columns, and the unnest() that turns one array parameter per column back into its
// rows. Each column is written once per group, with no field names, and PostgreSQL parses a plain
// array: a JSON array of objects cost 15 us a payment row to parse (json_to_recordset builds a
// hash of field names per object), the arrays 3.5 us.
struct Column {
  const char* name;
  const char* type;
};
using Table = std::vector<Column>;

const Table kJournalColumns{
    {"district", "text"}, {"id", "bigint"}, {"kind", "text"}, {"occurred_at", "timestamptz"}, {"reference", "text"}};
const Table kEntryColumns{
    {"district", "text"}, {"journal", "bigint"}, {"seq", "smallint"}, {"key", "text"}, {"amount", "bigint"},
    {"account_id", "bigint"}};
const Table kPaymentColumnsIn{
    {"district", "text"}, {"id", "bigint"}, {"event_id", "text"}, {"card_token", "text"}, {"member_id", "text"},
    {"merchant_id", "text"}, {"merchant_district", "text"}, {"merchant_category", "text"},
    {"merchant_revenue", "bigint"}, {"benefit_kind", "text"}, {"benefit_rate_bp", "integer"}, {"channel", "text"},
    {"price", "bigint"}, {"discount", "bigint"}, {"charged", "bigint"}, {"paid_points", "bigint"},
    {"paid_cash", "bigint"}, {"eligible_before", "bigint"}, {"eligible", "bigint"}, {"city_cashback", "bigint"},
    {"district_cashback", "bigint"}, {"merchant_cashback", "bigint"}, {"fee_support", "bigint"},
    {"city_policy_id", "bigint"}, {"district_policy_id", "bigint"}, {"occurred_at", "timestamptz"},
    {"business_date", "date"}, {"journal_id", "bigint"}, {"paid_program", "bigint"}};
const Table kMoneyColumns{{"district", "text"}, {"id", "bigint"},          {"member_id", "text"},
                          {"amount", "bigint"},  {"bank_ref", "text"},     {"occurred_at", "timestamptz"},
                          {"journal_id", "bigint"}};
const Table kKeyColumns{
    {"district", "text"}, {"key", "text"}, {"request_hash", "text"}, {"status", "smallint"}, {"answer", "text"}};
const Table kMonthColumns{
    {"district", "text"}, {"member", "text"}, {"month", "date"}, {"loaded", "bigint"}, {"eligible", "bigint"}};
const Table kEventColumns{
    {"endpoint", "text"},    {"event_id", "text"},  {"request_hash", "text"}, {"status", "smallint"},
    {"answer", "text"},      {"decision", "text"},  {"reason", "text"},       {"district", "text"},
    {"card_token", "text"},  {"member_id", "text"}, {"merchant_id", "text"},  {"amount", "bigint"},
    {"occurred_at", "timestamptz"}, {"operation", "text"}};
// A day's counters: each array column travels as its own array literal, cast back in the write.
const Table kDayColumns{{"district", "text"}, {"member", "text"},  {"business_date", "date"}, {"merchants", "text"},
                        {"counts", "text"},   {"cards", "text"},   {"times", "text"}};
const Table kFlagColumnsIn{
    {"district", "text"},    {"rule", "text"},       {"payment_id", "bigint"},       {"member_id", "text"},
    {"merchant_id", "text"}, {"card_token", "text"}, {"occurred_at", "timestamptz"}, {"business_date", "date"},
    {"detail", "text"}};
const Table kAccountColumns{{"district", "text"}, {"key", "text"}, {"normal", "smallint"}, {"min_balance", "bigint"}};

std::string names(const Table& t) {
  std::string out;
  for (const auto& c : t) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

// "unnest($n::type[], ...) AS x(name, ...)": one array parameter per column.
std::string unnest(const Table& t, Params& p) {
  std::string arrays;
  for (const auto& c : t) arrays += (arrays.empty() ? "" : ", ") + p.add(std::string(c.type) + "[]");
  return "unnest(" + arrays + ") AS x(" + names(t) + ")";
}

std::string insert_event_sql() {
  Params p;
  return "INSERT INTO processor_events (" + names(kEventColumns) + ") SELECT * FROM " + unnest(kEventColumns, p);
}

std::string open_accounts_sql() {
  Params p;
  return "INSERT INTO accounts (district, key, normal, min_balance) SELECT * FROM " + unnest(kAccountColumns, p) +
         " ON CONFLICT (district, key) DO NOTHING";
}

// An entry whose account id the group knows skips the lookup by key (the one-time filter on
// `x.account_id IS NULL`); a posting to an unknown account inserts a NULL account_id, which NOT
// NULL refuses. A month that falls (a cancellation) was raised before, so its row is there; an
// upsert would check the negative proposed row against the table's CHECKs before finding the
// conflict.
// `admin`: loads, refunds and their keys; `lowering`: month counters that fall (cancellations);
// `flags`: fraud flags raised (rare, so most groups do not name the table).
std::string write_group_sql(bool admin, bool lowering, bool flags) {
  Params p;
  std::string sql = "WITH j AS (INSERT INTO journals (district, id, kind, occurred_at, reference) "
                    "  SELECT x.district, x.id, x.kind, x.occurred_at, NULLIF(x.reference, '') FROM " +
                    unnest(kJournalColumns, p) + "), ";
  sql += "e AS (INSERT INTO entries (district, journal_id, seq, account_id, amount) "
         "  SELECT x.district, x.journal, x.seq, coalesce(x.account_id, a.id), x.amount FROM " +
         unnest(kEntryColumns, p) +
         "  LEFT JOIN LATERAL (SELECT id FROM accounts WHERE x.account_id IS NULL AND district = x.district "
         "                     AND key = x.key LIMIT 1) a ON true), ";
  sql += "p AS (INSERT INTO payments (" + names(kPaymentColumnsIn) + ") SELECT * FROM " +
         unnest(kPaymentColumnsIn, p) + "), ";
  if (admin) {
    sql += "l AS (INSERT INTO loads (" + names(kMoneyColumns) + ") SELECT * FROM " + unnest(kMoneyColumns, p) + "), ";
    sql += "r AS (INSERT INTO refunds (" + names(kMoneyColumns) + ") SELECT * FROM " + unnest(kMoneyColumns, p) +
           "), ";
    sql += "k AS (INSERT INTO idempotency_keys (" + names(kKeyColumns) + ") SELECT * FROM " +
           unnest(kKeyColumns, p) + "), ";
  }
  sql += "mu AS (INSERT INTO member_months AS m (district, member_id, month, loaded, eligible_spent) "
         "  SELECT * FROM " + unnest(kMonthColumns, p) +
         "  ON CONFLICT (district, member_id, month) DO UPDATE SET loaded = m.loaded + EXCLUDED.loaded, "
         "  eligible_spent = m.eligible_spent + EXCLUDED.eligible_spent), ";
  if (lowering)
    sql += "ml AS (UPDATE member_months m SET loaded = m.loaded + x.loaded, "
           "  eligible_spent = m.eligible_spent + x.eligible FROM " + unnest(kMonthColumns, p) +
           "  WHERE m.district = x.district AND m.member_id = x.member AND m.month = x.month), ";
  // A member's day is read under the member's lock and written back whole.
  sql += "pc AS (INSERT INTO payment_counters (district, member_id, business_date, merchants, counts, cards, "
         "  times_ms) SELECT x.district, x.member, x.business_date, x.merchants::text[], x.counts::integer[], "
         "  x.cards::text[], x.times::bigint[] FROM " + unnest(kDayColumns, p) +
         "  ON CONFLICT (district, member_id, business_date) DO UPDATE SET merchants = EXCLUDED.merchants, "
         "  counts = EXCLUDED.counts, cards = EXCLUDED.cards, times_ms = EXCLUDED.times_ms), ";
  if (flags)
    sql += "fl AS (INSERT INTO flags (" + names(kFlagColumnsIn) + ") SELECT * FROM " + unnest(kFlagColumnsIn, p) +
           "), ";
  sql += "ev AS (INSERT INTO processor_events (" + names(kEventColumns) + ") SELECT * FROM " +
         unnest(kEventColumns, p) + ") ";
  return sql + "SELECT 1";
}

const Statement kFindEvent{
    "mp_find_event",
    "SELECT request_hash, status, answer FROM processor_events WHERE endpoint = $1 AND event_id = $2"};
const Statement kLockEvent{
    "mp_lock_event", "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':' || $2, 0))"};
const Statement kInsertEvent{"mp_insert_event", insert_event_sql()};
const Statement kOpenAccounts{"mp_open_accounts", open_accounts_sql()};
// The write statement's variants, indexed by admin * 4 + lowering * 2 + flags.
const Statement kWriteGroup[] = {
    {"mp_write_group", write_group_sql(false, false, false)},
    {"mp_write_group_f", write_group_sql(false, false, true)},
    {"mp_write_group_lowering", write_group_sql(false, true, false)},
    {"mp_write_group_lowering_f", write_group_sql(false, true, true)},
    {"mp_write_group_admin", write_group_sql(true, false, false)},
    {"mp_write_group_admin_f", write_group_sql(true, false, true)},
    {"mp_write_group_admin_lowering", write_group_sql(true, true, false)},
    {"mp_write_group_admin_lowering_f", write_group_sql(true, true, true)}};

// Rows of one table, built as the array literals of its columns, one value per column per row.
class Rows {
 public:
  explicit Rows(const Table& table) : columns_(table.size()) {}

  Rows& text(const std::string& v) {
    append_array_text(next(), v);
    return *this;
  }
  Rows& text(const std::optional<std::string>& v) { return v ? text(*v) : null(); }
  Rows& number(long long v) {
    next() += std::to_string(v);
    return *this;
  }
  Rows& number(Won v) { return number(v.value()); }
  template <typename T>
  Rows& number(const std::optional<T>& v) {
    return v ? number(*v) : null();
  }
  Rows& time(Timestamp t) { return text(format_rfc3339(t)); }
  Rows& time(const std::optional<Timestamp>& t) { return t ? time(*t) : null(); }
  Rows& null() {
    next() += "NULL";
    return *this;
  }
  // Closes a row; every column must have had its value.
  void end() {
    if (filled_ != columns_.size()) throw std::logic_error("a row of the wrong width");
    filled_ = 0;
    ++rows_;
  }
  bool empty() const { return rows_ == 0; }
  // The array literals, in column order, appended to `params`.
  void append_to(std::vector<std::string>& params) const {
    if (filled_ != 0) throw std::logic_error("a row left open");
    for (const auto& c : columns_) params.push_back("{" + c + "}");
  }

 private:
  std::string& next() {
    if (filled_ >= columns_.size()) throw std::logic_error("a row wider than its table");
    auto& c = columns_[filled_++];
    if (rows_ > 0) c += ',';
    return c;
  }

  std::vector<std::string> columns_;
  std::size_t filled_ = 0, rows_ = 0;
};

void add_event(Rows& rows, const EventRow& e) {
  rows.text(e.endpoint).text(e.event_id).text(e.request_hash).number(e.status).text(e.answer).text(e.decision);
  rows.text(e.reason).text(e.district).text(e.card).text(e.member).text(e.merchant).number(e.amount);
  rows.time(e.occurred_at).text(e.operation).end();
}

void add_payment(Rows& rows, const PaymentRecord& p) {
  rows.text(p.district).number(p.id).text(p.event_id).text(p.card_token).text(p.member).text(p.merchant);
  rows.text(p.merchant_district).text(p.merchant_category).number(p.merchant_revenue).text(p.benefit_kind);
  rows.number(p.benefit_rate_bp).text(p.channel).number(p.price).number(p.discount).number(p.charged);
  rows.number(p.paid_points).number(p.paid_cash).number(p.eligible_before).number(p.eligible);
  rows.number(p.city_cashback).number(p.district_cashback).number(p.merchant_cashback).number(p.fee_support);
  rows.number(p.city_policy_id).number(p.district_policy_id).time(p.occurred_at).text(p.business_date);
  rows.number(p.journal_id).number(p.paid_program).end();
}

void add_money(Rows& rows, const MoneyRecord& m) {
  rows.text(m.district).number(m.id).text(m.member).number(m.amount).text(m.bank_ref).time(m.occurred_at);
  rows.number(m.journal_id).end();
}

pqxx::result run_with(Tx& tx, const Statement& st, const std::vector<std::string>& params) {
  return with_unavailable_mapped([&] {
    ensure_prepared(tx.impl().connection, st);
    return tx.impl().work.exec_prepared(st.name, pqxx::prepare::make_dynamic_params(params));
  });
}

// The payments a group cancels or reviews are locked by one statement and read by the next. A
// statement that waited for a lock held by the batch re-reads the locked row, but reads every
// other table with the snapshot it took before the wait: a posting the batch committed meanwhile
// would look absent, and the cancellation would keep the cashback it posted. The read after the
// lock takes a snapshot that includes the batch's commit.
const Statement kLockPayments{
    "mp_lock_payments",
    "SELECT count(*) FROM (SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1, 2) AS x(d, pid) "
    "CROSS JOIN LATERAL (SELECT 1 FROM payments WHERE district = x.d AND id = x.pid FOR UPDATE) p"};
const Statement kReadLockedPayments{
    "mp_read_locked_payments",
    "SELECT " + kPaymentColumns +
        ", k.payment_id IS NOT NULL, k.national_pool_id, k.city_pool_id, k.district_pool_id, "
        "coalesce(k.posted_national, 0), coalesce(k.posted_city, 0), coalesce(k.posted_district, 0), "
        "coalesce(k.posted_merchant, 0) "
        "FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) "
        "CROSS JOIN LATERAL (SELECT * FROM payments WHERE district = x.d AND id = x.pid LIMIT 1) p "
        "LEFT JOIN LATERAL (SELECT * FROM cashback_postings WHERE district = p.district "
        "                   AND business_date = p.business_date AND payment_id = p.id LIMIT 1) k ON true"};

const Statement kPaymentPrograms{
    "mp_payment_programs",
    "SELECT pp.district, pp.payment_id, pp.program_id, pp.seq, pp.amount, pp.refunded, g.expires_on::text, g.pool_id "
    "  FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) "
    "  CROSS JOIN LATERAL (SELECT * FROM payment_programs WHERE district = x.d AND payment_id = x.pid) pp "
    "  CROSS JOIN LATERAL (SELECT * FROM programs WHERE id = pp.program_id LIMIT 1) g "
    " ORDER BY pp.district, pp.payment_id, pp.seq"};
const Statement kInsertPaymentPrograms{
    "mp_insert_payment_programs",
    "INSERT INTO payment_programs (district, payment_id, program_id, seq, amount) "
    "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::smallint[], $5::bigint[])"};
const Statement kRefundPaymentPrograms{
    "mp_refund_payment_programs",
    "UPDATE payment_programs pp SET refunded = pp.refunded + x.amount "
    "  FROM (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])) AS x(d, pid, prog, amount) "
    " WHERE pp.district = x.d AND pp.payment_id = x.pid AND pp.program_id = x.prog"};

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
  p.cashback_forfeited = r[30].as<bool>();
  p.paid_program = won(r[31]);
  p.refunded_program = won(r[32]);
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

template <typename... Args>
pqxx::result run_mapped(Tx& tx, const Statement& st, Args&&... args) {
  return with_unavailable_mapped([&] { return run(tx, st, std::forward<Args>(args)...); });
}

}  // namespace

Locked lock_members(Tx& tx, const LockRequest& request) {
  std::vector<std::string> params{distinct_array(request.card_tokens)};
  if (!request.payments.empty()) {
    const auto [districts, ids] = columns(request.payments);
    params.push_back(districts);
    params.push_back(ids);
  }
  params.push_back(distinct_array(request.members));
  const auto row =
      run_with(tx, request.payments.empty() ? kLockMembers : kLockMembersAndPayments, params).at(0);
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
  const bool admin = !request.keys.empty() || !request.members.empty();
  std::vector<std::string> params{distinct_array(request.merchants), account_districts, account_keys,
                                  text_array(month_districts), text_array(month_members), text_array(month_firsts)};
  if (admin) {
    params.push_back(key_districts);
    params.push_back(key_names);
  }
  params.insert(params.end(), {std::to_string(request.ids), event_endpoints, event_ids});
  if (admin) {
    params.push_back(member_districts);
    params.push_back(member_ids);
  }
  const std::set<DayKey> days(request.days.begin(), request.days.end());
  std::vector<std::string> day_districts, day_members, day_dates;
  for (const auto& d : days) {
    day_districts.push_back(d.district);
    day_members.push_back(d.member);
    day_dates.push_back(d.date);
  }
  params.insert(params.end(), {text_array(day_districts), text_array(day_members), text_array(day_dates)});
  const auto [wallet_districts, wallet_members] = columns(request.wallets);
  params.insert(params.end(), {wallet_districts, wallet_members});
  const auto row = run_with(tx, admin ? kFactsAdmin : kFacts, params).at(0);
  Facts out;
  for (const auto& m : parsed(row[0]))
    out.merchants.push_back(Merchant{m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<std::string>(),
                                     m[3].get<std::string>(), m[4].get<std::string>(), Won(m[5].get<std::int64_t>()),
                                     m[6].get<std::string>(), text_or_null(m[7]),
                                     m[8].is_null() ? std::nullopt : std::optional<int>(m[8].get<int>()),
                                     text_or_null(m[9])});
  for (const auto& v : parsed(row[1]))
    out.versions.push_back(
        {v[0].get<std::int64_t>(), v[1].get<std::string>(), parse_rfc3339(v[2].get<std::string>()).value()});
  for (const auto& a : parsed(row[2])) {
    DistrictKey key{a[0].get<std::string>(), a[1].get<std::string>()};
    out.balances[key] = Won(a[2].get<std::int64_t>());
    out.account_ids[std::move(key)] = a[3].get<std::int64_t>();
  }
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
  for (const auto& d : parsed(row[8])) {
    auto& day = out.days[{d[0].get<std::string>(), d[1].get<std::string>(), d[2].get<std::string>()}];
    for (std::size_t i = 0; i < d[3].size(); ++i) day.by_merchant[d[3][i].get<std::string>()] = d[4][i].get<int>();
    for (std::size_t i = 0; i < d[5].size(); ++i)
      day.recent.push_back({d[5][i].get<std::string>(), d[6][i].get<std::int64_t>()});
  }
  for (const auto& w : parsed(row[9])) {
    WalletFact f{w[2].get<std::string>(), Won(w[3].get<std::int64_t>()), w[4].get<std::int64_t>(),
                 w[5].get<std::string>(), std::nullopt, w[7].get<bool>(), w[8].get<std::int64_t>(),
                 w[9].get<std::string>()};
    if (!w[6].is_null()) f.categories = w[6].get<std::vector<std::string>>();
    out.wallets[{w[0].get<std::string>(), w[1].get<std::string>()}].push_back(std::move(f));
  }
  return out;
}

std::optional<StoredKey> find_event(Tx& tx, const EventKey& key) {
  const auto rows = run_mapped(tx, kFindEvent, key.first, key.second);
  if (rows.empty()) return std::nullopt;
  return StoredKey{rows[0][0].as<std::string>(), rows[0][1].as<int>(), rows[0][2].as<std::string>()};
}

void lock_event(Tx& tx, const EventKey& key) { run_mapped(tx, kLockEvent, key.first, key.second); }

void insert_event(Tx& tx, const EventRow& event) {
  Rows rows(kEventColumns);
  add_event(rows, event);
  std::vector<std::string> params;
  rows.append_to(params);
  run_with(tx, kInsertEvent, params);
}

std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<PaymentKey>& payments) {
  std::vector<PaymentRow> out;
  if (payments.empty()) return out;
  const auto [districts, ids] = columns(payments);
  run_mapped(tx, kLockPayments, districts, ids);
  for (const auto& r : run_mapped(tx, kReadLockedPayments, districts, ids)) {
    PaymentRow row;
    row.record = payment_from_row(r);
    row.posted.posted = r[33].as<bool>();
    row.posted.pools = {opt<std::int64_t>(r[34]), opt<std::int64_t>(r[35]), opt<std::int64_t>(r[36])};
    row.posted.amounts = {won(r[37]), won(r[38]), won(r[39]), won(r[40])};
    out.push_back(std::move(row));
  }
  // Program money, for the payments that took any.
  std::vector<PaymentKey> with_programs;
  for (const auto& row : out)
    if (row.record.paid_program > Won(0)) with_programs.emplace_back(row.record.district, row.record.id);
  if (with_programs.empty()) return out;
  const auto [pd, pids] = columns(with_programs);
  std::map<PaymentKey, std::vector<PaymentProgram>> parts;
  for (const auto& r : run_mapped(tx, kPaymentPrograms, pd, pids))
    parts[{r[0].as<std::string>(), r[1].as<std::int64_t>()}].push_back(
        {r[2].as<std::string>(), r[3].as<int>(), won(r[4]), won(r[5]), r[6].as<std::string>(), r[7].as<std::int64_t>()});
  for (auto& row : out) row.programs = parts[{row.record.district, row.record.id}];
  return out;
}

void lock_pools(Tx& tx, const std::vector<std::int64_t>& pool_ids) {
  if (pool_ids.empty()) return;
  run_mapped(tx, kLockPools, bigint_array({pool_ids.begin(), pool_ids.end()}));
}

void open_accounts(Tx& tx, const std::vector<std::pair<std::string, AccountSpec>>& accounts) {
  if (accounts.empty()) return;
  Rows rows(kAccountColumns);
  for (const auto& [district, spec] : accounts)
    rows.text(district).text(spec.key).number(static_cast<long long>(spec.normal)).number(spec.min_balance).end();
  std::vector<std::string> params;
  rows.append_to(params);
  run_with(tx, kOpenAccounts, params);
}

void write_group(Tx& tx, const GroupWrites& w) {
  Rows heads(kJournalColumns), lines(kEntryColumns), payments(kPaymentColumnsIn), loads(kMoneyColumns),
      refunds(kMoneyColumns), keys(kKeyColumns), raised(kMonthColumns), lowered(kMonthColumns),
      events(kEventColumns);
  for (const auto& j : w.journals) {
    if (j.postings.size() < 2 || engine::imbalance(j.postings) != Won(0))
      throw std::logic_error("journal " + j.reference + " does not balance");
    heads.text(j.district).number(j.id).text(j.kind).time(j.occurred_at).text(j.reference).end();
    int seq = 0;
    for (const auto& p : j.postings) {
      const auto id = w.account_ids.find({j.district, p.account});
      lines.text(j.district).number(j.id).number(++seq).text(p.account).number(p.amount);
      lines.number(id == w.account_ids.end() ? std::optional<std::int64_t>() : id->second).end();
    }
  }
  for (const auto& p : w.payments) add_payment(payments, p);
  for (const auto& m : w.loads) add_money(loads, m);
  for (const auto& m : w.refunds) add_money(refunds, m);
  for (const auto& k : w.keys) keys.text(k.district).text(k.key).text(k.request_hash).number(k.status).text(k.answer).end();
  for (const auto& d : w.months) {
    if (d.loaded == Won(0) && d.eligible_spent == Won(0)) continue;
    auto& rows = d.loaded < Won(0) || d.eligible_spent < Won(0) ? lowered : raised;
    rows.text(d.month.district).text(d.month.member).text(d.month.month).number(d.loaded).number(d.eligible_spent).end();
  }
  for (const auto& e : w.events) add_event(events, e);
  Rows days(kDayColumns), flags(kFlagColumnsIn);
  for (const auto& [key, day] : w.days) {
    std::vector<std::string> merchants, counts, cards, times;
    for (const auto& [merchant, count] : day.by_merchant) {
      merchants.push_back(merchant);
      counts.push_back(std::to_string(count));
    }
    for (const auto& r : day.recent) {
      cards.push_back(r.card);
      times.push_back(std::to_string(r.at_ms));
    }
    days.text(key.district).text(key.member).text(key.date).text(text_array(merchants)).text(text_array(counts));
    days.text(text_array(cards)).text(text_array(times)).end();
  }
  for (const auto& f : w.flags) {
    flags.text(f.district).text(std::string(engine::to_string(f.rule))).number(f.payment_id).text(f.member);
    flags.text(f.merchant).text(f.card).time(f.occurred_at).text(f.business_date).text(f.detail).end();
  }
  const bool admin = !w.loads.empty() || !w.refunds.empty() || !w.keys.empty();
  const bool lowering = !lowered.empty();
  const bool flagged = !flags.empty();
  std::vector<std::string> params;
  std::vector<const Rows*> tables{&heads, &lines, &payments};
  if (admin) tables.insert(tables.end(), {&loads, &refunds, &keys});
  tables.push_back(&raised);
  if (lowering) tables.push_back(&lowered);
  tables.push_back(&days);
  if (flagged) tables.push_back(&flags);
  tables.push_back(&events);
  for (const Rows* rows : tables) rows->append_to(params);
  run_with(tx, kWriteGroup[(admin ? 4 : 0) + (lowering ? 2 : 0) + (flagged ? 1 : 0)], params);
  record_audit(tx, w.audits);
  auto program_lines = [&](const Statement& st, const std::vector<GroupWrites::ProgramLine>& lines, bool with_seq) {
    if (lines.empty()) return;
    std::vector<std::string> districts, programs, seqs;
    std::vector<long long> payments, amounts;
    for (const auto& l : lines) {
      districts.push_back(l.district);
      payments.push_back(l.payment_id);
      programs.push_back(l.program);
      seqs.push_back(std::to_string(l.seq));
      amounts.push_back(l.amount.value());
    }
    std::vector<std::string> params{text_array(districts), bigint_array(payments), text_array(programs)};
    if (with_seq) params.push_back(text_array(seqs));
    params.push_back(bigint_array(amounts));
    run_with(tx, st, params);
  };
  program_lines(kInsertPaymentPrograms, w.payment_programs, true);
  program_lines(kRefundPaymentPrograms, w.program_refunds, false);
}

}  // namespace evoucher::store
