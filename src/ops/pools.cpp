// Pools and programs: keyed, audited creations and top-ups, and their reads.
#include "evoucher/ops/pools.hpp"

#include "evoucher/store/districts.hpp"

namespace evoucher::ops {
namespace {

std::string pool_district(const std::string& source) {
  return source.rfind("district:", 0) == 0 ? source.substr(9) : "";
}

}  // namespace

std::string pool_key_district(const std::string& source) {
  const auto district = pool_district(source);
  return district.empty() ? "city" : district;
}

Result create_pool(store::Connection& connection, const CreatePool& c) {
  store::Tx tx(connection);
  PoolCreation out;
  const auto district = pool_district(c.source);
  if (!district.empty() && !store::find_district(tx, district)) {
    out.unknown_source = "field 'source': no district " + district;
    return answered(c.render(out));
  }
  if (auto replay = earlier(tx, *c.write.key)) return *replay;
  out.made = store::create_pool(tx, c.source, c.period_start, c.period_end, c.budget);
  const auto resource = out.made.created ? "pool:" + std::to_string(out.made.created->id) : "pool:" + c.source;
  return commit_write(tx, c.write, resource, c.render(out));
}

Result top_up_pool(store::Connection& connection, const TopUpPool& c) {
  store::Tx tx(connection);
  TopUp out;
  const auto pool = store::find_pool(tx, c.pool, /*lock=*/true);
  if (!pool || !c.may_see(*pool)) {
    out.not_found = "no pool " + c.pool_ref;
    return answered(c.render(out));
  }
  if (!c.may_write(*pool)) {
    out.forbidden = "top up " + pool->source + " pools";
    return answered(c.render(out));
  }
  auto write = c.write;
  write.key->district = write.audit.district = pool_key_district(pool->source);
  if (auto replay = earlier(tx, *write.key)) return *replay;
  out.pool = store::top_up_pool(tx, c.pool, c.amount);
  return commit_write(tx, write, "pool:" + c.pool_ref, c.render(out));
}

std::vector<store::Pool> pools(store::Connection& connection) {
  return reading(connection, [&](store::Tx& tx) { return store::list_pools(tx); });
}

std::optional<BurnDown> burn_down(store::Connection& connection, std::int64_t id) {
  store::Tx tx(connection);
  auto pool = store::find_pool(tx, id);
  if (!pool) return std::nullopt;
  return BurnDown{std::move(*pool), store::pool_history(tx, id)};
}

Result create_program(store::Connection& connection, const CreateProgram& c) {
  store::Tx tx(connection);
  ProgramCreation out;
  if (!store::find_district(tx, c.program.district)) {
    out.unknown_district = "field 'district': no district " + c.program.district;
    return answered(c.render(out));
  }
  if (auto replay = earlier(tx, *c.write.key)) return *replay;
  std::tie(out.outcome, out.program) = store::create_program(tx, c.program, c.budget);
  return commit_write(tx, c.write, "program:" + c.program.id, c.render(out));
}

std::optional<ProgramView> program_view(store::Connection& connection, const std::string& id) {
  store::Tx tx(connection);
  auto program = store::find_program(tx, id);
  if (!program) return std::nullopt;
  ProgramView v;
  v.by_district = store::program_totals(tx, program->id);
  v.pool = store::find_pool(tx, program->pool_id);
  v.program = std::move(*program);
  return v;
}

}  // namespace evoucher::ops
