// The nightly batch against the real service and PostgreSQL: its report, reruns, dates, kills,
// clawbacks and late payments. Pools and settlements are in pools_settlements_test.cpp.
#include <chrono>
#include <thread>

#include "api/batch_fixture.hpp"
#include "evoucher/time.hpp"

namespace evoucher::testing {
namespace {

TEST_F(Batch, WorkedExampleContinuedThroughTheBatch) {
  worked_example_day();
  auto run = admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-02"}},
                   kAdminToken, "batch-1");
  ASSERT_EQ(run.status, 200) << run.body;
  EXPECT_EQ(run.body, one_run("bupyeong", "2020-03-02", json::parse(R"({"city":{"count":2,"posted":42750,"unfunded":0},
    "district":{"count":1,"posted":950,"unfunded":0},"merchant":{"count":1,"posted":11400,"unfunded":0}})"),
                               json::parse(R"([{"source":"national","remaining":39999971501},
    {"source":"city","remaining":19999985749},{"source":"district:bupyeong","remaining":999999050}])")));
  auto m1 = admin("GET", "/v1/members/m1?month=2020-03");
  EXPECT_EQ(m1.body["points"], 55'100);
  EXPECT_EQ(m1.body["pending_cashback"], 0);
  // 4,750 * 4/6 = 3,166 and 45,525 - 7,525 = 38,000 * 4/6 = 25,333: national 28,499.
  auto pools = admin("GET", "/v1/pools");
  EXPECT_EQ(pools.body["pools"][0], json::parse(R"({"id":1,"source":"national","period_start":"2020-01-01",
    "period_end":"2020-12-31","budget":40000000000,"drawn":28499,"remaining":39999971501})"));
  EXPECT_EQ(pools.body["pools"][1]["drawn"], 14'251);
  EXPECT_EQ(pools.body["pools"][2]["drawn"], 950);

  auto p3 = pay("we-p3", "c1", "bp-bakery", 100'000, "2020-03-03T10:00:00+09:00");
  EXPECT_EQ(p3.body["paid"], json::parse(R"({"points":55100,"cash":39900})"));
  EXPECT_EQ(p3.body["cashback"], json::parse(R"({"city":7475,"district":1900,"merchant":0})"));
  EXPECT_EQ(p3.body["fee_support"], 475);
  EXPECT_EQ(admin("GET", "/v1/batches/cashback/bupyeong/2020-03-02").body, run.body);
  EXPECT_EQ(admin("GET", "/v1/batches/cashback/bupyeong/2020-03-03").status, 404);
  expect_verified();
}

TEST_F(Batch, RerunChangesNothingAndAnswersTheSameReport) {
  worked_example_day();
  auto first = batch("2020-03-02");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  const auto journals = scalar("SELECT count(*) FROM journals");
  const auto entries = scalar("SELECT count(*) FROM entries");
  auto second = batch("2020-03-02");
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.output, first.output);
  auto by_http = admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-02"}},
                       kAdminToken, "rerun");
  EXPECT_EQ(by_http.body, json::parse(first.output));
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), journals);
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), entries);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 55'100);
  expect_verified();
}

// What the nightly timers run: yesterday is the Seoul date before today's.
TEST_F(Batch, YesterdayIsTheSeoulDateBeforeToday) {
  const auto now = std::chrono::system_clock::now() + std::chrono::hours(9);
  const auto yesterday =
      format_date(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now) - std::chrono::days(1)});
  auto run = batch("yesterday");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(json::parse(run.output)["business_date"], yesterday);
  auto bad = batch("tomorrow");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("batch cashback needs --date YYYY-MM-DD or --date yesterday"), std::string::npos) << bad.output;
}

TEST_F(Batch, RefusesADateNotYetClosedInSeoul) {
  const auto now = std::chrono::system_clock::now() + std::chrono::hours(9);
  const auto today = format_date(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)});
  auto r = admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", today}}, kAdminToken,
                 "today");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.body["code"], "date_not_closed");
  EXPECT_EQ(r.body["detail"].get<std::string>().rfind("business date " + today + " ends at ", 0), 0u) << r.body;
  EXPECT_EQ(scalar("SELECT count(*) FROM batch_runs"), 0);
}

