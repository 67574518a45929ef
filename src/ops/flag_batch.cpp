// The sales-over-revenue run. Its writes are flags only, no money: it runs in one transaction of
// its own, beside the money path, and the unique index on (district, merchant, month) makes a
// rerun, or two runs at once, raise each flag once.
#include "evoucher/ops/flag_batch.hpp"

#include <nlohmann/json.hpp>

#include "evoucher/engine/fraud.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/store/parties.hpp"

namespace evoucher::ops {

FlagBatchOutcome run_flag_batch(store::Connection& connection, PolicyCache& policies, const std::string& business_date,
                                Timestamp now) {
  FlagBatchOutcome out;
  if (auto open = date_still_open(business_date, now)) {
    out.date_not_closed = std::move(open);
    return out;
  }
  const auto date = parse_date(business_date).value();
  const std::chrono::year_month_day first{date.year(), date.month(), std::chrono::day{1}};
  const auto date_end = seoul_day_end(date);
  store::Tx tx(connection);
  const auto version = store::policy_at(tx, "city", date_end - std::chrono::microseconds(1));
  const auto rules = policies.by_id(tx, version ? std::optional(version->id) : std::nullopt, std::nullopt).city;
  nlohmann::json raised = nlohmann::json::array();
  int judged = 0;
  if (rules->fraud.sales_over_revenue) {
    std::vector<store::NewFlag> flags;
    for (const auto& s : store::merchant_sales(tx, format_date(first), business_date)) {
      ++judged;
      if (!engine::sales_over_revenue(s.sales, s.annual_revenue)) continue;
      const auto month = format_date(first);
      flags.push_back({s.district, engine::FlagRule::sales_over_revenue, std::nullopt, std::nullopt, std::nullopt,
                       s.merchant, date_end, business_date, month,
                       "voucher sales of " + std::to_string(s.sales.value()) + " won in " + month.substr(0, 7) +
                           " through " + business_date + " exceed the declared annual revenue of " +
                           std::to_string(s.annual_revenue.value()) + " won / 12 = " +
                           std::to_string(s.annual_revenue.value() / 12)});
    }
    for (const auto& f : store::insert_flags(tx, flags))
      raised.push_back({{"merchant", f.merchant}, {"district", f.district}, {"detail", f.detail}});
  }
  tx.commit();
  out.report = nlohmann::json{{"business_date", business_date},
                              {"month", format_date(first).substr(0, 7)},
                              {"rule", rules->fraud.sales_over_revenue ? "sales_over_revenue" : "off"},
                              {"merchants_judged", judged},
                              {"raised", raised}}
                   .dump();
  return out;
}

}  // namespace evoucher::ops
