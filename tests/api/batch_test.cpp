// The nightly batch, pools, clawbacks and settlements, against the real service and PostgreSQL.
#include <thread>

#include "api/api_fixture.hpp"
#include "evoucher/time.hpp"

namespace evoucher::testing {
namespace {

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

// A city pool of 700 won runs out at the third payment; the district component still pays.
TEST_F(Batch, PoolRunsOutMidBatch) {
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":3000})"), kAdminToken, "np-2021").status, 201);
  auto city_pool = admin("POST", "/v1/pools", json::parse(R"({"source":"city","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":700})"), kAdminToken, "cp-2021");
  ASSERT_EQ(city_pool.status, 201);
  EXPECT_EQ(city_pool.body, json::parse(R"({"id":5,"source":"city","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":700,"drawn":0,"remaining":700})"));
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"district:bupyeong","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":10000})"), kAdminToken, "bp-2021").status, 201);
  ASSERT_EQ(load("m1", 100'000, "pool-load", "2021-01-04T09:00:00+09:00").status, 201);
  // Each: price 10,000, charged 9,500, city 950 = national 633 + city 317, district 190.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(pay("pool-" + std::to_string(i), "c1", "bp-bakery", 10'000,
                  "2021-01-04T1" + std::to_string(i) + ":00:00+09:00")
                  .body["cashback"],
              json::parse(R"({"city":950,"district":190,"merchant":0})"));
  auto r = batch("2021-01-04", "bupyeong", {{"EVOUCHER_BATCH_CHUNK_SIZE", "3"}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output),
            one_run("bupyeong", "2021-01-04", json::parse(R"({"city":{"count":4,"posted":3232,"unfunded":568},
    "district":{"count":4,"posted":760,"unfunded":0},"merchant":{"count":0,"posted":0,"unfunded":0}})"),
                    json::parse(R"([{"source":"national","remaining":468},{"source":"city","remaining":0},
             {"source":"district:bupyeong","remaining":9240}])")));
  // Exactly the payments in time order: the third is paid in part, the fourth not at all.
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  const auto rows = n.exec("SELECT k.posted_city, k.unfunded_city, k.posted_national, k.posted_district "
                           "FROM payments p JOIN cashback_postings k ON k.district = p.district AND "
                           "k.business_date = p.business_date AND k.payment_id = p.id "
                           "WHERE p.business_date = '2021-01-04' ORDER BY p.occurred_at");
  ASSERT_EQ(rows.size(), 4u);
  const long long expected[4][4] = {{317, 0, 633, 190}, {317, 0, 633, 190}, {66, 251, 633, 190}, {0, 317, 633, 190}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(rows[i][j].as<long long>(), expected[i][j]) << "payment " << i << " col " << j;
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 4 * 633 + 700 + 4 * 190);
  auto pools = admin("GET", "/v1/pools").body["pools"];
  // The 2021 pools: national drew 4 x 633 of 3,000, the district 4 x 190 of 10,000.
  EXPECT_EQ(pools[3]["drawn"], 2'532);
  EXPECT_EQ(pools[3]["remaining"], 468);
  EXPECT_EQ(pools[5]["drawn"], 760);
  EXPECT_EQ(pools[5]["remaining"], 9'240);
  EXPECT_EQ(scalar("SELECT drawn FROM pools WHERE id = 4"), 2'532);
  EXPECT_EQ(pools[4], json::parse(R"({"id":5,"source":"city","period_start":"2021-01-01","period_end":"2021-12-31",
    "budget":700,"drawn":700,"remaining":0})"));
  auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2021-01-04&to=2021-01-04");
  EXPECT_EQ(summary.body["cashback"], json::parse(R"({"pending":0,"posted":{"city":3232,"district":760,"merchant":0},
    "unfunded":568,"clawed_back":0})"));
  expect_verified();
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

TEST_F(Batch, SettlementPaysThePayableAcrossDistricts) {
  // ys-books is paid by a Bupyeong card and a Yeonsu card on one date.
  ASSERT_EQ(load("m1", 500'000, "st-1").status, 201);
  ASSERT_EQ(load("m3", 500'000, "st-2").status, 201);
  ASSERT_EQ(pay("st-p1", "c1", "ys-books", 100'000, "2020-03-02T10:00:00+09:00").status, 200);
  ASSERT_EQ(pay("st-p2", "c3", "ys-books", 50'000, "2020-03-02T11:00:00+09:00").status, 200);
  ASSERT_EQ(pay("st-p3", "c1", "bp-bakery", 20'000, "2020-03-02T12:00:00+09:00").status, 200);
  ASSERT_EQ(batch("2020-03-02", "bupyeong").exit_code, 0);
  ASSERT_EQ(batch("2020-03-02", "yeonsu").exit_code, 0);
  // Net of merchant cashback (3 %): 97,000 + 48,500.
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 145'500);
  const auto entries = scalar("SELECT count(*) FROM entries");
  auto wrong = processor("/v1/processor/settlements",
                         {{"event_id", "stl-1"}, {"merchant", "ys-books"}, {"business_date", "2020-03-02"}, {"amount", 145'000}});
  EXPECT_EQ(wrong.status, 422);
  EXPECT_EQ(wrong.body["code"], "settlement_mismatch");
  EXPECT_EQ(wrong.body["detail"], "expected 145500 won for merchant ys-books on 2020-03-02 (payable 145500 net of "
                                  "merchant cashback, plus fee support 0, less what earlier settlements paid), got "
                                  "145000: a difference of -500");
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), entries);
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 145'500);
  auto ok = processor("/v1/processor/settlements",
                      {{"event_id", "stl-2"}, {"merchant", "ys-books"}, {"business_date", "2020-03-02"}, {"amount", 145'500}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body["amount"], 145'500);
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM settlements"), 2);  // one portion per issuing district
  // The bakery gets its fee support on top: 19,000 charged, 95 fee support from Bupyeong.
  auto bakery = processor("/v1/processor/settlements",
                          {{"event_id", "stl-3"}, {"merchant", "bp-bakery"}, {"business_date", "2020-03-02"}, {"amount", 19'095}});
  ASSERT_EQ(bakery.status, 200) << bakery.body;
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-bakery").body["payable"], 0);
  auto again = processor("/v1/processor/settlements",
                         {{"event_id", "stl-4"}, {"merchant", "bp-bakery"}, {"business_date", "2020-03-02"}, {"amount", 19'095}});
  EXPECT_EQ(again.body["code"], "settlement_mismatch");
  EXPECT_EQ(again.body["detail"], "expected 0 won for merchant bp-bakery on 2020-03-02 (payable 0 net of merchant "
                                  "cashback, plus fee support 0, less what earlier settlements paid), got 19095: a "
                                  "difference of 19095");
  // The refusal is final under its event_id: the same call answers it again; a corrected amount
  // under the same event_id is another request.
  auto wrong_again = processor("/v1/processor/settlements", {{"event_id", "stl-1"}, {"merchant", "ys-books"},
                                                             {"business_date", "2020-03-02"}, {"amount", 145'000}});
  EXPECT_EQ(wrong_again.status, 422);
  EXPECT_EQ(wrong_again.body, wrong.body);
  auto corrected = processor("/v1/processor/settlements", {{"event_id", "stl-1"}, {"merchant", "ys-books"},
                                                           {"business_date", "2020-03-02"}, {"amount", 145'500}});
  EXPECT_EQ(corrected.status, 409);
  EXPECT_EQ(corrected.body["code"], "idempotency_key_reused");
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'settlement' AND decision = 'refused'"), 2);
  auto tb = admin("GET", "/v1/ledger/trial-balance?district=bupyeong");
  EXPECT_EQ(tb.body["balanced"], true);
  EXPECT_EQ(tb.body["debits"], tb.body["credits"]);
  // A report may read on a standby, and says where it read: on a single node, the primary, and
  // nothing behind it. What an admin reads to act on (a member's balance) says nothing.
  EXPECT_EQ(tb.headers["x-evoucher-read-from"], "primary");
  EXPECT_EQ(tb.headers["x-evoucher-stale-seconds"], "0.000");
  const auto member = admin("GET", "/v1/members/m1");
  EXPECT_EQ(member.status, 200);
  EXPECT_EQ(member.headers.count("x-evoucher-read-from"), 0u);
  auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-02&to=2020-03-02");
  EXPECT_EQ(summary.body["settled"], 97'000 + 19'095);
  EXPECT_EQ(summary.body["fee_support"], 95);
  // The summary reconciles with the ledger's entries.
  EXPECT_EQ(summary.body["loaded"], scalar("SELECT sum(e.amount) FROM entries e JOIN journals j ON j.district = "
                                           "e.district AND j.id = e.journal_id JOIN accounts a ON a.district = "
                                           "e.district AND a.id = e.account_id WHERE e.district = 'bupyeong' AND "
                                           "j.kind = 'load' AND a.key = 'float'"));
  EXPECT_EQ(summary.body["payments"]["charged"],
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'payment' AND a.key LIKE 'merchant:%:payable'"));
  EXPECT_EQ(summary.body["settled"],
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'settlement' AND a.key = 'float'"));
  const auto posted = summary.body["cashback"]["posted"];
  EXPECT_EQ(posted["city"].get<long long>() + posted["district"].get<long long>() + posted["merchant"].get<long long>(),
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'cashback' AND a.key LIKE 'member:%:points'"));
  EXPECT_EQ(summary.body["outstanding"]["payable"], 0);
  expect_verified();
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

// Two districts' batches draw one small national pool at the same time, a chunk of one payment
// at a time. The pool is drawn to its budget and no further; what it could not fund is unfunded.
TEST_F(Batch, ParallelBatchesNeverOverdrawASharedPool) {
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":5000})"), kAdminToken, "small").status, 201);
  ASSERT_EQ(load("m1", 500'000, "race-1", "2021-01-04T08:00:00+09:00").status, 201);
  ASSERT_EQ(load("m3", 500'000, "race-3", "2021-01-04T08:00:00+09:00").status, 201);
  // Each: city 1,000 at the cafe (no benefit): national 666, city 334 (no city pool in 2021).
  for (int i = 0; i < 20; ++i) {
    const auto at = "2021-01-04T10:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ":00+09:00";
    for (const char* card : {"c1", "c3"})
      ASSERT_EQ(pay(std::string("race-") + card + "-" + std::to_string(i), card, "bp-cafe", 10'000, at)
                    .body["cashback"]["city"],
                1'000);
  }
  const std::map<std::string, std::string> one_by_one{{"EVOUCHER_BATCH_CHUNK_SIZE", "1"}};
  CommandResult bupyeong, yeonsu;
  std::thread a([&] { bupyeong = batch("2021-01-04", "bupyeong", one_by_one); });
  std::thread b([&] { yeonsu = batch("2021-01-04", "yeonsu", one_by_one); });
  a.join();
  b.join();
  ASSERT_EQ(bupyeong.exit_code, 0) << bupyeong.output;
  ASSERT_EQ(yeonsu.exit_code, 0) << yeonsu.output;
  EXPECT_EQ(scalar("SELECT sum(balance) FROM accounts WHERE key = 'pool:4:drawn'"), 5'000);
  EXPECT_EQ(scalar("SELECT sum(posted_national) FROM cashback_postings WHERE business_date = '2021-01-04'"), 5'000);
  EXPECT_EQ(scalar("SELECT sum(unfunded_national) FROM cashback_postings WHERE business_date = '2021-01-04'"),
            40 * 666 - 5'000);
  const auto reported = json::parse(bupyeong.output)["components"]["city"]["unfunded"].get<long long>() +
                        json::parse(yeonsu.output)["components"]["city"]["unfunded"].get<long long>();
  EXPECT_EQ(reported, 40 * 1'000 - 5'000);  // the city shares are all unfunded: no city pool covers 2021
  EXPECT_EQ(admin("GET", "/v1/pools").body["pools"][3]["drawn"], 5'000);
  EXPECT_EQ(scalar("SELECT drawn FROM pools WHERE id = 4"), 5'000);
  expect_verified();
}

TEST_F(Batch, PoolsAreKeyedNeverOverlapAndGrowByTopUps) {
  const json pool{{"source", "national"}, {"period_start", "2021-01-01"}, {"period_end", "2021-12-31"},
                  {"budget", 1'000}};
  auto keyless = admin("POST", "/v1/pools", pool);
  EXPECT_EQ(keyless.status, 400);
  EXPECT_EQ(keyless.body["detail"], "the Idempotency-Key header is required for this call");
  auto created = admin("POST", "/v1/pools", pool, kAdminToken, "p-2021");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body, json::parse(R"({"id":4,"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":1000,"drawn":0,"remaining":1000})"));
  EXPECT_EQ(admin("POST", "/v1/pools", pool, kAdminToken, "p-2021").body, created.body);
  json overlapping = pool;
  overlapping["period_start"] = "2021-12-31";
  overlapping["period_end"] = "2022-06-30";
  auto clash = admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022");
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(clash.body["code"], "already_exists");
  EXPECT_EQ(clash.body["detail"], "pool 4 of national already covers 2021-01-01 to 2021-12-31, which overlaps "
                                  "2021-12-31 to 2022-06-30");
  EXPECT_EQ(admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022").body, clash.body);
  overlapping["period_start"] = "2022-01-01";
  EXPECT_EQ(admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022b").status, 201);
  EXPECT_EQ(scalar("SELECT count(*) FROM pools"), 3 + 2);

  auto top_up = admin("POST", "/v1/pools/4/top-ups", {{"amount", 500}}, kAdminToken, "t-1");
  ASSERT_EQ(top_up.status, 201) << top_up.body;
  EXPECT_EQ(top_up.body, json::parse(R"({"id":4,"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":1500,"drawn":0,"remaining":1500})"));
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 500}}, kAdminToken, "t-1").body, top_up.body);
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 600}}, kAdminToken, "t-1").status, 409);
  EXPECT_EQ(scalar("SELECT budget FROM pools WHERE id = 4"), 1'500);
  EXPECT_EQ(scalar("SELECT count(*) FROM pool_top_ups"), 1);
  const auto bupyeong = token("district_admin", "bupyeong");
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 1}}, bupyeong, "t-2").status, 403);
  EXPECT_EQ(admin("POST", "/v1/pools/3/top-ups", {{"amount", 1}}, bupyeong, "t-3").status, 201);
  EXPECT_EQ(admin("POST", "/v1/pools/3/top-ups", {{"amount", 1}}, token("district_admin", "yeonsu"), "t-4").status,
            404);
  EXPECT_EQ(admin("POST", "/v1/pools/99/top-ups", {{"amount", 1}}, kAdminToken, "t-5").status, 404);
  EXPECT_EQ(scalar("SELECT budget FROM pools WHERE id = 3"), 1'000'000'001);
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
