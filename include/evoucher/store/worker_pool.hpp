// Database workers: blocking PostgreSQL work runs here, never on an I/O thread.
// Each worker owns one connection, opened on first use and reopened after it breaks.
#pragma once

#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "evoucher/bounded_queue.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct DbJob {
  std::function<void(Connection&)> run;
  // Called instead of, or after a throwing, run: Unavailable when the database cannot be reached.
  std::function<void(std::exception_ptr)> fail;
};

class WorkerPool {
 public:
  WorkerPool(std::string url, ConnectionOptions options, int workers, std::size_t queue_limit);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue is full or the pool is stopping: the caller answers 503.
  bool submit(DbJob job);
  // Finishes the queued jobs, then joins the workers.
  void stop();
  std::size_t queued() const;
  const std::string& url() const { return url_; }
  const ConnectionOptions& options() const { return options_; }

 private:
  void work();

  std::string url_;
  ConnectionOptions options_;
  BoundedQueue<DbJob> queue_;
  std::vector<std::thread> threads_;
};

}  // namespace evoucher::store
