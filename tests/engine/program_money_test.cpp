// Policy money: the spending order, the scope, what the program part earns, and the postings of a
// grant and an expiry.
#include <gtest/gtest.h>

#include "engine/engine_fixture.hpp"
#include "evoucher/engine/journal_recipes.hpp"

namespace evoucher::engine::testing {
namespace {

class ProgramMoney : public SeedPolicy {
 protected:
  static ProgramWallet wallet(const std::string& program, Won balance, const std::string& expires_on,
                              ProgramScope scope = {}) {
    return {program, balance, expires_on, std::move(scope)};
  }
  PaymentDecision pay(Won price, const MerchantTerms& m, Balances b, std::vector<ProgramWallet> wallets,
                      const std::string& date = "2020-05-01") {
    PaymentRequest r{price, "bupyeong", CardStatus::active, m, b, Won(0)};
    r.wallets = std::move(wallets);
    r.business_date = date;
    return decide_payment(r, policy);
  }
};

TEST_F(ProgramMoney, ProgramMoneyPaysFirstEarliestExpiryFirstThenPointsThenCash) {
  const auto q = pay(Won(50'000), bp_bakery(), {Won(100'000), Won(3'000)},
                     {wallet("later", Won(30'000), "2020-12-31"), wallet("relief", Won(40'000), "2020-08-31")})
                     .approved.value();
  EXPECT_EQ(q.charged, Won(47'500));
  EXPECT_EQ(q.program_draws, (std::vector<ProgramDraw>{{"relief", Won(40'000), "2020-08-31"},
                                                       {"later", Won(7'500), "2020-12-31"}}));
  EXPECT_EQ(q.paid_program, Won(47'500));
  EXPECT_EQ(q.paid_points, Won(0));
  EXPECT_EQ(q.paid_cash, Won(0));
  // No cashback, no top-up and no cap on the program part; fee support on all of charged.
  EXPECT_EQ(q.earned, (Earnings{Won(0), {}, Won(237)}));
}

TEST_F(ProgramMoney, TheRestEarnsAsUsual) {
  const auto q = pay(Won(50'000), bp_bakery(), {Won(100'000), Won(2'500)}, {wallet("relief", Won(20'000), "2020-08-31")})
                     .approved.value();
  EXPECT_EQ(q.paid_program, Won(20'000));
  EXPECT_EQ(q.paid_points, Won(2'500));
  EXPECT_EQ(q.paid_cash, Won(25'000));
  EXPECT_EQ(q.earned.eligible, Won(27'500));
  EXPECT_EQ(q.earned.cashback, (Cashback{Won(2'750), Won(550), Won(0)}));
  EXPECT_EQ(q.earned.fee_support, Won(237));
}

TEST_F(ProgramMoney, TheScopeAndTheExpiryDecideWhereItPays) {
  const ProgramScope cafes{std::set<std::string>{"cafe"}, false};
  const ProgramScope any_size{std::nullopt, true};
  // Outside its categories, past its expiry, or over the revenue ceiling: cash pays.
  EXPECT_EQ(pay(Won(10'000), bp_bakery(), {Won(10'000), Won(0)}, {wallet("r", Won(10'000), "2020-08-31", cafes)})
                .approved->paid_program,
            Won(0));
  EXPECT_EQ(pay(Won(10'000), plain("bupyeong"), {Won(10'000), Won(0)}, {wallet("r", Won(10'000), "2020-08-31", cafes)},
                "2020-09-01")
                .approved->paid_program,
            Won(0));
  EXPECT_EQ(pay(Won(10'000), plain("bupyeong"), {Won(10'000), Won(0)}, {wallet("r", Won(10'000), "2020-08-31", cafes)},
                "2020-08-31")
                .approved->paid_program,
            Won(10'000));  // valid through its last day
  auto late_start = wallet("r", Won(10'000), "2020-08-31", cafes);
  late_start.valid_from = "2020-05-11";
  EXPECT_EQ(pay(Won(10'000), plain("bupyeong"), {Won(10'000), Won(0)}, {late_start}, "2020-05-10").approved->paid_program,
            Won(0));  // nothing dated before the program started
  EXPECT_EQ(pay(Won(10'000), plain("bupyeong"), {Won(10'000), Won(0)}, {late_start}, "2020-05-11").approved->paid_program,
            Won(10'000));
  const auto big = plain("bupyeong", Won(3'000'000'001));
  EXPECT_EQ(pay(Won(10'000), big, {Won(0), Won(0)}, {wallet("r", Won(10'000), "2020-08-31")}).declined,
            Decline::insufficient_funds);
  EXPECT_EQ(pay(Won(10'000), big, {Won(0), Won(0)}, {wallet("r", Won(10'000), "2020-08-31", any_size)})
                .approved->paid_program,
            Won(10'000));
}

TEST_F(ProgramMoney, CancellationReturnsCashThenPointsThenProgramMoneyExpiredToThePool) {
  const auto q = pay(Won(50'000), plain("bupyeong"), {Won(100'000), Won(5'000)},
                     {wallet("a", Won(20'000), "2020-06-30"), wallet("b", Won(10'000), "2020-08-31")})
                     .approved.value();
  ASSERT_EQ(q.paid_program, Won(30'000));
  ASSERT_EQ(q.paid_points, Won(5'000));
  ASSERT_EQ(q.paid_cash, Won(15'000));
  EXPECT_EQ(q.earned.eligible, Won(20'000));
  PaymentState p{q.charged, q.paid_cash, q.paid_points, Won(0), Won(0), q.eligible_before, q.earned,
                 plain("bupyeong"), "bupyeong"};
  p.program_left = q.program_draws;
  // 35,000 on 2020-07-01: cash 15,000, points 5,000, then b (spent last) 10,000 and a 5,000,
  // which expired on 2020-06-30 and goes to its pool.
  const auto c = quote_cancellation(p, Won(35'000), policy, "2020-07-01").value();
  EXPECT_EQ(c.refund_cash, Won(15'000));
  EXPECT_EQ(c.refund_points, Won(5'000));
  EXPECT_EQ(c.refund_program, Won(15'000));
  EXPECT_EQ(c.program_refunds, (std::vector<ProgramRefund>{{"b", Won(10'000), false}, {"a", Won(5'000), true}}));
  EXPECT_EQ(c.earned_after.eligible, Won(0));  // 15,000 remain, all program money
  EXPECT_EQ(c.reversed.city, q.earned.cashback.city);
  const auto postings = cancellation_postings("m1", "bp-cafe", c, std::nullopt, {}, {{"a", 7}, {"b", 8}});
  EXPECT_EQ(postings, (Postings{{"merchant:bp-cafe:payable", Won(35'000)},
                                {"member:m1:cash", Won(-15'000)},
                                {"member:m1:points", Won(-5'000)},
                                {"program:b:m1", Won(-10'000)},
                                {"pool:7:drawn", Won(-5'000)}}));
  EXPECT_EQ(imbalance(postings), Won(0));
}

TEST(ProgramRecipes, GrantAndExpiryMoveThePoolAndTheWallet) {
  EXPECT_EQ(grant_postings("relief", 9, "m1", Won(100'000)),
            (Postings{{"pool:9:drawn", Won(100'000)}, {"program:relief:m1", Won(-100'000)}}));
  EXPECT_EQ(expiry_postings("relief", 9, "m1", Won(40'000)),
            (Postings{{"program:relief:m1", Won(40'000)}, {"pool:9:drawn", Won(-40'000)}}));
}

}  // namespace
}  // namespace evoucher::engine::testing
