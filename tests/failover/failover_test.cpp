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
//   - Reports read on the standby, and on the primary while the standby is behind or lost.
//   - pgBackRest's backup and WAL archive restore the ledger to a moment in the middle of a
//     stream, into a new cluster: everything answered before it is there, nothing sent after.
// The short version runs in the suite. The long one: scripts/failover-test.sh (10 whole-node kills).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <thread>

#include "support/signing_client.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = StreamClock;
using std::chrono::milliseconds;

bool port_free(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// scripts/formation.sh on a throwaway directory and three free ports.
class Formation {
 public:
  Formation() {
    std::mt19937 rng(static_cast<unsigned>(getpid()) ^ static_cast<unsigned>(std::time(nullptr)));
    do base_port_ = std::uniform_int_distribution<int>(20000, 40000)(rng);
    while (!port_free(base_port_) || !port_free(base_port_ + 1) || !port_free(base_port_ + 2));
    dir_ = (std::filesystem::temp_directory_path() / ("evoucher-ha-" + std::to_string(getpid()))).string();
    std::filesystem::remove_all(dir_);
    try {
      // The URL is the last line the start prints.
      url_ = trimmed(script("start"));
      url_ = url_.substr(url_.rfind('\n') == std::string::npos ? 0 : url_.rfind('\n') + 1);
      if (url_.find("dbname=evoucher") == std::string::npos) throw std::runtime_error("no URL from the start: " + url_);
    } catch (...) {
      stop();
      throw;
    }
  }
  ~Formation() { stop(); }
  void stop() {
    try {
      script("stop");
    } catch (const std::exception&) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  // The service's URL for a database of the formation.
  std::string url(const std::string& database = "evoucher") const {
    std::string u = url_;
    u.replace(u.find("dbname=evoucher"), 15, "dbname=" + database);
    return u;
  }
  std::string primary() { return trimmed(script("primary")); }
  static std::string other(const std::string& node) { return node == "node1" ? "node2" : "node1"; }
  int port_of(const std::string& node) const { return base_port_ + (node == "node1" ? 1 : 2); }
  void kill(const std::string& node, bool whole_node) { script("kill", node + (whole_node ? " node" : " postgres")); }
  void rejoin(const std::string& node) { script("rejoin", node); }
  void wait_settled() { script("wait", "180"); }
  // scripts/backup.sh on the formation's pgBackRest repository; `take` records into `url`'s database.
  std::string backup(const std::string& args, const std::string& url = "") const {
    return script("backup", args, url.empty() ? "" : "EVOUCHER_DATABASE_URL='" + url + "' ");
  }
  // A restore to `time` into a new directory of the formation, started on a free port: its URL.
  std::string restore(const std::string& time, const std::string& name) const {
    int port = base_port_ + 3;
    while (!port_free(port)) ++port;
    const std::string out = trimmed(backup("restore '" + time + "' " + dir_ + "/" + name + " " + std::to_string(port)));
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }
  std::string state() { return script("state"); }

  std::string script(const std::string& command, const std::string& args = "", const std::string& env = "") const {
    const std::string line = env + "EVOUCHER_HA_PORT=" + std::to_string(base_port_) + " EVOUCHER_HA_FSYNC=off " +
                             EVOUCHER_SOURCE_DIR + "/scripts/formation.sh " + command + " " + dir_ + " " + args +
                             " 2>&1";
    std::string out;
    FILE* p = ::popen(line.c_str(), "r");
    if (!p) throw std::runtime_error("cannot run " + line);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    if (status != 0) throw std::runtime_error(line + " failed: " + out);
    return out;
  }

 private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  int base_port_ = 0;
  std::string dir_, url_;
};

Formation& formation() {
  static Formation f;
  return f;
}

// A database of its own on the formation, migrated and seeded with the demo.
std::string demo_database(const std::string& name) {
  {
    pqxx::connection c(formation().url());
    pqxx::nontransaction n(c);
    n.exec("CREATE DATABASE " + name);
  }
  // Each node has it: libpq tries the next host after a refused read-write check, but not after a
  // node that has yet to replay the CREATE DATABASE refuses the login.
  for (const char* node : {"node1", "node2"}) {
    const auto until = StreamClock::now() + std::chrono::seconds(60);
    for (;;) {
      try {
        pqxx::connection c("host=127.0.0.1 port=" + std::to_string(formation().port_of(node)) +
                           " user=evoucher dbname=" + name);
        break;
      } catch (const std::exception&) {
        if (StreamClock::now() > until) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
  }
  const std::string url = formation().url(name);
  for (const auto& args : {std::vector<std::string>{"migrate"}, std::vector<std::string>{"seed", "demo"}}) {
    const auto r = run_evoucher(args, {{"EVOUCHER_DATABASE_URL", url}});
    if (r.exit_code != 0) throw std::runtime_error(args[0] + " failed: " + r.output);
  }
  return url;
}

std::map<std::string, std::string> service_env(std::map<std::string, std::string> more = {}) {
  more.insert({{"EVOUCHER_ADMIN_TOKEN", kStreamAdminToken},
               {"EVOUCHER_PROCESSOR_SECRET", kStreamSecret},
               {"EVOUCHER_LOG_LEVEL", "warn"}});
  more.insert({"EVOUCHER_METRICS_REFRESH_S", "1"});
  return more;
}

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

// A gauge of /metrics, or -1 when absent.
double gauge(RestartingServe& service, const std::string& name) {
  const auto body = http_get(service.port(), "/metrics").body;
  const auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + name.size() + 2));
}

// Waits (the figures are read every second here) until the gauge reads `value`.
bool gauge_reaches(RestartingServe& service, const std::string& name, double value) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (gauge(service, name) == value) return true;
    std::this_thread::sleep_for(milliseconds(200));
  }
  ADD_FAILURE() << name << " did not reach " << value << ": " << gauge(service, name);
  return false;
}

