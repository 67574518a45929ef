// The load, refund, flag review and grant deciders without a database: limits, backdating, keys
// replayed, a member's later command seeing the earlier ones, and each refusal's words.
#include "ops/deciders_fixture.hpp"

namespace evoucher::ops::testing {
namespace {

using engine::FlagStatus;

class AdminDeciders : public Deciders {
 protected:
  void SetUp() override {
    Deciders::SetUp();
    group.facts.months_read = {{"bupyeong", "m1", "2026-03-01"}};
  }
  static FlagReviewCommand review(std::int64_t flag, FlagStatus outcome, bool suspend = false,
                                  std::optional<std::string> merchants_of = std::nullopt) {
    FlagReviewCommand c{"bupyeong", flag,    "flag-" + std::to_string(flag), 55,         outcome,
                        "seen",     suspend, std::move(merchants_of),        "reviewer", std::nullopt,
                        {}};
    c.render = [](const FlagReviewOutcome& o) -> Answer {
      if (o.not_found) return {404, *o.not_found};
      if (o.conflict) return {409, *o.conflict};
      if (o.forbidden) return {403, *o.forbidden};
      return {200, std::string(engine::to_string(o.done->status))};
    };
    return c;
  }
  void open_flag(std::int64_t id) {
    store::Flag f;
    f.id = id;
    f.raised = {"bupyeong", engine::FlagRule::large,    55,           "m1",         "card-1",
                "cafe",     at("2026-03-10T01:00:00Z"), "2026-03-10", std::nullopt, "price"};
    group.facts.flags[{"bupyeong", id}] = f;
  }
  static GrantCommand grant(std::vector<GrantLine> lines, Timestamp when = at("2026-03-10T03:00:00Z")) {
    GrantCommand c{"p1", "city", "g-1", std::move(lines), when, "hash", std::nullopt, {}};
    c.render = [](const GrantOutcome& o) -> Answer {
      std::string body = "accepted " + std::to_string(o.accepted) + " for " + std::to_string(o.amount.value());
      for (const auto& r : o.refused) body += "; " + std::to_string(r.line) + ": " + r.reason;
      return {200, body};
    };
    return c;
  }
  void program() {
    store::Program p;
    p.id = "p1";
    p.district = "city";
    p.pool_id = 3;
    p.grant_from = "2026-03-01";
    p.grant_to = "2026-03-31";
    p.expires_on = "2026-06-30";
    auto& f = group.facts;
    f.programs["p1"] = p;
    f.member_districts = {{"m1", "bupyeong"}, {"m2", "bupyeong"}, {"m3", "bupyeong"}};
    f.granted["p1"] = {{"m2", Won(5'000)}};
    f.pools_left[3] = Won(30'000);
  }
};

TEST_F(AdminDeciders, ALoadAddsToCashAndTheMonthAndKeepsItsKey) {
  auto c = load("k-1", Won(50'000));
  c.audit = store::AuditEntry{"ops", "city_admin", "bupyeong", "POST", "/v1/members/m1/loads", "", 0};
  const auto r = decide(c);
  EXPECT_EQ(r.answer.status, 201);
  EXPECT_EQ(r.answer.body, "load-bupyeong-101 cash 150000");
  EXPECT_EQ(cash("m1"), Won(150'000));
  ASSERT_EQ(rows().loads.size(), 1u);
  EXPECT_EQ(rows().loads[0].journal_id, 901);
  EXPECT_EQ(group.changes.month_deltas.at({"bupyeong", "m1", "2026-03-01"}).loaded, Won(50'000));
  ASSERT_EQ(rows().keys.size(), 1u);
  EXPECT_EQ(rows().keys[0].key, "k-1");
  EXPECT_EQ(rows().keys[0].answer, "load-bupyeong-101 cash 150000");
  ASSERT_EQ(rows().audits.size(), 1u);
  EXPECT_EQ(rows().audits[0].resource, "load:load-bupyeong-101");
  EXPECT_EQ(rows().audits[0].status, 201);
  EXPECT_EQ(group.facts.latest_money.at({"bupyeong", "m1"}), at("2026-03-10T03:00:00Z"));
  EXPECT_TRUE(late.months_asked.empty());
}

TEST_F(AdminDeciders, ALoadOverTheBalanceCapIsRefusedAndStored) {
  cash("m1") = Won(1'900'000);
  const auto r = decide(load("k-1", Won(200'000)));
  EXPECT_EQ(r.answer.status, 422);
  EXPECT_EQ(r.answer.body, "balance_cap: balance 1900000 + 200000 exceeds 2000000");
  EXPECT_EQ(rows().keys.size(), 1u);  // a refusal is final: stored under its key
  EXPECT_TRUE(rows().loads.empty());
  EXPECT_EQ(group.next_id, 0u);
}

TEST_F(AdminDeciders, AMembersSecondLoadSeesTheFirstInTheMonthlyLimit) {
  EXPECT_EQ(decide(load("k-1", Won(600'000))).answer.status, 201);
  EXPECT_EQ(decide(load("k-2", Won(600'000))).answer.body,
            "monthly_load_limit: 600000 loaded this month + 600000 exceeds 1000000");
  EXPECT_EQ(cash("m1"), Won(700'000));
}

TEST_F(AdminDeciders, ALoadInAMonthNotReadAsksForIt) {
  const auto r = decide(load("k-1", Won(200'000), at("2026-04-02T03:00:00Z")));
  ASSERT_EQ(late.months_asked.size(), 1u);
  EXPECT_EQ(late.months_asked[0], (store::MonthKey{"bupyeong", "m1", "2026-04-01"}));
  EXPECT_EQ(r.answer.body, "monthly_load_limit: 900000 loaded this month + 200000 exceeds 1000000");
  decide(load("k-2", Won(1'000), at("2026-04-03T03:00:00Z")));
  EXPECT_EQ(late.months_asked.size(), 1u);  // read once
  EXPECT_EQ(late.clock_reads, 0);           // stamped loads never read the clock
}

TEST_F(AdminDeciders, ABackdatedLoadIsBadInputAndStoresNothing) {
  group.facts.latest_money[{"bupyeong", "m1"}] = at("2026-03-10T04:00:00Z");
  const auto r = decide(load("k-1", Won(1'000)));
  EXPECT_EQ(r.answer.status, 400);
  EXPECT_EQ(r.answer.body,
            "field 'occurred_at' 2026-03-10T03:00:00Z is before member m1's latest load or refund, at "
            "2026-03-10T04:00:00Z; loads and refunds cannot be backdated");
  EXPECT_TRUE(rows().keys.empty());
}

TEST_F(AdminDeciders, ALoadWithNoTimeIsStampedNowButNeverBeforeTheLatest) {
  decide(load("k-1", Won(1'000), std::nullopt));
  group.facts.latest_money[{"bupyeong", "m1"}] = at("2026-03-10T04:00:00Z");
  decide(load("k-2", Won(1'000), std::nullopt));
  ASSERT_EQ(rows().loads.size(), 2u);
  EXPECT_EQ(rows().loads[0].occurred_at, late.clock);
  EXPECT_EQ(late.clock_reads, 2);
  EXPECT_EQ(rows().loads[1].occurred_at, at("2026-03-10T04:00:00Z"));
}

TEST_F(AdminDeciders, AKeyStoredEarlierAnswersItsAnswerOrIsReused) {
  group.facts.keys[{"bupyeong", "k-1"}] = {"hash", 201, "stored"};
  const auto again = decide(load("k-1", Won(1'000)));
  EXPECT_EQ(again.answer.body, "stored");
  auto other = load("k-1", Won(2'000));
  other.request_hash = "other";
  EXPECT_TRUE(decide(other).key_reused);
  EXPECT_TRUE(rows().keys.empty());
  EXPECT_EQ(cash("m1"), Won(100'000));
}

TEST_F(AdminDeciders, AKeyRepeatedInTheGroupAnswersTheFirstAnswer) {
  const auto first = decide(load("k-1", Won(1'000)));
  const auto again = decide(load("k-1", Won(1'000)));
  EXPECT_EQ(again.answer.body, first.answer.body);
  EXPECT_EQ(rows().loads.size(), 1u);
  EXPECT_EQ(rows().keys.size(), 1u);
}

TEST_F(AdminDeciders, ARefundTakesTheCash) {
  cash("m1") = Won(40'000);
  group.facts.totals[{"bupyeong", "m1"}] = {Won(100'000), Won(0), Won(0)};
  const auto r = decide(refund("r-1"));
  EXPECT_EQ(r.answer.body, "rfd-bupyeong-101 amount 40000");
  EXPECT_EQ(cash("m1"), Won(0));
  EXPECT_EQ(group.facts.totals.at({"bupyeong", "m1"}).refunded, Won(40'000));
  EXPECT_EQ(rows().refunds.at(0).amount, Won(40'000));
  EXPECT_EQ(rows().journals.at(0).kind, "refund");
}

TEST_F(AdminDeciders, ARefundBeforeSixtyPercentIsSpentIsRefused) {
  cash("m1") = Won(40'001);
  group.facts.totals[{"bupyeong", "m1"}] = {Won(100'000), Won(0), Won(0)};
  const auto r = decide(refund("r-1"));
  EXPECT_EQ(r.answer.status, 422);
  EXPECT_EQ(r.answer.body, "refund_min_used_pct: spent 59999 of 100000 loaded, less than 60 %");
  EXPECT_EQ(rows().keys.size(), 1u);
}

TEST_F(AdminDeciders, ARefundAfterALoadInTheGroupSeesIt) {
  cash("m1") = Won(40'000);
  group.facts.totals[{"bupyeong", "m1"}] = {Won(100'000), Won(0), Won(0)};
  decide(load("k-1", Won(10'000)));
  EXPECT_EQ(decide(refund("r-1")).answer.body, "refund_min_used_pct: spent 60000 of 110000 loaded, less than 60 %");
}

TEST_F(AdminDeciders, AReviewOfNoFlagIsNotFound) {
  const auto r = decide(review(8, FlagStatus::cleared));
  EXPECT_EQ(r.answer.status, 404);
  EXPECT_EQ(r.answer.body, "no flag flag-8");
  EXPECT_TRUE(group.changes.reviews.empty());
}

TEST_F(AdminDeciders, ClearingAFlagRecordsTheReviewAtNow) {
  open_flag(9);
  EXPECT_EQ(decide(review(9, FlagStatus::cleared)).answer.body, "cleared");
  const auto& flag = group.facts.flags.at({"bupyeong", 9});
  EXPECT_EQ(flag.reviewed_at, late.clock);
  EXPECT_EQ(flag.reviewed_by, "reviewer");
  ASSERT_EQ(group.changes.reviews.size(), 1u);
  EXPECT_EQ(group.changes.reviews[0].forfeited, Won(0));
  EXPECT_TRUE(group.changes.forfeits.empty());
}

TEST_F(AdminDeciders, ConfirmingAFlagForfeitsTheCashbackOfItsPayment) {
  approved_payment(55, Won(10'000), Won(1'000));
  open_flag(9);
  EXPECT_EQ(decide(review(9, FlagStatus::confirmed)).answer.body, "confirmed");
  EXPECT_EQ(group.changes.reviews.at(0).forfeited, Won(1'000));
  EXPECT_EQ(group.changes.forfeits, (std::vector<PaymentKey>{{"bupyeong", 55}}));
  const auto& p = group.facts.payments.at({"bupyeong", 55}).record;
  EXPECT_TRUE(p.cashback_forfeited);
  EXPECT_EQ(p.city_cashback, Won(0));
  EXPECT_EQ(group.changes.month_deltas.at({"bupyeong", "m1", "2026-03-01"}).eligible_spent, Won(-10'000));
}

TEST_F(AdminDeciders, TheOtherOutcomeOnAReviewedFlagIsAConflictTheSameIsTheFlag) {
  open_flag(9);
  group.facts.flags.at({"bupyeong", 9}).status = FlagStatus::confirmed;
  const auto other = decide(review(9, FlagStatus::cleared));
  EXPECT_EQ(other.answer.status, 409);
  EXPECT_EQ(other.answer.body, "flag flag-9 was already reviewed: confirmed");
  EXPECT_EQ(decide(review(9, FlagStatus::confirmed)).answer.body, "confirmed");
  EXPECT_TRUE(group.changes.reviews.empty());
}

TEST_F(AdminDeciders, ADistrictAdminMaySuspendOnlyItsOwnMerchants) {
  open_flag(9);
  const auto r = decide(review(9, FlagStatus::confirmed, /*suspend=*/true, "yeonsu"));
  EXPECT_EQ(r.answer.status, 403);
  EXPECT_EQ(r.answer.body,
            "merchant cafe is located in bupyeong; a district admin of yeonsu may suspend only its own district's "
            "merchants");
  EXPECT_TRUE(group.changes.suspensions.empty());
  EXPECT_EQ(decide(review(9, FlagStatus::confirmed, /*suspend=*/true, "bupyeong")).answer.body, "confirmed");
  EXPECT_EQ(group.changes.suspensions, (std::set<std::string>{"cafe"}));
}

TEST_F(AdminDeciders, AGrantJudgesEachLineAndNeverStopsHalfWay) {
  program();
  GrantLine bad{6, "m4", Won(1), std::string("field 'amount' must be positive")};
  const auto r = decide(grant({{1, "m1", Won(20'000), std::nullopt},
                               {2, "m2", Won(10'000), std::nullopt},
                               {3, "m9", Won(1'000), std::nullopt},
                               {4, "m1", Won(1'000), std::nullopt},
                               {5, "m3", Won(20'000), std::nullopt},
                               bad}));
  EXPECT_EQ(r.answer.body,
            "accepted 1 for 20000; 2: already granted 5000 won by this program; 3: no member m9; "
            "4: already granted 20000 won by this program; 5: the program's pool has 10000 won left; "
            "6: field 'amount' must be positive");
  ASSERT_EQ(rows().journals.size(), 1u);
  EXPECT_EQ(rows().journals[0].id, 901);
  EXPECT_EQ(group.facts.pools_left.at(3), Won(10'000));
  ASSERT_EQ(group.changes.wallets_to_open.size(), 1u);
  EXPECT_EQ(group.changes.wallets_to_open[0].second,
            (std::vector<std::pair<std::string, std::string>>{{"bupyeong", "m1"}}));
  EXPECT_EQ(group.changes.grant_rows.size(), 1u);
  EXPECT_EQ(group.facts.balances.at({"bupyeong", accounts::member_program("p1", "m1")}), Won(20'000));
  EXPECT_EQ(rows().keys.size(), 1u);
}

TEST_F(AdminDeciders, AGrantOutsideItsPeriodRefusesEveryLine) {
  program();
  const auto r = decide(grant({{1, "m1", Won(1'000), std::nullopt}}, at("2026-04-02T03:00:00Z")));
  EXPECT_EQ(r.answer.body,
            "accepted 0 for 0; 1: the grant period is 2026-03-01 to 2026-03-31; this grant is dated 2026-04-02");
  EXPECT_TRUE(rows().journals.empty());
}

}  // namespace
}  // namespace evoucher::ops::testing
