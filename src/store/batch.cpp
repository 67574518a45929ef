// The batch works a chunk of payments at a time, each chunk in its own transaction: it picks and
// locks the chunk's pending payments with what each is due, locks the pools, lets the engine draw
// the pools in payment-time order and sum the chunk's journal, then writes the postings and the
// journal in one set-based statement.
#include "evoucher/store/batch.hpp"

#include <future>
#include <map>
#include <set>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/store/ledger.hpp"
#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kCreatePool{
    "pool_create",
    "INSERT INTO pools (source, period_start, period_end, budget) VALUES ($1, $2::date, $3::date, $4) RETURNING id"};

// Creations wait for each other, so that the overlap check sees every pool; batches, which only
// lock pool rows, are not held up.
const Statement kLockPoolCreation{"pool_lock_creation", "LOCK TABLE pools IN SHARE ROW EXCLUSIVE MODE"};

// A pool's owner: the district of a district pool, the program's owner for a program's pool, and
// the city for the national and city pools.
const std::string kPoolColumns =
    "id, source, period_start::text, period_end::text, budget, drawn, "
    "CASE WHEN source LIKE 'district:%' THEN substr(source, 10) "
    "     WHEN source LIKE 'program:%' THEN coalesce((SELECT g.district FROM programs g WHERE g.pool_id = pools.id), "
    "                                               'city') "
    "     ELSE 'city' END";

const Statement kOverlappingPool{
    "pool_overlapping",
    "SELECT " + kPoolColumns + " FROM pools WHERE source = $1 AND period_start <= $3::date AND period_end >= $2::date "
    "ORDER BY id LIMIT 1"};

const Statement kListPools{"pool_list", "SELECT " + kPoolColumns + " FROM pools ORDER BY id"};
const Statement kFindPool{"pool_find", "SELECT " + kPoolColumns + " FROM pools WHERE id = $1"};
const Statement kLockPool{"pool_find_locked", "SELECT " + kPoolColumns + " FROM pools WHERE id = $1 FOR UPDATE"};
// A top-up is its row: the database raises the pool's budget from it (pools_follow_top_up), and
// the service may not write a budget itself. The pool is read back by the next statement.
const Statement kTopUp{"pool_top_up", "INSERT INTO pool_top_ups (pool_id, amount) VALUES ($1, $2)"};

// The owner of a new pool, before any program names it: a program's pool is created first, and its
// program (whose owner the listing reads) is inserted after it in the same transaction.
std::string pool_owner(const std::string& source) {
  return source.rfind("district:", 0) == 0 ? source.substr(9) : "city";
}

Pool pool_from_row(const pqxx::row& r) {
  return {r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(), r[3].as<std::string>(),
          won(r[4]), won(r[5]), r[6].as<std::string>()};
}

// The pools covering the date for the three sources, locked for the chunk. What remains is read
// by a later statement, whose snapshot is taken after the lock: a batch of another district that
// drew the same pool meanwhile has committed by then.
const Statement kLockPools{
    "batch_lock_pools",
    "SELECT p.id, p.source FROM pools p WHERE p.source IN ('national', 'city', 'district:' || $1) "
    "   AND $2::date BETWEEN p.period_start AND p.period_end ORDER BY p.id FOR UPDATE"};
const Statement kPoolsRemaining{
    "batch_pools_remaining",
    "SELECT p.id, p.source, p.budget - p.drawn FROM pools p WHERE p.source IN ('national', 'city', 'district:' || $1) "
    "   AND $2::date BETWEEN p.period_start AND p.period_end ORDER BY p.id"};

const Statement kReadRun{
    "batch_read", "SELECT status, report, run FROM batch_runs WHERE district = $1 AND business_date = $2::date"};
const Statement kStartRun{
    "batch_start",
    "INSERT INTO batch_runs (district, business_date, status) VALUES ($1, $2::date, 'running') "
    "ON CONFLICT (district, business_date) DO NOTHING"};
