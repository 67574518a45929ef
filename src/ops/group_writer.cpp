// The writer threads: take a group, run it in one transaction, answer after the commit.
#include "evoucher/ops/group_writer.hpp"

#include <spdlog/spdlog.h>

#include <csignal>

#include "group_run.hpp"

namespace evoucher::ops {
namespace {

void answer(const Done& done, Result result) {
  try {
    done(std::move(result));
  } catch (const std::exception& e) {
    spdlog::error("answering a command failed: {}", store::redacted(e.what()));
  }
}

}  // namespace

GroupWriter::GroupWriter(std::string url, store::ConnectionOptions connection, GroupWriterOptions options,
                         PolicyCache& policies)
    : url_(std::move(url)), connection_options_(connection), options_(options), policies_(policies),
      queue_(options.queue_limit) {
  connection_options_.key_probes_only = true;
  if (options_.max_group == 0) options_.max_group = 1;
  if (options_.commit_wait_ms <= 0) options_.commit_wait_ms = 1;
  for (int i = 0; i < std::max(1, options_.writers); ++i) threads_.emplace_back([this] { work(); });
  watch_ = std::thread([this] { watch(); });
}

GroupWriter::~GroupWriter() { stop(); }

bool GroupWriter::submit(Command command, Done done) { return queue_.push({std::move(command), std::move(done)}); }

bool GroupWriter::submit_together(std::vector<std::pair<Command, Done>> commands) {
  std::vector<Job> jobs;
  for (auto& [command, done] : commands) jobs.push_back({std::move(command), std::move(done)});
  return queue_.push_all(std::move(jobs));
}

// Commands still queued are answered 503 instead of run: nothing was stored under their keys, so
// a retry is judged afresh. Groups under way commit and answer.
void GroupWriter::stop() {
  for (auto& job : queue_.close_and_take_rest())
    answer(job.done, {Trouble::unavailable, false, {}, "the service is stopping"});
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  {
    std::lock_guard lock(held_mutex_);
    stopping_ = true;
  }
  held_changed_.notify_all();
  if (watch_.joinable()) watch_.join();
}

// Bounds every caller's wait to commit_wait_ms from its command's arrival. Each tick answers 503
// to the callers of groups under way that long (a commit waiting for the synchronous standby, or
// a statement waiting for locks such a commit holds): the group goes on, and a replay tells the
// outcome. And to the commands queued that long behind writers so held: never run, a retry is
// judged afresh.
void GroupWriter::watch() {
  using Clock = std::chrono::steady_clock;
  const auto wait = std::chrono::milliseconds(options_.commit_wait_ms);
  const auto tick = std::clamp(wait / 10, std::chrono::milliseconds(5), std::chrono::milliseconds(100));
  auto due = [&](const Job& job, Clock::time_point now) { return now - job.arrived >= wait; };
  std::unique_lock lock(held_mutex_);
  while (!stopping_) {
    held_changed_.wait_for(lock, tick);
    if (stopping_) return;
    const auto now = Clock::now();
    std::vector<Done> cut;
    for (auto* group : held_)
      for (auto& job : *group)
        if (job.done && due(job, now)) {
          cut.push_back(std::move(job.done));
          job.done = nullptr;
        }
    lock.unlock();
    auto stale = queue_.take_front_while([&](const Job& job) { return due(job, now); });
    if (!cut.empty() || !stale.empty()) {
      spdlog::warn("{} callers of groups under way and {} queued waited past commit_wait_ms: answered 503",
                   cut.size(), stale.size());
      {
        std::lock_guard stats(stats_mutex_);
        stats_.waits_cut += cut.size() + stale.size();
      }
      for (auto& done : cut) answer(done, {Trouble::unconfirmed, false, {}, "waited past commit_wait_ms"});
      for (auto& job : stale)
        answer(job.done, {Trouble::unavailable, false, {}, "queued past commit_wait_ms behind writers held up"});
    }
    lock.lock();
  }
}

// Answers a job's caller, unless the watch has answered it already.
void GroupWriter::reply(Job& job, Result result) {
  Done done;
  {
    std::lock_guard lock(held_mutex_);
    done = std::move(job.done);
    job.done = nullptr;
  }
  if (done) answer(done, std::move(result));
}

std::size_t GroupWriter::queued() const { return queue_.size(); }

GroupStats GroupWriter::stats() const {
  std::lock_guard lock(stats_mutex_);
  return stats_;
}

void BusinessTally::add(const BusinessTally& other) {
  for (const auto& [k, v] : other.approved) approved[k] += v;
  for (const auto& [k, v] : other.declined) declined[k] += v;
  for (const auto& [k, v] : other.cancellations) cancellations[k] += v;
  for (const auto& [k, v] : other.loads) loads[k] += v;
  for (const auto& [k, v] : other.approved_won) approved_won[k] += v;
  for (const auto& [k, v] : other.loaded_won) loaded_won[k] += v;
}

void GroupWriter::record_group(std::size_t size, const std::vector<store::NewFlag>& flags, const BusinessTally& tally) {
  std::lock_guard lock(stats_mutex_);
  stats_.business.add(tally);
  for (const auto& f : flags) ++stats_.flags[{f.district, engine::to_string(f.rule)}];
  ++stats_.groups;
  stats_.commands += size;
  for (std::size_t i = 0; i < GroupStats::kBounds.size(); ++i)
    if (size <= static_cast<std::size_t>(GroupStats::kBounds[i])) {
      ++stats_.buckets[i];
      return;
    }
  ++stats_.over;
}

void GroupWriter::work() {
  std::unique_ptr<store::Connection> connection;
  for (;;) {
    // What is left wakes another writer, which starts on it while this group is in flight.
    auto jobs = queue_.take(options_.max_group);
    if (jobs.empty()) return;
    {
      std::lock_guard lock(held_mutex_);
      held_.insert(&jobs);
    }
    run(connection, jobs, 0, jobs.size(), 0);
    std::lock_guard lock(held_mutex_);
    held_.erase(&jobs);
  }
}

// Runs jobs[from, to) as one group. A failure that is not the database's absence rolls the group
// back and splits it in halves, so that one bad command fails alone; a lone command is retried
// once (a deadlock, or a key another writer committed meanwhile) before it fails. A group that ran
// past the statement timeout waited for a lock that one of its commands needs: each command then
// runs alone, so that the others commit and only the one that waits answers 503 (a lone command
// that times out is not retried: it would wait as long again).
void GroupWriter::run(std::unique_ptr<store::Connection>& connection, std::vector<Job>& jobs, std::size_t from,
                      std::size_t to, int attempt) {
  std::vector<const Command*> commands;
  for (std::size_t i = from; i < to; ++i) commands.push_back(&jobs[i].command);
  GroupOutcome outcome;
  try {
    if (!connection || !connection->is_open()) {
      connection.reset();
      connection = std::make_unique<store::Connection>(url_, connection_options_);
    }
    store::Tx tx(*connection);
    outcome = run_group(tx, commands, policies_,
                        [this](const std::string& district, const std::string& merchant) -> std::optional<std::int64_t> {
                          std::lock_guard lock(payables_mutex_);
                          const auto found = payables_.find({district, merchant});
                          if (found == payables_.end()) return std::nullopt;
                          return found->second;
                        });
    tx.commit();
    if (options_.kill_after_commit) raise(SIGKILL);
  } catch (const store::TimedOut& e) {
    if (to - from > 1) {
      spdlog::warn("group of {} timed out, running its commands one by one: {}", to - from, store::redacted(e.what()));
      for (std::size_t i = from; i < to; ++i) run(connection, jobs, i, i + 1, 0);
      return;
    }
    spdlog::warn("command timed out: {}", store::redacted(e.what()));
    reply(jobs[from], {Trouble::unavailable, false, {}, e.what()});
    return;
  } catch (const store::Unavailable& e) {
    // Lost during the commit, the outcome is unknown: a replay will tell.
    spdlog::warn("group of {} unanswered, database unavailable: {}", to - from, store::redacted(e.what()));
    connection.reset();
    for (std::size_t i = from; i < to; ++i) reply(jobs[i], {Trouble::unavailable, false, {}, e.what()});
    return;
  } catch (const std::exception& e) {
    if (to - from > 1) {
      spdlog::warn("group of {} rolled back, splitting it: {}", to - from, store::redacted(e.what()));
      const std::size_t mid = from + (to - from) / 2;
      run(connection, jobs, from, mid, 0);
      run(connection, jobs, mid, to, 0);
      return;
    }
    if (attempt == 0) {
      run(connection, jobs, from, to, 1);
      return;
    }
    spdlog::error("command failed: {}", store::redacted(e.what()));
    reply(jobs[from], {Trouble::failed, false, {}, e.what()});
    return;
  }
  {
    std::lock_guard lock(payables_mutex_);
    for (auto& [payable, id] : outcome.payable_ids) payables_.emplace(std::move(payable), id);
  }
  record_group(to - from, outcome.flags, outcome.tally);
  for (std::size_t i = from; i < to; ++i) reply(jobs[i], std::move(outcome.results[i - from]));
}

}  // namespace evoucher::ops
