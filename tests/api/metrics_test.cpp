// Business metrics end to end: counters from the money path, figures read from the database
// (batch reports, pools, the batch's last success), exact values, and `promtool check metrics`.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include <thread>

#include "api/api_fixture.hpp"
#include "evoucher/time.hpp"

namespace evoucher::testing {
namespace {

class BusinessMetrics : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    // Figures read every second, so that the test sees a batch's report soon after it ran.
    server.reset();
    server = std::make_unique<ServeProcess>(
        url, std::map<std::string, std::string>{{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                {"EVOUCHER_METRICS_REFRESH_S", "1"}});
  }

  std::string metrics() { return http_get(server->port(), "/metrics").body; }

  // Waits (up to 10 s) until /metrics holds `line`; returns the exposition last read.
  std::string metrics_with(const std::string& line) {
    std::string body;
    for (int i = 0; i < 100; ++i) {
      body = metrics();
      if (body.find(line) != std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return body;
  }

  static bool has(const std::string& body, const std::string& line) { return body.find(line + "\n") != std::string::npos; }
};

// promtool's verdict on an exposition: its exit code and what it printed.
std::pair<int, std::string> promtool_check(const std::string& exposition) {
  const std::string path = ::testing::TempDir() + "evoucher-metrics.txt";
  std::ofstream(path) << exposition;
  FILE* p = popen(("promtool check metrics < " + path + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST_F(BusinessMetrics, MoneyPathCountersAndDatabaseFiguresPassPromtool) {
  // This year's pool for Yeonsu, so that a pool is in force whatever today is, and last year's,
  // which ended within the year and is shown, out of force.
  const auto today = format_date(seoul_business_date(now_utc()));
  const auto year = today.substr(0, 4);
  const auto last_year = std::to_string(std::stoi(year) - 1);
  ASSERT_EQ(admin("POST", "/v1/pools",
                  {{"source", "district:yeonsu"}, {"period_start", last_year + "-01-01"},
                   {"period_end", last_year + "-12-31"}, {"budget", 500'000}},
                  kAdminToken, "pool-last-year")
                .status,
            201);
  ASSERT_EQ(admin("POST", "/v1/pools",
                  {{"source", "district:yeonsu"}, {"period_start", year + "-01-01"}, {"period_end", year + "-12-31"},
                   {"budget", 1'000'000}},
                  kAdminToken, "pool-now")
                .status,
            201);
  ASSERT_EQ(load("m1", 500'000, "bm-1").status, 201);
  ASSERT_EQ(load("m3", 100'000, "bm-2").status, 201);
  const auto approved = pay("bm-p1", "c1", "ys-books", 100'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(approved.body["decision"], "approved");
  ASSERT_EQ(pay("bm-p2", "c1", "bp-bakery", 20'000, "2020-03-02T11:00:00+09:00").body["decision"], "approved");
  EXPECT_EQ(pay("bm-p3", "c3", "ys-books", 900'000, "2020-03-02T11:00:00+09:00").body["reason"], "insufficient_funds");
  EXPECT_EQ(pay("bm-p4", "nobody", "ys-books", 1'000, "2020-03-02T11:00:00+09:00").body["reason"], "unknown_card");
  EXPECT_EQ(pay("bm-p5", "c1", "nowhere", 1'000, "2020-03-02T11:00:00+09:00").body["reason"], "unknown_merchant");
  ASSERT_EQ(cancel("bm-c1", approved.body["payment_id"], 10'000, "2020-03-02T12:00:00+09:00").status, 200);
  // A refused cancellation cancels nothing, and is not counted.
  ASSERT_EQ(cancel("bm-c2", approved.body["payment_id"], 900'000, "2020-03-02T12:00:00+09:00").status, 422);
  // A replay counts nothing.
  ASSERT_EQ(pay("bm-p1", "c1", "ys-books", 100'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
  ASSERT_EQ(run_evoucher({"batch", "cashback", "--date", "2020-03-02", "--district", "bupyeong"},
                         {{"EVOUCHER_DATABASE_URL", url}})
                .exit_code,
            0);
  const auto report = admin("GET", "/v1/batches/cashback/bupyeong/2020-03-02").body;
  const auto posted = [&](const char* c) { return std::to_string(report["components"][c]["posted"].get<long long>()); };
  const auto body = metrics_with("evoucher_cashback_posted_won{district=\"bupyeong\",component=\"city\"}");

  EXPECT_TRUE(has(body, "evoucher_payments_approved_total{district=\"bupyeong\"} 2")) << body;
  EXPECT_TRUE(has(body, "evoucher_payments_approved_won_total{district=\"bupyeong\"} 119000"));
  EXPECT_TRUE(has(body, "evoucher_payments_declined_total{district=\"yeonsu\",reason=\"insufficient_funds\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_payments_declined_total{district=\"unknown\",reason=\"unknown_card\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_payments_declined_total{district=\"bupyeong\",reason=\"unknown_merchant\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_cancellations_total{district=\"bupyeong\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_loads_total{district=\"bupyeong\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_loaded_won_total{district=\"yeonsu\"} 100000"));
  EXPECT_TRUE(has(body, "evoucher_cashback_posted_won{district=\"bupyeong\",component=\"city\"} " + posted("city")));
  EXPECT_TRUE(has(body, "evoucher_cashback_posted_won{district=\"bupyeong\",component=\"merchant\"} " + posted("merchant")));
  EXPECT_EQ(posted("merchant"), "2700");  // 3 % of the 90,000 left after the cancellation
  EXPECT_TRUE(has(body, "evoucher_cashback_unfunded_won{district=\"bupyeong\",component=\"district\"} 0"));
  EXPECT_TRUE(has(body, "evoucher_pool_budget_won{source=\"district:yeonsu\",period_start=\"" + year + "-01-01\"} 1000000"));
  EXPECT_TRUE(has(body, "evoucher_pool_remaining_won{source=\"district:yeonsu\",period_start=\"" + year + "-01-01\"} 1000000"));
  EXPECT_TRUE(has(body, "evoucher_pool_in_force{source=\"district:yeonsu\",period_start=\"" + year + "-01-01\"} 1"));
  EXPECT_TRUE(has(body, "evoucher_pool_in_force{source=\"district:yeonsu\",period_start=\"" + last_year + "-01-01\"} 0"));
  // The 2020 pools ended years ago: no series.
  EXPECT_EQ(body.find("period_start=\"2020-01-01\""), std::string::npos);
  const auto success = body.find("evoucher_batch_last_success_timestamp_seconds{district=\"bupyeong\",batch=\"cashback\"} ");
  ASSERT_NE(success, std::string::npos);
  const double at = std::stod(body.substr(body.find("} ", success) + 2));
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LT(now - at, 60.0);
  EXPECT_GE(now - at, 0.0);
  EXPECT_NE(body.find("evoucher_batch_duration_seconds{district=\"bupyeong\",batch=\"cashback\"} "), std::string::npos);
  EXPECT_EQ(body.find("district=\"yeonsu\",batch=\"cashback\""), std::string::npos);  // never ran
  // One cluster, no standby and no archiving: nothing replicates, and nothing "commits alone"
  // (that is a formation's primary without its standby; the failover test sees it).
  for (const char* line : {"evoucher_db_standbys 0", "evoucher_db_sync_standbys 0", "evoucher_db_replication_slots 0",
                           "evoucher_db_commits_alone 0", "evoucher_db_replication_lag_seconds 0",
                           "evoucher_db_replication_lag_bytes 0", "evoucher_wal_archive_last_success_timestamp_seconds 0",
                           "evoucher_wal_archive_last_failure_timestamp_seconds 0",
                           "evoucher_backup_last_success_timestamp_seconds 0",
                           "evoucher_wal_archive_failures_total 0", "evoucher_group_waits_cut_total 0"})
    EXPECT_TRUE(has(body, std::string("\n") + line)) << line;

  const auto [code, verdict] = promtool_check(body);
  EXPECT_EQ(code, 0) << verdict;
  EXPECT_EQ(verdict, "");

  // The dashboard and the alerts read only metrics the service exports.
  for (const char* doc : {"/docs/grafana/evoucher.json", "/docs/prometheus/alerts.yml"}) {
    std::ifstream in(std::string(EVOUCHER_SOURCE_DIR) + doc);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_FALSE(text.empty()) << doc;
    std::set<std::string> names;
    for (std::size_t at = text.find("evoucher_"); at != std::string::npos; at = text.find("evoucher_", at + 1)) {
      std::size_t end = at;
      while (end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
      std::string name = text.substr(at, end - at);
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (name.size() > std::strlen(suffix) && name.ends_with(suffix) && name.find("_seconds") != std::string::npos)
          name.resize(name.size() - std::strlen(suffix));
      if (name.rfind("evoucher_group_commit_size", 0) == 0) name = "evoucher_group_commit_size";
      names.insert(name);
    }
    EXPECT_GE(names.size(), std::string(doc).ends_with(".json") ? 15u : 6u) << doc;
    for (const auto& name : names) EXPECT_NE(body.find("# TYPE " + name + " "), std::string::npos) << doc << ": " << name;
  }
}

TEST(Promtool, RefusesABrokenExposition) {
  // The check above can fail: promtool refuses a counter without _total and a bad line.
  const auto [code, verdict] = promtool_check("# TYPE evoucher_broken counter\nevoucher_broken{a=\"1\"} x\n");
  EXPECT_NE(code, 0);
  EXPECT_NE(verdict, "");
}

}  // namespace
}  // namespace evoucher::testing