// Postings grow by a chunk at a time, faster than statistics follow: a table last analyzed while
// empty would be read whole for every payment probed. Each chunk probes by key only.
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
    "       (SELECT count(*) FROM cashback_postings WHERE district = $1 AND business_date = $2::date)"};
// The dates up to $2 that still have a payment without its posting: those whose postings are fewer
// than their payments (see kAnyPending), two grouped counts over the district's index ranges; and
// those whose run was killed before it completed, which may have nothing left to post but its
// report.
const Statement kPendingDates{
    "batch_pending_dates",
    "SELECT p.business_date::text FROM "
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

// How each city policy splits the city component between the national and the city pool.
const Statement kFundingSplits{
    "batch_funding_splits",
    "SELECT id, coalesce((rules #>> '{funding_split,national}')::bigint, 1), "
    "       coalesce((rules #>> '{funding_split,city}')::bigint, 0) FROM policies WHERE id = ANY($1::bigint[])"};

// The ids of accounts named by key, looked up while the chunk before is written, so that the
// chunk's own write need not probe them. An account's id never changes.
const Statement kAccountIds{
    "batch_account_ids",
    "SELECT a.key, a.id FROM unnest($2::text[]) AS x(key) "
    "  CROSS JOIN LATERAL (SELECT key, id FROM accounts WHERE district = $1 AND key = x.key LIMIT 1) a"};

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
    "       count(*) FILTER (WHERE posted_national + posted_city + unfunded_national + unfunded_city > 0), "
    "       coalesce(sum(posted_national + posted_city), 0)::bigint, "
    "       coalesce(sum(unfunded_national + unfunded_city), 0)::bigint, "
    "       count(*) FILTER (WHERE posted_district + unfunded_district > 0), "
    "       coalesce(sum(posted_district), 0)::bigint, coalesce(sum(unfunded_district), 0)::bigint, "
    "       count(*) FILTER (WHERE posted_merchant > 0), coalesce(sum(posted_merchant), 0)::bigint "
    "  FROM cashback_postings WHERE district = $1 AND business_date = $2::date GROUP BY 1 ORDER BY 1"};

const Statement kRecordClawback{
    "payment_record_clawback",
    "WITH k AS (UPDATE cashback_postings SET posted_national = $3, posted_city = $4, posted_district = $5, "
    "  posted_merchant = $6, unfunded_national = $7, unfunded_city = $8, unfunded_district = $9, "
    "  clawed_back = clawed_back + $10 WHERE district = $1 AND business_date = $12::date AND payment_id = $2) "
    "UPDATE cancellations SET clawed_back = $10 WHERE district = $1 AND id = $11::bigint"};

// Per issuing district: what the date's payments owe the merchant now, less what settlements of
// that date already paid.
const Statement kOwed{
    "settlement_owed",
    "SELECT p.district, (p.payable - coalesce(s.payable, 0))::bigint, (p.fee - coalesce(s.fee, 0))::bigint "
    "  FROM (SELECT district, sum(charged - cancelled - merchant_cashback) AS payable, sum(fee_support) AS fee "
    "          FROM payments WHERE merchant_id = $1 AND business_date = $2::date GROUP BY district) p "
    "  LEFT JOIN (SELECT district, sum(amount - fee_support) AS payable, sum(fee_support) AS fee "
    "               FROM settlements WHERE merchant_id = $1 AND business_date = $2::date GROUP BY district) s "
    "    ON s.district = p.district "
    " WHERE p.payable <> coalesce(s.payable, 0) OR p.fee <> coalesce(s.fee, 0) "
    " ORDER BY p.district"};
const Statement kInsertSettlement{
    "settlement_insert",
    "INSERT INTO settlements (district, id, event_id, merchant_id, business_date, amount, fee_support, journal_id) "
    "VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8)"};

const Statement kTrialBalance{
    "trial_balance",
    "SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::bigint, "
    "       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::bigint FROM entries WHERE district = $1"};

