// The processor's side of the crash and failover tests: signing clients that
// stream loads, payments and cancellations for their own members, check each
// answer against a model of the rules, and afterwards replay every call and
// check the ledger against what was answered.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.hpp"
#include "support/process.hpp"

namespace evoucher::testing {

using StreamClock = std::chrono::steady_clock;

inline constexpr const char* kStreamAdminToken = "crash-admin-token";
inline constexpr const char* kStreamSecret = "crash-processor-secret";

// One call as the client made it, and the answer it was judged with.
struct Call {
  std::string path, body,
      key;  // key: the Idempotency-Key of an admin call; empty for a signed one
  int status = 0;
  std::string answer;
  StreamClock::time_point sent_at, answered_at;  // first sent; judged (by stream())
  Call() = default;
  Call(std::string p, std::string b, std::string k) : path(std::move(p)), body(std::move(b)), key(std::move(k)) {}
};

struct StreamPayment {
  std::string id;
  long long remaining = 0;
};

struct StreamMember {
  std::string id, card, merchant;
  long long cash = 0, loaded = 0;
  std::vector<StreamPayment> payments;
};

struct Tally {
  std::atomic<int> judged{0}, loads{0}, approved{0}, declined{0}, cancellations{0}, unexpected{0}, retried_out{0};
  std::mutex mutex;
  std::vector<std::string> problems;
  std::set<std::string> payment_ids, load_ids, cancellation_ids;
  std::vector<StreamClock::time_point> judged_at;  // when each judged answer arrived
  void problem(std::string what);
  // The longest time between two judged answers in [from, to]: the outage the
  // processor saw.
  double longest_gap_s(StreamClock::time_point from, StreamClock::time_point to);
};

// Sends one call until it is judged: a refused connection, a cut answer or a
// 503 is tried again.
std::optional<HttpResult> judged(RestartingServe& service, const Call& call, StreamClock::time_point deadline);

// Members enough for the operations, half in each demo district, each with a
// card.
std::vector<StreamMember> make_members(RestartingServe& service, int count);

// One client thread: its own members, one call in flight per member, each
// answer checked against the model before the member's next call. With `stop`,
// it also ends once *stop is set; with `pause`, it waits that long between
// calls.
void stream(RestartingServe& service, std::vector<StreamMember*> members, int operations, unsigned seed,
            std::vector<Call>& calls, Tally& tally, StreamClock::time_point deadline,
            const std::atomic<bool>* stop = nullptr, std::chrono::milliseconds pause = {});

// Client threads streaming at once, each with its own members (thread t takes every threads-th
// member from member t) and seed (seed + t), each making up to `operations` calls.
class StreamClients {
 public:
  StreamClients(RestartingServe& service, std::vector<StreamMember>& members, int threads, int operations,
                unsigned seed, StreamClock::time_point deadline, std::chrono::milliseconds pause = {});
  ~StreamClients() { join(); }
  StreamClients(const StreamClients&) = delete;
  StreamClients& operator=(const StreamClients&) = delete;
  // Asks the clients to end after their calls in flight, and waits for them.
  void stop() {
    stop_ = true;
    join();
  }
  // Waits until every client has made its calls (or stopped).
  void join();
  bool running() const { return running_.load() > 0; }

  Tally tally;
  std::vector<std::vector<Call>> calls;  // a list a client

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> running_{0};
  std::vector<std::thread> threads_;
};

// Every call replayed, the ledger and the members' cash read back, and
// `evoucher verify` run.
struct StreamCheck {
  int replays = 0, replay_mismatches = 0, balance_mismatches = 0, calls = 0;
  std::set<std::string> payments, loads,
      cancellations;  // as the ledger holds them
  CommandResult verify;
};
StreamCheck check_stream(RestartingServe& service, const std::string& url, const std::vector<std::vector<Call>>& calls,
                         const std::vector<StreamMember>& members, StreamClock::time_point deadline);

}  // namespace evoucher::testing
