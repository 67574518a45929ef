// Group commit on the money path. Payments, cancellations, loads and refunds that arrive
// together share one database transaction and one durable commit; each caller is answered only
// after that commit. Writer threads each own a connection; a writer takes whatever is queued, up
// to a bound, and sets no timer: a command that arrives alone goes at once, and commands that
// arrive while a group is in flight form the next group.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <set>
#include <mutex>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "evoucher/bounded_queue.hpp"
#include "evoucher/ops/commands.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

struct GroupWriterOptions {
  int writers = 2;
  std::size_t max_group = 64;      // commands per transaction
  std::size_t queue_limit = 4096;  // commands waiting before the answer is 503
  // Fault injection for the crash tests: the process kills itself (SIGKILL) right after a group
  // commits, before any of its callers is answered.
  bool kill_after_commit = false;
  // How long a caller waits, from its command's arrival, before it is answered 503: for a commit
  // (which, on a formation, waits for the synchronous standby), for locks such a commit holds, or
  // in the queue behind writers held up so. A group under way is never cancelled, and its commit
  // goes on (a replay tells the outcome); a command still queued is not run.
  int commit_wait_ms = 2000;
};

// How many commands each committed group carried.
// What committed groups did, for /metrics: labels are districts (a handful) and decline reasons
// (five), so the series stay few.
struct BusinessTally {
  std::map<std::string, std::uint64_t> approved;                                // by district
  std::map<std::pair<std::string, std::string>, std::uint64_t> declined;       // by (district, reason)
  std::map<std::string, std::uint64_t> cancellations, loads;                    // by district
  std::map<std::string, std::int64_t> approved_won, loaded_won;                 // charged, loaded; by district
  void add(const BusinessTally& other);
};

struct GroupStats {
  static constexpr std::array<int, 9> kBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  std::array<std::uint64_t, kBounds.size()> buckets{};  // groups with size <= bound (not cumulative)
  std::uint64_t groups = 0;
  std::uint64_t commands = 0;
  std::uint64_t over = 0;  // groups larger than the last bound
  // Callers answered 503 by the bound on their wait (commit_wait_ms).
  std::uint64_t waits_cut = 0;
  // Fraud flags raised by committed payments, by (district, rule): districts are few, rules five.
  std::map<std::pair<std::string, std::string>, std::uint64_t> flags;
  BusinessTally business;
};

class GroupWriter {
 public:
  GroupWriter(std::string url, store::ConnectionOptions connection, GroupWriterOptions options,
              PolicyCache& policies);
  ~GroupWriter();
  GroupWriter(const GroupWriter&) = delete;
  GroupWriter& operator=(const GroupWriter&) = delete;

  // Queues a command; false when the queue is full or the writer is stopping (the caller
  // answers 503 at once, and done is not called).
  bool submit(Command command, Done done);
  // Queues several commands at once, so that they are taken together (tests use it to build a
  // group). All or none are queued.
  bool submit_together(std::vector<std::pair<Command, Done>> commands);
  // Finishes what is queued, then joins the writers.
  void stop();
  // The decoded policy versions the writer judges by; the batches use them too.
  PolicyCache& policies() { return policies_; }
  std::size_t queued() const;
  GroupStats stats() const;

  struct Job {
    Command command;
    Done done;  // emptied once the caller is answered
    std::chrono::steady_clock::time_point arrived = std::chrono::steady_clock::now();
  };

 private:
  void work();
  void watch();
  void reply(Job& job, Result result);
  void run(std::unique_ptr<store::Connection>& connection, std::vector<Job>& jobs, std::size_t from, std::size_t to,
           int attempt);
  void record_group(std::size_t size, const std::vector<store::NewFlag>& flags, const BusinessTally& tally);

  std::string url_;
  store::ConnectionOptions connection_options_;
  GroupWriterOptions options_;
  PolicyCache& policies_;

  BoundedQueue<Job> queue_;
  std::vector<std::thread> threads_;

  // Payable accounts known to exist, as (district, merchant), with their ids: opened once, not on
  // every payment, and named by id in the entries.
  std::mutex payables_mutex_;
  std::map<std::pair<std::string, std::string>, std::int64_t> payables_;  // (district, merchant) -> payable id

  mutable std::mutex stats_mutex_;
  GroupStats stats_;

  // The groups writers hold, for the watch (one entry a group, not a job).
  std::mutex held_mutex_;
  std::condition_variable held_changed_;
  std::set<std::vector<Job>*> held_;
  bool stopping_ = false;
  std::thread watch_;

};

}  // namespace evoucher::ops