// A session-level lock for one district's date, so two runs of one batch never interleave.
long long batch_lock_key(const std::string& district, const std::string& date) {
  return static_cast<long long>(std::hash<std::string>{}("batch:" + district + ":" + date) & 0x7fffffffffffffffULL);
}

}  // namespace

PoolCreation create_pool(Tx& tx, const std::string& source, const std::string& period_start,
                         const std::string& period_end, Won budget) {
  return with_unavailable_mapped([&] {
    PoolCreation out;
    run(tx, kLockPoolCreation);
    const auto overlapping = run(tx, kOverlappingPool, source, period_start, period_end);
    if (!overlapping.empty()) {
      out.overlapping = pool_from_row(overlapping[0]);
      return out;
    }
    out.created = Pool{run(tx, kCreatePool, source, period_start, period_end, budget.value())[0][0].as<std::int64_t>(),
                       source, period_start, period_end, budget, Won(0), pool_owner(source)};
    return out;
  });
}

std::vector<std::string> pending_dates(Tx& tx, const std::string& district, const std::string& through) {
  return with_unavailable_mapped([&] {
    std::vector<std::string> out;
    for (const auto& r : run(tx, kPendingDates, district, through)) out.push_back(r[0].as<std::string>());
    return out;
  });
}

std::vector<Pool> list_pools(Tx& tx) {
  return with_unavailable_mapped([&] {
    std::vector<Pool> out;
    for (const auto& r : run(tx, kListPools)) out.push_back(pool_from_row(r));
    return out;
  });
}

std::optional<Pool> find_pool(Tx& tx, std::int64_t id, bool lock) {
  return with_unavailable_mapped([&]() -> std::optional<Pool> {
    const auto rows = run(tx, lock ? kLockPool : kFindPool, id);
    if (rows.empty()) return std::nullopt;
    return pool_from_row(rows[0]);
  });
}

Pool top_up_pool(Tx& tx, std::int64_t id, Won amount) {
  return with_unavailable_mapped([&] {
    run(tx, kTopUp, id, amount.value());
    return pool_from_row(run(tx, kFindPool, id).at(0));
  });
}

