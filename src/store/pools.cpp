// Funding pools: creation (serialised, refusing an overlap), listing, lookup and top-ups.
#include "evoucher/store/pools.hpp"

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
    "id, source, period_start::text AS period_start, period_end::text AS period_end, budget, drawn, "
    "CASE WHEN source LIKE 'district:%' THEN substr(source, 10) "
    "     WHEN source LIKE 'program:%' THEN coalesce((SELECT g.district FROM programs g WHERE g.pool_id = pools.id), "
    "                                               'city') "
    "     ELSE 'city' END AS owner";

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
  return {r["id"].as<std::int64_t>(), r["source"].as<std::string>(), r["period_start"].as<std::string>(),
          r["period_end"].as<std::string>(), won(r["budget"]), won(r["drawn"]), r["owner"].as<std::string>()};
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
    const auto id = run(tx, kCreatePool, source, period_start, period_end, budget.value())[0]["id"].as<std::int64_t>();
    out.created = Pool{id, source, period_start, period_end, budget, Won(0), pool_owner(source)};
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

}  // namespace evoucher::store
