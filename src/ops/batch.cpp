// Rendering the batch report, and the closed-date rule.
#include "evoucher/ops/batch.hpp"

#include <nlohmann/json.hpp>


namespace evoucher::ops {

std::string render_batch_report(const BatchReport& r) {
  using json = nlohmann::json;
  auto component = [](const store::BatchComponent& c) {
    return json{{"count", c.count}, {"posted", c.posted.value()}, {"unfunded", c.unfunded.value()}};
  };
  auto components = [&](const store::BatchComponents& c) {
    return json{{"city", component(c.city)}, {"district", component(c.district_topup)},
                {"merchant", component(c.merchant)}};
  };
  json runs = json::array();
  for (std::size_t i = 0; i < r.runs.size(); ++i)
    runs.push_back({{"run", i + 1}, {"components", components(r.runs[i])}});
  json pools = json::array();
  for (const auto& [source, remaining] : r.pools) pools.push_back({{"source", source}, {"remaining", remaining.value()}});
  return json{{"district", r.district},     {"business_date", r.business_date},   {"status", "completed"},
              {"run", r.run},               {"components", components(r.components)}, {"runs", runs},
              {"pools", pools}}
      .dump();
}

std::optional<std::string> date_still_open(const std::string& business_date, Timestamp now) {
  const Timestamp closes = seoul_day_end(parse_date(business_date).value());
  if (now >= closes) return std::nullopt;
  return "business date " + business_date + " ends at " + format_rfc3339(closes) + "; it is " +
         format_rfc3339(std::chrono::floor<std::chrono::seconds>(now));
}

BatchOutcome run_batch(store::Connection& connection, PolicyCache& policies, const std::string& district,
                       const std::string& business_date, Timestamp now, int chunk_size,
                       const std::function<void(int)>& after_chunk) {
  BatchOutcome out;
  if (auto open = date_still_open(business_date, now)) {
    out.refusal = BatchRefusal::date_not_closed;
    out.detail = std::move(*open);
    return out;
  }
  out.run = run_cashback_batch(connection, policies, district, business_date, chunk_size, render_batch_report,
                               after_chunk);
  return out;
}

}  // namespace evoucher::ops
