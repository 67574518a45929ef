// Opening connections, the transaction wrapper, and which PostgreSQL errors mean "unavailable".
#include <algorithm>
#include <poll.h>

#include "pq.hpp"

namespace evoucher::store {
namespace {

bool is_unavailable_state(const std::string& sqlstate) {
  // 08: connection exception; 57014: statement timeout or cancel; 57P01-57P03: shutdown, crash, starting.
  return sqlstate.rfind("08", 0) == 0 || sqlstate == "57014" || sqlstate.rfind("57P", 0) == 0 ||
         sqlstate == "53300";  // too many connections
}

}  // namespace

std::string redacted(std::string_view error_text) {
  std::string out;
  std::size_t start = 0;
  while (start < error_text.size()) {
    auto end = error_text.find('\n', start);
    if (end == std::string_view::npos) end = error_text.size();
    const auto line = error_text.substr(start, end - start);
    out += line.rfind("DETAIL:", 0) == 0 ? std::string_view("DETAIL:  (redacted)") : line;
    if (end < error_text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

// A database machine that is lost sends no reset: without keepalives and a TCP user timeout, a
// connection to it (a commit waiting for an answer) would hang for the kernel's retransmissions,
// about 15 minutes. With them it breaks in about 10 s, and the pool reconnects to the new primary.
// libpq ignores them on Unix sockets.
std::string with_connection_parameters(const std::string& url, int connect_timeout_s) {
  const std::string timeout = std::to_string(connect_timeout_s);
  const std::string tcp = "keepalives_idle=5&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000";
  // libpq takes a keyword string or a URI; a URI takes its parameters after '?'.
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
    return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=" + timeout +
           "&application_name=evoucher&" + tcp;
  std::string keywords = tcp;
  std::replace(keywords.begin(), keywords.end(), '&', ' ');
  return url + " connect_timeout=" + timeout + " application_name=evoucher " + keywords;
}

void rethrow_mapped(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::broken_connection& e) {
    throw Unavailable(std::string("database connection: ") + e.what());
  } catch (const pqxx::in_doubt_error& e) {
    throw Unavailable(std::string("database commit in doubt: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "57014") throw TimedOut(std::string("database: ") + e.what());
    if (is_unavailable_state(e.sqlstate())) throw Unavailable(std::string("database: ") + e.what());
    throw;
  }
}

bool lost_to_another_transaction(const std::exception& error) {
  return dynamic_cast<const pqxx::transaction_rollback*>(&error) != nullptr;
}

Connection::Connection(const std::string& url, ConnectionOptions options) {
  const std::string full = with_connection_parameters(url, options.connect_timeout_s);
  with_unavailable_mapped([&] {
    impl_ = std::make_unique<Impl>(full, url, options);
    impl_->conn.set_variable("statement_timeout", std::to_string(options.statement_timeout_ms));
    if (options.key_probes_only) {
      impl_->conn.set_variable("plan_cache_mode", "force_generic_plan");
      impl_->conn.set_variable("enable_seqscan", "off");
      impl_->conn.set_variable("enable_hashjoin", "off");
      impl_->conn.set_variable("enable_mergejoin", "off");
    }
    // Compiling a plan costs 100-200 ms (measured on the batch's pick, whose estimate crossed the
    // JIT thresholds on every chunk); no statement of this service runs long enough to repay it.
    impl_->conn.set_variable("jit", "off");
    impl_->conn.set_variable("timezone", "UTC");
    if (options.as_service) {
      pqxx::nontransaction n(impl_->conn);
      if (n.exec("SELECT set_config('role', 'evoucher_service', false) FROM pg_roles "
                 "WHERE rolname = 'evoucher_service'")
              .empty())
        throw std::runtime_error("the database has no evoucher_service role: run `evoucher migrate` first");
    }
    return 0;
  });
}

Connection::~Connection() = default;

// Between transactions an open connection has nothing to read. Anything readable (the server's
// farewell before a restart or an idle timeout, or EOF) means it is gone: found with one poll,
// without a round trip, so that the next job opens a fresh connection instead of failing.
bool Connection::is_open() const {
  if (!impl_ || impl_->retired || !impl_->conn.is_open()) return false;
  pollfd socket{impl_->conn.sock(), POLLIN, 0};
  if (socket.fd < 0) return false;
  return ::poll(&socket, 1, 0) == 0;
}

void Connection::retire() { impl_->retired = true; }

std::chrono::steady_clock::duration Connection::age() const {
  return std::chrono::steady_clock::now() - impl_->opened_at;
}

std::unique_ptr<Connection> Connection::sibling() const {
  return std::make_unique<Connection>(impl_->url, impl_->options);
}

void Connection::execute(const std::string& sql) {
  with_unavailable_mapped([&] {
    pqxx::nontransaction n(impl_->conn);
    n.exec(sql);
    return 0;
  });
}

Tx::Tx(Connection& connection) {
  with_unavailable_mapped([&] {
    impl_ = std::make_unique<Impl>(connection);
    return 0;
  });
}

Tx::~Tx() = default;

// A commit whose wait for the standby was cancelled is on the primary alone: it is reported as
// Unavailable (503 on a request; a batch stops and is resumed), never as done.
void Tx::commit() {
  auto& notices = impl_->connection.impl().sync_wait;
  notices.cancelled = false;
  with_unavailable_mapped([&] {
    impl_->work.commit();
    return 0;
  });
  if (notices.cancelled)
    throw Unavailable("the commit's wait for the synchronous standby was cancelled: it may stand on the primary alone");
}

void Tx::execute(const std::string& sql) {
  with_unavailable_mapped([&] {
    impl_->work.exec(sql);
    return 0;
  });
}

void append_array_text(std::string& out, const std::string& value) {
  out += '"';
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    append_array_text(out, values[i]);
  }
  out += '}';
  return out;
}

}  // namespace evoucher::store

namespace evoucher::store {
void ping(Connection& connection) {
  with_unavailable_mapped([&] {
    pqxx::nontransaction n(connection.impl().conn);
    n.exec("SELECT 1");
    return 0;
  });
}
}  // namespace evoucher::store
