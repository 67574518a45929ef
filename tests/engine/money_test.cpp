// Won arithmetic and the rounding rule.
#include <gtest/gtest.h>

#include "evoucher/engine/money.hpp"

namespace evoucher {
namespace {

TEST(Money, FloorFractionRoundsDown) {
  EXPECT_EQ(apply_bp(Won(47'500), 50), Won(237));   // 237.5
  EXPECT_EQ(apply_bp(Won(50'000), 500), Won(2'500));
  EXPECT_EQ(floor_fraction(Won(45'525), 4, 6), Won(30'350));
  EXPECT_EQ(floor_fraction(Won(7), 2, 3), Won(4));   // 4.67
  EXPECT_EQ(floor_fraction(Won(-7), 2, 3), Won(-5)); // floor, not truncation
}

TEST(Money, HugeProductsDoNotOverflow) {
  EXPECT_EQ(apply_bp(Won(kMaxAmount), 10'000), Won(kMaxAmount));
  EXPECT_EQ(floor_fraction(Won(kMaxAmount), 1'000'000, 1'000'000), Won(kMaxAmount));
}

TEST(Money, CheckedArithmetic) {
  EXPECT_EQ(Won(5) + Won(7), Won(12));
  EXPECT_EQ(Won(5) - Won(7), Won(-2));
  EXPECT_THROW(Won(INT64_MAX) + Won(1), MoneyOverflow);
  EXPECT_THROW(Won(INT64_MIN) - Won(1), MoneyOverflow);
  EXPECT_THROW(floor_fraction(Won(1), 1, 0), std::invalid_argument);
}

}  // namespace
}  // namespace evoucher
