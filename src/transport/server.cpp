// Beast sessions: read one request with a deadline and a body limit, hand it to the api
// layer, write its answer back on the connection's strand. Transport errors are error_codes.
#include "evoucher/transport/server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <limits>

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <set>
#include <thread>

#include "evoucher/api/body_stream.hpp"
#include "evoucher/api/problem.hpp"

namespace evoucher::transport {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

class Session;

// What every session shares: settings, the service, and the registry used at shutdown.
struct Shared {
  const Config& config;
  api::Service& service;
  net::io_context& ioc;
  std::mutex mutex;
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  bool stopping = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    shared_.service.metrics().connection_opened();
  }
  ~Session() {
    if (body_) body_->abandon();
    shared_.service.metrics().connection_closed();
  }

  void start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  // On the session's strand: an idle connection is closed now; a busy one after its answer.
  void stop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) {
        beast::error_code ignored;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        self->stream_.close();
      }
    });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(shared_.config.body_limit_bytes);
    parser_->header_limit(shared_.config.header_limit_bytes);
    stream_.expires_after(std::chrono::milliseconds(shared_.config.read_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset || ec == net::error::eof) {
      return close();
    }
    if (ec == http::error::body_limit) {
      return answer_and_close(api::problem(api::ErrorCode::payload_too_large,
                                           "the body exceeds " + std::to_string(shared_.config.body_limit_bytes) +
                                               " bytes"));
    }
    if (ec == http::error::header_limit) {
      return answer_and_close(api::problem(api::ErrorCode::invalid_request,
                                           "the headers exceed " + std::to_string(shared_.config.header_limit_bytes) +
                                               " bytes"));
    }
    if (ec) {
      return answer_and_close(api::problem(api::ErrorCode::invalid_request, "malformed HTTP request: " + ec.message()));
    }
    auto& message = parser_->get();
    keep_alive_ = message.keep_alive();
    api::Request request;
    request.method = std::string(message.method_string());
    const std::string target(message.target());
    const auto q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto [it, inserted] = request.headers.emplace(name, std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    request.body = std::move(message.body());
    busy_ = true;
    stream_.expires_never();
    // Keeps the io_context running while a database worker holds the request.
    auto guard = std::make_shared<net::executor_work_guard<net::io_context::executor_type>>(shared_.ioc.get_executor());
    shared_.service.handle(std::move(request), [self = shared_from_this(), guard](api::Response response) {
      net::post(self->stream_.get_executor(), [self, guard, response = std::move(response)]() mutable {
        self->write(std::move(response));
        guard->reset();
      });
    });
  }

  void answer_and_close(api::Response response) {
    keep_alive_ = false;
    busy_ = true;
    write(std::move(response));
  }

  // The status line and headers of an answer; no keep-alive once the server is stopping.
  template <typename Body>
  std::shared_ptr<http::response<Body>> head_of(const api::Response& response) {
    auto message = std::make_shared<http::response<Body>>(static_cast<http::status>(response.status), 11);
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    {
      std::lock_guard lock(shared_.mutex);
      if (shared_.stopping) keep_alive_ = false;
    }
    message->keep_alive(keep_alive_);
    return message;
  }

  void write(api::Response response) {
    if (response.stream) return write_streamed(std::move(response));
    auto message = head_of<http::string_body>(response);
    message->body() = std::move(response.body);
    message->prepare_payload();
    stream_.expires_after(std::chrono::milliseconds(shared_.config.read_timeout_ms));
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code ec, std::size_t) {
                        self->busy_ = false;
                        if (ec) return self->close();
                        if (!self->keep_alive_) return self->close_after_answer();
                        self->read();
                      });
  }

  // A streamed body goes out in chunks as its writer produces them. The header goes first; each
  // chunk has the write deadline; a body that broke off ends the connection without the last
  // chunk, so the client sees it cut short.
  void write_streamed(api::Response response) {
    auto header = head_of<http::empty_body>(response);
    header->chunked(true);
    body_ = std::move(response.stream);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    stream_.expires_after(std::chrono::milliseconds(shared_.config.read_timeout_ms));
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), header, serializer](beast::error_code ec, std::size_t) {
                               if (ec) return self->end_stream(false);
                               self->send_next_chunk();
                             });
  }

  void send_next_chunk() {
    auto ready = [weak = weak_from_this()] {
      if (auto self = weak.lock())
        net::post(self->stream_.get_executor(), [self] { self->send_next_chunk(); });
    };
    switch (body_->take(chunk_, ready)) {
      case api::BodyStream::Next::wait:
        return;
      case api::BodyStream::Next::broken:
        return end_stream(false);
      case api::BodyStream::Next::end:
        stream_.expires_after(std::chrono::milliseconds(shared_.config.read_timeout_ms));
        return net::async_write(stream_, http::make_chunk_last(),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                  self->end_stream(!ec);
                                });
      case api::BodyStream::Next::chunk:
        stream_.expires_after(std::chrono::milliseconds(shared_.config.read_timeout_ms));
        return net::async_write(stream_, http::make_chunk(net::buffer(chunk_)),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                  if (ec) return self->end_stream(false);
                                  self->send_next_chunk();
                                });
    }
  }

  void end_stream(bool sent) {
    body_->abandon();
    body_.reset();
    chunk_.clear();
    chunk_.shrink_to_fit();
    busy_ = false;
    if (!sent) return close();
    if (!keep_alive_) return close_after_answer();
    read();
  }

  // The client may still be sending (a body past the limit): closing with its bytes unread would
  // reset the connection, and the reset can destroy the answer before the client reads it. So the
  // sending side is shut down, what still arrives is read and dropped for a bounded time and
  // size, and only then is the socket closed.
  void close_after_answer() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kDrainTime);
    drain();
  }

  void drain() {
    stream_.async_read_some(net::buffer(drain_buffer_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kDrainLimit) {
        beast::error_code ignored;
        self->stream_.close();
        return;
      }
      self->drain();
    });
  }

  static constexpr std::chrono::seconds kDrainTime{2};
  static constexpr std::size_t kDrainLimit = 16 * 1024 * 1024;
  std::array<char, 16 * 1024> drain_buffer_{};
  std::size_t drained_ = 0;

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool busy_ = false;
  std::shared_ptr<api::BodyStream> body_;  // the streamed body being sent, if any
  std::string chunk_;                      // the chunk being written
};

