// Fraud flags end to end: each payment-path rule one below its threshold and at it, the nightly
// sales-over-revenue rule, the review queue, a confirmed review that claws back posted cashback,
// and bad input. `evoucher verify` passes after each scenario.
#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

class Flags : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    ASSERT_EQ(load("m1", 1'000'000, "m1-load").status, 201);
  }

  // Pays, expecting an approval; returns its payment id.
  std::string approve(const std::string& event, const std::string& card, const std::string& merchant, long long price,
                      const std::string& at) {
    const auto a = pay(event, card, merchant, price, at);
    EXPECT_EQ(a.body["decision"], "approved") << a.body;
    return a.body.value("payment_id", "");
  }

  json flags(const std::string& query = "from=2020-03-01&to=2020-03-31", const std::string& tok = kAdminToken) {
    const auto a = admin("GET", "/v1/flags?" + query, nullptr, tok);
    EXPECT_EQ(a.status, 200) << a.body;
    return a.body["flags"];
  }

  // rule: payment, for every flag listed.
  std::vector<std::pair<std::string, std::string>> raised(const std::string& query = "from=2020-03-01&to=2020-03-31") {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& f : flags(query)) out.emplace_back(f["rule"], f["payment_id"].is_null() ? "" : f["payment_id"]);
    return out;
  }


  Answer review(const std::string& flag, const json& body, const std::string& tok = kAdminToken) {
    return admin("POST", "/v1/flags/" + flag + "/review", body, tok);
  }
};

using Raised = std::vector<std::pair<std::string, std::string>>;

