// Funding pools and policy-money programs as operations: creations and top-ups are keyed admin
// writes, each in its own audited transaction; reads are one snapshot each.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/ops/admin.hpp"
#include "evoucher/store/pools.hpp"
#include "evoucher/store/programs.hpp"
#include "evoucher/store/reports.hpp"

namespace evoucher::ops {

// Pool keys live with the district that owns the pool; the city's pools with the `city` district.
std::string pool_key_district(const std::string& source);

struct PoolCreation {
  store::PoolCreation made;                  // created, or the pool it overlaps
  std::optional<std::string> unknown_source;  // the detail of a 400: no such district
};
struct CreatePool {
  std::string source;  // national, city or district:<code>
  std::string period_start, period_end;
  Won budget;
  AdminWrite write;  // keyed in pool_key_district(source)
  std::function<Answer(const PoolCreation&)> render;
};
Result create_pool(store::Connection& connection, const CreatePool& command);

struct TopUp {
  std::optional<store::Pool> pool;  // as it now stands
  std::optional<std::string> not_found;
  std::optional<std::string> forbidden;
};
struct TopUpPool {
  std::int64_t pool = 0;
  std::string pool_ref;  // as the caller sent it
  Won amount;
  std::function<bool(const store::Pool&)> may_see;
  std::function<bool(const store::Pool&)> may_write;
  AdminWrite write;  // its key's district is the pool's, filled in here
  std::function<Answer(const TopUp&)> render;
};
Result top_up_pool(store::Connection& connection, const TopUpPool& command);

std::vector<store::Pool> pools(store::Connection& connection);
struct BurnDown {
  store::Pool pool;
  std::vector<store::PoolHistoryDay> days;
};
std::optional<BurnDown> burn_down(store::Connection& connection, std::int64_t pool);

struct ProgramCreation {
  store::CreateOutcome outcome = store::CreateOutcome::created;
  store::Program program;
  std::optional<std::string> unknown_district;  // the detail of a 400
};
struct CreateProgram {
  store::Program program;
  Won budget;
  AdminWrite write;  // keyed in the program's district
  std::function<Answer(const ProgramCreation&)> render;
};
Result create_program(store::Connection& connection, const CreateProgram& command);

struct ProgramView {
  store::Program program;
  std::map<std::string, store::ProgramTotals> by_district;
  std::optional<store::Pool> pool;
};
std::optional<ProgramView> program_view(store::Connection& connection, const std::string& id);

}  // namespace evoucher::ops