namespace {

void add(BatchComponent& total, const BatchComponent& part) {
  total.count += part.count;
  total.posted += part.posted;
  total.unfunded += part.unfunded;
}

struct Picked {
  std::int64_t id;
  std::string member;
  std::string merchant;
};

// Where a pass stands: after this payment, or at the date's start.
struct Cursor {
  std::optional<std::string> at;
  std::optional<std::int64_t> id;
};

// A chunk picked and locked in its own transaction, not yet written.
struct Chunk {
  std::unique_ptr<Tx> tx;
  std::vector<Picked> picked;
  std::vector<engine::PostedCashback> due;       // each payment's, from each source
  Cursor after;                                  // the cursor past its last payment
  std::map<std::string, std::int64_t> accounts;  // the members' points and merchants' payables, by key
};

// Picks and locks the next chunk after `from`, with what each payment is due (the city component
// split between the national and the city pool by its policy's weights) and the ids of the
// accounts its journal will name. Runs while the chunk before is written.
Chunk pick_chunk(Connection& connection, const std::string& district, const std::string& business_date,
                 int chunk_size, const Cursor& from) {
  return with_unavailable_mapped([&] {
    Chunk chunk{std::make_unique<Tx>(connection), {}, {}, {}, {}};
    run(*chunk.tx, kProbesOnly);
    const auto rows = run(*chunk.tx, kPick, district, business_date, chunk_size, from.at, from.id);
    if (rows.empty()) return chunk;
    chunk.after = {rows.back()[1].as<std::string>(), rows.back()[0].as<std::int64_t>()};

    std::set<long long> policy_ids;
    for (const auto& r : rows)
      if (!r[7].is_null()) policy_ids.insert(r[7].as<long long>());
    std::map<std::int64_t, engine::CityRules> splits;
    for (const auto& r : run(*chunk.tx, kFundingSplits, bigint_array({policy_ids.begin(), policy_ids.end()}))) {
      engine::CityRules rules;
      rules.split_national = r[1].as<int>();
      rules.split_city = r[2].as<int>();
      splits[r[0].as<std::int64_t>()] = rules;
    }
    const engine::CityRules no_policy;
    std::set<std::string> keys;
    chunk.picked.reserve(rows.size());
    chunk.due.reserve(rows.size());
    for (const auto& r : rows) {
      const Picked p{r[0].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::string>()};
      const auto policy = opt<std::int64_t>(r[7]);
      const auto found = policy ? splits.find(*policy) : splits.end();
      if (policy && found == splits.end())
        throw std::logic_error("payment " + std::to_string(p.id) + " names city policy " + std::to_string(*policy) +
                               ", which does not exist");
      const auto split = engine::split_city_component(won(r[4]), policy ? found->second : no_policy);
      const Won merchant = won(r[6]);
      chunk.due.push_back({split.national, split.city, won(r[5]), merchant});
      keys.insert(accounts::member_points(p.member));
      if (merchant != Won(0)) keys.insert(accounts::merchant_payable(p.merchant));
      chunk.picked.push_back(p);
    }
    for (const auto& r : run(*chunk.tx, kAccountIds, district, text_array({keys.begin(), keys.end()})))
      chunk.accounts.emplace(r[0].as<std::string>(), r[1].as<std::int64_t>());
    return chunk;
  });
}

// Draws the pools for a picked chunk, writes its postings and journal, moves the cursor past it,
// and commits.
void write_chunk(Chunk& chunk, const std::string& district, const std::string& business_date, int run_number) {
  with_unavailable_mapped([&] {
    Tx& tx = *chunk.tx;
    const auto& picked = chunk.picked;
    engine::DrawnPools pools;
    engine::PoolsLeft left;
    run(tx, kLockPools, district, business_date);
    for (const auto& r : run(tx, kPoolsRemaining, district, business_date)) {
      const auto source = r[1].as<std::string>();
      auto& pool = source == "national" ? pools.national : source == "city" ? pools.city : pools.district;
      auto& remaining = source == "national" ? left.national : source == "city" ? left.city : left.district;
      if (pool) continue;
      pool = r[0].as<std::int64_t>();
      remaining = std::max(Won(0), won(r[2]));
      open_account(tx, district, {accounts::pool_drawn(*pool), Normal::debit, std::nullopt});
    }
    const auto& due = chunk.due;
    const auto posted = engine::draw_cashback(due, left);
    engine::Postings lines;
    lines.reserve(picked.size() * 5);
    for (std::size_t i = 0; i < picked.size(); ++i) {
      const auto payment = engine::cashback_postings(picked[i].member, picked[i].merchant, posted[i], pools);
      lines.insert(lines.end(), payment.begin(), payment.end());
    }
    const auto journal = engine::merge_postings(lines);
    if (engine::imbalance(journal) != Won(0)) throw std::logic_error("a batch chunk's journal does not balance");

    std::vector<std::string> keys;
    keys.reserve(journal.size());
    for (const auto& l : journal) keys.push_back(l.account);
    const auto n = picked.size();
    run(tx, kWriteChunk, district, business_date, run_number, pools.national, pools.city, pools.district,
        bigint_array(n, [&](std::size_t i) { return picked[i].id; }),
        bigint_array(n, [&](std::size_t i) { return posted[i].national.value(); }),
        bigint_array(n, [&](std::size_t i) { return posted[i].city.value(); }),
        bigint_array(n, [&](std::size_t i) { return posted[i].district.value(); }),
        bigint_array(n, [&](std::size_t i) { return posted[i].merchant.value(); }),
        bigint_array(n, [&](std::size_t i) { return (due[i].national - posted[i].national).value(); }),
        bigint_array(n, [&](std::size_t i) { return (due[i].city - posted[i].city).value(); }),
        bigint_array(n, [&](std::size_t i) { return (due[i].district - posted[i].district).value(); }),
        text_array(keys), bigint_array(journal.size(), [&](std::size_t i) { return journal[i].amount.value(); }),
        bigint_array(journal.size(), [&](std::size_t i) {
          const auto found = chunk.accounts.find(journal[i].account);
          return found == chunk.accounts.end() ? std::optional<std::int64_t>() : found->second;
        }));
    run(tx, kChunkDone, district, business_date, chunk.after.at, chunk.after.id);
    tx.commit();
    return 0;
  });
}

// One pass of chunks from the stored cursor until nothing is pending. While one chunk is written
// on `connection`, the next is picked on `helper`, from the first one's end: the two never share a
// payment, the second locks the pools only once the first has committed (it waits on their rows),
// and so draws them in payment-time order. A pass that starts over from the date's start (for
// payments that committed behind the cursor) picks only when no chunk is in flight, since an
// uncommitted chunk's payments still look pending.
void post_chunks(Connection& connection, Connection& helper, const std::string& district,
                 const std::string& business_date, int chunk_size, const std::function<void(int)>& after_chunk,
                 int& chunks) {
  Cursor from;
  int run_number = 0;
  with_unavailable_mapped([&] {
    Tx tx(connection);
    const auto cursor = run(tx, kCursor, district, business_date).at(0);
    from = {opt<std::string>(cursor[0]), opt<std::int64_t>(cursor[1])};
    run_number = cursor[2].as<int>();
    return 0;
  });
  Connection* connections[2] = {&connection, &helper};
  int turn = 0;
  Chunk chunk = pick_chunk(*connections[turn], district, business_date, chunk_size, from);
  for (;;) {
    if (chunk.picked.empty()) {
      if (!from.at) return;
      // The pass is over. It starts over only when a payment committed behind it (no chunk is in
      // flight now, so every posting made so far is committed).
      const bool behind = with_unavailable_mapped([&] {
        const bool any = run(*chunk.tx, kAnyPending, district, business_date)[0][0].as<bool>();
        run(*chunk.tx, kSetCursor, district, business_date, std::optional<std::string>(),
            std::optional<std::int64_t>());
        chunk.tx->commit();
        return any;
      });
      chunk.tx.reset();
      if (!behind) return;
      from = {};
      chunk = pick_chunk(*connections[turn], district, business_date, chunk_size, from);
      continue;
    }
    from = chunk.after;
    auto next = std::async(std::launch::async, [&, other = connections[1 - turn]] {
      return pick_chunk(*other, district, business_date, chunk_size, from);
    });
    try {
      write_chunk(chunk, district, business_date, run_number);
    } catch (...) {
      // The next chunk was picked after this one: it is rolled back with it.
      try {
        next.get();
      } catch (...) {
      }
      throw;
    }
    after_chunk(++chunks);
    chunk = next.get();
    turn = 1 - turn;
  }
}

}  // namespace

