// The cashback batch's named SQL. A chunk's pending payments are picked with what each is due and
// locked before the pools, in the order a cancellation takes them (payments, pools, accounts); its
// postings and balanced journal are then written in one set-based statement.
#include "evoucher/store/cashback_batches.hpp"

#include <functional>

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kReadRun{
    "batch_read", "SELECT status, report, run FROM batch_runs WHERE district = $1 AND business_date = $2::date"};
const Statement kStartRun{
    "batch_start",
    "INSERT INTO batch_runs (district, business_date, status) VALUES ($1, $2::date, 'running') "
    "ON CONFLICT (district, business_date) DO NOTHING"};
const Statement kProbesOnly{
    "batch_probes_only",
    "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true), "
    "       set_config('enable_mergejoin', 'off', true)"};

// Whether a payment of the date is still pending. A posting is made only for a payment of its
// district and date, once, and payments are never deleted: so the date is done exactly when it
// has as many postings as payments. Two counts over the date's index ranges, in one snapshot,
// where looking for a payment without its posting probed the postings once per payment (3 s of a
// 1,000,000-payment batch).
const Statement kAnyPending{
    "batch_any_pending",
    "SELECT (SELECT count(*) FROM payments WHERE district = $1 AND business_date = $2::date) <> "
    "       (SELECT count(*) FROM cashback_postings WHERE district = $1 AND business_date = $2::date) AS pending"};
// The dates up to $2 that still have a payment without its posting: those whose postings are fewer
// than their payments (see kAnyPending), two grouped counts over the district's index ranges; and
// those whose run was killed before it completed, which may have nothing left to post but its
// report.
const Statement kPendingDates{
    "batch_pending_dates",
    "SELECT p.business_date::text AS business_date FROM "
    "  (SELECT business_date, count(*) AS n FROM payments WHERE district = $1 AND business_date <= $2::date "
    "    GROUP BY 1) p "
    "  LEFT JOIN (SELECT business_date, count(*) AS n FROM cashback_postings WHERE district = $1 "
    "               AND business_date <= $2::date GROUP BY 1) k ON k.business_date = p.business_date "
    " WHERE k.n IS DISTINCT FROM p.n "
    "UNION SELECT business_date::text FROM batch_runs WHERE district = $1 AND business_date <= $2::date "
    "   AND status = 'running' ORDER BY 1"};
// A further run keeps the last report until it completes.
const Statement kFurtherRun{
    "batch_further_run",
    "UPDATE batch_runs SET status = 'running', run = run + 1, chunks = 0, cursor_at = NULL, cursor_id = NULL, "
    "       started_at = now(), completed_at = NULL WHERE district = $1 AND business_date = $2::date"};
const Statement kCursor{
    "batch_cursor",
    "SELECT cursor_at::text, cursor_id, run FROM batch_runs WHERE district = $1 AND business_date = $2::date"};
const Statement kSetCursor{
    "batch_set_cursor",
    "UPDATE batch_runs SET cursor_at = $3::timestamptz, cursor_id = $4 WHERE district = $1 AND business_date = $2::date"};
const Statement kChunkDone{
    "batch_chunk_done",
    "UPDATE batch_runs SET chunks = chunks + 1, cursor_at = $3::timestamptz, cursor_id = $4 "
    "WHERE district = $1 AND business_date = $2::date"};
const Statement kFinishRun{
    "batch_finish",
    "UPDATE batch_runs SET status = 'completed', completed_at = now(), report = $3 "
    "WHERE district = $1 AND business_date = $2::date"};

// The next chunk's pending payments, after the cursor, in payment-time order, with what each is
// due. They are locked (against a cancellation, which changes what they earn) before the pools, in
// the order a cancellation takes them: payments, then pools, then accounts. A locked row is read
// as its latest version, so what it is due cannot move before the chunk commits.
const Statement kPick{
    "batch_pick",
    "WITH c AS (SELECT p.id, p.occurred_at, p.member_id, p.merchant_id, p.city_cashback, p.district_cashback, "
    "                  p.merchant_cashback, p.city_policy_id FROM payments p " + kPostingOfPayment +
        "            WHERE p.district = $1 AND p.business_date = $2::date "
        "              AND (p.occurred_at, p.id) > (coalesce($4::timestamptz, '-infinity'), coalesce($5::bigint, 0)) "
        "              AND posting.found IS NULL ORDER BY p.occurred_at, p.id LIMIT $3 FOR SHARE OF p) "
    "SELECT id, occurred_at::text, member_id, merchant_id, city_cashback, district_cashback, merchant_cashback, "
    "       city_policy_id FROM c ORDER BY occurred_at, id"};

