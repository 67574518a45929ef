// The crash test: a signing client streams loads, payments and cancellations for many members
// while the service is killed with SIGKILL and PostgreSQL is stopped immediately, at random.
// Every call is retried under its key until it is judged, then every call is replayed. It
// checks that
//   - every judged answer is what the client's own model of the rules predicted;
//   - every approved or done answer is in the ledger exactly once, and nothing else is;
//   - every replay is identical to the first answer;
//   - every member's cash equals the model's;
//   - `evoucher verify` passes.
// The short version runs in the suite. The long one (scripts/crash-test.sh):
//   EVOUCHER_CRASH_OPERATIONS=15000 EVOUCHER_CRASH_KILLS=20 EVOUCHER_CRASH_PG_STOPS=3 build/tests/crash_tests
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <random>
#include <thread>

#include "support/pg_harness.hpp"
#include "support/signing_client.hpp"

namespace evoucher::testing {
namespace {

using Clock = StreamClock;
using std::chrono::milliseconds;

TEST(Crash, KillsAndDatabaseStopsLoseAndDoubleNothing) {
  const int operations = env_int("EVOUCHER_CRASH_OPERATIONS", 2000);
  const int kills = env_int("EVOUCHER_CRASH_KILLS", 3);
  const int pg_stops = env_int("EVOUCHER_CRASH_PG_STOPS", 1);
  const unsigned seed = static_cast<unsigned>(env_int("EVOUCHER_CRASH_SEED", static_cast<int>(std::time(nullptr))));
  const int threads = 16;
  std::cout << "crash test: seed " << seed << " (EVOUCHER_CRASH_SEED), " << operations << " operations, " << kills
            << " kills, " << pg_stops << " database stops\n";

  const auto url = PgHarness::instance().demo_database();
  RestartingServe service(url, {{"EVOUCHER_ADMIN_TOKEN", kStreamAdminToken},
                                {"EVOUCHER_PROCESSOR_SECRET", kStreamSecret},
                                {"EVOUCHER_LOG_LEVEL", "off"}});
  // Members enough that none reaches the monthly load limit often.
  const int member_count = std::max(64, operations / 25);
  auto members = make_members(service, member_count);

  const auto deadline = Clock::now() + std::chrono::minutes(10);
  StreamClients clients(service, members, threads, operations / threads, seed, deadline);
  auto& tally = clients.tally;
  // The faults, spread over the stream: the k-th of F comes once about k/(F+1) of the calls are
  // judged, a random moment later, so that every fault lands while the clients are streaming.
  // Database stops fall among the kills at random.
  std::mt19937 rng(seed);
  std::vector<bool> stops(static_cast<std::size_t>(kills + pg_stops), false);
  std::fill(stops.begin(), stops.begin() + pg_stops, true);
  std::shuffle(stops.begin(), stops.end(), rng);
  int killed = 0, stopped = 0;
  auto& cluster = PgHarness::instance().cluster();
  const int total_calls = (operations / threads) * threads;
  for (std::size_t fault = 0; fault < stops.size(); ++fault) {
    const int due = static_cast<int>(static_cast<long long>(total_calls) * static_cast<long long>(fault + 1) /
                                     static_cast<long long>(stops.size() + 1));
    while (tally.judged.load() < due && clients.running()) std::this_thread::sleep_for(milliseconds(5));
    if (!clients.running()) break;  // reported below: a fault that found no traffic does not count
    std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 100)(rng)));
    if (stops[fault]) {
      cluster.stop(/*immediate=*/true);
      std::this_thread::sleep_for(milliseconds(300));
      cluster.start();
      ++stopped;
    } else {
      service.kill_and_restart();
      ++killed;
    }
  }
  clients.join();

  const auto checked = check_stream(service, url, clients.calls, members, deadline);
  const auto& [replays, replay_mismatches, balance_mismatches, total, payments, loads, cancellations, verify] = checked;

  std::cout << "crash test: " << total << " calls judged (" << tally.loads << " loads, " << tally.approved
            << " payments approved, " << tally.declined << " declined, " << tally.cancellations << " cancellations), "
            << killed << " SIGKILLs, " << stopped << " database stops; " << replays << " replays, "
            << replay_mismatches << " differed; " << tally.unexpected << " answers off the model; "
            << balance_mismatches << " balances off; ledger: " << payments.size() << " payments, " << loads.size()
            << " loads, " << cancellations.size() << " cancellations; verify exit " << verify.exit_code << "\n";
  for (const auto& p : tally.problems) ADD_FAILURE() << p;
  EXPECT_EQ(killed, kills);
  EXPECT_EQ(stopped, pg_stops);
  EXPECT_EQ(total, (operations / threads) * threads);
  EXPECT_EQ(tally.unexpected.load(), 0);
  EXPECT_EQ(replay_mismatches, 0);
  EXPECT_EQ(balance_mismatches, 0);
  EXPECT_EQ(payments, tally.payment_ids);
  EXPECT_EQ(loads, tally.load_ids);
  EXPECT_EQ(cancellations, tally.cancellation_ids);
  EXPECT_GT(tally.approved.load(), 0);
  EXPECT_GT(tally.cancellations.load(), 0);
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace evoucher::testing