BatchRun run_cashback_batch(Connection& connection, const std::string& district, const std::string& business_date,
                            int chunk_size, const std::function<std::string(const BatchReport&)>& render,
                            const std::function<void(int chunks_done)>& after_chunk) {
  auto& conn = connection.impl().conn;
  const auto lock_key = std::to_string(batch_lock_key(district, business_date));
  with_unavailable_mapped([&] {
    pqxx::nontransaction n(conn);
    n.exec("SELECT pg_advisory_lock(" + lock_key + ")");
    return 0;
  });
  struct Unlock {
    pqxx::connection& conn;
    std::string key;
    ~Unlock() {
      try {
        pqxx::nontransaction n(conn);
        n.exec("SELECT pg_advisory_unlock(" + key + ")");
      } catch (...) {
      }
    }
  } unlock{conn, lock_key};

  const bool nothing_to_do = with_unavailable_mapped([&] {
    Tx tx(connection);
    const auto rows = run(tx, kReadRun, district, business_date);
    if (rows.empty()) {
      run(tx, kStartRun, district, business_date);
    } else if (rows[0][0].as<std::string>() == "completed") {
      run(tx, kProbesOnly);
      if (!run(tx, kAnyPending, district, business_date)[0][0].as<bool>()) return true;
      run(tx, kFurtherRun, district, business_date);
    }
    tx.commit();
    return false;
  });
  if (nothing_to_do) {
    Tx tx(connection);
    return {true, *batch_report(tx, district, business_date)};
  }
  // A chunk that lost a deadlock to a cancellation is tried again, from the stored cursor.
  const auto helper = connection.sibling();
  for (int chunks = 0, retries = 0;;) {
    try {
      post_chunks(connection, *helper, district, business_date, chunk_size, after_chunk, chunks);
      break;
    } catch (const pqxx::transaction_rollback&) {
      if (++retries > 5) throw;
    }
  }
  Tx tx(connection);
  BatchReport report;
  report.district = district;
  report.business_date = business_date;
  with_unavailable_mapped([&] {
    report.run = run(tx, kCursor, district, business_date).at(0)[2].as<int>();
    for (const auto& t : run(tx, kReport, district, business_date)) {
      const auto number = t[0].as<int>();
      if (number < 1 || number > report.run) continue;
      report.runs.resize(report.run);
      auto& c = report.runs[number - 1];
      c.city = {t[1].as<std::int64_t>(), won(t[2]), won(t[3])};
      c.district_topup = {t[4].as<std::int64_t>(), won(t[5]), won(t[6])};
      c.merchant = {t[7].as<std::int64_t>(), won(t[8]), Won(0)};
    }
    report.runs.resize(report.run);
    for (const auto& c : report.runs) {
      add(report.components.city, c.city);
      add(report.components.district_topup, c.district_topup);
      add(report.components.merchant, c.merchant);
    }
    for (const auto& p : run(tx, kPoolsRemaining, district, business_date))
      report.pools.emplace_back(p[1].as<std::string>(), won(p[2]));
    return 0;
  });
  const auto text = render(report);
  with_unavailable_mapped([&] { return run(tx, kFinishRun, district, business_date, text).affected_rows(); });
  tx.commit();
  return {false, text};
}

