// What the console reads besides the rest of the API: whose token it holds (/v1/me), a pool's
// burn-down with its forecast, the batch by district and date with pending dates, the summary's
// member count, and the console's own files with their security headers.
#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

class ConsoleApi : public ApiTest {
 protected:
  void two_days() {
    ASSERT_EQ(load("m1", 500'000, "ca-1", "2020-03-01T09:00:00+09:00").status, 201);
    ASSERT_EQ(pay("ca-p1", "c1", "bp-bakery", 100'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
    ASSERT_EQ(pay("ca-p2", "c1", "bp-bakery", 50'000, "2020-03-03T10:00:00+09:00").body["decision"], "approved");
    ASSERT_EQ(pay("ca-p3", "c1", "bp-cafe", 10'000, "2020-03-04T10:00:00+09:00").body["decision"], "approved");
    for (const char* date : {"2020-03-02", "2020-03-03"})
      ASSERT_EQ(run_evoucher({"batch", "cashback", "--date", date, "--district", "bupyeong"},
                             {{"EVOUCHER_DATABASE_URL", url}})
                    .exit_code,
                0);
  }
};

TEST_F(ConsoleApi, MeNamesTheTokensHolder) {
  EXPECT_EQ(admin("GET", "/v1/me").body,
            json::parse(R"({"name":"EVOUCHER_ADMIN_TOKEN","role":"city_admin","district":null})"));
  const auto yeonsu = token("district_admin", "yeonsu", "연수구 담당");
  EXPECT_EQ(admin("GET", "/v1/me", nullptr, yeonsu).body,
            json::parse(R"({"name":"연수구 담당","role":"district_admin","district":"yeonsu"})"));
  EXPECT_EQ(admin("GET", "/v1/me", nullptr, "wrong").status, 401);
}

TEST_F(ConsoleApi, TheBurnDownListsWhatEachDateLeftAndForecastsFromTheLastSevenDays) {
  two_days();
  const auto pools = admin("GET", "/v1/pools").body["pools"];
  const auto national = pools[0];
  ASSERT_EQ(national["source"], "national");
  const auto first = admin("GET", "/v1/batches/cashback/bupyeong/2020-03-02").body;
  const auto second = admin("GET", "/v1/batches/cashback/bupyeong/2020-03-03").body;
  const auto left = [](const json& report) {
    for (const auto& p : report["pools"])
      if (p["source"] == "national") return p["remaining"].get<long long>();
    return -1LL;
  };
  const auto burn = admin("GET", "/v1/pools/" + std::to_string(national["id"].get<long long>()) + "/burn-down");
  ASSERT_EQ(burn.status, 200) << burn.body;
  EXPECT_EQ(burn.body["days"], json::array({{{"business_date", "2020-03-02"}, {"remaining", left(first)}},
                                            {{"business_date", "2020-03-03"}, {"remaining", left(second)}}}));
  const long long budget = national["budget"];
  EXPECT_GT(budget - left(second), 0);
  // Both days fall in the window: everything drawn, over 7 days, rounded down.
  EXPECT_EQ(burn.body["forecast"]["daily_draw"], (budget - left(second)) / 7);
  // 40 billion won at a few thousand a day outlasts 2020.
  EXPECT_EQ(burn.body["forecast"]["runs_out_on"], nullptr);
  EXPECT_EQ(burn.body["forecast"]["outlasts_period"], true);
  EXPECT_EQ(admin("GET", "/v1/pools/999/burn-down").status, 404);
  EXPECT_EQ(admin("GET", "/v1/pools/x/burn-down").status, 404);
}

TEST_F(ConsoleApi, TheBatchListShowsRunsAndClosedDatesStillPending) {
  two_days();
  const auto list = admin("GET", "/v1/batches/cashback?from=2020-03-01&to=2020-03-05&district=bupyeong");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto& days = list.body["days"];
  ASSERT_EQ(days.size(), 3u);
  EXPECT_EQ(days[0]["business_date"], "2020-03-04");
  EXPECT_EQ(days[0]["status"], "pending");
  EXPECT_EQ(days[0]["run"], 0);
  EXPECT_EQ(days[0]["components"], nullptr);
  EXPECT_EQ(days[1]["business_date"], "2020-03-03");
  EXPECT_EQ(days[1]["status"], "completed");
  EXPECT_EQ(days[1]["run"], 1);
  EXPECT_EQ(days[1]["components"], admin("GET", "/v1/batches/cashback/bupyeong/2020-03-03").body["components"]);
  EXPECT_EQ(days[2]["business_date"], "2020-03-02");
  // A district admin sees its own district only; yeonsu had no payments.
  const auto yeonsu = token("district_admin", "yeonsu");
  EXPECT_EQ(admin("GET", "/v1/batches/cashback?from=2020-03-01&to=2020-03-05", nullptr, yeonsu).body["days"], json::array());
  EXPECT_EQ(admin("GET", "/v1/batches/cashback?from=2020-03-01&to=2020-03-05&district=bupyeong", nullptr, yeonsu).status, 404);
  const auto wide = admin("GET", "/v1/batches/cashback?from=2020-01-01&to=2020-04-02");
  EXPECT_EQ(wide.status, 400);
  EXPECT_EQ(wide.body["detail"], "query parameter 'to' must be within 92 days of 'from'");
}

TEST_F(ConsoleApi, TheSummaryCountsMembers) {
  EXPECT_EQ(admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-03-31").body["members"], 2);
  EXPECT_EQ(admin("GET", "/v1/districts/yeonsu/summary?from=2020-03-01&to=2020-03-31").body["members"], 1);
}

TEST_F(ConsoleApi, TheConsoleIsServedWithItsSecurityHeaders) {
  const auto page = http_get(server->port(), "/console/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.headers.at("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(page.headers.at("content-security-policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  EXPECT_EQ(page.headers.at("x-content-type-options"), "nosniff");
  EXPECT_NE(page.body.find("<script src=\"console.js\" defer></script>"), std::string::npos);
  const auto script = http_get(server->port(), "/console/console.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.headers.at("content-type"), "text/javascript; charset=utf-8");
  const auto chart = http_get(server->port(), "/console/chart.js");
  EXPECT_EQ(chart.status, 200);
  EXPECT_NE(chart.body.find("Chart"), std::string::npos);
  const auto redirect = http_get(server->port(), "/console");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.headers.at("location"), "/console/");
  const auto missing = http_get(server->port(), "/console/secrets.txt");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["detail"], "no console file secrets.txt");
  EXPECT_EQ(http_get(server->port(), "/console/..%2Fconfig").status, 404);
}

}  // namespace
}  // namespace evoucher::testing
