// The money path's writes: a group's every row in one statement (each table's rows as one array
// parameter per column, through unnest), its new accounts, and processor events stored off the
// group path.
#include "evoucher/store/money_path_writes.hpp"

#include "money_sql.hpp"

namespace evoucher::store {
namespace {

using money_sql::Params;
using money_sql::run_mapped;
using money_sql::run_with;

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

// Program money a group's payments take and its cancellations give back.
const Statement kInsertPaymentPrograms{
    "mp_insert_payment_programs",
    "INSERT INTO payment_programs (district, payment_id, program_id, seq, amount) "
    "SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::smallint[], $5::bigint[])"};
const Statement kRefundPaymentPrograms{
    "mp_refund_payment_programs",
    "UPDATE payment_programs pp SET refunded = pp.refunded + x.amount "
    "  FROM (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])) AS x(d, pid, prog, amount) "
    " WHERE pp.district = x.d AND pp.payment_id = x.pid AND pp.program_id = x.prog"};

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

}  // namespace

std::optional<StoredKey> find_event(Tx& tx, const EventKey& key) {
  const auto rows = run_mapped(tx, kFindEvent, key.first, key.second);
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  return StoredKey{r["request_hash"].as<std::string>(), r["status"].as<int>(), r["answer"].as<std::string>()};
}

void lock_event(Tx& tx, const EventKey& key) { run_mapped(tx, kLockEvent, key.first, key.second); }

void insert_event(Tx& tx, const EventRow& event) {
  Rows rows(kEventColumns);
  add_event(rows, event);
  std::vector<std::string> params;
  rows.append_to(params);
  run_with(tx, kInsertEvent, params);
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
