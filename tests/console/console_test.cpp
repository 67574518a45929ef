// The admin console in a real browser: the service runs against a seeded PostgreSQL, and
// console_check.mjs drives headless Chromium through every page (tests/console/README is the
// checklist). Screenshots land in build/console-screenshots.
#include <cstdio>

#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

class Console : public ApiTest {
 protected:
  // A March with money in it: loads, payments over four days in every district (two members'
  // repeats), a cancellation, the relief grant, batches of the first three days (the
  // fourth left pending), and a settlement.
  void seed_month() {
    {
      store::Connection c(url);
      ASSERT_TRUE(store::seed_demo_relief(c));
    }
    for (const auto& [member, amount] : std::vector<std::pair<std::string, long long>>{
             {"m1", 1'000'000}, {"m2", 300'000}, {"m3", 500'000}, {"m4", 200'000}})
      ASSERT_EQ(load(member, amount, "load-" + member, "2020-03-01T09:00:00+09:00").status, 201);
    int n = 0;
    auto approve = [&](const std::string& card, const std::string& merchant, long long price, const std::string& at) {
      const auto a = pay("c-" + std::to_string(++n), card, merchant, price, at);
      EXPECT_EQ(a.body["decision"], "approved") << a.body;
      return a.body.value("payment_id", "");
    };
    for (int day = 2; day <= 5; ++day) {
      const std::string date = "2020-03-0" + std::to_string(day);
      approve("c1", "bp-bakery", 12'000 + day * 1'000, date + "T08:30:00+09:00");
      approve("c1", "bp-market", 30'000, date + "T12:10:00+09:00");
      approve("c2", "bp-cafe", 6'500, date + "T10:00:00+09:00");
      approve("c3", "ys-diner", 18'000, date + "T12:30:00+09:00");
      approve("c4", "ys-books", 22'000, date + "T18:00:00+09:00");
    }
    // A member's third payment at one shop in a day is a repeat: two flags.
    approve("c2", "bp-cafe", 4'000, "2020-03-03T15:00:00+09:00");
    approve("c2", "bp-cafe", 4'500, "2020-03-03T16:00:00+09:00");
    approve("c4", "ys-books", 3'000, "2020-03-05T18:30:00+09:00");
    approve("c4", "ys-books", 3'500, "2020-03-05T19:00:00+09:00");
    const auto large = approve("c1", "ys-books", 500'000, "2020-03-04T11:00:00+09:00");
    ASSERT_EQ(cancel("c-x1", large, 100'000, "2020-03-04T15:00:00+09:00").status, 200);
    for (const char* district : {"bupyeong", "yeonsu", "city"})
      for (const char* date : {"2020-03-02", "2020-03-03", "2020-03-04"})
        ASSERT_EQ(run_evoucher({"batch", "cashback", "--date", date, "--district", district}, {{"EVOUCHER_DATABASE_URL", url}})
                      .exit_code,
                  0);
    const auto settled = processor("/v1/processor/settlements", {{"event_id", "c-s1"}, {"merchant", "bp-cafe"},
                                                                 {"business_date", "2020-03-02"}, {"amount", 6'500}});
    ASSERT_EQ(settled.status, 200) << settled.body;
  }
};

TEST_F(Console, EveryPageShowsTheApisFiguresInARealBrowser) {
  seed_month();
  const auto district = token("district_admin", "yeonsu", "연수구 담당");
  const std::string city = token("city_admin", "", "시청 담당");
  const std::string command =
      "PLAYWRIGHT_CORE='" + std::string(EVOUCHER_SOURCE_DIR) + "/build/tools/node_modules/playwright-core' " +
      "CONSOLE_BASE='http://127.0.0.1:" + std::to_string(server->port()) + "' CITY_TOKEN='" + city +
      "' DISTRICT_TOKEN='" + district + "' SCREENSHOT_DIR='" + std::string(EVOUCHER_BUILD_DIR) +
      "/console-screenshots' node '" + std::string(EVOUCHER_SOURCE_DIR) + "/tests/console/console_check.mjs' 2>&1";
  FILE* p = popen(command.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string output;
  char buf[4096];
  std::size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, got);
  const int status = pclose(p);
  std::printf("%s", output.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_NE(output.find("all 10 checks passed"), std::string::npos) << output;
  expect_verified();
}

}  // namespace
}  // namespace evoucher::testing
