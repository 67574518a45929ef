// The failover test: the service on a pg_auto_failover formation (scripts/formation.sh: a monitor,
// a primary and a synchronous standby), reached through one multi-host URL.
//   - Signing clients stream loads, payments and cancellations while the primary is killed: its
//     postmaster alone, and the whole node (keeper and postmaster, as a lost machine), which the
//     standby replaces; the old primary rejoins each time. Then every call is replayed: nothing
//     acknowledged is lost or doubled, balances equal the answers, and `evoucher verify` passes
//     on the new primary. It prints the outage the processor saw.
//   - The standby's WAL receiver is frozen: each payment is answered 503 within commit_wait_ms,
//     none is approved, and a commit whose wait is cancelled by hand answers 503; then the
//     primary is lost, and nothing answered before is.
// Reports on the standby are in standby_reads_test.cpp, point-in-time recovery in restore_test.cpp;
// the formation they share is failover_fixture.hpp.
// The short version runs in the suite. The long one: scripts/failover-test.sh (10 whole-node kills).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "failover/failover_fixture.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = StreamClock;
using std::chrono::milliseconds;

// A signed payment of 7,000 won by a member at its merchant, sent while the standby is frozen.
Call frozen_payment(const StreamMember& m) {
  return Call("/v1/processor/payments",
              json{{"event_id", "frozen-pay-" + m.id},
                   {"card", m.card},
                   {"merchant", m.merchant},
                   {"price", 7000},
                   {"occurred_at", "2026-03-02T12:00:00+09:00"},
                   {"channel", "card"}}
                  .dump(),
              "");
}

