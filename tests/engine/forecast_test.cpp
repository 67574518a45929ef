// The pools' run-out forecast from the last 7 days' draw.
#include <gtest/gtest.h>

#include "evoucher/engine/forecast.hpp"
#include "evoucher/time.hpp"

namespace evoucher::engine {
namespace {

std::chrono::year_month_day day(const char* text) { return parse_date(text).value(); }

TEST(Forecast, AveragesTheLastSevenCalendarDaysAndProjectsTheRunOut) {
  // 1,000,000 at first; 10,000 drawn on 03-01, then 20,000 a day from 03-03 to 03-09 (03-02 had
  // no batch, 03-05 a top-up of 50,000 besides its draw).
  std::vector<PoolDay> days = {{day("2020-03-01"), Won(990'000)}, {day("2020-03-03"), Won(950'000)},
                               {day("2020-03-04"), Won(930'000)}, {day("2020-03-05"), Won(960'000)},
                               {day("2020-03-06"), Won(940'000)}, {day("2020-03-07"), Won(920'000)},
                               {day("2020-03-08"), Won(900'000)}, {day("2020-03-09"), Won(880'000)}};
  const auto f = forecast_run_out(days, Won(1'000'000));
  // 03-03..03-09: 40,000 + 20,000 + 0 (the top-up) + 20,000 x 4 = 140,000 over 7 days.
  EXPECT_EQ(f.daily_draw, Won(20'000));
  // 880,000 / 20,000 = 44 days after 03-09.
  EXPECT_EQ(f.runs_out_on, day("2020-04-22"));
}

TEST(Forecast, RoundsTheRunOutUpToAWholeDay) {
  const auto f = forecast_run_out({{day("2020-03-07"), Won(100)}}, Won(107));
  EXPECT_EQ(f.daily_draw, Won(1));  // 7 drawn over 7 days
  EXPECT_EQ(f.runs_out_on, day("2020-06-15"));  // 100 days later
  const auto g = forecast_run_out({{day("2020-03-07"), Won(101)}}, Won(115));
  EXPECT_EQ(g.daily_draw, Won(2));
  EXPECT_EQ(g.runs_out_on, day("2020-04-27"));  // 50.5 days: 51
}

TEST(Forecast, NothingDrawnNoRunOutAndNothingLeftRunsOutNow) {
  EXPECT_EQ(forecast_run_out({{day("2020-03-01"), Won(500)}}, Won(500)).runs_out_on, std::nullopt);
  EXPECT_EQ(forecast_run_out({}, Won(500)).runs_out_on, std::nullopt);
  EXPECT_EQ(forecast_run_out({{day("2020-03-01"), Won(0)}}, Won(500)).runs_out_on, day("2020-03-01"));
  // Draws older than the window do not count.
  const auto old = forecast_run_out({{day("2020-03-01"), Won(400)}, {day("2020-03-08"), Won(400)}}, Won(500));
  EXPECT_EQ(old.daily_draw, Won(0));
  EXPECT_EQ(old.runs_out_on, std::nullopt);
}

}  // namespace
}  // namespace evoucher::engine
