// Load limits, the balance cap, policy validation and the refund rule.
#include <gtest/gtest.h>

#include "engine/engine_fixture.hpp"
#include "evoucher/engine/member_money.hpp"

namespace evoucher::engine::testing {
namespace {

TEST(Loads, MonthlyLimitAndBalanceCap) {
  const auto city = seed_city();
  EXPECT_TRUE(check_load(city, Won(1'000'000), Won(0), {Won(0), Won(0)}).allowed);
  auto over_month = check_load(city, Won(1), Won(1'000'000), {Won(0), Won(0)});
  EXPECT_FALSE(over_month.allowed);
  EXPECT_EQ(over_month.refusal, "monthly_load_limit: 1000000 loaded this month + 1 exceeds 1000000");
  auto over_cap = check_load(city, Won(500'000), Won(0), {Won(1'400'000), Won(200'000)});
  EXPECT_FALSE(over_cap.allowed);
  EXPECT_EQ(over_cap.refusal, "balance_cap: balance 1600000 + 500000 exceeds 2000000");
  // Negative points count as zero: they make no room under the cap.
  EXPECT_TRUE(check_load(city, Won(600'000), Won(0), {Won(1'400'000), Won(-50'000)}).allowed);
  auto negative = check_load(city, Won(600'001), Won(0), {Won(1'400'000), Won(-50'000)});
  EXPECT_FALSE(negative.allowed);
  EXPECT_EQ(negative.refusal, "balance_cap: balance 1400000 + 600001 exceeds 2000000");
}

TEST(Refunds, SixtyPercentRule) {
  const auto city = seed_city();
  // Nothing spent: allowed.
  EXPECT_EQ(check_refund(city, {Won(100'000), Won(0)}, Won(100'000), Won(0)).amount, Won(100'000));
  // 59,999 of 100,000 spent: refused.
  auto r = check_refund(city, {Won(40'001), Won(0)}, Won(100'000), Won(0));
  EXPECT_FALSE(r.amount);
  EXPECT_EQ(r.refusal, "refund_min_used_pct: spent 59999 of 100000 loaded, less than 60 %");
  // Exactly 60 %: allowed; points are never refunded.
  EXPECT_EQ(check_refund(city, {Won(40'000), Won(9'999)}, Won(100'000), Won(0)).amount, Won(40'000));
  // Earlier refunds are not spending.
  EXPECT_FALSE(check_refund(city, {Won(30'000), Won(0)}, Won(200'000), Won(100'000)).amount);
  // Cash 0: nothing to refund.
  EXPECT_EQ(check_refund(city, {Won(0), Won(500)}, Won(100'000), Won(0)).refusal, "there is no cash to refund");
}

// PRODUCT.md's example: load 1,000,000; pay 500,000; 50,000 of cashback posted and spent; the
// payment cancelled. The member holds 950,000 and has spent 50,000 (5 %): refused.
TEST(Refunds, ClawbackDebtIsNotHeldMoney) {
  const auto city = seed_city();
  auto r = check_refund(city, {Won(1'000'000), Won(-50'000)}, Won(1'000'000), Won(0));
  EXPECT_FALSE(r.amount);
  EXPECT_EQ(r.refusal, "refund_min_used_pct: spent 50000 of 1000000 loaded, less than 60 %");
  // Enough spent: the debt is settled from cash and the rest is paid out.
  auto allowed = check_refund(city, {Won(400'000), Won(-30'000)}, Won(1'000'000), Won(0));
  EXPECT_EQ(allowed.amount, Won(370'000));
  EXPECT_EQ(allowed.cash, Won(400'000));
  EXPECT_EQ(allowed.debt, Won(30'000));
  // A debt as large as the cash leaves nothing to refund.
  EXPECT_EQ(check_refund(city, {Won(30'000), Won(-30'000)}, Won(100'000), Won(0)).refusal,
            "there is nothing to refund: cash 30000 does not exceed the debt of 30000 in points");
}

TEST(PolicyValidation, CityRules) {
  EXPECT_TRUE(validate(seed_city()).empty());
  auto bad = seed_city();
  bad.brackets = {{Won(500'000), 1'000}, {Won(400'000), 100}};
  bad.split_national = 0;
  bad.split_city = 0;
  bad.refund_min_used_pct = 101;
  EXPECT_EQ(validate(bad), (std::vector<std::string>{
                               "brackets[1].up_to must be above the previous bound (500000)",
                               "funding_split weights must be from 0 to 1000000, and not both 0",
                               "refund_min_used_pct must be from 0 to 100"}));
  CityRules empty;
  EXPECT_EQ(validate(empty).front(), "brackets must hold at least one bracket");
  EXPECT_EQ(validate(DistrictRules{10'001, 50}), (std::vector<std::string>{"topup_bp must be from 0 to 10000"}));
}

}  // namespace
}  // namespace evoucher::engine::testing