std::optional<std::string> batch_report(Tx& tx, const std::string& district, const std::string& business_date) {
  return with_unavailable_mapped([&]() -> std::optional<std::string> {
    const auto rows = run(tx, kReadRun, district, business_date);
    if (rows.empty() || rows[0][1].is_null()) return std::nullopt;
    return rows[0][1].as<std::string>();  // the latest completed run's, while a further one runs
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

std::vector<Owed> owed_to_merchant(Tx& tx, const std::string& merchant, const std::string& business_date) {
  return with_unavailable_mapped([&] {
    std::vector<Owed> out;
    for (const auto& r : run(tx, kOwed, merchant, business_date))
      out.push_back({r[0].as<std::string>(), won(r[1]), won(r[2])});
    return out;
  });
}

void insert_settlement_portion(Tx& tx, const Owed& owed, std::int64_t id, const std::string& event_id,
                               const std::string& merchant, const std::string& business_date,
                               std::optional<std::int64_t> journal_id) {
  with_unavailable_mapped([&] {
    run(tx, kInsertSettlement, owed.district, id, event_id, merchant, business_date,
        (owed.payable + owed.fee_support).value(), owed.fee_support.value(), journal_id);
    return 0;
  });
}

TrialBalance trial_balance(Tx& tx, const std::string& district) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kTrialBalance, district)[0];
    return TrialBalance{won(r[0]), won(r[1])};
  });
}

}  // namespace evoucher::store

