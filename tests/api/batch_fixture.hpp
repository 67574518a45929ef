// The Batch suite's fixture: the nightly batch from the command line, the worked example's day,
// and verify's full report. Shared by batch_test.cpp and pools_settlements_test.cpp.
#pragma once

#include <map>
#include <string>

#include "api/api_fixture.hpp"

namespace evoucher::testing {

class Batch : public ApiTest {
 protected:
  CommandResult batch(const std::string& date, const std::string& district = "bupyeong",
                      std::map<std::string, std::string> env = {}, const std::string& db = "") {
    env["EVOUCHER_DATABASE_URL"] = db.empty() ? url : db;
    return run_evoucher({"batch", "cashback", "--date", date, "--district", district}, env);
  }

  void worked_example_day() {
    ASSERT_EQ(load("m1", 1'000'000, "we-load").status, 201);
    ASSERT_EQ(pay("we-p1", "c1", "bp-bakery", 50'000, "2020-03-02T10:00:00+09:00").status, 200);
    ASSERT_EQ(pay("we-p2", "c1", "ys-books", 480'000, "2020-03-02T11:00:00+09:00").status, 200);
    ASSERT_EQ(cancel("we-c1", "pay-bupyeong-3", 100'000, "2020-03-02T12:00:00+09:00").status, 200);
  }

  // A report of a date batched in one run: the date's totals are that run's.
  static json one_run(const std::string& district, const std::string& date, const json& components, const json& pools) {
    return {{"district", district}, {"business_date", date}, {"status", "completed"}, {"run", 1},
            {"components", components}, {"runs", json::array({{{"run", 1}, {"components", components}}})},
            {"pools", pools}};
  }

  // verify passes every check of every district, and says so.
  void expect_verified() {
    auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
    EXPECT_EQ(v.exit_code, 0) << v.output;
    EXPECT_EQ(v.output.find("FAIL"), std::string::npos) << v.output;
    EXPECT_NE(v.output.find(" checks passed, 0 failed"), std::string::npos) << v.output;
    EXPECT_NE(v.output.find("ok    bupyeong: every journal balances"), std::string::npos) << v.output;
  }
};

}  // namespace evoucher::testing