// The ids of accounts named by key, looked up while the chunk before is written, so that the
// chunk's own write need not probe them. An account's id never changes.
const Statement kAccountIds{
    "batch_account_ids",
    "SELECT a.key, a.id FROM unnest($2::text[]) AS x(key) "
    "  CROSS JOIN LATERAL (SELECT key, id FROM accounts WHERE district = $1 AND key = x.key LIMIT 1) a"};

// The pools covering the date for the three sources, locked for the chunk. What remains is read
// by a later statement, whose snapshot is taken after the lock.
const Statement kLockPools{
    "batch_lock_pools",
    "SELECT p.id, p.source FROM pools p WHERE p.source IN ('national', 'city', 'district:' || $1) "
    "   AND $2::date BETWEEN p.period_start AND p.period_end ORDER BY p.id FOR UPDATE"};
const Statement kPoolsRemaining{
    "batch_pools_remaining",
    "SELECT p.id, p.source, p.budget - p.drawn AS remaining FROM pools p "
    " WHERE p.source IN ('national', 'city', 'district:' || $1) "
    "   AND $2::date BETWEEN p.period_start AND p.period_end ORDER BY p.id"};

// A chunk's writes, decided by the engine: a posting per payment, and one balanced journal whose
// lines are each account's sum (a member's points, a merchant's payable, each pool drawn).
const Statement kWriteChunk{
    "batch_write_chunk",
    "WITH ins AS ( "
    "  INSERT INTO cashback_postings (district, business_date, payment_id, run, national_pool_id, city_pool_id, "
    "    district_pool_id, posted_national, posted_city, posted_district, posted_merchant, unfunded_national, "
    "    unfunded_city, unfunded_district) "
    "  SELECT $1, $2::date, x.id, $3, $4::bigint, $5::bigint, $6::bigint, x.pn, x.pc, x.pd, x.pm, x.un, x.uc, x.ud "
    "    FROM unnest($7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], "
    "                $13::bigint[], $14::bigint[]) AS x(id, pn, pc, pd, pm, un, uc, ud)), "
    "j AS (INSERT INTO journals (district, kind, occurred_at, reference) "
    "      SELECT $1, 'cashback', now(), 'batch ' || $2 WHERE cardinality($15::text[]) > 0 RETURNING id), "
    "e AS (INSERT INTO entries (district, journal_id, seq, account_id, amount) "
    "      SELECT $1, j.id, x.seq, coalesce(x.account, (SELECT id FROM accounts WHERE district = $1 AND key = x.key)), "
    "             x.amount "
    "        FROM j CROSS JOIN unnest($15::text[], $16::bigint[], $17::bigint[]) WITH ORDINALITY "
    "             AS x(key, amount, account, seq)) "
    "SELECT 1"};

// Per run: payments with a city, district or merchant component, and what was posted and unfunded.
const Statement kReport{
    "batch_report_totals",
    "SELECT run, "
    "       count(*) FILTER (WHERE posted_national + posted_city + unfunded_national + unfunded_city > 0) "
    "         AS city_count, "
    "       coalesce(sum(posted_national + posted_city), 0)::bigint AS city_posted, "
    "       coalesce(sum(unfunded_national + unfunded_city), 0)::bigint AS city_unfunded, "
    "       count(*) FILTER (WHERE posted_district + unfunded_district > 0) AS district_count, "
    "       coalesce(sum(posted_district), 0)::bigint AS district_posted, "
    "       coalesce(sum(unfunded_district), 0)::bigint AS district_unfunded, "
    "       count(*) FILTER (WHERE posted_merchant > 0) AS merchant_count, "
    "       coalesce(sum(posted_merchant), 0)::bigint AS merchant_posted "
    "  FROM cashback_postings WHERE district = $1 AND business_date = $2::date GROUP BY 1 ORDER BY 1"};

