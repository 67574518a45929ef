// The hand-over between a streaming body's writer (a database worker) and its connection.
#include "evoucher/api/body_stream.hpp"

namespace evoucher::api {

bool BodyStream::write(std::string chunk) {
  std::function<void()> wake;
  {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [this] { return abandoned_ || chunks_.size() < window_; });
    if (abandoned_) return false;
    chunks_.push_back(std::move(chunk));
    wake = std::move(ready_);
    ready_ = nullptr;
  }
  if (wake) wake();
  return true;
}

void BodyStream::finish(bool complete) {
  std::function<void()> wake;
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    complete_ = complete;
    wake = std::move(ready_);
    ready_ = nullptr;
  }
  if (wake) wake();
}

BodyStream::Next BodyStream::take(std::string& out, std::function<void()> ready) {
  {
    std::lock_guard lock(mutex_);
    if (chunks_.empty()) {
      if (finished_) return complete_ ? Next::end : Next::broken;
      ready_ = std::move(ready);
      return Next::wait;
    }
    out = std::move(chunks_.front());
    chunks_.pop_front();
  }
  room_.notify_one();
  return Next::chunk;
}

void BodyStream::abandon() {
  {
    std::lock_guard lock(mutex_);
    abandoned_ = true;
    chunks_.clear();
    ready_ = nullptr;
  }
  room_.notify_all();
}

}  // namespace evoucher::api
