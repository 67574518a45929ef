// The processor's bodies and the policy rules, decoded from arbitrary bytes. A body either
// decodes, with every field inside its documented range, or names a problem; never both.
#include <cstdint>
#include <string>

#include "evoucher/api/json_input.hpp"
#include "evoucher/api/policy_json.hpp"
#include "evoucher/api/processor_bodies.hpp"

using namespace evoucher;
using namespace evoucher::api;

namespace {

void require(bool holds) {
  if (!holds) __builtin_trap();
}

void check_amount(Won w) { require(w.value() >= 1 && w.value() <= 10'000'000'000'000LL); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  std::string problem;
  if (const auto p = decode_payment(body, problem)) {
    require(problem.empty() && is_client_id(p->card) && is_client_id(p->merchant));
    require(p->channel == "card" || p->channel == "qr");
    require(in_service_era(p->occurred_at));
    check_amount(p->price);
  } else {
    require(!problem.empty());
  }
  problem.clear();
  if (const auto c = decode_cancellation(body, problem)) {
    require(problem.empty() && !c->event_id.empty() && in_service_era(c->occurred_at));
    check_amount(c->amount);
  } else {
    require(!problem.empty());
  }
  problem.clear();
  if (const auto s = decode_settlement(body, problem)) {
    require(problem.empty() && parse_date(s->business_date).has_value());
    check_amount(s->amount);
  } else {
    require(!problem.empty());
  }
  // Policy rules arrive as the `rules` object of a policy body.
  nlohmann::json doc;
  auto f = Fields::parse(body, doc);
  if (const auto* rules = f.raw("rules")) {
    std::string bad;
    const auto city = city_rules_from_json(*rules, bad);
    require(city.has_value() == bad.empty());
    bad.clear();
    const auto district = district_rules_from_json(*rules, bad);
    require(district.has_value() == bad.empty());
  }
  return 0;
}
