// Reports read on the standby of the failover tests' formation (failover_fixture.hpp), and on the
// primary while the standby is behind, frozen or lost.
#include <gtest/gtest.h>
#include <signal.h>

#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "failover/failover_fixture.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = StreamClock;
using std::chrono::milliseconds;

// Runs its function when the scope ends, however it ends.
struct OnExit {
  std::function<void()> run;
  ~OnExit() {
    try {
      run();
    } catch (const std::exception&) {
    }
  }
};

// Reports read on the standby, and say so; they never claim to be current while the standby lacks
// a commit the primary has.
//   - The standby's replay paused, a load committed: once the standby is over read_max_stale_ms
//     behind, reports read the primary and hold the load; replay resumed, the standby again.
//   - The standby's WAL receiver frozen, a load's wait for it cancelled (the commit stays on the
//     primary alone, as under pg_auto_failover's wait_primary): no report from the standby says
//     it is current, and past read_max_stale_ms they read the primary.
//   - The standby lost: reports read the primary, and every one answers.
TEST(Failover, ReportsReadOnTheStandbyAndFallBackToThePrimary) {
  const auto url = demo_database("reads");
  RestartingServe service(url, service_env({{"EVOUCHER_READ_MAX_STALE_MS", "1000"}, {"EVOUCHER_COMMIT_WAIT_MS", "1000"}}));
  auto members = make_members(service, 1);
  const auto deadline = Clock::now() + std::chrono::minutes(4);
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kStreamAdminToken}};
  struct Read {
    int status;
    std::string from, stale;
    long long debits;
  };
  const auto report = [&] {
    const auto r = http_get(service.port(), "/v1/ledger/trial-balance?district=bupyeong", auth);
    const auto body = json::parse(r.body, nullptr, false);
    return Read{r.status, r.headers.count("x-evoucher-read-from") ? r.headers.at("x-evoucher-read-from") : "",
                r.headers.count("x-evoucher-stale-seconds") ? r.headers.at("x-evoucher-stale-seconds") : "",
                body.is_object() && body.contains("debits") ? body["debits"].get<long long>() : -1};
  };
  // Until a report reads on the standby, current.
  const auto current_on_standby = [&] {
    while (Clock::now() < deadline) {
      const auto r = report();
      if (r.status == 200 && r.from == "standby" && r.stale == "0.000") return r;
      std::this_thread::sleep_for(milliseconds(200));
    }
    ADD_FAILURE() << "no report read on the standby, current";
    return report();
  };
  const auto load = [&](const std::string& key) {
    return Call("/v1/loads", json{{"member", members[0].id}, {"amount", 30000}, {"bank_ref", key}}.dump(), key);
  };

  const auto first = current_on_standby();
  const std::string standby = Formation::other(formation().primary());
  pqxx::connection on_standby("host=127.0.0.1 port=" + std::to_string(formation().port_of(standby)) +
                              " user=evoucher dbname=reads");
  pqxx::nontransaction n(on_standby);
  {
    n.exec("SELECT pg_wal_replay_pause()");
    OnExit resume{[&] { n.exec("SELECT pg_wal_replay_resume()"); }};
    const auto loaded = judged(service, load("reads-1"), deadline);
    ASSERT_TRUE(loaded);
    ASSERT_EQ(loaded->status, 201) << loaded->body;
    std::this_thread::sleep_for(milliseconds(1500));
    const auto behind = report();
    EXPECT_EQ(behind.status, 200);
    EXPECT_EQ(behind.from, "primary");
    EXPECT_EQ(behind.stale, "0.000");
    EXPECT_EQ(behind.debits, first.debits + 30000);
  }
  EXPECT_EQ(current_on_standby().debits, first.debits + 30000);

  {
    const int receiver = n.exec("SELECT pid FROM pg_stat_wal_receiver")[0][0].as<int>();
    ASSERT_EQ(::kill(receiver, SIGSTOP), 0);
    OnExit thaw{[&] { ::kill(receiver, SIGCONT); }};
    // The load waits for the frozen standby: 503 within commit_wait_ms, the commit going on; then
    // its wait is cancelled, and the commit stays on the primary alone.
    const auto second = load("reads-2");
    const auto r = http_request(service.port(), "POST", second.path, second.body,
                                {{"Authorization", std::string("Bearer ") + kStreamAdminToken}, {"Idempotency-Key", second.key}});
    EXPECT_EQ(r.status, 503) << r.body;
    pqxx::connection on_primary(formation().url("reads"));
    pqxx::nontransaction p(on_primary);
    int cancelled = 0;
    for (int i = 0; i < 100 && cancelled == 0; ++i) {
      cancelled = p.exec("SELECT count(*) FILTER (WHERE pg_cancel_backend(pid)) FROM pg_stat_activity "
                         "WHERE wait_event = 'SyncRep'")[0][0].as<int>();
      if (cancelled == 0) std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(cancelled, 1);
    for (int i = 0; i < 100 && p.exec("SELECT count(*) FROM loads")[0][0].as<int>() < 2; ++i)
      std::this_thread::sleep_for(milliseconds(50));
    ASSERT_EQ(p.exec("SELECT count(*) FROM loads")[0][0].as<int>(), 2);
    const auto now = report();
    EXPECT_EQ(now.status, 200);
    EXPECT_FALSE(now.from == "standby" && now.stale == "0.000") << "the standby lacks the second load";
    if (now.from == "primary") {
      EXPECT_EQ(now.debits, first.debits + 60000);
    }
    std::this_thread::sleep_for(milliseconds(1500));
    const auto later = report();
    EXPECT_EQ(later.from, "primary");
    EXPECT_EQ(later.debits, first.debits + 60000);
  }
  EXPECT_EQ(current_on_standby().debits, first.debits + 60000);

  // The standby node lost; its backends are gone once its port refuses.
  formation().kill(standby, /*whole_node=*/true);
  for (int i = 0; i < 100; ++i) {
    try {
      pqxx::connection probe("host=127.0.0.1 connect_timeout=1 port=" +
                             std::to_string(formation().port_of(standby)) + " user=evoucher dbname=reads");
    } catch (const std::exception&) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  int from_primary = 0;
  for (int i = 0; i < 20; ++i) {
    const auto r = report();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.debits, first.debits + 60000);
    from_primary += r.from == "primary";
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(from_primary, 20);
  formation().rejoin(standby);
  formation().wait_settled();
  std::cout << "failover test: reports read on the standby when current, on the primary while it was "
            << "behind, frozen or lost\n";
}

}  // namespace
}  // namespace evoucher::testing