namespace evoucher::store {
namespace {

const Statement kSummary{
    "district_summary",
    "SELECT "
    " (SELECT coalesce(sum(amount), 0) FROM loads WHERE district = $1 "
    "    AND ((occurred_at + interval '9 hours') AT TIME ZONE 'UTC')::date BETWEEN $2::date AND $3::date)::bigint, "
    " (SELECT coalesce(sum(amount), 0) FROM refunds WHERE district = $1 "
    "    AND ((occurred_at + interval '9 hours') AT TIME ZONE 'UTC')::date BETWEEN $2::date AND $3::date)::bigint, "
    " count(p.id), coalesce(sum(p.price), 0)::bigint, coalesce(sum(p.discount), 0)::bigint, "
    " coalesce(sum(p.charged), 0)::bigint, "
    " (SELECT coalesce(sum(amount), 0) FROM cancellations WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint, "
    " coalesce(sum(p.city_cashback + p.district_cashback + p.merchant_cashback) "
    "          FILTER (WHERE k.payment_id IS NULL), 0)::bigint, "
    " coalesce(sum(k.posted_national + k.posted_city), 0)::bigint, coalesce(sum(k.posted_district), 0)::bigint, "
    " coalesce(sum(k.posted_merchant), 0)::bigint, "
    " coalesce(sum(k.unfunded_national + k.unfunded_city + k.unfunded_district), 0)::bigint, "
    " ((SELECT coalesce(sum(clawed_back), 0) FROM cancellations WHERE district = $1 "
    "     AND business_date BETWEEN $2::date AND $3::date) + "
    "  (SELECT coalesce(sum(clawed_back), 0) FROM flags WHERE district = $1 AND status = 'confirmed' "
    "     AND ((reviewed_at + interval '9 hours') AT TIME ZONE 'UTC')::date BETWEEN $2::date AND $3::date))::bigint, "
    " coalesce(sum(p.fee_support), 0)::bigint, "
    " (SELECT coalesce(sum(amount), 0) FROM settlements WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND key LIKE 'member:%:cash')::bigint, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND key LIKE 'member:%:points')::bigint, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND key LIKE 'merchant:%:payable')::bigint, "
    " (SELECT coalesce(sum(g.amount), 0) FROM grants g JOIN journals j ON j.district = g.district AND j.id = g.journal_id "
    "   WHERE g.district = $1 "
    "     AND ((j.occurred_at + interval '9 hours') AT TIME ZONE 'UTC')::date BETWEEN $2::date AND $3::date)::bigint, "
    " coalesce(sum(p.paid_program), 0)::bigint, "
    " (SELECT coalesce(sum(refund_program), 0) FROM cancellations WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint, "
    " (SELECT coalesce(sum(amount), 0) FROM program_expiries WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND key LIKE 'program:%')::bigint, "
    " (SELECT count(*) FROM members WHERE district = $1) "
    "FROM payments p LEFT JOIN cashback_postings k ON k.district = p.district AND k.business_date = p.business_date "
    "  AND k.payment_id = p.id "
    "WHERE p.district = $1 AND p.business_date BETWEEN $2::date AND $3::date"};

}  // namespace

DistrictSummary district_summary(Tx& tx, const std::string& district, const std::string& from, const std::string& to) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kSummary, district, from, to)[0];
    DistrictSummary s;
    s.loaded = won(r[0]);
    s.refunded = won(r[1]);
    s.payment_count = r[2].as<std::int64_t>();
    s.price = won(r[3]);
    s.discount = won(r[4]);
    s.charged = won(r[5]);
    s.cancelled = won(r[6]);
    s.pending = won(r[7]);
    s.posted_city = won(r[8]);
    s.posted_district = won(r[9]);
    s.posted_merchant = won(r[10]);
    s.unfunded = won(r[11]);
    s.clawed_back = won(r[12]);
    s.fee_support = won(r[13]);
    s.settled = won(r[14]);
    s.cash = won(r[15]);
    s.points = won(r[16]);
    s.payable = won(r[17]);
    s.program_granted = won(r[18]);
    s.program_spent = won(r[19]);
    s.program_refunded = won(r[20]);
    s.program_expired = won(r[21]);
    s.program_held = won(r[22]);
    s.members = r[23].as<std::int64_t>();
    return s;
  });
}

}  // namespace evoucher::store
