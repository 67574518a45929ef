// A response body written while it is sent, such as a CSV export of a million payments. A
// database worker writes chunks; the connection sends them. At most `window` chunks wait, so a
// slow reader slows the writer instead of filling memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

namespace evoucher::api {

class BodyStream {
 public:
  explicit BodyStream(std::size_t window = 4) : window_(window) {}

  // Writer: queues a chunk, waiting while the window is full. False once the reader has gone:
  // the writer stops and lets its transaction go.
  bool write(std::string chunk);
  // Writer: the body is complete, or (complete = false) broke off: the reader then ends the
  // connection without the last chunk, so the client can tell the body is cut short.
  void finish(bool complete);

  // Reader: what take() found.
  enum class Next { chunk, wait, end, broken };
  // The next chunk into `out`; or `wait`, and `ready` is called once (from the writer's thread)
  // when there is more to take; or the end of the body.
  Next take(std::string& out, std::function<void()> ready);
  // Reader: the client has gone; a waiting writer wakes and stops.
  void abandon();

 private:
  std::mutex mutex_;
  std::condition_variable room_;
  std::deque<std::string> chunks_;
  std::size_t window_;
  bool finished_ = false;
  bool complete_ = false;
  bool abandoned_ = false;
  std::function<void()> ready_;
};

}  // namespace evoucher::api
