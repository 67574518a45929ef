// The payment and cancellation deciders without a database: declines in their order, the money a
// payment moves, fraud flags, and a member's later command seeing the earlier ones of the group.
#include "ops/deciders_fixture.hpp"

namespace evoucher::ops::testing {
namespace {

using engine::FlagRule;

TEST_F(Deciders, APaymentIsApprovedWithItsJournalRecordAndMonth) {
  const auto r = decide(payment("ev-1", Won(10'000)));
  EXPECT_EQ(r.answer.status, 201);
  // Cash pays all of it; the first bracket earns 10 % city cashback.
  EXPECT_EQ(r.answer.body, "pay-bupyeong-101 cash 10000 points 0 cashback 1000");
  ASSERT_EQ(rows().journals.size(), 1u);
  EXPECT_EQ(rows().journals[0].id, 901);
  EXPECT_EQ(rows().journals[0].kind, "payment");
  ASSERT_EQ(rows().payments.size(), 1u);
  EXPECT_EQ(rows().payments[0].id, 101);
  EXPECT_EQ(rows().payments[0].city_cashback, Won(1'000));
  EXPECT_EQ(rows().payments[0].city_policy_id, 7);
  EXPECT_EQ(rows().payments[0].business_date, "2026-03-10");
  EXPECT_EQ(cash("m1"), Won(90'000));
  EXPECT_EQ(group.facts.months.at({"bupyeong", "m1", "2026-03-01"}).eligible_spent, Won(10'000));
  EXPECT_EQ(late.clock_reads, 0);  // a payment carries the processor's time
  EXPECT_EQ(group.changes.month_deltas.at({"bupyeong", "m1", "2026-03-01"}).eligible_spent, Won(10'000));
  EXPECT_EQ(group.changes.payables, (std::set<DistrictKey>{{"bupyeong", "cafe"}}));
  ASSERT_EQ(rows().events.size(), 1u);
  EXPECT_EQ(rows().events[0].decision, "approved");
  EXPECT_EQ(rows().events[0].operation, "pay-bupyeong-101");
  EXPECT_EQ(rows().events[0].member, "m1");
  EXPECT_EQ(group.facts.days.at({"bupyeong", "m1", "2026-03-10"}).by_merchant.at("cafe"), 1);
}

TEST_F(Deciders, PointsPayBeforeCash) {
  points("m1") = Won(3'000);
  EXPECT_EQ(decide(payment("ev-1", Won(10'000))).answer.body, "pay-bupyeong-101 cash 7000 points 3000 cashback 1000");
  EXPECT_EQ(cash("m1"), Won(93'000));
  EXPECT_EQ(points("m1"), Won(0));
}

TEST_F(Deciders, AnUnknownCardIsDeclinedAndCountedUnderNoDistrict) {
  const auto r = decide(payment("ev-1", Won(10'000), "card-9"));
  EXPECT_EQ(r.answer.status, 402);
  EXPECT_EQ(r.answer.body, "unknown_card");
  ASSERT_EQ(rows().events.size(), 1u);
  EXPECT_EQ(rows().events[0].decision, "declined");
  EXPECT_EQ(rows().events[0].reason, "unknown_card");
  EXPECT_EQ(rows().events[0].district, std::nullopt);
  EXPECT_TRUE(rows().journals.empty());
  EXPECT_EQ(group.next_id, 0u);  // a decline takes no id
}

TEST_F(Deciders, ASuspendedCardIsDeclined) {
  group.facts.cards["card-1"].status = store::CardStatus::suspended;
  EXPECT_EQ(decide(payment("ev-1", Won(10'000))).answer.body, "card_inactive");
  EXPECT_EQ(rows().events[0].district, "bupyeong");
  EXPECT_EQ(cash("m1"), Won(100'000));
}

TEST_F(Deciders, AClosedCardIsDeclined) {
  group.facts.cards["card-1"].status = store::CardStatus::closed;
  EXPECT_EQ(decide(payment("ev-1", Won(10'000))).answer.body, "card_inactive");
}

TEST_F(Deciders, AnUnknownMerchantIsDeclined) {
  EXPECT_EQ(decide(payment("ev-1", Won(10'000), "card-1", "nowhere")).answer.body, "unknown_merchant");
}

TEST_F(Deciders, ASuspendedMerchantIsIneligible) {
  group.facts.merchants["cafe"].status = store::MerchantStatus::suspended;
  EXPECT_EQ(decide(payment("ev-1", Won(10'000))).answer.body, "merchant_ineligible");
}

TEST_F(Deciders, AnExcludedCategoryIsIneligible) {
  group.facts.merchants["mart"] = merchant("mart", "large_mart");
  EXPECT_EQ(decide(payment("ev-1", Won(10'000), "card-1", "mart")).answer.body, "merchant_ineligible");
}

TEST_F(Deciders, TooLittleMoneyIsInsufficientFunds) {
  cash("m1") = Won(9'999);
  const auto r = decide(payment("ev-1", Won(10'000)));
  EXPECT_EQ(r.answer.body, "insufficient_funds");
  EXPECT_EQ(rows().events[0].reason, "insufficient_funds");
  EXPECT_EQ(cash("m1"), Won(9'999));
}

TEST_F(Deciders, AMembersSecondPaymentSeesTheFirstOnesCash) {
  cash("m1") = Won(15'000);
  EXPECT_EQ(decide(payment("ev-1", Won(10'000))).answer.status, 201);
  EXPECT_EQ(decide(payment("ev-2", Won(10'000))).answer.body, "insufficient_funds");
  EXPECT_EQ(cash("m1"), Won(5'000));
  EXPECT_EQ(rows().payments.size(), 1u);
}

TEST_F(Deciders, AMembersSecondPaymentSeesTheFirstOnesMonth) {
  decide(payment("ev-1", Won(10'000)));
  decide(payment("ev-2", Won(20'000)));
  ASSERT_EQ(rows().payments.size(), 2u);
  EXPECT_EQ(rows().payments[1].eligible_before, Won(10'000));
  EXPECT_EQ(rows().payments[1].id, 102);
  EXPECT_EQ(group.changes.month_deltas.at({"bupyeong", "m1", "2026-03-01"}).eligible_spent, Won(30'000));
}

TEST_F(Deciders, AnEventRepeatedInTheGroupAnswersTheFirstAnswer) {
  const auto first = decide(payment("ev-1", Won(10'000)));
  const auto again = decide(payment("ev-1", Won(10'000)));
  EXPECT_EQ(again.answer.status, first.answer.status);
  EXPECT_EQ(again.answer.body, first.answer.body);
  EXPECT_EQ(rows().events.size(), 1u);
  EXPECT_EQ(cash("m1"), Won(90'000));
}

TEST_F(Deciders, AnEventRepeatedWithAnotherRequestIsAKeyReused) {
  decide(payment("ev-1", Won(10'000)));
  auto other = payment("ev-1", Won(20'000));
  other.request_hash = "other";
  const auto r = decide(other);
  EXPECT_TRUE(r.key_reused);
  EXPECT_EQ(rows().events.size(), 1u);
}

TEST_F(Deciders, AnEventStoredEarlierAnswersItsStoredAnswer) {
  group.facts.events[{"payment", "ev-1"}] = {"hash", 201, "stored"};
  const auto r = decide(payment("ev-1", Won(10'000)));
  EXPECT_EQ(r.answer.status, 201);
  EXPECT_EQ(r.answer.body, "stored");
  EXPECT_TRUE(rows().events.empty());
  EXPECT_EQ(cash("m1"), Won(100'000));
}

TEST_F(Deciders, ALargePaymentRaisesItsFlag) {
  cash("m1") = Won(2'000'000);
  decide(payment("ev-1", Won(1'000'000)));
  ASSERT_EQ(rows().flags.size(), 1u);
  EXPECT_EQ(rows().flags[0].rule, FlagRule::large);
  EXPECT_EQ(rows().flags[0].payment_id, 101);
  EXPECT_EQ(rows().flags[0].detail, "price 1000000 won is at or above 1000000");
}

TEST_F(Deciders, APaymentAtTheMembersOwnShopRaisesItsFlag) {
  group.facts.merchants["cafe"].owner_member = "m1";
  decide(payment("ev-1", Won(10'000)));
  ASSERT_EQ(rows().flags.size(), 1u);
  EXPECT_EQ(rows().flags[0].rule, FlagRule::own_shop);
  EXPECT_EQ(rows().flags[0].detail, "member m1 is the registered owner of merchant cafe");
}

TEST_F(Deciders, TheThirdPaymentOfTheDayAtOneMerchantRaisesTheRepeatFlag) {
  decide(payment("ev-1", Won(1'000), "card-1", "cafe", at("2026-03-10T01:00:00Z")));
  decide(payment("ev-2", Won(1'000), "card-1", "cafe", at("2026-03-10T02:00:00Z")));
  EXPECT_TRUE(rows().flags.empty());
  decide(payment("ev-3", Won(1'000), "card-1", "cafe", at("2026-03-10T03:00:00Z")));
  ASSERT_EQ(rows().flags.size(), 1u);
  EXPECT_EQ(rows().flags[0].rule, FlagRule::repeat);
  EXPECT_EQ(rows().flags[0].detail,
            "approved payment no. 3 by member m1 at merchant cafe on 2026-03-10; the rule flags no. 3 and later");
  EXPECT_EQ(group.changes.days_counted.size(), 1u);
}

TEST_F(Deciders, ACancellationOfNoPaymentIsNotFound) {
  const auto r = decide(cancellation("cx-1", std::nullopt, Won(1'000)));
  EXPECT_EQ(r.answer.status, 404);
  EXPECT_EQ(r.answer.body, "no payment pay-bupyeong-0");
  ASSERT_EQ(rows().events.size(), 1u);
  EXPECT_EQ(rows().events[0].reason, "not_found");
  EXPECT_EQ(rows().events[0].decision, "refused");
}

TEST_F(Deciders, AFullCancellationGivesTheCashBackAndLowersTheMonth) {
  approved_payment(55, Won(10'000), Won(1'000));
  cash("m1") = Won(90'000);
  const auto r = decide(cancellation("cx-1", 55, Won(10'000)));
  EXPECT_EQ(r.answer.body, "cxl-bupyeong-101 cash 10000");
  EXPECT_EQ(cash("m1"), Won(100'000));
  ASSERT_EQ(group.changes.cancellations.size(), 1u);
  const auto& cx = group.changes.cancellations[0];
  EXPECT_EQ(cx.payment_id, 55);
  EXPECT_EQ(cx.refund_cash, Won(10'000));
  EXPECT_EQ(cx.reversed_city, Won(1'000));
  EXPECT_EQ(cx.eligible_reduction, Won(10'000));
  EXPECT_EQ(group.changes.month_deltas.at({"bupyeong", "m1", "2026-03-01"}).eligible_spent, Won(-10'000));
  EXPECT_TRUE(group.changes.clawbacks.empty());  // the batch had not posted it
  EXPECT_EQ(rows().journals.at(0).kind, "cancellation");
  EXPECT_EQ(rows().events.at(0).operation, "cxl-bupyeong-101");
}

TEST_F(Deciders, CancellingMoreThanThePaymentIsRefused) {
  approved_payment(55, Won(10'000), Won(1'000));
  const auto r = decide(cancellation("cx-1", 55, Won(20'000)));
  EXPECT_EQ(r.answer.status, 422);
  EXPECT_EQ(r.answer.body,
            "cancelling 20000 would exceed the payment: charged 10000, already cancelled 0, remaining 10000");
  EXPECT_EQ(rows().events.at(0).reason, "cancel_exceeds_payment");
  EXPECT_TRUE(rows().journals.empty());
}

TEST_F(Deciders, ASecondCancellationInTheGroupSeesTheFirst) {
  approved_payment(55, Won(10'000), Won(1'000));
  EXPECT_EQ(decide(cancellation("cx-1", 55, Won(6'000))).answer.body, "cxl-bupyeong-101 cash 6000");
  EXPECT_EQ(decide(cancellation("cx-2", 55, Won(6'000))).answer.body,
            "cancelling 6000 would exceed the payment: charged 10000, already cancelled 6000, remaining 4000");
  EXPECT_EQ(group.facts.payments.at({"bupyeong", 55}).record.cancelled, Won(6'000));
}

}  // namespace
}  // namespace evoucher::ops::testing
