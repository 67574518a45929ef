// The database worker threads and their bounded queue.
#include "evoucher/store/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace evoucher::store {

WorkerPool::WorkerPool(std::string url, ConnectionOptions options, int workers, std::size_t queue_limit)
    : url_(std::move(url)), options_(options), queue_(queue_limit) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(DbJob job) { return queue_.push(std::move(job)); }

// Jobs still queued when the service stops are not run: their callers may already be gone, and
// work done for nobody is work nobody learns about. Each is answered 503 (a retry under the same
// key is judged afresh). Jobs under way finish.
void WorkerPool::stop() {
  for (auto& job : queue_.close_and_take_rest()) {
    try {
      throw Unavailable("the service is stopping");
    } catch (...) {
      job.fail(std::current_exception());
    }
  }
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::size_t WorkerPool::queued() const { return queue_.size(); }

void WorkerPool::work() {
  std::unique_ptr<Connection> connection;
  for (;;) {
    auto taken = queue_.take(1);
    if (taken.empty()) return;
    DbJob job = std::move(taken.front());
    try {
      if (!connection || !connection->is_open()) {
        connection.reset();
        connection = std::make_unique<Connection>(url_, options_);
      }
      with_unavailable_mapped([&] {
        job.run(*connection);
        return 0;
      });
    } catch (const Unavailable& e) {
      spdlog::warn("database unavailable: {}", redacted(e.what()));
      connection.reset();  // reconnect for the next job
      job.fail(std::current_exception());
    } catch (...) {
      job.fail(std::current_exception());
    }
  }
}

}  // namespace evoucher::store
