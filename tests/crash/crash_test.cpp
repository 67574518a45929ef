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
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "evoucher/store/connection.hpp"
#include "evoucher/store/demo_seed.hpp"
#include "support/http_client.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kAdminToken = "crash-admin-token";
constexpr const char* kSecret = "crash-processor-secret";
constexpr long long kMonthlyLoadLimit = 1'000'000;  // the demo city policy's

// One call as the client made it, and the answer it was judged with.
struct Call {
  std::string path, body, key;  // key: the Idempotency-Key of an admin call; empty for a signed one
  int status = 0;
  std::string answer;
  Call() = default;
  Call(std::string p, std::string b, std::string k) : path(std::move(p)), body(std::move(b)), key(std::move(k)) {}
};

struct Payment {
  std::string id;
  long long remaining = 0;
};

struct Member {
  std::string id, card, merchant;
  long long cash = 0, loaded = 0;
  std::vector<Payment> payments;
};

using Service = RestartingServe;

// Sends one call until it is judged: a refused connection, a cut answer or a 503 is tried again.
std::optional<HttpResult> judged(Service& service, const Call& call, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    std::map<std::string, std::string> headers;
    if (call.key.empty()) {
      headers["X-Evoucher-Signature"] = processor_signature(kSecret, call.body);
    } else {
      headers["Authorization"] = std::string("Bearer ") + kAdminToken;
      headers["Idempotency-Key"] = call.key;
    }
    try {
      auto r = http_request(service.port(), "POST", call.path, call.body, headers);
      const auto length = r.headers.find("content-length");
      const bool whole = length != r.headers.end() && std::to_string(r.body.size()) == length->second;
      if (whole && r.status != 503) return r;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::nullopt;
}

struct Tally {
  std::atomic<int> judged{0}, loads{0}, approved{0}, declined{0}, cancellations{0}, unexpected{0}, retried_out{0};
  std::mutex mutex;
  std::vector<std::string> problems;
  std::set<std::string> payment_ids, load_ids, cancellation_ids;
  void problem(std::string what) {
    ++unexpected;
    std::lock_guard lock(mutex);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

// One client thread: its own members, one call in flight per member, each answer checked
// against the model before the member's next call.
void stream(Service& service, std::vector<Member*> members, int operations, unsigned seed, std::vector<Call>& calls,
            Tally& tally, Clock::time_point deadline) {
  std::mt19937 rng(seed);
  auto pick = [&](long long lo, long long hi) { return std::uniform_int_distribution<long long>(lo, hi)(rng); };
  for (int i = 0; i < operations; ++i) {
    Member& m = *members[static_cast<std::size_t>(pick(0, static_cast<long long>(members.size()) - 1))];
    const std::string tag = m.id + "-" + std::to_string(i);
    Call call;
    json predicted;
    int predicted_status = 200;
    enum { load, pay, cancel } kind;
    const bool can_cancel = !m.payments.empty() && m.payments.back().remaining > 0;
    if (m.cash < 20'000 || pick(0, 9) < 3) {
      kind = load;
      const long long amount = pick(20, 50) * 1000;
      call = {"/v1/loads", json{{"member", m.id}, {"amount", amount}, {"bank_ref", "bank-" + tag}}.dump(), "load-" + tag};
      if (m.loaded + amount > kMonthlyLoadLimit) {
        predicted_status = 422;
      } else {
        predicted_status = 201;
        predicted = {{"member", m.id}, {"amount", amount}, {"cash", m.cash + amount}, {"points", 0}};
      }
    } else if (can_cancel && pick(0, 9) < 3) {
      kind = cancel;
      auto& p = m.payments.back();
      const long long amount = pick(1, p.remaining);
      call = {"/v1/processor/cancellations",
              json{{"event_id", "cxl-" + tag}, {"payment_id", p.id}, {"amount", amount},
                   {"occurred_at", "2026-03-02T12:30:00+09:00"}}
                  .dump(),
              ""};
      predicted = {{"payment_id", p.id}, {"amount", amount}, {"refunded", {{"cash", amount}, {"points", 0}}},
                   {"remaining", p.remaining - amount}};
    } else {
      kind = pay;
      const long long price = pick(1, 30) * 1000;
      call = {"/v1/processor/payments",
              json{{"event_id", "pay-" + tag}, {"card", m.card}, {"merchant", m.merchant}, {"price", price},
                   {"occurred_at", "2026-03-02T12:00:00+09:00"}, {"channel", "card"}}
                  .dump(),
              ""};
      predicted = price > m.cash ? json{{"decision", "declined"}, {"reason", "insufficient_funds"}}
                                 : json{{"decision", "approved"}, {"price", price}, {"charged", price},
                                        {"paid", {{"points", 0}, {"cash", price}}}};
    }
    const auto r = judged(service, call, deadline);
    if (!r) {
      ++tally.retried_out;
      tally.problem("never judged: " + call.path + " " + call.body);
      return;
    }
    call.status = r->status;
    call.answer = r->body;
    ++tally.judged;
    const auto body = json::parse(r->body, nullptr, false);
    bool as_predicted = r->status == predicted_status && body.is_object();
    for (const auto& [k, v] : predicted.items()) as_predicted = as_predicted && body.contains(k) && body[k] == v;
    if (!as_predicted) {
      tally.problem(call.path + " " + call.body + " -> " + std::to_string(r->status) + " " + r->body +
                    "; the model said " + std::to_string(predicted_status) + " " + predicted.dump());
      calls.push_back(std::move(call));
      continue;
    }
    std::lock_guard lock(tally.mutex);
    if (kind == load && r->status == 201) {
      m.cash += predicted["amount"].get<long long>();
      m.loaded += predicted["amount"].get<long long>();
      ++tally.loads;
      tally.load_ids.insert(body["load_id"].get<std::string>());
    } else if (kind == pay && body["decision"] == "approved") {
      m.cash -= predicted["price"].get<long long>();
      m.payments.push_back({body["payment_id"], predicted["price"].get<long long>()});
      ++tally.approved;
      tally.payment_ids.insert(body["payment_id"].get<std::string>());
    } else if (kind == pay) {
      ++tally.declined;
    } else if (kind == cancel) {
      m.cash += predicted["amount"].get<long long>();
      m.payments.back().remaining = predicted["remaining"].get<long long>();
      ++tally.cancellations;
      tally.cancellation_ids.insert(body["cancellation_id"].get<std::string>());
    }
    calls.push_back(std::move(call));
  }
}

std::set<std::string> ids(pqxx::nontransaction& n, const std::string& sql) {
  std::set<std::string> out;
  for (const auto& row : n.exec(sql)) out.insert(row[0].as<std::string>());
  return out;
}

TEST(Crash, KillsAndDatabaseStopsLoseAndDoubleNothing) {
  const int operations = env_int("EVOUCHER_CRASH_OPERATIONS", 2000);
  const int kills = env_int("EVOUCHER_CRASH_KILLS", 3);
  const int pg_stops = env_int("EVOUCHER_CRASH_PG_STOPS", 1);
  const unsigned seed = static_cast<unsigned>(env_int("EVOUCHER_CRASH_SEED", static_cast<int>(std::time(nullptr))));
  const int threads = 16;
  std::cout << "crash test: seed " << seed << " (EVOUCHER_CRASH_SEED), " << operations << " operations, " << kills
            << " kills, " << pg_stops << " database stops\n";

  const auto url = PgHarness::instance().fresh_database();
  {
    store::Connection c(url);
    store::seed_demo(c);
  }
  Service service(url, {{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                        {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                        {"EVOUCHER_LOG_LEVEL", "off"}});
  // Members enough that none reaches the monthly load limit often; half in each district, each
  // paying at a merchant of its own district without a benefit on the price.
  const int member_count = std::max(64, operations / 25);
  std::vector<Member> members(static_cast<std::size_t>(member_count));
  for (int i = 0; i < member_count; ++i) {
    auto& m = members[static_cast<std::size_t>(i)];
    const bool bupyeong = i % 2 == 0;
    m.id = "cr" + std::to_string(i);
    m.card = "crc" + std::to_string(i);
    m.merchant = bupyeong ? "bp-cafe" : "ys-books";
    const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kAdminToken}};
    ASSERT_EQ(http_request(service.port(), "POST", "/v1/members",
                           json{{"id", m.id}, {"district", bupyeong ? "bupyeong" : "yeonsu"}}.dump(), auth)
                  .status,
              201);
    ASSERT_EQ(http_request(service.port(), "POST", "/v1/cards", json{{"token", m.card}, {"member", m.id}}.dump(), auth)
                  .status,
              201);
  }

  const auto deadline = Clock::now() + std::chrono::minutes(10);
  Tally tally;
  std::vector<std::vector<Call>> calls(threads);
  std::atomic<int> running{threads};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    std::vector<Member*> mine;
    for (int i = t; i < member_count; i += threads) mine.push_back(&members[static_cast<std::size_t>(i)]);
    clients.emplace_back([&, t, mine] {
      stream(service, mine, operations / threads, seed + static_cast<unsigned>(t), calls[static_cast<std::size_t>(t)],
             tally, deadline);
      --running;
    });
  }
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
    while (tally.judged.load() < due && running.load() > 0) std::this_thread::sleep_for(milliseconds(5));
    if (running.load() == 0) break;  // reported below: a fault that found no traffic does not count
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
  for (auto& c : clients) c.join();

  // Every call again, by its key: the same status and the same bytes.
  int replays = 0, replay_mismatches = 0;
  for (const auto& list : calls)
    for (const auto& call : list) {
      const auto again = judged(service, call, deadline);
      ++replays;
      if (!again || again->status != call.status || again->body != call.answer) {
        ++replay_mismatches;
        if (replay_mismatches <= 5)
          ADD_FAILURE() << "replay of " << call.path << " " << call.body << ": first " << call.status << " "
                        << call.answer << ", now " << (again ? std::to_string(again->status) + " " + again->body : "none");
      }
    }

  // The ledger holds every approved and done answer once, and nothing else.
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  const auto payments = ids(n, "SELECT 'pay-' || district || '-' || id FROM payments");
  const auto loads = ids(n, "SELECT 'load-' || district || '-' || id FROM loads");
  const auto cancellations = ids(n, "SELECT 'cxl-' || district || '-' || id FROM cancellations");
  int balance_mismatches = 0;
  for (const auto& m : members) {
    const auto r = http_request(service.port(), "GET", "/v1/members/" + m.id, "",
                                {{"Authorization", std::string("Bearer ") + kAdminToken}});
    const auto body = json::parse(r.body, nullptr, false);
    if (r.status != 200 || body["cash"] != m.cash || body["points"] != 0) {
      ++balance_mismatches;
      if (balance_mismatches <= 5) ADD_FAILURE() << m.id << ": model cash " << m.cash << ", service " << r.body;
    }
  }
  const auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});

  int total = 0;
  for (const auto& list : calls) total += static_cast<int>(list.size());
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
