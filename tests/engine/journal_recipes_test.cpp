// Every journal recipe balances, with the exact postings of the worked examples.
#include <gtest/gtest.h>

#include "evoucher/engine/journal_recipes.hpp"

namespace evoucher::engine {
namespace {

TEST(JournalRecipes, LoadAndRefundMoveCashAgainstTheFloat) {
  EXPECT_EQ(load_postings("m1", Won(1'000'000)),
            (Postings{{"float", Won(1'000'000)}, {"member:m1:cash", Won(-1'000'000)}}));
  EXPECT_EQ(refund_postings("m1", Won(300), Won(0)), (Postings{{"member:m1:cash", Won(300)}, {"float", Won(-300)}}));
  // A clawback debt is settled from the cash: points come back to zero, the bank gets the rest.
  EXPECT_EQ(refund_postings("m1", Won(1'000'000), Won(50'000)),
            (Postings{{"member:m1:cash", Won(1'000'000)}, {"member:m1:points", Won(-50'000)}, {"float", Won(-950'000)}}));
  EXPECT_EQ(imbalance(load_postings("m1", Won(7))), Won(0));
  EXPECT_EQ(imbalance(refund_postings("m1", Won(7), Won(3))), Won(0));
}

TEST(JournalRecipes, PaymentPaysThePayableFromPointsThenCash) {
  PaymentQuote q;
  q.charged = Won(95'000);
  q.paid_points = Won(55'100);
  q.paid_cash = Won(39'900);
  const auto p = payment_postings("m1", "bp-bakery", q);
  EXPECT_EQ(p, (Postings{{"member:m1:points", Won(55'100)},
                         {"member:m1:cash", Won(39'900)},
                         {"merchant:bp-bakery:payable", Won(-95'000)}}));
  EXPECT_EQ(imbalance(p), Won(0));
}

TEST(JournalRecipes, CancellationAfterPostingClawsBackToThePools) {
  CancellationQuote q;
  q.amount = Won(100'000);
  q.refund_cash = Won(100'000);
  Clawback claw;
  claw.taken = {Won(5'016), Won(2'509), Won(0), Won(3'000)};
  const auto p = cancellation_postings("m1", "ys-books", q, claw, {11, 12, 13});
  EXPECT_EQ(p, (Postings{{"merchant:ys-books:payable", Won(100'000)},
                         {"member:m1:cash", Won(-100'000)},
                         {"member:m1:points", Won(10'525)},
                         {"pool:11:drawn", Won(-5'016)},
                         {"pool:12:drawn", Won(-2'509)},
                         {"merchant:ys-books:payable", Won(-3'000)}}));
  EXPECT_EQ(imbalance(p), Won(0));
  EXPECT_EQ(imbalance(cancellation_postings("m1", "ys-books", q, std::nullopt, {})), Won(0));
}

TEST(JournalRecipes, FraudClawbackReturnsWhatWasPosted) {
  const auto p = clawback_postings("m1", "bp-bakery", {Won(3'166), Won(1'584), Won(950), Won(0)}, {11, 12, 13});
  EXPECT_EQ(p, (Postings{{"member:m1:points", Won(5'700)},
                         {"pool:11:drawn", Won(-3'166)},
                         {"pool:12:drawn", Won(-1'584)},
                         {"pool:13:drawn", Won(-950)}}));
  EXPECT_EQ(imbalance(p), Won(0));
}

TEST(JournalRecipes, CashbackPostingAndSettlementBalance) {
  const auto c = cashback_postings("m1", "ys-books", {Won(30'350), Won(15'175), Won(950), Won(14'400)}, {1, 2, 3});
  EXPECT_EQ(c, (Postings{{"pool:1:drawn", Won(30'350)},
                         {"pool:2:drawn", Won(15'175)},
                         {"pool:3:drawn", Won(950)},
                         {"merchant:ys-books:payable", Won(14'400)},
                         {"member:m1:points", Won(-60'875)}}));
  EXPECT_EQ(imbalance(c), Won(0));
  const auto s = settlement_postings("ys-books", Won(368'600), Won(237));
  EXPECT_EQ(s, (Postings{{"merchant:ys-books:payable", Won(368'600)}, {"fee_support", Won(237)}, {"float", Won(-368'837)}}));
  EXPECT_EQ(imbalance(s), Won(0));
}

// The batch's chunk journal: two payments of one member and one merchant, and a pool that pays one
// of them only. Each account's lines become one, a zero sum disappears, keys in byte order.
TEST(JournalRecipes, MergedPostingsSumEachAccountOnceAndDropZeros) {
  Postings lines = cashback_postings("m2", "x1", {Won(400), Won(200), Won(0), Won(300)}, {1, 2, 3});
  const auto second = cashback_postings("m2", "x1", {Won(0), Won(0), Won(50), Won(0)}, {1, 2, 3});
  lines.insert(lines.end(), second.begin(), second.end());
  lines.push_back({"member:m10:points", Won(-7)});
  lines.push_back({"member:m10:points", Won(7)});
  const auto merged = merge_postings(lines);
  EXPECT_EQ(merged, (Postings{{"member:m2:points", Won(-950)},
                              {"merchant:x1:payable", Won(300)},
                              {"pool:1:drawn", Won(400)},
                              {"pool:2:drawn", Won(200)},
                              {"pool:3:drawn", Won(50)}}));
  EXPECT_EQ(imbalance(merged), Won(0));
  EXPECT_EQ(merge_postings({}), Postings{});
}

TEST(JournalRecipes, APoolAmountWithoutItsPoolIsABug) {
  EXPECT_THROW(cashback_postings("m1", "x", {Won(1), Won(0), Won(0), Won(0)}, {}), std::logic_error);
}

}  // namespace
}  // namespace evoucher::engine
