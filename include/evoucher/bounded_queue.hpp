// A bounded, closable queue for worker threads: producers never wait (a full queue refuses, and
// the caller answers 503), consumers wait for work and take up to a batch of it.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace evoucher {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t limit) : limit_(limit) {}

  // False when the queue is full or closed.
  bool push(T item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_ || items_.size() >= limit_) return false;
      items_.push_back(std::move(item));
    }
    ready_.notify_one();
    return true;
  }

  // All of them, or none when they do not fit.
  bool push_all(std::vector<T> items) {
    {
      std::lock_guard lock(mutex_);
      if (closed_ || items_.size() + items.size() > limit_) return false;
      for (auto& item : items) items_.push_back(std::move(item));
    }
    ready_.notify_one();
    return true;
  }

  // Waits for work, then takes up to `most` items in arrival order. Empty only once the queue is
  // closed and drained. What is left wakes another consumer.
  std::vector<T> take(std::size_t most) {
    std::vector<T> out;
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return closed_ || !items_.empty(); });
    while (!items_.empty() && out.size() < most) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    if (!items_.empty()) ready_.notify_one();
    return out;
  }

  // Refuses new items; consumers drain what is queued, then get nothing.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    ready_.notify_all();
  }

  // Refuses new items and hands back what was still queued, which no consumer will now take.
  std::vector<T> close_and_take_rest() {
    std::vector<T> rest;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      while (!items_.empty()) {
        rest.push_back(std::move(items_.front()));
        items_.pop_front();
      }
    }
    ready_.notify_all();
    return rest;
  }

  // Takes items from the front (the oldest) for as long as `due` holds for them.
  template <typename Pred>
  std::vector<T> take_front_while(Pred due) {
    std::vector<T> out;
    std::lock_guard lock(mutex_);
    while (!items_.empty() && due(items_.front())) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    return out;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

 private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<T> items_;
  bool closed_ = false;
};

}  // namespace evoucher
