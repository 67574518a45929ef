// When a funding pool runs out at the pace of its recent draws: the console's burn-down forecast.
#pragma once

#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "evoucher/engine/money.hpp"

namespace evoucher::engine {

struct PoolDay {
  std::chrono::year_month_day date;
  Won remaining;  // after that date's cashback was posted
};

struct RunOutForecast {
  Won daily_draw;  // the average over the window's calendar days, rounded down
  std::optional<std::chrono::year_month_day> runs_out_on;  // none while nothing is drawn
};

// `days` ascending by date; `before` is what the pool held before the first of them. A day's
// draw is how far its remaining fell from the day before (a top-up's rise draws nothing). The
// draw of the last `window` calendar days, up to and including the last day, is averaged over
// `window`; at that pace the remaining reaches zero on runs_out_on (the last day itself when
// nothing is left).
RunOutForecast forecast_run_out(const std::vector<PoolDay>& days, Won before, int window = 7);

}  // namespace evoucher::engine
