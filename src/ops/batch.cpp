// Rendering the batch report, and the closed-date rule.
#include "evoucher/ops/batch.hpp"

#include <nlohmann/json.hpp>

namespace evoucher::ops {

std::string render_batch_report(const store::BatchReport& r) {
  using json = nlohmann::json;
  auto component = [](const store::BatchComponent& c) {
    return json{{"count", c.count}, {"posted", c.posted.value()}, {"unfunded", c.unfunded.value()}};
  };
  json pools = json::array();
  for (const auto& [source, remaining] : r.pools) pools.push_back({{"source", source}, {"remaining", remaining.value()}});
  return json{{"district", r.district},
              {"business_date", r.business_date},
              {"status", "completed"},
              {"components",
               {{"city", component(r.city)}, {"district", component(r.district_topup)}, {"merchant", component(r.merchant)}}},
              {"pools", pools}}
      .dump();
}

BatchOutcome run_batch(store::Connection& connection, const std::string& district, const std::string& business_date,
                       Timestamp now, int chunk_size, const std::function<void(int)>& after_chunk) {
  BatchOutcome out;
  const auto date = parse_date(business_date).value();
  // The date closes at midnight in Seoul, 15:00 UTC of the same date.
  const Timestamp closes = std::chrono::sys_days{date} + std::chrono::days{1} - kSeoulOffset;
  if (now < closes) {
    out.refusal = BatchRefusal::date_not_closed;
    out.detail = "business date " + business_date + " ends at " + format_rfc3339(closes) + "; it is " +
                 format_rfc3339(std::chrono::floor<std::chrono::seconds>(now));
    return out;
  }
  out.run = store::run_cashback_batch(connection, district, business_date, chunk_size, render_batch_report, after_chunk);
  return out;
}

}  // namespace evoucher::ops