const Statement kRecordClawback{
    "payment_record_clawback",
    "WITH k AS (UPDATE cashback_postings SET posted_national = $3, posted_city = $4, posted_district = $5, "
    "  posted_merchant = $6, unfunded_national = $7, unfunded_city = $8, unfunded_district = $9, "
    "  clawed_back = clawed_back + $10 WHERE district = $1 AND business_date = $12::date AND payment_id = $2) "
    "UPDATE cancellations SET clawed_back = $10 WHERE district = $1 AND id = $11::bigint"};

long long batch_lock_key(const std::string& district, const std::string& date) {
  return static_cast<long long>(std::hash<std::string>{}("batch:" + district + ":" + date) & 0x7fffffffffffffffULL);
}

std::vector<PoolLeft> pools_left(const pqxx::result& rows) {
  std::vector<PoolLeft> out;
  out.reserve(rows.size());
  for (const auto& r : rows)
    out.push_back({r["id"].as<std::int64_t>(), r["source"].as<std::string>(), won(r["remaining"])});
  return out;
}

}  // namespace

BatchDateLock::BatchDateLock(Connection& connection, const std::string& district, const std::string& business_date)
    : connection_(connection), key_(std::to_string(batch_lock_key(district, business_date))) {
  with_unavailable_mapped([&] {
    pqxx::nontransaction n(connection_.impl().conn);
    n.exec("SELECT pg_advisory_lock(" + key_ + ")");
    return 0;
  });
}

BatchDateLock::~BatchDateLock() {
  try {
    pqxx::nontransaction n(connection_.impl().conn);
    n.exec("SELECT pg_advisory_unlock(" + key_ + ")");
  } catch (...) {
  }
}

std::optional<BatchRunRow> read_batch_run(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&]() -> std::optional<BatchRunRow> {
    const auto rows = run(tx, kReadRun, district, business_date);
    if (rows.empty()) return std::nullopt;
    const auto& r = rows[0];
    return BatchRunRow{r["status"].as<std::string>() == "completed" ? BatchStatus::completed : BatchStatus::running,
                       opt<std::string>(r["report"]), r["run"].as<int>()};
  });
}

void start_batch_run(Tx& tx, const std::string& district, const std::string& business_date) {
  with_unavailable_mapped([&] { return run(tx, kStartRun, district, business_date).affected_rows(); });
}

void start_further_batch_run(Tx& tx, const std::string& district, const std::string& business_date) {
  with_unavailable_mapped([&] { return run(tx, kFurtherRun, district, business_date).affected_rows(); });
}

void finish_batch_run(Tx& tx, const std::string& district, const std::string& business_date,
                      const std::string& report) {
  with_unavailable_mapped([&] { return run(tx, kFinishRun, district, business_date, report).affected_rows(); });
}

void probe_by_key_only(Tx& tx) {
  with_unavailable_mapped([&] { return run(tx, kProbesOnly).size(); });
}

bool batch_date_has_pending(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&] { return run(tx, kAnyPending, district, business_date)[0]["pending"].as<bool>(); });
}

BatchPosition batch_position(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kCursor, district, business_date).at(0);
    return BatchPosition{{opt<std::string>(r["cursor_at"]), opt<std::int64_t>(r["cursor_id"])}, r["run"].as<int>()};
  });
}

void rewind_batch_cursor(Tx& tx, const std::string& district, const std::string& business_date) {
  with_unavailable_mapped([&] {
    return run(tx, kSetCursor, district, business_date, std::optional<std::string>(), std::optional<std::int64_t>())
        .affected_rows();
  });
}

std::vector<PendingCashback> pick_pending_cashback(Tx& tx, const std::string& district,
                                                   const std::string& business_date, int limit,
                                                   const BatchCursor& from) {
  return with_unavailable_mapped([&] {
    std::vector<PendingCashback> out;
    const auto rows = run(tx, kPick, district, business_date, limit, from.at, from.id);
    out.reserve(rows.size());
    for (const auto& r : rows)
      out.push_back({r["id"].as<std::int64_t>(), r["occurred_at"].as<std::string>(), r["member_id"].as<std::string>(),
                     r["merchant_id"].as<std::string>(), won(r["city_cashback"]), won(r["district_cashback"]),
                     won(r["merchant_cashback"]), opt<std::int64_t>(r["city_policy_id"])});
    return out;
  });
}

