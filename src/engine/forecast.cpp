// The run-out forecast: pure arithmetic over a pool's remaining by day.
#include "evoucher/engine/forecast.hpp"

namespace evoucher::engine {

RunOutForecast forecast_run_out(const std::vector<PoolDay>& days, Won before, int window) {
  RunOutForecast f;
  if (days.empty() || window <= 0) return f;
  using std::chrono::sys_days;
  const auto last = sys_days(days.back().date);
  const auto first_counted = last - std::chrono::days(window - 1);
  std::int64_t drawn = 0;
  Won previous = before;
  for (const auto& d : days) {
    const auto fell = previous.value() - d.remaining.value();
    if (sys_days(d.date) >= first_counted && fell > 0) drawn += fell;
    previous = d.remaining;
  }
  f.daily_draw = Won(drawn / window);
  const auto left = days.back().remaining.value();
  if (left <= 0) {
    f.runs_out_on = days.back().date;
  } else if (f.daily_draw.value() > 0) {
    const auto per_day = f.daily_draw.value();
    f.runs_out_on = std::chrono::year_month_day(last + std::chrono::days((left + per_day - 1) / per_day));
  }
  return f;
}

}  // namespace evoucher::engine
