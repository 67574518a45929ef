// The database worker threads and their bounded queue.
#include "evoucher/store/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace evoucher::store {

WorkerPool::WorkerPool(std::string url, ConnectionOptions options, int workers, std::size_t queue_limit)
    : url_(std::move(url)), options_(options), queue_limit_(queue_limit) {
  for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(DbJob job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= queue_limit_) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::work() {
  std::unique_ptr<Connection> connection;
  for (;;) {
    DbJob job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
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
      spdlog::warn("database unavailable: {}", e.what());
      connection.reset();  // reconnect for the next job
      job.fail(std::current_exception());
    } catch (...) {
      job.fail(std::current_exception());
    }
  }
}

}  // namespace evoucher::store
