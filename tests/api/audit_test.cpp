// The audit trail: every admin write leaves one row in the transaction of its change, a refused
// or rolled-back write leaves none, the trail is append-only, and a district admin reads only
// its own district's rows. No token string is ever stored, logged or answered.
#include <fstream>
#include <set>
#include <sstream>
#include <tuple>

#include "api/api_fixture.hpp"
#include "support/routes.hpp"
#include "evoucher/time.hpp"

namespace evoucher::testing {
namespace {

// Every admin write route. AuditTest.EveryWriteRouteIsAudited calls each of them; the route
// table check below fails when a write route is added without being added here.
const std::set<std::pair<std::string, std::string>> kWriteRoutes{
    {"POST", "/v1/districts"},  {"POST", "/v1/members"},          {"POST", "/v1/cards"},
    {"PATCH", "/v1/cards/{token}"}, {"POST", "/v1/merchants"},    {"PATCH", "/v1/merchants/{id}"},
    {"POST", "/v1/policies"},   {"POST", "/v1/pools"},            {"POST", "/v1/pools/{id}/top-ups"},
    {"POST", "/v1/loads"},      {"POST", "/v1/refunds"},          {"POST", "/v1/batches/cashback"},
    {"POST", "/v1/flags/{id}/review"},  {"POST", "/v1/programs"},      {"POST", "/v1/programs/{id}/grants"},
    {"POST", "/v1/batches/expiry"}};

TEST(AuditRoutes, EveryAdminWriteRouteIsListed) {
  std::set<std::pair<std::string, std::string>> writes;
  for (const auto& [method, pattern] : served_routes())
    if (method != "GET" && pattern.rfind("/v1/processor/", 0) != 0) writes.emplace(method, pattern);
  EXPECT_EQ(writes, kWriteRoutes);
}

// "from=D1&to=D2" around today in Seoul, wide enough that a test crossing midnight still sees its rows.
std::string around_today() {
  const auto today = std::chrono::sys_days(seoul_business_date(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now())));
  return "from=" + format_date(today - std::chrono::days(1)) + "&to=" + format_date(today + std::chrono::days(1));
}

using Row = std::tuple<std::string, std::string, std::string, std::string, std::string, std::string, int>;

class AuditTest : public ApiTest {
 protected:
  // The trail around today (Seoul), read by `token`: {token_name, role, district, method, path, resource, status}.
  std::vector<Row> trail(const std::string& token, const std::string& extra = "") {
    const auto a = admin("GET", "/v1/audit?" + around_today() + extra, nullptr, token);
    EXPECT_EQ(a.status, 200) << a.body.dump();
    std::vector<Row> rows;
    for (const auto& e : a.body["entries"])
      rows.emplace_back(e["token_name"], e["role"], e["district"], e["method"], e["path"], e["resource"], e["status"]);
    return rows;
  }
};

TEST_F(AuditTest, EveryWriteRouteIsAuditedWithItsOutcome) {
  const auto bp = token("district_admin", "bupyeong", "bp-desk");
  const auto auditor = token("auditor", "", "inspector");
  auto as_bp = [&](const std::string& method, const std::string& path, const json& body, const std::string& key = "") {
    return admin(method, path, body, bp, key);
  };
  EXPECT_EQ(admin("POST", "/v1/districts", {{"code", "gyeyang"}, {"name", "계양구"}, {"brand", "계양e음"}}).status, 201);
  EXPECT_EQ(as_bp("POST", "/v1/members", {{"id", "a1"}, {"district", "bupyeong"}}).status, 201);
  EXPECT_EQ(as_bp("POST", "/v1/cards", {{"token", "ca1"}, {"member", "a1"}}).status, 201);
  EXPECT_EQ(as_bp("PATCH", "/v1/cards/ca1", {{"status", "suspended"}}).status, 200);
  EXPECT_EQ(as_bp("POST", "/v1/merchants",
                  {{"id", "bp-new"}, {"business_no", "122-81-00099"}, {"name", "새 가게"}, {"district", "bupyeong"},
                   {"category", "cafe"}, {"annual_revenue", 1000000}, {"benefit", nullptr}})
                .status,
            201);
  EXPECT_EQ(as_bp("PATCH", "/v1/merchants/bp-new", {{"annual_revenue", 2000000}}).status, 200);
  const auto policy = as_bp("POST", "/v1/policies",
                            {{"scope", "bupyeong"}, {"effective_from", "2021-01-01T00:00:00+09:00"},
                             {"rules", {{"topup_bp", 300}, {"fee_support_bp", 0}}}});
  ASSERT_EQ(policy.status, 201) << policy.body.dump();
  const auto pool = as_bp("POST", "/v1/pools",
                          {{"source", "district:bupyeong"}, {"period_start", "2021-01-01"},
                           {"period_end", "2021-12-31"}, {"budget", 5000000}},
                          "pool-1");
  ASSERT_EQ(pool.status, 201) << pool.body.dump();
  const std::string pool_id = std::to_string(pool.body["id"].get<long long>());
  EXPECT_EQ(as_bp("POST", "/v1/pools/" + pool_id + "/top-ups", {{"amount", 1000}}, "top-1").status, 201);
  const auto loaded = as_bp("POST", "/v1/loads",
                            {{"member", "m1"}, {"amount", 50000}, {"bank_ref", "b-1"},
                             {"occurred_at", "2020-03-02T09:00:00+09:00"}},
                            "load-1");
  ASSERT_EQ(loaded.status, 201) << loaded.body.dump();
  // Over the monthly load limit (1,000,000): a judged, stored, audited 422.
  const auto refused = as_bp("POST", "/v1/loads",
                             {{"member", "m1"}, {"amount", 990000}, {"bank_ref", "b-2"},
                              {"occurred_at", "2020-03-02T09:30:00+09:00"}},
                             "load-2");
  ASSERT_EQ(refused.status, 422) << refused.body.dump();
  const auto refund = as_bp("POST", "/v1/refunds",
                            {{"member", "m1"}, {"bank_ref", "r-1"}, {"occurred_at", "2020-03-02T10:00:00+09:00"}},
                            "refund-1");
  ASSERT_EQ(refund.status, 201) << refund.body.dump();
  EXPECT_EQ(as_bp("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-02"}},
                  "batch-1")
                .status,
            200);
  ASSERT_EQ(scalar("INSERT INTO flags (district, id, rule, payment_id, merchant_id, occurred_at, business_date, detail) "
                   "VALUES ('bupyeong', 9000001, 'large', 1, 'bp-cafe', '2020-03-02T01:00:00Z', '2020-03-02', 'f') "
                   "RETURNING id"),
            9'000'001);
  EXPECT_EQ(as_bp("POST", "/v1/flags/flag-bupyeong-9000001/review", {{"outcome", "cleared"}, {"note", "ok"}}).status,
            200);
  EXPECT_EQ(as_bp("POST", "/v1/programs",
                  {{"id", "bp-relief"}, {"name", "재난지원금"}, {"district", "bupyeong"}, {"funder", "district"},
                   {"budget", 1'000'000}, {"grant_from", "2020-01-01"}, {"grant_to", "2099-12-31"},
                   {"expires_on", "2099-12-31"}, {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", true}}}},
                  "program-1")
                .status,
            201);
  EXPECT_EQ(as_bp("POST", "/v1/programs/bp-relief/grants", {{"grants", {{{"member", "m2"}, {"amount", 1000}}}}},
                  "grant-1")
                .status,
            200);
  EXPECT_EQ(admin("POST", "/v1/batches/expiry", {{"business_date", "2020-03-02"}}, kAdminToken, "expiry-1").status, 200);

  // Neither a replay, nor bad input, nor a refusal, nor a conflict writes a row.
  EXPECT_EQ(as_bp("POST", "/v1/pools/" + pool_id + "/top-ups", {{"amount", 1000}}, "top-1").status, 201);
  EXPECT_EQ(as_bp("POST", "/v1/members", {{"id", "a2"}, {"district", "yeonsu"}}).status, 403);
  EXPECT_EQ(as_bp("POST", "/v1/members", {{"id", "a1"}, {"district", "bupyeong"}, {"x", 1}}).status, 400);
  EXPECT_EQ(admin("POST", "/v1/members", {{"id", "a1"}, {"district", "yeonsu"}}).status, 409);
  EXPECT_EQ(admin("POST", "/v1/members", {{"id", "a3"}, {"district", "yeonsu"}}, auditor).status, 403);

  const std::string policy_id = std::to_string(policy.body["id"].get<long long>());
  const std::vector<Row> expected{
      {"EVOUCHER_ADMIN_TOKEN", "city_admin", "city", "POST", "/v1/districts", "district:gyeyang", 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/members", "member:a1", 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/cards", "card:ca1", 201},
      {"bp-desk", "district_admin", "bupyeong", "PATCH", "/v1/cards/ca1", "card:ca1", 200},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/merchants", "merchant:bp-new", 201},
      {"bp-desk", "district_admin", "bupyeong", "PATCH", "/v1/merchants/bp-new", "merchant:bp-new", 200},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/policies", "policy:" + policy_id, 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/pools", "pool:" + pool_id, 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/pools/" + pool_id + "/top-ups", "pool:" + pool_id, 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/loads", "load:" + loaded.body["load_id"].get<std::string>(),
       201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/loads", "member:m1", 422},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/refunds",
       "refund:" + refund.body["refund_id"].get<std::string>(), 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/batches/cashback", "batch:bupyeong/2020-03-02", 200},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/flags/flag-bupyeong-9000001/review",
       "flag:flag-bupyeong-9000001", 200},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/programs", "program:bp-relief", 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/programs/bp-relief/grants", "program:bp-relief", 200},
      {"EVOUCHER_ADMIN_TOKEN", "city_admin", "city", "POST", "/v1/batches/expiry", "expiry:2020-03-02", 200}};
  EXPECT_EQ(trail(auditor), expected);
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log"), 17);

  // The expected rows name every write route.
  std::set<std::pair<std::string, std::string>> covered;
  for (const auto& row : expected) {
    auto path = std::get<4>(row);
    if (path == "/v1/cards/ca1") path = "/v1/cards/{token}";
    if (path == "/v1/merchants/bp-new") path = "/v1/merchants/{id}";
    if (path == "/v1/pools/" + pool_id + "/top-ups") path = "/v1/pools/{id}/top-ups";
    if (path == "/v1/flags/flag-bupyeong-9000001/review") path = "/v1/flags/{id}/review";
    if (path == "/v1/programs/bp-relief/grants") path = "/v1/programs/{id}/grants";
    covered.emplace(std::get<3>(row), path);
  }
  EXPECT_EQ(covered, kWriteRoutes);
}

