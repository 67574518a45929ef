// A Service built over workers that never connect, only to list its routes.
#include "support/routes.hpp"

#include "evoucher/api/policy_json.hpp"
#include "evoucher/api/service.hpp"

namespace evoucher::testing {

std::set<std::pair<std::string, std::string>> served_routes() {
  Config config;
  store::WorkerPool pool("host=/nonexistent", {}, 1, 1);
  ops::PolicyCache policies(api::decode_stored_city_rules, api::decode_stored_district_rules);
  ops::GroupWriter writer("host=/nonexistent", {}, {}, policies);
  store::WorkerPool batches("host=/nonexistent", {}, 1, 1);
  store::WorkerPool exports("host=/nonexistent", {}, 1, 1);
  store::WorkerPool reads("host=/nonexistent", {}, 1, 1);
  std::set<std::pair<std::string, std::string>> served;
  {
    api::Service service(config, pool, reads, writer, batches, exports);
    for (const auto& r : service.routes()) served.insert(r);
  }
  writer.stop();
  pool.stop();
  return served;
}

}  // namespace evoucher::testing