std::map<std::string, std::int64_t> account_ids(Tx& tx, const std::string& district,
                                                const std::vector<std::string>& keys) {
  return with_unavailable_mapped([&] {
    std::map<std::string, std::int64_t> out;
    for (const auto& r : run(tx, kAccountIds, district, text_array(keys)))
      out.emplace(r["key"].as<std::string>(), r["id"].as<std::int64_t>());
    return out;
  });
}

std::vector<PoolLeft> lock_batch_pools(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&] {
    run(tx, kLockPools, district, business_date);
    return pools_left(run(tx, kPoolsRemaining, district, business_date));
  });
}

std::vector<PoolLeft> batch_pools_left(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&] { return pools_left(run(tx, kPoolsRemaining, district, business_date)); });
}

void write_cashback_chunk(Tx& tx, const std::string& district, const std::string& business_date,
                          const CashbackChunk& chunk) {
  const auto& p = chunk.postings;
  const auto n = p.size();
  const auto& j = chunk.journal;
  std::vector<std::string> keys;
  keys.reserve(j.size());
  for (const auto& l : j) keys.push_back(l.account);
  with_unavailable_mapped([&] {
    run(tx, kWriteChunk, district, business_date, chunk.run, chunk.national_pool, chunk.city_pool,
        chunk.district_pool, bigint_array(n, [&](std::size_t i) { return p[i].payment_id; }),
        bigint_array(n, [&](std::size_t i) { return p[i].posted_national.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].posted_city.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].posted_district.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].posted_merchant.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].unfunded_national.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].unfunded_city.value(); }),
        bigint_array(n, [&](std::size_t i) { return p[i].unfunded_district.value(); }), text_array(keys),
        bigint_array(j.size(), [&](std::size_t i) { return j[i].amount.value(); }),
        bigint_array(j.size(), [&](std::size_t i) { return j[i].account_id; }));
    run(tx, kChunkDone, district, business_date, chunk.after.at, chunk.after.id);
    return 0;
  });
}

std::map<int, BatchComponents> batch_totals_by_run(Tx& tx, const std::string& district,
                                                   const std::string& business_date) {
  return with_unavailable_mapped([&] {
    std::map<int, BatchComponents> out;
    for (const auto& t : run(tx, kReport, district, business_date)) {
      auto& c = out[t["run"].as<int>()];
      c.city = {t["city_count"].as<std::int64_t>(), won(t["city_posted"]), won(t["city_unfunded"])};
      c.district_topup = {t["district_count"].as<std::int64_t>(), won(t["district_posted"]),
                          won(t["district_unfunded"])};
      c.merchant = {t["merchant_count"].as<std::int64_t>(), won(t["merchant_posted"]), Won(0)};
    }
    return out;
  });
}

std::optional<std::string> batch_report(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&]() -> std::optional<std::string> {
    const auto rows = run(tx, kReadRun, district, business_date);
    if (rows.empty() || rows[0]["report"].is_null()) return std::nullopt;
    return rows[0]["report"].as<std::string>();  // the latest completed run's, while a further one runs
  });
}

std::vector<std::string> pending_dates(Tx& tx, const std::string& district, const std::string& through) {
  return with_unavailable_mapped([&] {
    std::vector<std::string> out;
    for (const auto& r : run(tx, kPendingDates, district, through)) out.push_back(r["business_date"].as<std::string>());
    return out;
  });
}

void record_clawback(Tx& tx, const std::string& district, std::int64_t payment_id, const std::string& business_date,
                     const PostedAmounts& posted_after, const PostedAmounts& unfunded_after, Won taken,
                     std::optional<std::int64_t> cancellation_id) {
  with_unavailable_mapped([&] {
    run(tx, kRecordClawback, district, payment_id, posted_after.national.value(), posted_after.city.value(),
        posted_after.district.value(), posted_after.merchant.value(), unfunded_after.national.value(),
        unfunded_after.city.value(), unfunded_after.district.value(), taken.value(), cancellation_id, business_date);
    return 0;
  });
}

}  // namespace evoucher::store