TEST_F(AuditTest, DistrictAdminsReadTheirOwnDistrictAndPagesFollowTheCursor) {
  const auto bp = token("district_admin", "bupyeong", "bp-desk");
  const auto auditor = token("auditor", "", "inspector");
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "y1"}, {"district", "yeonsu"}}).status, 201);
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "b1"}, {"district", "bupyeong"}}).status, 201);
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "b2"}, {"district", "bupyeong"}}, bp).status, 201);

  const std::vector<Row> bupyeong{
      {"EVOUCHER_ADMIN_TOKEN", "city_admin", "bupyeong", "POST", "/v1/members", "member:b1", 201},
      {"bp-desk", "district_admin", "bupyeong", "POST", "/v1/members", "member:b2", 201}};
  EXPECT_EQ(trail(bp), bupyeong);
  EXPECT_EQ(trail(bp, "&district=bupyeong"), bupyeong);
  EXPECT_EQ(admin("GET", "/v1/audit?from=2020-01-01&to=2099-12-31&district=yeonsu", nullptr, bp).status, 404);
  EXPECT_EQ(trail(auditor, "&district=yeonsu"),
            (std::vector<Row>{{"EVOUCHER_ADMIN_TOKEN", "city_admin", "yeonsu", "POST", "/v1/members", "member:y1", 201}}));
  EXPECT_EQ(trail(kAdminToken).size(), 3u);

  // Pages of one, in order, until `next` is null.
  std::vector<std::string> resources;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    const auto a = admin("GET", "/v1/audit?" + around_today() + "&limit=1" +
                                    (cursor.empty() ? "" : "&after=" + cursor), nullptr, auditor);
    ASSERT_EQ(a.status, 200);
    for (const auto& e : a.body["entries"]) resources.push_back(e["resource"]);
    if (a.body["next"].is_null()) break;
    cursor = a.body["next"];
  }
  EXPECT_EQ(resources, (std::vector<std::string>{"member:y1", "member:b1", "member:b2"}));

  // Yesterday holds nothing; bad parameters are named.
  EXPECT_EQ(admin("GET", "/v1/audit?from=2020-01-01&to=2020-01-31", nullptr, auditor).body["entries"].size(), 0u);
  const auto bad = admin("GET", "/v1/audit?from=2020-02-01&to=2020-01-31", nullptr, auditor);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["detail"], "query parameter 'to' must not be before 'from'");
  EXPECT_EQ(admin("GET", "/v1/audit?from=2020-01-01&to=2020-01-31&limit=0", nullptr, auditor).body["detail"],
            "query parameter 'limit' must be an integer from 1 to 500");
  EXPECT_EQ(admin("GET", "/v1/audit?to=2020-01-31", nullptr, auditor).body["detail"],
            "query parameter 'from' must be a date, YYYY-MM-DD, from 2000-01-01 to 2099-12-31 (UTC)");
}