TEST(Failover, PrimaryKillsLoseAndDoubleNothing) {
  const int kills = env_int("EVOUCHER_FAILOVER_KILLS", 2);
  const char* mode_env = std::getenv("EVOUCHER_FAILOVER_MODE");
  const std::string mode = mode_env ? mode_env : "both";  // both: postmaster and node in turn; node: nodes only
  const unsigned seed = static_cast<unsigned>(env_int("EVOUCHER_FAILOVER_SEED", static_cast<int>(std::time(nullptr))));
  const int threads = 8;
  std::cout << "failover test: seed " << seed << ", " << kills << " kills (" << mode << ")\n";

  const auto url = demo_database("streamed");
  RestartingServe service(url, service_env());
  auto members = make_members(service, 64);

  const auto deadline = Clock::now() + std::chrono::minutes(12);
  StreamClients clients(service, members, threads, 1 << 30, seed, deadline, milliseconds(20));
  auto& tally = clients.tally;
  struct Fault {
    std::string node;
    bool whole_node;
    double outage_s;
  };
  std::vector<Fault> faults;
  try {
    for (int k = 0; k < kills; ++k) {
      // Traffic before each fault, so that it lands mid-stream.
      const int before = tally.judged.load();
      while (tally.judged.load() < before + 200 && Clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(10));
      const bool whole_node = mode == "node" || k % 2 == 1;
      const std::string node = formation().primary();
      const auto at = Clock::now();
      std::cout << "failover test: fault " << k + 1 << ": killing " << (whole_node ? "node " : "the postmaster of ")
                << node << std::endl;
      formation().kill(node, whole_node);
      if (whole_node) {
        wait_for_new_primary(node, deadline);
        // The new primary commits alone until the lost node is back
        // (pg_auto_failover's wait_primary): /metrics says so.
        EXPECT_TRUE(gauge_reaches(service, "evoucher_db_commits_alone", 1));
        formation().rejoin(node);
      }
      // The monitor's states lag the kill by its health checks (a few seconds here).
      std::this_thread::sleep_for(std::chrono::seconds(5));
      formation().wait_settled();
      // Traffic after it too, so that the outage ends with answers.
      const int after = tally.judged.load();
      while (tally.judged.load() < after + 100 && Clock::now() < deadline)
        std::this_thread::sleep_for(milliseconds(10));
      faults.push_back({node, whole_node, tally.longest_gap_s(at, Clock::now())});
      std::cout << "failover test: killed " << (whole_node ? "the whole node " : "the postmaster of ") << node
                << "; the processor saw no answer for " << faults.back().outage_s << " s; primary now "
                << formation().primary() << std::endl;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  clients.stop();
  // Settled again: one synchronous standby, and nothing commits alone.
  EXPECT_TRUE(gauge_reaches(service, "evoucher_db_sync_standbys", 1));
  EXPECT_TRUE(gauge_reaches(service, "evoucher_db_commits_alone", 0));
  EXPECT_TRUE(gauge_reaches(service, "evoucher_db_replication_slots", 1));

  const auto checked = check_stream(service, url, clients.calls, members, deadline);
  std::cout << "failover test: " << checked.calls << " calls judged (" << tally.loads << " loads, " << tally.approved
            << " payments approved, " << tally.declined << " declined, " << tally.cancellations << " cancellations); "
            << checked.replay_mismatches << " replays differed; " << tally.unexpected << " answers off the model; "
            << checked.balance_mismatches << " balances off; verify exit " << checked.verify.exit_code << "\n";
  for (const auto& p : tally.problems) ADD_FAILURE() << p;
  EXPECT_EQ(static_cast<int>(faults.size()), kills);
  EXPECT_EQ(tally.unexpected.load(), 0);
  EXPECT_EQ(tally.retried_out.load(), 0);
  EXPECT_EQ(checked.replay_mismatches, 0);
  EXPECT_EQ(checked.balance_mismatches, 0);
  EXPECT_EQ(checked.payments, tally.payment_ids);
  EXPECT_EQ(checked.loads, tally.load_ids);
  EXPECT_EQ(checked.cancellations, tally.cancellation_ids);
  EXPECT_GT(tally.approved.load(), 0);
  EXPECT_GT(tally.cancellations.load(), 0);
  EXPECT_EQ(checked.verify.exit_code, 0) << checked.verify.output;
}

// The WAL receiver of the standby stopped (SIGSTOP): the primary's commits wait
// for it without end, and the monitor, whose health checks still pass, changes
// nothing. Each caller is answered 503 within commit_wait_ms; then the primary
// is lost, the receiver resumes, the standby is promoted, and every replay
// agrees with the ledger.
TEST(Failover, FrozenStandbyAnswers503InTimeAndLosesNothingApproved) {
  constexpr int kCommitWaitMs = 1000;
  const auto url = demo_database("frozen");
  RestartingServe service(url, service_env({{"EVOUCHER_COMMIT_WAIT_MS", std::to_string(kCommitWaitMs)}}));
  auto members = make_members(service, 17);  // the last pays through a second service, below
  const auto deadline = Clock::now() + std::chrono::minutes(5);
  std::vector<Call> calls;
  for (auto& m : members) {
    Call load("/v1/loads", json{{"member", m.id}, {"amount", 50000}, {"bank_ref", "bank-" + m.id}}.dump(),
              "frozen-load-" + m.id);
    const auto r = judged(service, load, deadline);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201) << r->body;
    load.status = r->status;
    load.answer = r->body;
    calls.push_back(load);
    m.cash = 50000;
  }

  const std::string primary = formation().primary();
  const std::string standby = Formation::other(primary);
  int receiver = 0;
  {
    pqxx::connection c("host=127.0.0.1 port=" + std::to_string(formation().port_of(standby)) +
                       " user=evoucher dbname=frozen");
    pqxx::nontransaction n(c);
    receiver = n.exec("SELECT pid FROM pg_stat_wal_receiver")[0][0].as<int>();
  }
  ASSERT_EQ(::kill(receiver, SIGSTOP), 0);

  // First, a commit's wait for the standby cancelled by hand
  // (pg_cancel_backend): PostgreSQL keeps the commit on the primary and says so
  // only in a WARNING. A service that would wait 60 s answers 503 at once, not
  // "approved".
  Call cancelled;
  {
    RestartingServe patient(url, service_env({{"EVOUCHER_COMMIT_WAIT_MS", "60000"}}));
    const auto& m = members.back();
    cancelled = frozen_payment(m);
    std::thread canceller([] {
      try {
        pqxx::connection c(formation().url("frozen"));
        pqxx::nontransaction n(c);
        // Once the payment's commit waits for the standby, it is cancelled.
        const std::string count =
            "SELECT count(*) FROM pg_stat_activity WHERE "
            "wait_event = 'SyncRep'";
        for (int i = 0; i < 100 && n.exec(count)[0][0].as<int>() == 0; ++i)
          std::this_thread::sleep_for(milliseconds(100));
        n.exec(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE "
            "wait_event = 'SyncRep'");
      } catch (const std::exception& e) {
        ADD_FAILURE() << "cancelling the waits: " << e.what();
      }
    });
    HttpResult r;
    try {
      r = http_request(patient.port(), "POST", cancelled.path, cancelled.body,
                       {{"X-Evoucher-Signature", processor_signature(kStreamSecret, cancelled.body)}});
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the payment through the patient service: " << e.what();
    }
    canceller.join();
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.body.find("approved"), std::string::npos) << r.body;
    cancelled.status = r.status;
    cancelled.answer = r.body;
  }

  // One payment from each member but the last at once, each sent once.
  std::vector<Call> frozen(members.size() - 1);
  std::vector<double> waited(frozen.size());
  std::vector<std::thread> senders;
  for (std::size_t i = 0; i < frozen.size(); ++i)
    senders.emplace_back([&, i] {
      const auto& m = members[i];  // the last member's payment was the cancelled one
      frozen[i] = frozen_payment(m);
      const auto sent = Clock::now();
      try {
        const auto r = http_request(service.port(), "POST", frozen[i].path, frozen[i].body,
                                    {{"X-Evoucher-Signature", processor_signature(kStreamSecret, frozen[i].body)}});
        frozen[i].status = r.status;
        frozen[i].answer = r.body;
      } catch (const std::exception& e) {
        frozen[i].answer = e.what();
      }
      waited[i] = std::chrono::duration<double>(Clock::now() - sent).count();
    });
  for (auto& s : senders) s.join();
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    EXPECT_EQ(frozen[i].status, 503) << frozen[i].answer;
    EXPECT_LT(waited[i], kCommitWaitMs / 1000.0 + 1.0) << frozen[i].answer;
    EXPECT_EQ(frozen[i].answer.find("approved"), std::string::npos) << frozen[i].answer;
  }
  const auto longest = *std::max_element(waited.begin(), waited.end());
  std::cout << "failover test: with the standby frozen, " << frozen.size() << " payments answered 503 within "
            << longest << " s\n";

  frozen.push_back(cancelled);
  // The primary is lost while the standby is frozen; the standby resumes and is promoted.
  formation().kill(primary, /*whole_node=*/true);
  ASSERT_EQ(::kill(receiver, SIGCONT), 0);
  wait_for_new_primary(primary, deadline);
  formation().rejoin(primary);
  formation().wait_settled();

  // Every load answered before the freeze is there; each frozen payment,
  // replayed, is judged once, and the member's cash agrees.
  for (const auto& call : calls) {
    const auto again = judged(service, call, deadline);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, call.status);
    EXPECT_EQ(again->body, call.answer);
  }
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kStreamAdminToken}};
  for (std::size_t i = 0; i < frozen.size(); ++i) {
    const auto first = judged(service, frozen[i], deadline);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->status, 200) << first->body;
    EXPECT_EQ(json::parse(first->body)["decision"], "approved") << first->body;
    const auto again = judged(service, frozen[i], deadline);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, first->body);
    const auto member = http_get(service.port(), "/v1/members/" + members[i].id, auth);
    EXPECT_EQ(json::parse(member.body)["cash"], 43000) << member.body;
  }
  const auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace evoucher::testing
