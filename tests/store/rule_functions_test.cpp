// The rules SQL and C++ share (migrations/0017_rule_functions.sql): the Seoul business date and the
// account keys answer the same in both, for a table of exact inputs.
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/time.hpp"
#include "support/pg_harness.hpp"

namespace evoucher::testing {
namespace {

class RuleFunctions : public ::testing::Test {
 protected:
  void SetUp() override { conn = std::make_unique<pqxx::connection>(PgHarness::instance().fresh_database()); }

  template <typename... Params>
  std::string sql_text(const std::string& query, const Params&... params) {
    pqxx::nontransaction n(*conn);
    const pqxx::result r = n.exec_params(query, params...);
    return r[0][0].as<std::string>();
  }

  std::unique_ptr<pqxx::connection> conn;
};

struct DateCase {
  const char* instant;
  const char* seoul_date;
};

// Seoul midnight is 15:00 UTC: the last microsecond before it and the first instant of it, at
// a month's, a leap day's, a year's and the service era's edges.
const std::vector<DateCase> kDates = {
    {"2020-03-01T14:59:59.999999Z", "2020-03-01"}, {"2020-03-01T15:00:00Z", "2020-03-02"},
    {"2020-03-01T23:59:59.999999+09:00", "2020-03-01"}, {"2020-03-02T00:00:00+09:00", "2020-03-02"},
    {"2020-03-02T00:00:00Z", "2020-03-02"},         {"2020-03-02T08:59:59Z", "2020-03-02"},
    {"2020-02-28T15:00:00Z", "2020-02-29"},         {"2020-02-29T14:59:59.999999Z", "2020-02-29"},
    {"2020-02-29T15:00:00Z", "2020-03-01"},         {"2020-03-31T15:00:00Z", "2020-04-01"},
    {"2019-12-31T14:59:59.999999Z", "2019-12-31"}, {"2019-12-31T15:00:00Z", "2020-01-01"},
    {"2000-01-01T00:00:00Z", "2000-01-01"},         {"2099-12-31T14:59:59.999999Z", "2099-12-31"},
    {"2020-06-15T12:00:00-05:00", "2020-06-16"},
};

TEST_F(RuleFunctions, SeoulDateAgreesWithTheServiceAtEveryMidnightEdge) {
  // The session's time zone must not matter: the service's is UTC, a psql user's may be anything.
  for (const char* zone : {"UTC", "Asia/Seoul", "America/New_York"}) {
    {
      pqxx::nontransaction n(*conn);
      n.exec("SET timezone = '" + std::string(zone) + "'");
    }
    for (const auto& c : kDates) {
      SCOPED_TRACE(std::string(zone) + " " + c.instant);
      const auto instant = parse_rfc3339(c.instant);
      ASSERT_TRUE(instant.has_value());
      EXPECT_EQ(format_date(seoul_business_date(*instant)), c.seoul_date);
      EXPECT_EQ(sql_text("SELECT seoul_date($1::timestamptz)::text", c.instant), c.seoul_date);
    }
  }
}

TEST_F(RuleFunctions, AccountKeysAreBuiltAlike) {
  for (const std::string party : {"m1", "m-000042", "010 1234 5678", "부평회원", "a_b%c"}) {
    SCOPED_TRACE(party);
    EXPECT_EQ(sql_text("SELECT member_cash_key($1)", party), accounts::member_cash(party));
    EXPECT_EQ(sql_text("SELECT member_points_key($1)", party), accounts::member_points(party));
    EXPECT_EQ(sql_text("SELECT merchant_payable_key($1)", party), accounts::merchant_payable(party));
    EXPECT_EQ(sql_text("SELECT member_program_key($1, $2)", "relief-2020", party),
              accounts::member_program("relief-2020", party));
  }
  EXPECT_EQ(sql_text("SELECT member_cash_key($1)", "m1"), "member:m1:cash");
  EXPECT_EQ(sql_text("SELECT member_program_key($1, $2)", "relief", "m1"), "program:relief:m1");
  for (long long pool : {1LL, 42LL, 9'007'199'254'740'993LL}) {
    SCOPED_TRACE(pool);
    EXPECT_EQ(sql_text("SELECT pool_drawn_key($1::bigint)", std::to_string(pool)), accounts::pool_drawn(pool));
  }
  EXPECT_EQ(sql_text("SELECT pool_drawn_key($1::bigint)", "42"), "pool:42:drawn");
}

TEST_F(RuleFunctions, EachKeyIsOfItsOwnKindOnly) {
  struct KindCase {
    std::string key;
    const char* kinds;  // is_member_account, is_member_cash, is_member_points, is_member_program,
                        // is_merchant_payable, is_pool_drawn, as t/f
  };
  const std::vector<KindCase> cases = {
      {accounts::member_cash("m1"), "ttffff"},         {accounts::member_points("m1"), "tftfff"},
      {accounts::member_program("relief", "m1"), "ffftff"}, {accounts::merchant_payable("shop"), "fffftf"},
      {accounts::pool_drawn(7), "ffffft"},             {accounts::float_account(), "ffffff"},
      {accounts::fee_support_expense(), "ffffff"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    EXPECT_EQ(sql_text("SELECT concat(CASE WHEN is_member_account($1) THEN 't' ELSE 'f' END, "
                       "  CASE WHEN is_member_cash($1) THEN 't' ELSE 'f' END, "
                       "  CASE WHEN is_member_points($1) THEN 't' ELSE 'f' END, "
                       "  CASE WHEN is_member_program($1) THEN 't' ELSE 'f' END, "
                       "  CASE WHEN is_merchant_payable($1) THEN 't' ELSE 'f' END, "
                       "  CASE WHEN is_pool_drawn($1) THEN 't' ELSE 'f' END)",
                       c.key),
              c.kinds);
  }
}

}  // namespace
}  // namespace evoucher::testing
