// Private to the store: the libpqxx objects behind Connection and Tx, and prepared-statement helpers.
#pragma once

#include <chrono>
#include <pqxx/pqxx>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <type_traits>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/time.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// Named SQL, prepared once per connection on first use.
struct Statement {
  const char* name;
  std::string sql;
};

// Notices from the server that a commit's wait for the synchronous standby was cancelled (by
// pg_cancel_backend, say): the commit then stands on the primary alone, and PostgreSQL reports it
// only as a WARNING. The text is the server's own (lc_messages C, as every evoucher cluster has).
class SyncWaitNotices : public pqxx::errorhandler {
 public:
  explicit SyncWaitNotices(pqxx::connection_base& conn) : pqxx::errorhandler(conn) {}
  bool operator()(const char message[]) noexcept override {
    // "canceling wait for synchronous replication due to user request", and "canceling the wait
    // for synchronous replication and terminating connection due to administrator command".
    if (std::string_view(message).find("wait for synchronous replication") != std::string_view::npos) cancelled = true;
    return true;
  }
  bool cancelled = false;
};

struct Connection::Impl {
  pqxx::connection conn;
  std::set<std::string> prepared;
  std::string url;  // as given, for a sibling
  ConnectionOptions options;
  SyncWaitNotices sync_wait;
  bool retired = false;  // reopened before the next job
  std::chrono::steady_clock::time_point opened_at = std::chrono::steady_clock::now();
  Impl(const std::string& full_url, std::string given_url, ConnectionOptions given_options)
      : conn(full_url), url(std::move(given_url)), options(given_options), sync_wait(conn) {}
};

struct Tx::Impl {
  Connection& connection;
  pqxx::work work;
  explicit Impl(Connection& c) : connection(c), work(c.impl().conn) {}
};

inline void ensure_prepared(Connection& c, const Statement& st) {
  auto& impl = c.impl();
  if (impl.prepared.insert(st.name).second) impl.conn.prepare(st.name, st.sql);
}

template <typename... Args>
pqxx::result run(Tx& tx, const Statement& st, Args&&... args) {
  ensure_prepared(tx.impl().connection, st);
  return tx.impl().work.exec_prepared(st.name, std::forward<Args>(args)...);
}

// Column readers: won, a timestamp sent as RFC 3339 text, and NULL as nullopt.
inline Won won(const pqxx::field& f) { return Won(f.as<std::int64_t>()); }
inline Timestamp timestamp(const pqxx::field& f) { return parse_rfc3339(f.as<std::string>()).value(); }
template <typename T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

// Joins a payment `p` to whether the batch has posted it (`posting.found` is NULL while it is
// pending). The LIMIT keeps the lookup a probe of the postings' primary key per payment: as a
// plain anti-join, a plan made while the table looked empty read all of a date's postings for
// every payment.
inline const std::string kPostingOfPayment =
    "LEFT JOIN LATERAL (SELECT true AS found FROM cashback_postings k WHERE k.district = p.district "
    "                   AND k.business_date = p.business_date AND k.payment_id = p.id LIMIT 1) posting ON true";

// A PostgreSQL array literal for text[] or bigint[] parameters (libpqxx 6.4 has no array binding).
std::string text_array(const std::vector<std::string>& values);
// Appends one text element of an array literal, quoted and escaped.
void append_array_text(std::string& out, const std::string& value);

// A bigint[] literal of `count` elements, the i-th being value(i); an empty optional is NULL.
template <typename F>
std::string bigint_array(std::size_t count, F value) {
  std::string out = "{";
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    const auto v = value(i);
    if constexpr (std::is_integral_v<decltype(v)>) {
      out += std::to_string(v);
    } else {
      out += v ? std::to_string(*v) : "NULL";
    }
  }
  return out + "}";
}
inline std::string bigint_array(const std::vector<long long>& values) {
  return bigint_array(values.size(), [&](std::size_t i) { return values[i]; });
}

}  // namespace evoucher::store