TEST_F(Batch, KilledAfterItsFirstChunkCompletesLikeAnUninterruptedRun) {
  ASSERT_EQ(load("m1", 500'000, "k-1").status, 201);
  ASSERT_EQ(load("m2", 500'000, "k-2").status, 201);
  for (int i = 0; i < 7; ++i) {
    const auto t = "2020-03-05T1" + std::to_string(i) + ":00:00+09:00";
    ASSERT_EQ(pay("k-a" + std::to_string(i), "c1", i % 2 ? "bp-market" : "bp-bakery", 20'000 + i * 1'000, t).status, 200);
    ASSERT_EQ(pay("k-b" + std::to_string(i), "c2", "ys-books", 15'000 + i * 500, t).status, 200);
  }
  ASSERT_EQ(cancel("k-c", "pay-bupyeong-4", 5'000, "2020-03-05T20:00:00+09:00").status, 200);
  // A copy of the same data, for an uninterrupted run.
  ASSERT_EQ(server->stop(), 0);
  {
    pqxx::connection admin_conn(PgHarness::instance().cluster().url("postgres"));
    pqxx::nontransaction n(admin_conn);
    n.exec("CREATE DATABASE batch_copy TEMPLATE " + std::string(url.substr(url.rfind('=') + 1)));
  }
  const auto copy = PgHarness::instance().cluster().url("batch_copy");
  const std::map<std::string, std::string> small{{"EVOUCHER_BATCH_CHUNK_SIZE", "4"}};
  auto killed = batch("2020-03-05", "bupyeong",
                      {{"EVOUCHER_BATCH_CHUNK_SIZE", "4"}, {"EVOUCHER_FAULT_KILL_AFTER_CHUNKS", "1"}});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_EQ(scalar("SELECT count(*) FROM cashback_postings"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM batch_runs WHERE status = 'running'"), 1);
  auto resumed = batch("2020-03-05", "bupyeong", small);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  auto straight = batch("2020-03-05", "bupyeong", small, copy);
  ASSERT_EQ(straight.exit_code, 0) << straight.output;
  EXPECT_EQ(resumed.output, straight.output);
  const std::string per_payment =
      "SELECT string_agg(format('%s:%s/%s/%s/%s/%s/%s/%s', payment_id, posted_national, posted_city, posted_district, "
      "posted_merchant, unfunded_national, unfunded_city, unfunded_district), ',' ORDER BY payment_id) "
      "FROM cashback_postings";
  const std::string balances = "SELECT string_agg(format('%s=%s', key, balance), ',' ORDER BY key) FROM accounts";
  auto text = [](const std::string& db, const std::string& sql) {
    pqxx::connection c(db);
    pqxx::nontransaction n(c);
    return n.exec(sql)[0][0].as<std::string>();
  };
  EXPECT_EQ(text(url, per_payment), text(copy, per_payment));
  EXPECT_EQ(text(url, balances), text(copy, balances));
  EXPECT_NE(text(url, balances).find("member:m1:points="), std::string::npos);
  auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

TEST_F(Batch, CancellationAfterPostingClawsBack) {
  worked_example_day();
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  // P1 in full: 4,750 city (3,166 national + 1,584 city) and 950 district come back out of points.
  auto c = cancel("claw-1", "pay-bupyeong-2", 47'500, "2020-03-04T10:00:00+09:00");
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(c.body["cashback_reversed"], json::parse(R"({"city":4750,"district":950,"merchant":0})"));
  auto m1 = admin("GET", "/v1/members/m1?month=2020-03");
  EXPECT_EQ(m1.body["points"], 55'100 - 5'700);
  EXPECT_EQ(m1.body["cash"], 572'500 + 47'500);
  auto pools = admin("GET", "/v1/pools").body["pools"];
  EXPECT_EQ(pools[0]["drawn"], 28'499 - 3'166);
  EXPECT_EQ(pools[1]["drawn"], 14'251 - 1'584);
  EXPECT_EQ(pools[2]["drawn"], 0);
  auto statement = admin("GET", "/v1/members/m1/statement?limit=100").body["entries"];
  const auto& last = statement.back();
  EXPECT_EQ(last["kind"], "cancellation");
  EXPECT_EQ(last["balance"], "points");
  EXPECT_EQ(last["amount"], -5'700);
  EXPECT_EQ(last["balance_after"], 49'400);
  // Spend the points, then cancel more of P2: points go negative through the clawback only.
  ASSERT_EQ(pay("claw-p", "c1", "bp-cafe", 49'400, "2020-03-04T11:00:00+09:00").body["paid"]["points"], 49'400);
  auto c2 = cancel("claw-2", "pay-bupyeong-3", 380'000, "2020-03-04T12:00:00+09:00");
  EXPECT_EQ(c2.body["cashback_reversed"], json::parse(R"({"city":38000,"district":0,"merchant":11400})"));
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], -49'400);
  EXPECT_EQ(scalar("SELECT sum(clawed_back) FROM cancellations"), 5'700 + 49'400);
  auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-04&to=2020-03-04");
  EXPECT_EQ(summary.body["cashback"]["clawed_back"], 55'100);
  expect_verified();
  // A posting is final: only a clawback lowers it, even for the owner.
  pqxx::connection owner(url);
  pqxx::nontransaction n(owner);
  for (const char* sql : {"UPDATE cashback_postings SET run = 9", "UPDATE cashback_postings SET posted_city = posted_city + 1",
                          "UPDATE cashback_postings SET city_pool_id = 99"})
    EXPECT_THROW(n.exec(sql), pqxx::sql_error) << sql;
}

// A payment that commits behind a run's cursor, and one that arrives after the run completed, are
// both posted: the first by the same run, the second by a further run of the date.
TEST_F(Batch, LateAndOutOfOrderPaymentsAreNeverLost) {
  ASSERT_EQ(load("m1", 500'000, "late-load", "2020-03-05T08:00:00+09:00").status, 201);
  // Each: charged 9,500 at the bakery, city 950 (national 633, city 317), district 190.
  for (int hour : {10, 11, 12, 13})
    ASSERT_EQ(pay("late-" + std::to_string(hour), "c1", "bp-bakery", 10'000,
                  "2020-03-05T" + std::to_string(hour) + ":00:00+09:00")
                  .body["cashback"],
              json::parse(R"({"city":950,"district":190,"merchant":0})"));
  auto killed = batch("2020-03-05", "bupyeong",
                      {{"EVOUCHER_BATCH_CHUNK_SIZE", "3"}, {"EVOUCHER_FAULT_KILL_AFTER_CHUNKS", "1"}});
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL);
  EXPECT_EQ(scalar("SELECT count(*) FROM cashback_postings"), 3);  // 10:00 to 12:00
  // Approved now, stamped 09:00: behind the cursor the first chunk left at 12:00.
  ASSERT_EQ(pay("late-09", "c1", "bp-bakery", 10'000, "2020-03-05T09:00:00+09:00").body["decision"], "approved");
  auto resumed = batch("2020-03-05", "bupyeong", {{"EVOUCHER_BATCH_CHUNK_SIZE", "3"}});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const json first_run = json::parse(R"({"city":{"count":5,"posted":4750,"unfunded":0},
    "district":{"count":5,"posted":950,"unfunded":0},"merchant":{"count":0,"posted":0,"unfunded":0}})");
  EXPECT_EQ(json::parse(resumed.output),
            one_run("bupyeong", "2020-03-05", first_run, json::parse(R"([{"source":"national","remaining":39999996835},
              {"source":"city","remaining":19999998415},{"source":"district:bupyeong","remaining":999999050}])")));
  EXPECT_EQ(scalar("SELECT count(*) FROM payments") - scalar("SELECT count(*) FROM cashback_postings"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM cashback_postings WHERE run = 1"), 5);
  expect_verified();

  // After the date's run completed: verify names the payment until a further run posts it.
  const auto after = pay("late-after", "c1", "bp-bakery", 10'000, "2020-03-05T20:00:00+09:00");
  ASSERT_EQ(after.body["decision"], "approved");
  const auto id = after.body["payment_id"].get<std::string>().substr(std::string("pay-bupyeong-").size());
  auto failing = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(failing.exit_code, 1);
  EXPECT_NE(failing.output.find("FAIL  bupyeong: no cashback stays pending for a date whose batch completed (1 "
                                "completed batch dates)\n        payment bupyeong/" +
                                id + " of 2020-03-05 is still pending, but the batch of that date completed (run it "
                                     "again)"),
            std::string::npos)
      << failing.output;
  auto further = admin("POST", "/v1/batches/cashback", {{"district", "bupyeong"}, {"business_date", "2020-03-05"}},
                       kAdminToken, "further");
  ASSERT_EQ(further.status, 200) << further.body;
  EXPECT_EQ(further.body, json::parse(R"({"district":"bupyeong","business_date":"2020-03-05","status":"completed",
    "run":2,
    "components":{"city":{"count":6,"posted":5700,"unfunded":0},"district":{"count":6,"posted":1140,"unfunded":0},
                  "merchant":{"count":0,"posted":0,"unfunded":0}},
    "runs":[{"run":1,"components":{"city":{"count":5,"posted":4750,"unfunded":0},
                                   "district":{"count":5,"posted":950,"unfunded":0},
                                   "merchant":{"count":0,"posted":0,"unfunded":0}}},
            {"run":2,"components":{"city":{"count":1,"posted":950,"unfunded":0},
                                   "district":{"count":1,"posted":190,"unfunded":0},
                                   "merchant":{"count":0,"posted":0,"unfunded":0}}}],
    "pools":[{"source":"national","remaining":39999996202},{"source":"city","remaining":19999998098},
             {"source":"district:bupyeong","remaining":999998860}]})"));
  // The late payment spent the 5,700 points of the first run; the further run posted 1,140.
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 1'140);
  expect_verified();
  // Nothing new: a rerun answers the same report and writes nothing.
  const auto journals = scalar("SELECT count(*) FROM journals");
  auto again = batch("2020-03-05", "bupyeong");
  ASSERT_EQ(again.exit_code, 0);
  EXPECT_EQ(json::parse(again.output), further.body);
  EXPECT_EQ(admin("GET", "/v1/batches/cashback/bupyeong/2020-03-05").body, further.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), journals);
}

// A batch runs on a connection of its own, without the service's statement timeout, and never
// holds a request worker: while one waits for a lock, the service answers other calls, and a
// second call for the same date waits for the first and answers its report.
TEST_F(Batch, ABatchNeverHoldsARequestWorker) {
  worked_example_day();
  ServeProcess one_worker(url, {{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                {"EVOUCHER_DB_WORKERS", "1"},
                                {"EVOUCHER_STATEMENT_TIMEOUT_MS", "100"}});
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kAdminToken},
                                                {"Content-Type", "application/json"}};
  const std::string body = R"({"district":"bupyeong","business_date":"2020-03-02"})";
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("SELECT 1 FROM pools FOR UPDATE");  // the batch's first chunk waits for these
  HttpResult first, second;
  auto with_key = [&](const std::string& key) {
    auto headers = auth;
    headers["Idempotency-Key"] = key;
    return headers;
  };
  std::thread a([&] { first = http_request(one_worker.port(), "POST", "/v1/batches/cashback", body, with_key("b-1")); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::thread b([&] { second = http_request(one_worker.port(), "POST", "/v1/batches/cashback", body, with_key("b-2")); });
  const auto started = std::chrono::steady_clock::now();
  const auto other = http_request(one_worker.port(), "GET", "/v1/districts", "", auth);
  EXPECT_EQ(other.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well past the 100 ms statement timeout
  lock.commit();
  a.join();
  b.join();
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(json::parse(first.body), json::parse(second.body));
  EXPECT_EQ(json::parse(first.body)["components"]["city"], json::parse(R"({"count":2,"posted":42750,"unfunded":0})"));
  EXPECT_EQ(scalar("SELECT count(*) FROM journals WHERE kind = 'cashback'"), 1);
  expect_verified();
}

}  // namespace
}  // namespace evoucher::testing
