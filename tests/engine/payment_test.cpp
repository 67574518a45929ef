// The payment and cancellation rules, with the worked examples of the engine issue.
#include <gtest/gtest.h>

#include "engine/engine_fixture.hpp"

namespace evoucher::engine::testing {
namespace {

class PaymentRules : public SeedPolicy {
 protected:
  PaymentQuote approve(Won price, const MerchantTerms& m, Balances b, Won spent) {
    auto d = decide_payment({price, "bupyeong", CardStatus::active, m, b, spent}, policy);
    EXPECT_TRUE(d.approved) << (d.declined ? to_string(*d.declined) : "");
    return d.approved.value_or(PaymentQuote{});
  }
};

TEST_F(PaymentRules, WorkedExampleP1AtABenefitPlusBakery) {
  auto q = approve(Won(50'000), bp_bakery(), {Won(1'000'000), Won(0)}, Won(0));
  EXPECT_EQ(q.discount, Won(2'500));
  EXPECT_EQ(q.charged, Won(47'500));
  EXPECT_EQ(q.paid_cash, Won(47'500));
  EXPECT_EQ(q.paid_points, Won(0));
  EXPECT_EQ(q.earned.cashback, (Cashback{Won(4'750), Won(950), Won(0)}));
  EXPECT_EQ(q.earned.fee_support, Won(237));
  EXPECT_EQ(q.earned.eligible, Won(47'500));
}

TEST_F(PaymentRules, WorkedExampleP2CrossesTheBracket) {
  auto q = approve(Won(480'000), ys_books(), {Won(952'500), Won(0)}, Won(47'500));
  EXPECT_EQ(q.charged, Won(480'000));
  EXPECT_EQ(q.paid_cash, Won(480'000));
  // 452,500 at 10 % + 27,500 at 1 %.
  EXPECT_EQ(q.earned.cashback, (Cashback{Won(45'525), Won(0), Won(14'400)}));
  EXPECT_EQ(q.earned.fee_support, Won(0));
}

TEST_F(PaymentRules, WorkedExampleP3PaysPointsFirst) {
  auto q = approve(Won(100'000), bp_bakery(), {Won(572'500), Won(55'100)}, Won(427'500));
  EXPECT_EQ(q.discount, Won(5'000));
  EXPECT_EQ(q.charged, Won(95'000));
  EXPECT_EQ(q.paid_points, Won(55'100));
  EXPECT_EQ(q.paid_cash, Won(39'900));
  EXPECT_EQ(q.earned.cashback, (Cashback{Won(7'475), Won(1'900), Won(0)}));
  EXPECT_EQ(q.earned.fee_support, Won(475));
}

TEST_F(PaymentRules, CapReachedExactlyThenNothingMore) {
  auto at_cap = approve(Won(100'000), plain("yeonsu"), {Won(1'000'000), Won(0)}, Won(900'000));
  EXPECT_EQ(at_cap.earned.eligible, Won(100'000));
  EXPECT_EQ(at_cap.earned.cashback.city, Won(1'000));
  auto over = approve(Won(50'000), plain("yeonsu"), {Won(1'000'000), Won(0)}, Won(1'000'000));
  EXPECT_EQ(over.earned.eligible, Won(0));
  EXPECT_EQ(over.earned.cashback.city, Won(0));
  auto partly = approve(Won(50'000), plain("yeonsu"), {Won(1'000'000), Won(0)}, Won(980'000));
  EXPECT_EQ(partly.earned.eligible, Won(20'000));
  EXPECT_EQ(partly.earned.cashback.city, Won(200));
}

TEST_F(PaymentRules, BracketBoundaryExactly) {
  auto q = approve(Won(500'000), plain("yeonsu"), {Won(1'000'000), Won(0)}, Won(0));
  EXPECT_EQ(q.earned.cashback.city, Won(50'000));
  auto next = approve(Won(1'000), plain("yeonsu"), {Won(1'000'000), Won(0)}, Won(500'000));
  EXPECT_EQ(next.earned.cashback.city, Won(10));
}

TEST_F(PaymentRules, EachBracketRoundsDownSeparately) {
  // 9 won at 10 % and 99 won at 1 %: floor(0.9) + floor(0.99) = 0, not floor(1.89) = 1.
  auto q = approve(Won(108), plain("yeonsu"), {Won(1'000), Won(0)}, Won(499'991));
  EXPECT_EQ(q.earned.eligible, Won(108));
  EXPECT_EQ(q.earned.cashback.city, Won(0));
}

TEST_F(PaymentRules, RevenueCeilingEarnsNothingAndUsesNoCap) {
  auto at = approve(Won(10'000), plain("yeonsu", Won(3'000'000'000)), {Won(100'000), Won(0)}, Won(0));
  EXPECT_EQ(at.earned.cashback.city, Won(1'000));
  auto over = approve(Won(10'000), plain("yeonsu", Won(3'000'000'001)), {Won(100'000), Won(0)}, Won(0));
  EXPECT_EQ(over.earned.eligible, Won(0));
  EXPECT_EQ(over.earned.cashback, (Cashback{}));
}

TEST_F(PaymentRules, RevenueTiersLowerTheRate) {
  city.revenue_tiers = {{Won(300'000'000), 50}, {Won(1'000'000'000), 25}};
  EXPECT_EQ(approve(Won(10'000), plain("yeonsu", Won(300'000'000)), {Won(100'000), Won(0)}, Won(0)).earned.cashback.city,
            Won(1'000));  // not over 300,000,000
  EXPECT_EQ(approve(Won(10'000), plain("yeonsu", Won(300'000'001)), {Won(100'000), Won(0)}, Won(0)).earned.cashback.city,
            Won(500));
  EXPECT_EQ(
      approve(Won(10'000), plain("yeonsu", Won(2'000'000'000)), {Won(100'000), Won(0)}, Won(0)).earned.cashback.city,
      Won(250));
  // The tier applies to every bracket: 10 % and 1 % both halve.
  auto crossing = approve(Won(20'000), plain("yeonsu", Won(400'000'000)), {Won(100'000), Won(0)}, Won(490'000));
  EXPECT_EQ(crossing.earned.cashback.city, Won(500 + 50));
}

TEST_F(PaymentRules, ExcludedCategories) {
  auto mart = plain("bupyeong");
  mart.category = "large_mart";
  auto d = decide_payment({Won(10'000), "bupyeong", CardStatus::active, mart, {Won(100'000), Won(0)}, Won(0)}, policy);
  EXPECT_EQ(d.declined, Decline::merchant_ineligible);
  city.excluded_cashback = {"tobacco"};
  auto shop = bp_bakery();
  shop.category = "tobacco";
  auto q = approve(Won(10'000), shop, {Won(100'000), Won(0)}, Won(0));
  EXPECT_EQ(q.earned.eligible, Won(0));
  EXPECT_EQ(q.earned.cashback.city, Won(0));
  EXPECT_EQ(q.earned.cashback.district, Won(0));  // the top-up is a share of eligible spend
  EXPECT_EQ(q.earned.fee_support, Won(47));       // fee support is a share of charged (9,500)
}

TEST_F(PaymentRules, TopUpNeedsTheDistrictPolicyABenefitPlusMerchantAndTheSameDistrict) {
  auto q = approve(Won(10'000), bp_bakery(), {Won(100'000), Won(0)}, Won(0));
  EXPECT_EQ(q.earned.cashback.district, Won(190));
  // No district policy for the card's district.
  PolicyInForce no_district{city, nullptr};
  auto d = decide_payment({Won(10'000), "bupyeong", CardStatus::active, bp_bakery(), {Won(100'000), Won(0)}, Won(0)},
                          no_district);
  EXPECT_EQ(d.approved->earned.cashback.district, Won(0));
  EXPECT_EQ(d.approved->earned.fee_support, Won(0));
  // The merchant is not 혜택+.
  EXPECT_EQ(approve(Won(10'000), plain("bupyeong"), {Won(100'000), Won(0)}, Won(0)).earned.cashback.district, Won(0));
  // The merchant is 혜택+ but in another district.
  auto elsewhere = bp_bakery();
  elsewhere.district = "yeonsu";
  auto other = approve(Won(10'000), elsewhere, {Won(100'000), Won(0)}, Won(0));
  EXPECT_EQ(other.earned.cashback.district, Won(0));
  EXPECT_EQ(other.earned.fee_support, Won(0));
  // A card of another district, whose own district has the same top-up policy, at a Bupyeong
  // 혜택+ merchant: the merchant must be in the card's district.
  auto yeonsu_card =
      decide_payment({Won(10'000), "yeonsu", CardStatus::active, bp_bakery(), {Won(100'000), Won(0)}, Won(0)}, policy);
  EXPECT_EQ(yeonsu_card.approved->earned.cashback.district, Won(0));
  EXPECT_EQ(yeonsu_card.approved->earned.fee_support, Won(0));
  EXPECT_EQ(yeonsu_card.approved->earned.cashback.city, Won(950));
}

TEST_F(PaymentRules, Declines) {
  auto req = PaymentRequest{Won(10'000), "bupyeong", CardStatus::suspended, bp_bakery(), {Won(100'000), Won(0)}, Won(0)};
  EXPECT_EQ(decide_payment(req, policy).declined, Decline::card_inactive);
  req.card = CardStatus::closed;
  EXPECT_EQ(decide_payment(req, policy).declined, Decline::card_inactive);
  req.card = CardStatus::active;
  req.merchant.active = false;
  EXPECT_EQ(decide_payment(req, policy).declined, Decline::merchant_ineligible);
  req.merchant.active = true;
  req.balances = {Won(9'499), Won(0)};  // charged is 9,500
  EXPECT_EQ(decide_payment(req, policy).declined, Decline::insufficient_funds);
  req.balances = {Won(9'000), Won(500)};
  EXPECT_TRUE(decide_payment(req, policy).approved);
  req.balances = {Won(9'500), Won(-300)};  // negative points pay nothing, and take nothing
  auto q = decide_payment(req, policy).approved.value();
  EXPECT_EQ(q.paid_points, Won(0));
  EXPECT_EQ(q.paid_cash, Won(9'500));
}

TEST_F(PaymentRules, SplitThatDoesNotDivideEvenly) {
  auto s = split_city_component(Won(4'750), city);  // 4:2
  EXPECT_EQ(s.national, Won(3'166));  // floor(4750 * 4 / 6) = floor(3166.67)
  EXPECT_EQ(s.city, Won(1'584));
  city.split_national = 1;
  city.split_city = 2;
  s = split_city_component(Won(1), city);
  EXPECT_EQ(s.national, Won(0));
  EXPECT_EQ(s.city, Won(1));
}

PaymentState state_of(const PaymentQuote& q, const MerchantTerms& m) {
  return {q.charged, q.paid_cash, q.paid_points, Won(0), Won(0), q.eligible_before, q.earned, m, "bupyeong"};
}

void apply(PaymentState& p, const CancellationQuote& c) {
  p.cancelled += c.amount;
  p.refunded_cash += c.refund_cash;
  p.earned = c.earned_after;
}

TEST_F(PaymentRules, WorkedExampleC1PartialCancellation) {
  auto q = approve(Won(480'000), ys_books(), {Won(952'500), Won(0)}, Won(47'500));
  auto p = state_of(q, ys_books());
  auto c = quote_cancellation(p, Won(100'000), policy).value();
  EXPECT_EQ(c.refund_cash, Won(100'000));
  EXPECT_EQ(c.refund_points, Won(0));
  EXPECT_EQ(c.reversed, (Cashback{Won(7'525), Won(0), Won(3'000)}));
  EXPECT_EQ(c.remaining, Won(380'000));
  EXPECT_EQ(c.eligible_reduction, Won(100'000));
  EXPECT_EQ(c.earned_after.cashback, (Cashback{Won(38'000), Won(0), Won(11'400)}));
}

// At a pre-discount merchant (city, top-up and fee support) and at a merchant-cashback one (city
// and merchant components), four partial cancellations add up to the whole payment.
TEST_F(PaymentRules, CancellationsSummingToTheFullAmountReverseEverything) {
  for (const auto& merchant : {bp_bakery(), ys_books()}) {
    auto q = approve(Won(333'333), merchant, {Won(200'000), Won(150'000)}, Won(350'000));
    auto p = state_of(q, merchant);
    const bool bakery = merchant.district == "bupyeong";
    ASSERT_EQ(q.charged, bakery ? Won(316'667) : Won(333'333));
    ASSERT_EQ(q.paid_points, Won(150'000));
    EXPECT_EQ(q.earned.cashback.merchant, bakery ? Won(0) : Won(9'999));  // floor(333,333 x 3 %)
    EXPECT_EQ(q.earned.cashback.district, bakery ? Won(6'333) : Won(0));  // floor(316,667 x 2 %)
    Cashback reversed;
    Won fee_reversed, cash_back, points_back, eligible_back;
    for (Won part : {Won(1), Won(100'000), Won(66'666), q.charged - Won(166'667)}) {
      auto c = quote_cancellation(p, part, policy).value();
      reversed = {reversed.city + c.reversed.city, reversed.district + c.reversed.district,
                  reversed.merchant + c.reversed.merchant};
      fee_reversed += c.fee_support_reversed;
      cash_back += c.refund_cash;
      points_back += c.refund_points;
      eligible_back += c.eligible_reduction;
      apply(p, c);
    }
    EXPECT_EQ(p.cancelled, q.charged);
    EXPECT_EQ(reversed, q.earned.cashback);
    EXPECT_EQ(fee_reversed, q.earned.fee_support);
    EXPECT_EQ(eligible_back, q.earned.eligible);
    EXPECT_EQ(cash_back, q.paid_cash);      // cash first, up to what cash paid
    EXPECT_EQ(points_back, q.paid_points);  // then points
    EXPECT_EQ(p.earned, (Earnings{}));
    EXPECT_FALSE(quote_cancellation(p, Won(1), policy).has_value());
  }
}

TEST_F(PaymentRules, CancellationCannotExceedCharged) {
  auto q = approve(Won(10'000), plain("yeonsu"), {Won(100'000), Won(0)}, Won(0));
  auto p = state_of(q, plain("yeonsu"));
  EXPECT_FALSE(quote_cancellation(p, Won(10'001), policy).has_value());
  EXPECT_FALSE(quote_cancellation(p, Won(0), policy).has_value());
  EXPECT_TRUE(quote_cancellation(p, Won(10'000), policy).has_value());
}

// A confirmed fraud flag: the cashback goes, the fee support stays, and a later cancellation
// reverses no cashback (it has none left) but still returns the money and the fee support.
TEST_F(PaymentRules, ForfeitTakesTheCashbackAndLaterCancellationsReverseNoMore) {
  auto q = approve(Won(50'000), bp_bakery(), {Won(1'000'000), Won(0)}, Won(0));
  auto p = state_of(q, bp_bakery());
  const auto f = forfeit_cashback(p);
  EXPECT_EQ(f.reversed, (Cashback{Won(4'750), Won(950), Won(0)}));
  EXPECT_EQ(f.eligible_reduction, Won(47'500));
  p.earned = {Won(0), {}, q.earned.fee_support};
  p.cashback_forfeited = true;
  EXPECT_EQ(forfeit_cashback(p).reversed, Cashback{});
  EXPECT_EQ(forfeit_cashback(p).eligible_reduction, Won(0));
  const auto c = quote_cancellation(p, Won(20'000), policy).value();
  EXPECT_EQ(c.refund_cash, Won(20'000));
  EXPECT_EQ(c.reversed, Cashback{});
  EXPECT_EQ(c.eligible_reduction, Won(0));
  EXPECT_EQ(c.fee_support_reversed, Won(100));  // 237 - floor(27,500 x 0.5 %) = 237 - 137
  EXPECT_EQ(c.earned_after, (Earnings{Won(0), {}, Won(137)}));
}

TEST(PolicyVersions, RatesOfTwoVersionsGiveDifferentCashback) {
  CityRules march = seed_city();
  CityRules april = seed_city();
  april.brackets = {{Won(500'000), 500}, {Won(1'000'000), 100}};
  auto m = plain("yeonsu");
  auto before = decide_payment({Won(10'000), "yeonsu", CardStatus::active, m, {Won(100'000), Won(0)}, Won(0)},
                               PolicyInForce{march, nullptr});
  auto after = decide_payment({Won(10'000), "yeonsu", CardStatus::active, m, {Won(100'000), Won(0)}, Won(0)},
                              PolicyInForce{april, nullptr});
  EXPECT_EQ(before.approved->earned.cashback.city, Won(1'000));
  EXPECT_EQ(after.approved->earned.cashback.city, Won(500));
}

// PRODUCT.md's batch: payments in time order draw each pool until it runs out; the one where it
// runs out is paid in part, later ones nothing from it; the merchant part is always paid.
TEST(BatchDraw, APoolRunsOutPartWayAndLaterPaymentsGetNothingFromIt) {
  PoolsLeft left{Won(1'000), Won(150), Won(0)};
  const std::vector<PostedCashback> due{{Won(600), Won(100), Won(30), Won(20)},
                                        {Won(600), Won(100), Won(30), Won(0)},
                                        {Won(600), Won(0), Won(0), Won(5)},
                                        {Won(0), Won(40), Won(0), Won(0)}};
  const auto posted = draw_cashback(due, left);
  EXPECT_EQ(posted, (std::vector<PostedCashback>{{Won(600), Won(100), Won(0), Won(20)},
                                                 {Won(400), Won(50), Won(0), Won(0)},
                                                 {Won(0), Won(0), Won(0), Won(5)},
                                                 {Won(0), Won(0), Won(0), Won(0)}}));
  EXPECT_EQ(left.national, Won(0));
  EXPECT_EQ(left.city, Won(0));
  EXPECT_EQ(left.district, Won(0));
}

TEST(BatchDraw, AnOverdrawnPoolPaysNothingAndStaysAsItIs) {
  PoolsLeft left{Won(-5), Won(10), Won(10)};
  const auto posted = draw_cashback({{Won(3), Won(4), Won(10), Won(0)}}, left);
  EXPECT_EQ(posted, (std::vector<PostedCashback>{{Won(0), Won(4), Won(10), Won(0)}}));
  EXPECT_EQ(left.national, Won(-5));
  EXPECT_EQ(left.city, Won(6));
  EXPECT_EQ(left.district, Won(0));
}

}  // namespace
}  // namespace evoucher::engine::testing
