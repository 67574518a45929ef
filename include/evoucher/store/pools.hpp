// Funding pools: money set aside for cashback, one per source and period, and their top-ups.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct Pool {
  std::int64_t id = 0;
  std::string source;  // national, city or district:<code>
  std::string period_start;
  std::string period_end;
  Won budget;
  Won drawn;  // the sum of the pool's accounts over every district
  std::string owner;  // "city", or the district whose pool it is (a district pool, a district program's)
  Won remaining() const { return budget - drawn; }
};
// A new pool; none when a pool of the same source overlaps the period (that one is returned in
// `overlapping`). Creations are serialised, and the database refuses an overlap besides.
struct PoolCreation {
  std::optional<Pool> created;
  std::optional<Pool> overlapping;
};
PoolCreation create_pool(Tx& tx, const std::string& source, const std::string& period_start,
                         const std::string& period_end, Won budget);
std::vector<Pool> list_pools(Tx& tx);
std::optional<Pool> find_pool(Tx& tx, std::int64_t id, bool lock = false);
// Raises the budget and records the top-up; the pool as it now stands.
Pool top_up_pool(Tx& tx, std::int64_t id, Won amount);

}  // namespace evoucher::store