TEST_F(AuditTest, TheTrailIsAppendOnly) {
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "b1"}, {"district", "bupyeong"}}).status, 201);
  pqxx::connection c(url);
  for (const char* sql : {"UPDATE audit_log SET status = 500", "DELETE FROM audit_log", "TRUNCATE audit_log"}) {
    pqxx::work w(c);
    EXPECT_THROW(w.exec(sql), pqxx::sql_error) << sql;
  }
  // The service's own role may not even try.
  pqxx::work w(c);
  w.exec("SET LOCAL ROLE evoucher_service");
  try {
    w.exec("UPDATE audit_log SET status = 500");
    FAIL() << "the service role updated the audit trail";
  } catch (const pqxx::insufficient_privilege&) {
  }
  w.abort();
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log WHERE status = 201 AND resource = 'member:b1'"), 1);
}

// When the audit row cannot be written, the change it records is not made either: they share
// one transaction. On the synchronous path (a member) and on the group-commit path (a load).
TEST_F(AuditTest, AChangeAndItsRowCommitTogether) {
  {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    n.exec("CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "IF NEW.resource = 'member:doomed' OR NEW.path = '/v1/loads' THEN RAISE EXCEPTION 'no audit today'; END IF; "
           "RETURN NEW; END $$");
    n.exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()");
  }
  EXPECT_EQ(admin("POST", "/v1/members", {{"id", "doomed"}, {"district", "bupyeong"}}).status, 500);
  EXPECT_EQ(admin("GET", "/v1/members/doomed").status, 404);
  EXPECT_EQ(load("m1", 10000, "load-doomed").status, 500);
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys"), 0);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log"), 0);
}

