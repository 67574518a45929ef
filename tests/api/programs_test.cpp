// Policy money end to end: programs and their pools, bulk grants with bad lines and a replay,
// the spending order, no cashback on the program part, the merchant scope, cancellations before
// and after expiry, and the refund rule. `evoucher verify` passes after each scenario.
#include "api/api_fixture.hpp"
#include "evoucher/store/demo_seed.hpp"

namespace evoucher::testing {
namespace {

class Programs : public ApiTest {
 protected:
  json program(const std::string& id, const std::string& district, long long budget, const std::string& expires_on,
               const json& categories = nullptr, bool over_ceiling = true) {
    return {{"id", id},
            {"name", "2020 재난지원금"},
            {"district", district},
            {"funder", district == "city" ? "city" : "district"},
            {"budget", budget},
            {"grant_from", "2020-03-01"},
            {"grant_to", "2020-06-30"},
            {"expires_on", expires_on},
            {"scope", {{"categories", categories}, {"over_ceiling_allowed", over_ceiling}}}};
  }
  Answer create(const json& body) { return admin("POST", "/v1/programs", body, kAdminToken, "create-" + std::string(body["id"])); }

  Answer grant(const std::string& program, const json& lines, const std::string& key,
               const std::string& at = "2020-03-02T10:00:00+09:00") {
    std::map<std::string, std::string> headers{{"Authorization", std::string("Bearer ") + kAdminToken},
                                               {"Idempotency-Key", key}};
    return answer(http_request(server->port(), "POST",
                               "/v1/programs/" + program + "/grants?occurred_at=" + encode(at),
                               json{{"grants", lines}}.dump(), headers));
  }
  Answer grant_csv(const std::string& program, const std::string& csv, const std::string& key) {
    std::map<std::string, std::string> headers{{"Authorization", std::string("Bearer ") + kAdminToken},
                                               {"Idempotency-Key", key},
                                               {"Content-Type", "text/csv"}};
    return answer(http_request(server->port(), "POST",
                               "/v1/programs/" + program + "/grants?occurred_at=2020-03-02T10%3A00%3A00%2B09%3A00", csv,
                               headers));
  }
  static std::string encode(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '+' ? "%2B" : c == ':' ? "%3A" : std::string(1, c);
    return out;
  }
  json wallets(const std::string& member) { return admin("GET", "/v1/members/" + member).body["programs"]; }
  long long pool_remaining(const std::string& program) {
    return admin("GET", "/v1/programs/" + program).body["pool"]["remaining"];
  }
};

TEST_F(Programs, ABulkGrantJudgesEveryLineAndAReplayWritesNothing) {
  const auto made = create(program("relief", "bupyeong", 150'000, "2020-08-31"));
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_EQ(made.body["scope"], json({{"categories", nullptr}, {"over_ceiling_allowed", true}}));
  const json lines = json::array({{{"member", "m1"}, {"amount", 100'000}},
                                  {{"member", "ghost"}, {"amount", 1'000}},
                                  {{"member", "m3"}, {"amount", 1'000}},
                                  {{"member", "m2"}, {"amount", 0}},
                                  "m2,5",
                                  {{"member", "m1"}, {"amount", 5'000}},
                                  {{"member", "m2"}, {"amount", 60'000}},
                                  {{"member", "m2"}, {"amount", 50'000}}});
  const auto first = grant("relief", lines, "bulk-1");
  ASSERT_EQ(first.status, 200) << first.body;
  const auto expected = json::parse(R"({"accepted":2,"amount":150000,"refused":[
    {"line":2,"member":"ghost","reason":"no member ghost in bupyeong"},
    {"line":3,"member":"m3","reason":"no member m3 in bupyeong"},
    {"line":4,"member":"m2","reason":"field 'amount' must be an integer from 1 to 10000000000000, got 0"},
    {"line":5,"member":"","reason":"a grant is {member, amount}"},
    {"line":6,"member":"m1","reason":"already granted 100000 won by this program"},
    {"line":7,"member":"m2","reason":"the program's pool has 50000 won left"}]})");
  EXPECT_EQ(first.body, expected);
  const auto replay = grant("relief", lines, "bulk-1");
  EXPECT_EQ(replay.body, expected);
  EXPECT_EQ(scalar("SELECT count(*) FROM grants"), 2);
  EXPECT_EQ(wallets("m1"), json::parse(R"([{"program":"relief","balance":100000,"expires_on":"2020-08-31"}])"));
  EXPECT_EQ(wallets("m2"), json::parse(R"([{"program":"relief","balance":50000,"expires_on":"2020-08-31"}])"));
  EXPECT_EQ(pool_remaining("relief"), 0);
  // The same lines under a new key: every member is already granted.
  const auto again = grant("relief", json::array({{{"member", "m1"}, {"amount", 1}}}), "bulk-2");
  EXPECT_EQ(again.body["refused"][0]["reason"], "already granted 100000 won by this program");
  // CSV, with a header; outside the grant period nothing is granted.
  const auto city = create(program("city-relief", "city", 1'000'000, "2020-12-31"));
  ASSERT_EQ(city.status, 201) << city.body;
  const auto csv = grant_csv("city-relief", "member,amount\r\nm3,70000\r\nm4,x\r\n", "csv-1");
  ASSERT_EQ(csv.status, 200) << csv.body;
  EXPECT_EQ(csv.body, json::parse(R"({"accepted":1,"amount":70000,"refused":[
    {"line":3,"member":"m4","reason":"amount must be an integer from 1 to 10000000000000"}]})"));
  const auto late = grant("city-relief", json::array({{{"member", "m4"}, {"amount", 1}}}), "late",
                          "2020-07-01T10:00:00+09:00");
  EXPECT_EQ(late.body["refused"][0]["reason"],
            "the grant period is 2020-03-01 to 2020-06-30; this grant is dated 2020-07-01");
  const auto report = admin("GET", "/v1/programs/relief");
  EXPECT_EQ(report.body["granted"], 150'000);
  EXPECT_EQ(report.body["grants"], 2);
  EXPECT_EQ(report.body["by_district"],
            json::parse(R"([{"district":"bupyeong","grants":2,"granted":150000,"spent":0,"expired":0,"returned":0,
                                "balance":150000}])"));
  expect_verified();
}

TEST_F(Programs, ProgramMoneyPaysFirstAndEarnsNoCashback) {
  ASSERT_EQ(create(program("relief", "bupyeong", 1'000'000, "2020-08-31")).status, 201);
  ASSERT_EQ(grant("relief", json::array({{{"member", "m1"}, {"amount", 100'000}}}), "g").body["accepted"], 1);
  ASSERT_EQ(load("m1", 200'000, "l1").status, 201);
  // 150,000 at bp-bakery (혜택+, 5 % off): 142,500 charged; the program pays 100,000, cash the rest.
  const auto p = pay("p1", "c1", "bp-bakery", 150'000, "2020-03-02T12:00:00+09:00");
  ASSERT_EQ(p.body["decision"], "approved") << p.body;
  EXPECT_EQ(p.body["paid"], json({{"program", 100'000}, {"points", 0}, {"cash", 42'500}}));
  // Cashback and the top-up on the 42,500 only; fee support on all of it.
  EXPECT_EQ(p.body["cashback"], json({{"city", 4'250}, {"district", 850}, {"merchant", 0}}));
  EXPECT_EQ(p.body["fee_support"], 712);
  const auto m1 = admin("GET", "/v1/members/m1?month=2020-03").body;
  EXPECT_EQ(m1["cash"], 157'500);
  EXPECT_EQ(m1["month"]["eligible_spent"], 42'500);
  EXPECT_EQ(m1["programs"], json::parse(R"([{"program":"relief","balance":0,"expires_on":"2020-08-31"}])"));
  // A payment that no program money pays answers as before.
  EXPECT_EQ(pay("p2", "c1", "bp-cafe", 1'000, "2020-03-02T13:00:00+09:00").body["paid"],
            json({{"points", 0}, {"cash", 1'000}}));
  EXPECT_EQ(admin("GET", "/v1/programs/relief").body["spent"], 100'000);
  // The statement shows the wallet's movements with its expiry.
  const auto statement = admin("GET", "/v1/members/m1/statement").body["entries"];
  std::vector<std::tuple<std::string, std::string, long long, long long>> lines;
  for (const auto& e : statement) lines.emplace_back(e["kind"], e["balance"], e["amount"], e["balance_after"]);
  EXPECT_EQ(lines, (std::vector<std::tuple<std::string, std::string, long long, long long>>{
                       {"grant", "program:relief", 100'000, 100'000},
                       {"load", "cash", 200'000, 200'000},
                       {"payment", "program:relief", -100'000, 0},
                       {"payment", "cash", -42'500, 157'500},
                       {"payment", "cash", -1'000, 156'500}}));
  EXPECT_EQ(statement[0]["expires_on"], "2020-08-31");
  EXPECT_FALSE(statement[1].contains("expires_on"));
  expect_verified();
}

TEST_F(Programs, TheScopeDecidesWhereProgramMoneyPays) {
  ASSERT_EQ(create(program("bakeries", "bupyeong", 1'000'000, "2020-08-31", json::array({"bakery"}), false)).status,
            201);
  ASSERT_EQ(create(program("any-size", "city", 1'000'000, "2020-12-31", nullptr, true)).status, 201);
  ASSERT_EQ(grant("bakeries", json::array({{{"member", "m1"}, {"amount", 50'000}}}), "g1").body["accepted"], 1);
  ASSERT_EQ(grant("any-size", json::array({{{"member", "m3"}, {"amount", 50'000}}}), "g2").body["accepted"], 1);
  ASSERT_EQ(load("m1", 100'000, "l1").status, 201);
  // A cafe is not in the bakeries' scope.
  EXPECT_EQ(pay("s1", "c1", "bp-cafe", 10'000, "2020-03-02T12:00:00+09:00").body["paid"],
            json({{"points", 0}, {"cash", 10'000}}));
  // ys-clinic is over the revenue ceiling: the bakeries' program may not pay there, any-size may.
  EXPECT_EQ(pay("s2", "c1", "ys-clinic", 10'000, "2020-03-02T12:10:00+09:00").body["paid"],
            json({{"points", 0}, {"cash", 10'000}}));
  const auto clinic = pay("s3", "c3", "ys-clinic", 10'000, "2020-03-02T12:20:00+09:00");
  EXPECT_EQ(clinic.body["paid"], json({{"program", 10'000}, {"points", 0}, {"cash", 0}}));
  EXPECT_EQ(clinic.body["cashback"], json({{"city", 0}, {"district", 0}, {"merchant", 0}}));
  EXPECT_EQ(pay("s4", "c1", "bp-bakery", 10'000, "2020-03-02T12:30:00+09:00").body["paid"],
            json({{"program", 9'500}, {"points", 0}, {"cash", 0}}));
  expect_verified();
}

TEST_F(Programs, CancellationsReturnProgramMoneyToTheWalletOrAfterExpiryToThePool) {
  ASSERT_EQ(create(program("relief", "bupyeong", 1'000'000, "2020-08-31")).status, 201);
  ASSERT_EQ(grant("relief", json::array({{{"member", "m1"}, {"amount", 100'000}}}), "g").body["accepted"], 1);
  ASSERT_EQ(load("m1", 20'000, "l1", "2020-08-01T09:00:00+09:00").status, 201);
  const auto p = pay("p1", "c1", "bp-cafe", 70'000, "2020-08-30T12:00:00+09:00");
  ASSERT_EQ(p.body["paid"], json({{"program", 70'000}, {"points", 0}, {"cash", 0}})) << p.body;
  const std::string id = p.body["payment_id"];
  const long long before = pool_remaining("relief");
  // Before expiry: back to the wallet.
  const auto c1 = cancel("x1", id, 10'000, "2020-08-31T12:00:00+09:00");
  ASSERT_EQ(c1.status, 200) << c1.body;
  EXPECT_EQ(c1.body["refunded"], json({{"cash", 0}, {"points", 0}, {"program", 10'000}}));
  EXPECT_EQ(wallets("m1")[0]["balance"], 40'000);
  // After expiry: to the program's pool; the wallet does not move.
  const auto c2 = cancel("x2", id, 25'000, "2020-09-01T12:00:00+09:00");
  ASSERT_EQ(c2.status, 200) << c2.body;
  EXPECT_EQ(c2.body["refunded"], json({{"cash", 0}, {"points", 0}, {"program", 25'000}}));
  EXPECT_EQ(c2.body["cashback_reversed"], json({{"city", 0}, {"district", 0}, {"merchant", 0}}));
  EXPECT_EQ(wallets("m1")[0]["balance"], 40'000);
  EXPECT_EQ(pool_remaining("relief"), before + 25'000);
  // Expired money pays nothing any more.
  EXPECT_EQ(pay("p2", "c1", "bp-cafe", 1'000, "2020-09-01T13:00:00+09:00").body["paid"],
            json({{"points", 0}, {"cash", 1'000}}));
  const auto report = admin("GET", "/v1/programs/relief").body;
  EXPECT_EQ(report["spent"], 35'000);
  EXPECT_EQ(report["returned"], 25'000);
  EXPECT_EQ(report["balance"], 40'000);
  expect_verified();
}

TEST_F(Programs, ExpiryReturnsUnspentMoneyToThePoolOnce) {
  ASSERT_EQ(create(program("relief", "bupyeong", 1'000'000, "2020-08-31")).status, 201);
  ASSERT_EQ(grant("relief", json::array({{{"member", "m1"}, {"amount", 100'000}}, {{"member", "m2"}, {"amount", 50'000}}}),
                  "g")
                .body["accepted"],
            2);
  const auto p = pay("p1", "c1", "bp-cafe", 30'000, "2020-05-01T12:00:00+09:00");
  ASSERT_EQ(p.body["paid"], json({{"program", 30'000}, {"points", 0}, {"cash", 0}})) << p.body;
  const std::map<std::string, std::string> env{{"EVOUCHER_DATABASE_URL", url}};
  auto before = run_evoucher({"batch", "expire", "--date", "2020-08-30"}, env);
  ASSERT_EQ(before.exit_code, 0) << before.output;
  EXPECT_EQ(json::parse(before.output), json::parse(R"({"business_date":"2020-08-30","programs":[],"pools":[]})"));
  const auto expected = json::parse(R"({"business_date":"2020-08-31",
    "programs":[{"program":"relief","count":2,"returned":120000}],
    "pools":[{"source":"program:relief","remaining":970000}]})");
  auto first = run_evoucher({"batch", "expire", "--date", "2020-08-31"}, env);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(json::parse(first.output), expected);
  auto again = run_evoucher({"batch", "expire", "--date", "2020-08-31"}, env);
  EXPECT_EQ(json::parse(again.output), expected);
  EXPECT_EQ(scalar("SELECT count(*) FROM program_expiries"), 2);
  EXPECT_EQ(wallets("m1"), json::parse(R"([{"program":"relief","balance":0,"expires_on":"2020-08-31"}])"));
  const auto api = admin("POST", "/v1/batches/expiry", {{"business_date", "2020-08-31"}}, kAdminToken, "exp-1");
  EXPECT_EQ(api.status, 200) << api.body;
  EXPECT_EQ(api.body, expected);
  EXPECT_EQ(admin("POST", "/v1/batches/expiry", {{"business_date", "2020-08-31"}}, token("district_admin", "bupyeong"),
                  "exp-2")
                .status,
            403);
  EXPECT_EQ(admin("POST", "/v1/batches/expiry", {{"business_date", "2099-12-31"}}, kAdminToken, "exp-3").body["code"],
            "date_not_closed");
  // A cancellation after expiry sends its program money to the pool as well.
  const auto c = cancel("x1", p.body["payment_id"], 30'000, "2020-09-02T12:00:00+09:00");
  EXPECT_EQ(c.body["refunded"], json({{"cash", 0}, {"points", 0}, {"program", 30'000}}));
  const auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-09-30").body;
  EXPECT_EQ(summary["programs"], json({{"granted", 150'000}, {"spent", 30'000}, {"refunded", 30'000},
                                       {"expired", 120'000}}));
  EXPECT_EQ(summary["outstanding"]["programs"], 0);
  const auto report = admin("GET", "/v1/programs/relief").body;
  EXPECT_EQ(report["pool"]["remaining"], 1'000'000);
  EXPECT_EQ(report["granted"], 150'000);
  EXPECT_EQ(report["spent"], 0);
  EXPECT_EQ(report["expired"], 120'000);
  EXPECT_EQ(report["returned"], 30'000);
  EXPECT_EQ(report["balance"], 0);
  expect_verified();
}

TEST_F(Programs, TheRefundRuleIgnoresProgramMoney) {
  ASSERT_EQ(create(program("relief", "bupyeong", 1'000'000, "2020-08-31")).status, 201);
  ASSERT_EQ(grant("relief", json::array({{{"member", "m1"}, {"amount", 100'000}}}), "g").body["accepted"], 1);
  ASSERT_EQ(load("m1", 100'000, "l1").status, 201);
  ASSERT_EQ(pay("p1", "c1", "bp-cafe", 80'000, "2020-03-02T12:00:00+09:00").body["paid"],
            json({{"program", 80'000}, {"points", 0}, {"cash", 0}}));
  // Cash never paid anything: nothing was spent, so the whole cash is refundable.
  const auto r = admin("POST", "/v1/refunds",
                       {{"member", "m1"}, {"bank_ref", "r"}, {"occurred_at", "2020-03-03T09:00:00+09:00"}},
                       kAdminToken, "refund-1");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.body["amount"], 100'000);
  EXPECT_EQ(wallets("m1")[0]["balance"], 20'000);  // program money is never refunded
  expect_verified();
}

// The demo's 2020 재난지원금: 100,000 won to each Bupyeong member, from 2020-05-11.
TEST_F(Programs, TheDemoReliefPaysFirstFromItsStart) {
  {
    store::Connection c(url);
    ASSERT_TRUE(store::seed_demo_relief(c));
    EXPECT_FALSE(store::seed_demo_relief(c));
  }
  EXPECT_EQ(wallets("m1"), json::parse(R"([{"program":"relief-2020","balance":100000,"expires_on":"2020-08-31"}])"));
  EXPECT_EQ(wallets("m3"), json::array());
  ASSERT_EQ(load("m1", 100'000, "l1", "2020-05-01T09:00:00+09:00").status, 201);
  EXPECT_EQ(pay("p1", "c1", "bp-bakery", 10'000, "2020-05-10T12:00:00+09:00").body["paid"],
            json({{"points", 0}, {"cash", 9'500}}));  // before the program started
  const auto p = pay("p2", "c1", "bp-bakery", 30'000, "2020-05-15T12:00:00+09:00");
  EXPECT_EQ(p.body["paid"], json({{"program", 28'500}, {"points", 0}, {"cash", 0}}));
  EXPECT_EQ(p.body["cashback"], json({{"city", 0}, {"district", 0}, {"merchant", 0}}));
  EXPECT_EQ(p.body["fee_support"], 142);
  const auto report = admin("GET", "/v1/programs/relief-2020").body;
  EXPECT_EQ(report["granted"], 200'000);
  EXPECT_EQ(report["spent"], 28'500);
  EXPECT_EQ(report["pool"], json({{"budget", 10'000'000}, {"remaining", 9'800'000}}));
  expect_verified();
}

TEST_F(Programs, BadProgramsAreRefusedAndNothingIsWritten) {
  auto body = program("bad:id", "bupyeong", 1, "2020-08-31");
  auto a = create(body);
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.body["detail"], "field 'id' must be 1-64 characters from [A-Za-z0-9_.-]");
  body = program("early", "bupyeong", 1, "2020-05-31");
  a = create(body);
  EXPECT_EQ(a.body["detail"], "field 'expires_on' must not be before grant_to");
  body = program("nodist", "city", 1, "2020-08-31");
  body["funder"] = "district";
  EXPECT_EQ(create(body).body["detail"], "field 'funder' a city program is funded nationally or by the city");
  const auto bp = token("district_admin", "bupyeong");
  EXPECT_EQ(admin("POST", "/v1/programs", program("c", "city", 1, "2020-08-31"), bp, "k").status, 403);
  EXPECT_EQ(scalar("SELECT count(*) FROM programs"), 0);
  EXPECT_EQ(admin("GET", "/v1/programs/nothing").status, 404);
  ASSERT_EQ(create(program("relief", "bupyeong", 1'000, "2020-08-31")).status, 201);
  auto other = program("relief", "bupyeong", 1'000, "2020-08-31");
  other["name"] = "another";
  EXPECT_EQ(admin("POST", "/v1/programs", other, kAdminToken, "other").status, 409);
  const auto yeonsu = token("district_admin", "yeonsu");
  EXPECT_EQ(admin("GET", "/v1/programs/relief", nullptr, yeonsu).status, 404);
  EXPECT_EQ(grant("relief", json::array(), "empty").status, 400);
  EXPECT_EQ(scalar("SELECT count(*) FROM grants"), 0);
  expect_verified();
}

}  // namespace
}  // namespace evoucher::testing