// Waits until `node` is no longer primary and the formation has a primary
// again: the standby's promotion after a whole node was lost.
void wait_for_new_primary(const std::string& lost, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    try {
      const auto p = formation().primary();
      if (!p.empty() && p != lost) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(250));
  }
  throw std::runtime_error("no new primary in time:\n" + formation().state());
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
    if (now.from == "primary") EXPECT_EQ(now.debits, first.debits + 60000);
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

// "2026-12-07 16:35:59.461711+00": a moment for pgBackRest's --target.
std::string utc_text(std::chrono::system_clock::time_point at) {
  const auto t = std::chrono::system_clock::to_time_t(at);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count() % 1'000'000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return text;
}

// The ledger's id in an answer that moved money ("pay-bupyeong-12"), or "" (a decline, a refusal).
std::string money_id(const Call& call) {
  if (call.status < 200 || call.status >= 300) return "";
  const auto body = json::parse(call.answer, nullptr, false);
  for (const char* key : {"load_id", "payment_id", "cancellation_id"})
    if (body.contains(key) && (std::string(key) != "payment_id" || body["decision"] == "approved"))
      return body[key].get<std::string>();
  return "";
}

// Point-in-time recovery. pgBackRest archives the formation's WAL and takes a base backup; signing
// clients stream on; the ledger is restored to a moment T in the middle of the stream, into a new
// cluster. Every call answered before T is there (its replay answers the same bytes, the members'
// cash agrees), nothing sent after T is, a call in flight at T is there or not as a whole, and
// `evoucher verify` passes.
TEST(Failover, RestoreToATimeHoldsWhatWasAnsweredBeforeItAndNothingAfter) {
  const auto url = demo_database("restored");
  RestartingServe service(url, service_env());
  auto members = make_members(service, 16);
  const auto deadline = Clock::now() + std::chrono::minutes(5);

  // The base backup, recorded where /metrics reads it.
  formation().backup("take full", url);
  double stopped = 0;
  {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    const auto r = n.exec("SELECT count(*), min(kind), extract(epoch FROM max(stopped_at))::float8 FROM backups")[0];
    EXPECT_EQ(r[0].as<int>(), 1);
    EXPECT_EQ(r[1].as<std::string>(), "full");
    stopped = r[2].as<double>();
  }
  EXPECT_NEAR(stopped, static_cast<double>(std::time(nullptr)), 60.0);
  EXPECT_TRUE(gauge_reaches(service, "evoucher_backup_last_success_timestamp_seconds", stopped));

  // Four clients stream; T falls in the middle, with calls in flight.
  StreamClients clients(service, members, 4, 1 << 30, 4242u, deadline, milliseconds(5));
  auto& tally = clients.tally;
  const auto& calls = clients.calls;
  while (tally.judged.load() < 200 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  const auto t_steady = Clock::now();
  const std::string target = utc_text(std::chrono::system_clock::now());
  const int at_target = tally.judged.load();
  while (tally.judged.load() < at_target + 200 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  clients.stop();
  for (const auto& p : tally.problems) ADD_FAILURE() << p;

  // WAL past T reaches the repository (a switch, waited for), then the restore.
  formation().backup("check");
  std::string copy = formation().restore(target, "restored-copy");
  copy.replace(copy.find("dbname=evoucher"), 15, "dbname=restored");

  std::set<std::string> before, in_flight, after, in_copy;
  for (const auto& list : calls)
    for (const auto& call : list) {
      const auto id = money_id(call);
      if (id.empty()) continue;
      (call.answered_at < t_steady ? before : call.sent_at > t_steady ? after : in_flight).insert(id);
    }
  {
    pqxx::connection c(copy);
    pqxx::nontransaction n(c);
    for (const auto& r : n.exec("SELECT 'pay-' || district || '-' || id FROM payments UNION ALL "
                                "SELECT 'load-' || district || '-' || id FROM loads UNION ALL "
                                "SELECT 'cxl-' || district || '-' || id FROM cancellations"))
      in_copy.insert(r[0].as<std::string>());
  }
  std::cout << "failover test: restored to " << target << ": " << before.size() << " answered before it, "
            << in_flight.size() << " in flight, " << after.size() << " sent after; the copy holds " << in_copy.size()
            << "\n";
  EXPECT_GT(before.size(), 50u);
  EXPECT_GT(after.size(), 50u);
  for (const auto& id : before) EXPECT_TRUE(in_copy.count(id)) << id << " was answered before " << target;
  for (const auto& id : after) EXPECT_FALSE(in_copy.count(id)) << id << " was sent after " << target;
  for (const auto& id : in_copy)
    EXPECT_TRUE(before.count(id) || in_flight.count(id)) << id << " is in the copy, but not in an answer before "
                                                         << target;

  // On the copy, each call answered before T replays its answer, and each member's cash is what
  // those answers (and the in-flight calls the copy holds) made it.
  RestartingServe restored(copy, service_env());
  std::map<std::string, std::string> member_of_card, member_of_payment;
  std::map<std::string, long long> cash;
  for (const auto& m : members) member_of_card[m.card] = m.id;
  std::vector<const Call*> ordered;
  for (const auto& list : calls)
    for (const auto& call : list) ordered.push_back(&call);
  std::sort(ordered.begin(), ordered.end(), [](const Call* a, const Call* b) { return a->answered_at < b->answered_at; });
  for (const Call* call : ordered) {
    const auto id = money_id(*call);
    if (call->answered_at < t_steady) {
      const auto again = judged(restored, *call, deadline);
      ASSERT_TRUE(again);
      EXPECT_EQ(again->status, call->status) << call->body;
      EXPECT_EQ(again->body, call->answer) << call->body;
    }
    if (id.empty() || !in_copy.count(id)) continue;
    const auto body = json::parse(call->body);
    const auto answer = json::parse(call->answer);
    if (call->path == "/v1/loads") {
      cash[body["member"].get<std::string>()] += answer["amount"].get<long long>();
    } else if (call->path == "/v1/processor/payments") {
      const auto member = member_of_card[body["card"].get<std::string>()];
      member_of_payment[id] = member;
      cash[member] -= answer["paid"]["cash"].get<long long>();
    } else {
      cash[member_of_payment[body["payment_id"].get<std::string>()]] += answer["refunded"]["cash"].get<long long>();
    }
  }
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kStreamAdminToken}};
  for (const auto& m : members) {
    const auto r = http_get(restored.port(), "/v1/members/" + m.id, auth);
    EXPECT_EQ(json::parse(r.body)["cash"], cash[m.id]) << m.id << ": " << r.body;
  }
  const auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", copy}});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace evoucher::testing