// A token string is shown once, by `token create`, and then never again: not in a log, an
// answer or a table.
TEST(AuditTokens, ATokenNeverAppearsInLogsAnswersOrTables) {
  const auto url = PgHarness::instance().demo_database();
  auto made = run_evoucher({"token", "create", "--role", "district_admin", "--district", "bupyeong"},
                           {{"EVOUCHER_DATABASE_URL", url}});
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const auto secret = made.output.substr(0, made.output.find('\n'));
  ASSERT_EQ(secret.rfind("evt_", 0), 0u);
  const std::string log_path = ::testing::TempDir() + "/audit-token-test.log";
  std::remove(log_path.c_str());
  std::string answers;
  {
    ServeProcess server(url, {{"EVOUCHER_LOG_LEVEL", "debug"}, {"EVOUCHER_PROCESSOR_SECRET", kSecret}}, log_path);
    const std::map<std::string, std::string> good{{"Authorization", "Bearer " + secret}};
    const std::map<std::string, std::string> bad{{"Authorization", "Bearer " + secret + "x"}};
    for (const auto& [method, path, body, headers] :
         std::vector<std::tuple<std::string, std::string, std::string, std::map<std::string, std::string>>>{
             {"POST", "/v1/members", R"({"id":"t1","district":"bupyeong"})", good},
             {"POST", "/v1/members", R"({"id":"t2","district":"yeonsu"})", good},
             {"POST", "/v1/members", R"({"id":"t3","district":"bupyeong"})", bad},
             {"GET", "/v1/members/t1", "", good},
             {"GET", "/v1/members/t1", "", bad},
             {"POST", "/v1/loads", R"({"member":"t1","amount":1000,"bank_ref":"b"})", good}}) {
      auto h = headers;
      if (method == "POST") h["Idempotency-Key"] = "k-" + path;
      const auto r = http_request(server.port(), method, path, body, h);
      answers += std::to_string(r.status) + " " + r.body + "\n";
      for (const auto& [name, value] : r.headers) answers += name + ": " + value + "\n";
    }
    EXPECT_NE(answers.find("201"), std::string::npos) << answers;
    EXPECT_NE(answers.find("401"), std::string::npos) << answers;
    EXPECT_NE(answers.find("403"), std::string::npos) << answers;
  }
  EXPECT_EQ(answers.find(secret), std::string::npos);
  std::ifstream in(log_path);
  std::stringstream log;
  log << in.rdbuf();
  EXPECT_FALSE(log.str().empty());  // debug logging wrote every request
  EXPECT_EQ(log.str().find(secret), std::string::npos);

  // Every text column of every table, cast to text.
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  const auto columns = n.exec(
      "SELECT table_name, column_name FROM information_schema.columns c JOIN pg_tables t "
      "  ON t.schemaname = 'public' AND t.tablename = c.table_name "
      " WHERE c.table_schema = 'public' AND c.data_type IN ('text', 'jsonb', 'json', 'character varying')");
  ASSERT_GT(columns.size(), 20u);
  int found = 0;
  for (const auto& col : columns) {
    const auto table = n.quote_name(col[0].as<std::string>());
    const auto column = n.quote_name(col[1].as<std::string>());
    found += n.exec("SELECT count(*) FROM " + table + " WHERE strpos(" + column + "::text, " + n.quote(secret) + ") > 0")[0][0]
                 .as<int>();
  }
  EXPECT_EQ(found, 0);
  EXPECT_EQ(n.exec("SELECT count(*) FROM audit_log WHERE token_name LIKE 'district_admin-bupyeong-%'")[0][0].as<int>(), 2);
}

}  // namespace
}  // namespace evoucher::testing