tcp::endpoint parse_endpoint(const std::string& listen) {
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int port = std::stoi(listen.substr(colon + 1));
  if (port < 0 || port > 65535) throw ConfigError("listen port out of range: " + listen);
  beast::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  if (ec) throw ConfigError("listen address is not an IP address: " + listen);
  return {address, static_cast<unsigned short>(port)};
}

// Raises the soft descriptor limit to the hard one, and answers the limit now in force.
long long open_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<int>::max() : static_cast<long long>(limit.rlim_cur);
}

}  // namespace

int connection_cap(int configured, long long descriptor_limit, int reserved) {
  const long long room = descriptor_limit - reserved;
  return static_cast<int>(std::max<long long>(1, std::min<long long>(configured, room)));
}

struct Server::Impl {
  const Config& config;
  net::io_context ioc;
  Shared shared;
  tcp::acceptor acceptor;
  net::signal_set signals;
  net::steady_timer grace;
  std::chrono::steady_clock::time_point deadline;
  net::steady_timer accept_retry;
  std::chrono::milliseconds accept_backoff{kFirstAcceptBackoff};
  int max_connections;

  static constexpr std::chrono::milliseconds kFirstAcceptBackoff{10};
  static constexpr std::chrono::milliseconds kLastAcceptBackoff{1000};

  Impl(const Config& c, api::Service& service)
      : config(c),
        ioc(c.io_threads),
        shared{c, service, ioc, {}, {}, false},
        acceptor(net::make_strand(ioc)),
        signals(ioc, SIGINT, SIGTERM),
        grace(ioc),
        accept_retry(acceptor.get_executor()) {
    // Database connections, the listener, the log and a margin for the embedded cluster's tools.
    const int reserved = c.db_workers + c.group_writers + 64;
    const auto limit = open_descriptor_limit();
    max_connections = connection_cap(c.max_connections, limit, reserved);
    if (max_connections < c.max_connections)
      spdlog::warn("max_connections {} is more than RLIMIT_NOFILE ({}) allows: serving at most {} connections",
                   c.max_connections, limit, max_connections);
  }

  void listen() {
    const auto endpoint = parse_endpoint(config.listen);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
    spdlog::info("listening on {}", config.listen);
    accept();
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        std::shared_ptr<Session> session;
        {
          std::lock_guard lock(shared.mutex);
          for (auto it = shared.sessions.begin(); it != shared.sessions.end();)
            it = it->expired() ? shared.sessions.erase(it) : std::next(it);
          if (!shared.stopping && shared.sessions.size() < static_cast<std::size_t>(max_connections)) {
            session = std::make_shared<Session>(std::move(socket), shared);
            shared.sessions.insert(session);
          }
        }
        if (session) session->start();
        accept_backoff = kFirstAcceptBackoff;
      } else if (acceptor.is_open()) {
        // Out of descriptors (EMFILE) and the like: re-arming at once would spin. Wait, longer
        // each time the error repeats.
        spdlog::warn("accept: {}; trying again in {} ms", ec.message(), accept_backoff.count());
        accept_retry.expires_after(accept_backoff);
        accept_backoff = std::min(accept_backoff * 2, kLastAcceptBackoff);
        accept_retry.async_wait([this](beast::error_code wait) {
          if (!wait && acceptor.is_open()) accept();
        });
        return;
      }
      if (acceptor.is_open()) accept();
    });
  }

  void stop_gracefully(int signal) {
    spdlog::info("signal {}: stopping; in-flight requests may take up to {} ms", signal, config.shutdown_grace_ms);
    beast::error_code ignored;
    acceptor.close(ignored);
    accept_retry.cancel();
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard lock(shared.mutex);
      shared.stopping = true;
      for (const auto& weak : shared.sessions)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    for (const auto& s : live) s->stop();
    signals.cancel();
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.shutdown_grace_ms);
    drain();
  }

  // Polls until every session has finished (or the grace period is over), then stops the loop.
  void drain() {
    bool idle = false;
    {
      std::lock_guard lock(shared.mutex);
      for (auto it = shared.sessions.begin(); it != shared.sessions.end();)
        it = it->expired() ? shared.sessions.erase(it) : std::next(it);
      idle = shared.sessions.empty();
    }
    if (idle || std::chrono::steady_clock::now() >= deadline) {
      if (!idle) spdlog::warn("grace period over: closing the remaining connections");
      ioc.stop();
      return;
    }
    grace.expires_after(std::chrono::milliseconds(20));
    grace.async_wait([this](beast::error_code ec) {
      if (!ec) drain();
    });
  }
};

Server::Server(const Config& config, api::Service& service) : impl_(std::make_unique<Impl>(config, service)) {}
Server::~Server() = default;

void Server::run() {
  impl_->listen();
  impl_->signals.async_wait([this](beast::error_code ec, int signal) {
    if (!ec) impl_->stop_gracefully(signal);
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < impl_->config.io_threads; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  spdlog::info("stopped");
}

}  // namespace evoucher::transport