TEST_F(Flags, RepeatFlagsTheThirdPaymentAtOneMerchantInOneDay) {
  approve("r1", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  approve("r2", "c1", "bp-bakery", 1'000, "2020-03-02T11:00:00+09:00");  // another merchant
  approve("r3", "c1", "bp-cafe", 1'000, "2020-03-02T12:00:00+09:00");    // 2nd at bp-cafe
  approve("r4", "c1", "bp-cafe", 1'000, "2020-03-03T09:00:00+09:00");    // the next day: 1st again
  EXPECT_EQ(raised(), Raised{});
  const auto third = approve("r5", "c1", "bp-cafe", 1'000, "2020-03-02T23:59:59+09:00");  // 3rd on the 2nd
  const auto fourth = approve("r6", "c1", "bp-cafe", 1'000, "2020-03-03T10:00:00+09:00");  // 2nd on the 3rd
  const auto list = flags();
  ASSERT_EQ(list.size(), 1u) << list;
  const auto& f = list[0];
  EXPECT_EQ(f["rule"], "repeat");
  EXPECT_EQ(f["status"], "open");
  EXPECT_EQ(f["payment_id"], third);
  EXPECT_EQ(f["district"], "bupyeong");
  EXPECT_EQ(f["member"], "m1");
  EXPECT_EQ(f["merchant"], "bp-cafe");
  EXPECT_EQ(f["card"], "c1");
  EXPECT_EQ(f["at"], "2020-03-02T14:59:59Z");
  EXPECT_EQ(f["business_date"], "2020-03-02");
  EXPECT_EQ(f["review"], nullptr);
  EXPECT_EQ(f["detail"], "approved payment no. 3 by member m1 at merchant bp-cafe on 2020-03-02; the rule flags "
                         "no. 3 and later");
  EXPECT_EQ(scalar("SELECT counts[array_position(merchants, 'bp-cafe')] FROM payment_counters "
                   "WHERE member_id = 'm1' AND business_date = '2020-03-02'"),
            3);
  // The flags metric counts it, by district and rule.
  const auto metrics = http_request(server->port(), "GET", "/metrics", "", {});
  EXPECT_NE(metrics.body.find("evoucher_flags_raised_total{district=\"bupyeong\",rule=\"repeat\"} 1\n"),
            std::string::npos)
      << metrics.body;
  (void)fourth;
  expect_verified();
}

TEST_F(Flags, LargeFlagsOneMillionWonAndMore) {
  ASSERT_EQ(load("m2", 1'000'000, "m2-load").status, 201);
  approve("l1", "c1", "bp-cafe", 999'999, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(raised(), Raised{});
  const auto large = approve("l2", "c2", "bp-cafe", 1'000'000, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"large", large}}));
  EXPECT_EQ(flags()[0]["detail"], "price 1000000 won is at or above 1000000");
  expect_verified();
}

TEST_F(Flags, BurstFlagsTheFifthPaymentOfOneCardWithinTenMinutes) {
  ASSERT_EQ(load("m2", 100'000, "m2-load").status, 201);
  approve("b1", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  approve("b2", "c1", "bp-bakery", 1'000, "2020-03-02T10:02:00+09:00");
  approve("b3", "c1", "bp-market", 1'000, "2020-03-02T10:04:00+09:00");
  approve("x1", "c2", "bp-cafe", 1'000, "2020-03-02T10:05:00+09:00");  // another card does not count
  approve("b4", "c1", "ys-books", 1'000, "2020-03-02T10:06:00+09:00");
  // Exactly ten minutes after the first, which no longer counts: four within the window.
  approve("b5", "c1", "ys-diner", 1'000, "2020-03-02T10:10:00+09:00");
  EXPECT_EQ(raised(), Raised{});
  const auto fifth = approve("b6", "c1", "bp-bakery", 1'000, "2020-03-02T10:11:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"burst", fifth}}));
  expect_verified();
}

TEST_F(Flags, BurstReachesBackAcrossMidnight) {
  approve("n1", "c1", "bp-cafe", 1'000, "2020-03-02T23:56:00+09:00");
  approve("n2", "c1", "bp-bakery", 1'000, "2020-03-02T23:57:00+09:00");
  approve("n3", "c1", "bp-market", 1'000, "2020-03-02T23:58:00+09:00");
  approve("n4", "c1", "ys-books", 1'000, "2020-03-02T23:59:00+09:00");
  const auto fifth = approve("n5", "c1", "ys-diner", 1'000, "2020-03-03T00:01:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"burst", fifth}}));
  expect_verified();
}

TEST_F(Flags, OwnShopFlagsThePaymentsOfTheRegisteredOwner) {
  ASSERT_EQ(load("m2", 100'000, "m2-load").status, 201);
  auto bad = admin("PATCH", "/v1/merchants/bp-cafe", {{"owner_member", "nobody"}});
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(bad.body["detail"], "field 'owner_member': no member nobody");
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["owner_member"], nullptr);
  const auto patched = admin("PATCH", "/v1/merchants/bp-cafe", {{"owner_member", "m1"}});
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.body["owner_member"], "m1");
  approve("o1", "c2", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");  // not the owner
  EXPECT_EQ(raised(), Raised{});
  const auto own = approve("o2", "c1", "bp-cafe", 1'000, "2020-03-02T10:30:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"own_shop", own}}));
  EXPECT_EQ(flags()[0]["detail"], "member m1 is the registered owner of merchant bp-cafe");
  expect_verified();
}

TEST_F(Flags, SalesOverRevenueIsJudgedNightlyOncePerMonth) {
  ASSERT_EQ(admin("POST", "/v1/merchants",
                  {{"id", "bp-tiny"}, {"business_no", "1"}, {"name", "T"}, {"district", "bupyeong"},
                   {"category", "cafe"}, {"annual_revenue", 1'200'000}, {"benefit", nullptr}})
                .status,
            201);
  approve("s1", "c1", "bp-tiny", 100'000, "2020-03-02T10:00:00+09:00");  // exactly 1,200,000 / 12
  const std::map<std::string, std::string> env{{"EVOUCHER_DATABASE_URL", url}};
  auto first = run_evoucher({"batch", "flags", "--date", "2020-03-02"}, env);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(json::parse(first.output),
            json::parse(R"({"business_date":"2020-03-02","month":"2020-03","rule":"sales_over_revenue",
                            "merchants_judged":1,"raised":[]})"));
  approve("s2", "c1", "bp-tiny", 1, "2020-03-03T10:00:00+09:00");
  auto second = run_evoucher({"batch", "flags", "--date", "2020-03-03"}, env);
  ASSERT_EQ(second.exit_code, 0) << second.output;
  const std::string detail =
      "voucher sales of 100001 won in 2020-03 through 2020-03-03 exceed the declared annual revenue of 1200000 won "
      "/ 12 = 100000";
  EXPECT_EQ(json::parse(second.output)["raised"],
            json::array({{{"merchant", "bp-tiny"}, {"district", "bupyeong"}, {"detail", detail}}}));
  auto again = run_evoucher({"batch", "flags", "--date", "2020-03-04"}, env);
  EXPECT_EQ(json::parse(again.output)["raised"], json::array());
  const auto list = flags("from=2020-03-03&to=2020-03-03&rule=sales_over_revenue");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["payment_id"], nullptr);
  EXPECT_EQ(list[0]["month"], "2020-03");
  EXPECT_EQ(list[0]["at"], "2020-03-03T15:00:00Z");
  auto open = run_evoucher({"batch", "flags", "--date", "2099-12-31"}, env);
  EXPECT_EQ(open.exit_code, 1) << open.output;
  expect_verified();
}

// A confirmed flag on a posted payment: its cashback goes back to the pools, its eligible spend
// leaves the month, the merchant may be suspended, and a later full cancellation reverses no more
// cashback.
TEST_F(Flags, AConfirmedReviewClawsBackThePaymentsCashback) {
  approve("c1", "c1", "bp-bakery", 10'000, "2020-03-02T10:00:00+09:00");
  approve("c2", "c1", "bp-bakery", 10'000, "2020-03-02T11:00:00+09:00");
  const auto third = approve("c3", "c1", "bp-bakery", 10'000, "2020-03-02T12:00:00+09:00");
  ASSERT_EQ(admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-02"}},
                  kAdminToken, "batch-0302")
                .status,
            200);
  // Each paid 9,500 after the 5 % discount, and earned 950 (city) + 190 (top-up).
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 3'420);
  const auto list = flags();
  ASSERT_EQ(list.size(), 1u);
  const std::string id = list[0]["id"];
  const long long drawn_before = scalar("SELECT sum(drawn) FROM pools");

  auto bad = review(id, {{"outcome", "maybe"}, {"note", "n"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["detail"], "field 'outcome' must be one of cleared, confirmed");
  bad = review(id, {{"outcome", "cleared"}, {"note", "n"}, {"suspend_merchant", true}});
  EXPECT_EQ(bad.body["detail"], "field 'suspend_merchant': only a confirmed flag may suspend the merchant");
  EXPECT_EQ(review("flag-bupyeong-999999", {{"outcome", "cleared"}, {"note", "n"}}).status, 404);
  EXPECT_EQ(flags()[0]["status"], "open");

  const auto done = review(id, {{"outcome", "confirmed"}, {"note", "깡 확인"}, {"suspend_merchant", true}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.body["status"], "confirmed");
  EXPECT_EQ(done.body["review"]["by"], "EVOUCHER_ADMIN_TOKEN");
  EXPECT_EQ(done.body["review"]["note"], "깡 확인");
  EXPECT_EQ(done.body["review"]["merchant_suspended"], true);
  EXPECT_EQ(done.body["review"]["cashback_forfeited"], 1'140);
  EXPECT_EQ(done.body["review"]["clawed_back"], 1'140);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 2'280);
  EXPECT_EQ(admin("GET", "/v1/members/m1?month=2020-03").body["month"]["eligible_spent"], 19'000);
  EXPECT_EQ(scalar("SELECT sum(drawn) FROM pools"), drawn_before - 1'140);
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-bakery").body["status"], "suspended");
  EXPECT_EQ(pay("c4", "c1", "bp-bakery", 1'000, "2020-03-02T13:00:00+09:00").body["reason"], "merchant_ineligible");
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log WHERE resource = 'flag:" + id + "' AND status = 200"), 1);

  // The same review again answers the flag as it stands; the other outcome is refused.
  const auto again = review(id, {{"outcome", "confirmed"}, {"note", "again"}});
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["review"]["note"], "깡 확인");
  const auto other = review(id, {{"outcome", "cleared"}, {"note", "n"}});
  EXPECT_EQ(other.status, 409);
  EXPECT_EQ(other.body["detail"], "flag " + id + " was already reviewed: confirmed");

  const auto cancelled = cancel("x-c3", third, 9'500, "2020-03-05T10:00:00+09:00");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.body["refunded"], json({{"cash", 9'500}, {"points", 0}}));
  EXPECT_EQ(cancelled.body["cashback_reversed"], json({{"city", 0}, {"district", 0}, {"merchant", 0}}));
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 2'280);
  EXPECT_EQ(admin("GET", "/v1/districts/bupyeong/summary?from=2000-01-01&to=2099-12-31").body["cashback"]["clawed_back"],
            1'140);
  expect_verified();

  // verify names a flag whose payment is not in its district.
  ASSERT_EQ(scalar("INSERT INTO flags (district, id, rule, payment_id, merchant_id, occurred_at, business_date, detail) "
                   "VALUES ('bupyeong', 9000001, 'large', 999999, 'bp-cafe', '2020-03-02T01:00:00Z', '2020-03-02', "
                   "'f') RETURNING id"),
            9'000'001);
  auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_NE(v.exit_code, 0);
  EXPECT_NE(v.output.find("flag bupyeong/9000001 (large, open) names payment 999999: not in its district"),
            std::string::npos)
      << v.output;
}

// A confirmed flag on a payment still pending: it simply earns nothing, and the batch posts nothing.
TEST_F(Flags, AConfirmedReviewOfAPendingPaymentLeavesNothingToPost) {
  const auto large = approve("p1", "c1", "bp-bakery", 1'000'000, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["pending_cashback"], 54'500 + 19'000);
  const std::string id = flags()[0]["id"];
  const auto done = review(id, {{"outcome", "confirmed"}, {"note", "n"}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.body["review"]["cashback_forfeited"], 73'500);
  EXPECT_EQ(done.body["review"]["clawed_back"], 0);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["pending_cashback"], 0);
  ASSERT_EQ(admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-02"}},
                  kAdminToken, "batch-0302")
                .status,
            200);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 0);
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-bakery").body["status"], "active");
  (void)large;
  expect_verified();
}

TEST_F(Flags, TheQueueFiltersAndRefusesBadQueries) {
  ASSERT_EQ(load("m3", 1'000'000, "m3-load").status, 201);
  const auto bp = approve("q1", "c1", "bp-cafe", 1'000'000, "2020-03-02T10:00:00+09:00");
  const auto ys = approve("q2", "c3", "ys-books", 1'000'000, "2020-03-04T10:00:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"large", bp}, {"large", ys}}));
  EXPECT_EQ(raised("from=2020-03-03&to=2020-03-31"), (Raised{{"large", ys}}));
  EXPECT_EQ(raised("from=2020-03-01&to=2020-03-31&district=yeonsu"), (Raised{{"large", ys}}));
  EXPECT_EQ(raised("from=2020-03-01&to=2020-03-31&rule=repeat"), Raised{});
  EXPECT_EQ(raised("from=2020-03-01&to=2020-03-31&status=open&limit=1").size(), 1u);
  const auto page = admin("GET", "/v1/flags?from=2020-03-01&to=2020-03-31&limit=1");
  const auto rest = admin("GET", "/v1/flags?from=2020-03-01&to=2020-03-31&after=" + std::string(page.body["next"]));
  EXPECT_EQ(rest.body["flags"][0]["payment_id"], ys);
  EXPECT_EQ(rest.body["next"], nullptr);
  // A district admin sees its own district only.
  const auto bupyeong = token("district_admin", "bupyeong");
  EXPECT_EQ(flags("from=2020-03-01&to=2020-03-31", bupyeong).size(), 1u);
  EXPECT_EQ(admin("GET", "/v1/flags?from=2020-03-01&to=2020-03-31&district=yeonsu", nullptr, bupyeong).status, 404);
  EXPECT_EQ(review("flag-yeonsu-1", {{"outcome", "cleared"}, {"note", "n"}}, bupyeong).status, 404);
  for (const auto& [query, detail] : std::vector<std::pair<std::string, std::string>>{
           {"from=2020-03-01", "query parameter 'to' must be a date, YYYY-MM-DD, from 2000-01-01 to 2099-12-31 (UTC)"},
           {"from=2020-03-02&to=2020-03-01", "query parameter 'to' must not be before 'from'"},
           {"from=2020-03-01&to=2020-03-31&rule=kkang",
            "query parameter 'rule' must be one of repeat, large, burst, own_shop, sales_over_revenue"},
           {"from=2020-03-01&to=2020-03-31&status=closed",
            "query parameter 'status' must be one of open, cleared, confirmed"}}) {
    const auto a = admin("GET", "/v1/flags?" + query);
    EXPECT_EQ(a.status, 400) << query;
    EXPECT_EQ(a.body["detail"], detail) << query;
  }
  expect_verified();
}

// The thresholds follow the city policy in force at the payment's time.
TEST_F(Flags, ThresholdsComeFromTheCityPolicy) {
  const auto posted = admin(
      "POST", "/v1/policies",
      {{"scope", "city"},
       {"effective_from", "2020-03-10T00:00:00+09:00"},
       {"rules", json::parse(R"({"brackets": [{"up_to": 500000, "rate_bp": 1000}, {"up_to": 1000000, "rate_bp": 100}],
                                 "funding_split": {"national": 4, "city": 2}, "monthly_load_limit": 1000000,
                                 "balance_cap": 2000000,
                                 "fraud": {"large_price": 5000, "repeat_per_day": 0, "own_shop": false}})")}});
  ASSERT_EQ(posted.status, 201) << posted.body;
  approve("t1", "c1", "bp-cafe", 5'000, "2020-03-09T10:00:00+09:00");  // the old policy: 1,000,000
  EXPECT_EQ(raised(), Raised{});
  const auto large = approve("t2", "c1", "bp-cafe", 5'000, "2020-03-10T10:00:00+09:00");
  EXPECT_EQ(raised(), (Raised{{"large", large}}));
  const auto refused = admin("POST", "/v1/policies",
                             {{"scope", "city"},
                              {"effective_from", "2020-03-11T00:00:00+09:00"},
                              {"rules", json::parse(R"({"brackets": [{"up_to": 1, "rate_bp": 1}],
                                 "funding_split": {"national": 1, "city": 1}, "fraud": {"burst_count": 1}})")}});
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.body["detail"], "rules.fraud.burst_count must be 0 (off) or from 2 to 50");
  expect_verified();
}

}  // namespace
}  // namespace evoucher::testing
