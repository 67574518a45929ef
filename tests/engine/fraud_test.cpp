// The fraud rules at their boundaries: one below each threshold, and at it.
#include "evoucher/engine/fraud.hpp"

#include <gtest/gtest.h>

namespace evoucher::engine {
namespace {

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kNoon = 1'583'118'000'000;  // 2020-03-02T12:00:00+09:00

FlagFacts at(std::int64_t ms, const std::string& merchant = "m1", Won price = Won(10'000),
             const std::string& card = "c1") {
  return {price, card, merchant, ms, false};
}

std::vector<FlagRule> judge(const FraudRules& rules, DayCounters& day, const FlagFacts& p,
                            const std::vector<RecentPayment>& earlier = {}) {
  auto out = judge_payment(rules, p, day, earlier);
  count_payment(day, p);
  return out;
}

TEST(FraudRules, RepeatFlagsTheThirdPaymentAtOneMerchantAndLater) {
  FraudRules rules;
  rules.burst_count = 0;
  DayCounters day;
  EXPECT_EQ(judge(rules, day, at(kNoon)), std::vector<FlagRule>{});
  EXPECT_EQ(judge(rules, day, at(kNoon + 60 * kMinute, "m2")), std::vector<FlagRule>{});  // another merchant
  EXPECT_EQ(judge(rules, day, at(kNoon + 120 * kMinute)), std::vector<FlagRule>{});       // 2nd at m1
  EXPECT_EQ(judge(rules, day, at(kNoon + 180 * kMinute)), std::vector<FlagRule>{FlagRule::repeat});  // 3rd
  EXPECT_EQ(judge(rules, day, at(kNoon + 240 * kMinute)), std::vector<FlagRule>{FlagRule::repeat});  // 4th
  EXPECT_EQ(day.by_merchant, (std::map<std::string, int>{{"m1", 4}, {"m2", 1}}));
}

TEST(FraudRules, LargeFlagsOneMillionWonAndMore) {
  FraudRules rules;
  DayCounters day;
  EXPECT_EQ(judge_payment(rules, at(kNoon, "m1", Won(999'999)), day, {}), std::vector<FlagRule>{});
  EXPECT_EQ(judge_payment(rules, at(kNoon, "m1", Won(1'000'000)), day, {}), std::vector<FlagRule>{FlagRule::large});
  rules.large_price = Won(0);  // off
  EXPECT_EQ(judge_payment(rules, at(kNoon, "m1", Won(5'000'000)), day, {}), std::vector<FlagRule>{});
}

TEST(FraudRules, BurstFlagsTheFifthPaymentOfOneCardWithinTenMinutes) {
  FraudRules rules;
  rules.repeat_per_day = 0;
  DayCounters day;
  // Four payments by c1 in under ten minutes, and others by c2 that do not count for c1.
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(judge(rules, day, at(kNoon + i * 2 * kMinute, "m" + std::to_string(i))), std::vector<FlagRule>{});
    EXPECT_EQ(judge(rules, day, at(kNoon + i * 2 * kMinute + 1, "x", Won(1), "c2")), std::vector<FlagRule>{});
  }
  // The fifth at exactly ten minutes after the first: the first no longer counts (4 in window).
  EXPECT_EQ(judge_payment(rules, at(kNoon + 10 * kMinute, "m9"), day, {}), std::vector<FlagRule>{});
  // One ms earlier, all five are within ten minutes.
  EXPECT_EQ(judge_payment(rules, at(kNoon + 10 * kMinute - 1, "m9"), day, {}), std::vector<FlagRule>{FlagRule::burst});
}

TEST(FraudRules, BurstCountsTheDayBeforeAcrossMidnight) {
  FraudRules rules;
  const std::int64_t midnight = kNoon + 12 * 60 * kMinute;
  DayCounters yesterday;
  for (int i = 0; i < 4; ++i) count_payment(yesterday, at(midnight - (4 - i) * kMinute, "m" + std::to_string(i)));
  DayCounters today;
  EXPECT_EQ(judge_payment(rules, at(midnight + kMinute, "m9"), today, yesterday.recent),
            std::vector<FlagRule>{FlagRule::burst});
  EXPECT_EQ(judge_payment(rules, at(midnight + kMinute, "m9"), today, {}), std::vector<FlagRule>{});
}

TEST(FraudRules, OwnShopAndRuleOrder) {
  FraudRules rules;
  DayCounters day;
  day.by_merchant["m1"] = 2;
  auto p = at(kNoon, "m1", Won(2'000'000));
  p.by_owner = true;
  EXPECT_EQ(judge_payment(rules, p, day, {}),
            (std::vector<FlagRule>{FlagRule::repeat, FlagRule::large, FlagRule::own_shop}));
  rules.own_shop = false;
  EXPECT_EQ(judge_payment(rules, p, day, {}), (std::vector<FlagRule>{FlagRule::repeat, FlagRule::large}));
}

TEST(FraudRules, RecentKeepsOnlyTheLongestWindow) {
  DayCounters day;
  count_payment(day, at(kNoon));
  count_payment(day, at(kNoon + 30 * kMinute));
  count_payment(day, at(kNoon + 61 * kMinute));  // the first is now more than 60 minutes old
  EXPECT_EQ(day.recent, (std::vector<RecentPayment>{{"c1", kNoon + 30 * kMinute}, {"c1", kNoon + 61 * kMinute}}));
  count_payment(day, at(kNoon + 20 * kMinute));  // late, out of order: kept in time order
  EXPECT_EQ(day.recent.front(), (RecentPayment{"c1", kNoon + 20 * kMinute}));
  EXPECT_EQ(day.recent.size(), 3u);
}

TEST(FraudRules, SalesOverRevenueIsAboveOneTwelfth) {
  EXPECT_FALSE(sales_over_revenue(Won(100'000'000), Won(1'200'000'000)));  // exactly 1/12
  EXPECT_TRUE(sales_over_revenue(Won(100'000'001), Won(1'200'000'000)));
  EXPECT_FALSE(sales_over_revenue(Won(1), Won(13)));  // 13 / 12 = 1.08
  EXPECT_TRUE(sales_over_revenue(Won(2), Won(13)));
}

TEST(FraudRules, NamesRoundTrip) {
  for (auto r : {FlagRule::repeat, FlagRule::large, FlagRule::burst, FlagRule::own_shop, FlagRule::sales_over_revenue})
    EXPECT_EQ(flag_rule_from(to_string(r)), r);
  EXPECT_EQ(flag_rule_from("Repeat"), std::nullopt);
  EXPECT_EQ(flag_status_from("confirmed"), FlagStatus::confirmed);
  EXPECT_EQ(flag_status_from("closed"), std::nullopt);
}

}  // namespace
}  // namespace evoucher::engine
