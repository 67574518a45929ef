// A PostgreSQL connection and a transaction on it, with libpqxx kept out of every other layer.
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace evoucher::store {

// The database cannot be reached, the connection broke, or a statement timed out:
// the caller answers 503 and tries again later. Everything else from PostgreSQL is a bug.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A statement that ran past statement_timeout (or was cancelled): the database is there, but this
// work waited too long, most often for a lock. The transaction is lost; the connection is not.
class TimedOut : public Unavailable {
 public:
  using Unavailable::Unavailable;
};

struct ConnectionOptions {
  int statement_timeout_ms = 5000;
  int connect_timeout_s = 2;
  // For the money path, whose statements only probe by key. Each prepared statement is planned
  // once: custom plans over partitioned tables were re-planned at every execution (about a
  // millisecond each), while the generic plan prunes partitions at run time. Sequential scans,
  // hash joins and merge joins are discouraged, so that a plan made while a table was young (its
  // statistics saying it was tiny) still probes the index row by row once the table has grown,
  // instead of reading all of it. JIT is off: compiling a statement of a millisecond took
  // hundreds of milliseconds.
  bool key_probes_only = false;
  // Switch to the service's restricted role (migration 0009) once connected: it can read, insert
  // and update, and can alter, truncate, delete or disable nothing. Off for `migrate`.
  bool as_service = false;
};

// An error's text fit for the log: PostgreSQL's DETAIL lines can quote a row (a card token, a
// member id), so they are replaced by a marker.
std::string redacted(std::string_view error_text);

// The URL with the service's connection parameters added, in keyword or URI form as given.
std::string with_connection_parameters(const std::string& url, int connect_timeout_s);

// One connection and the statements prepared on it. Not thread-safe: each worker owns one.
class Connection {
 public:
  explicit Connection(const std::string& url, ConnectionOptions options = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // False once broken, or retired: the pool that owns it opens a new one for its next job.
  bool is_open() const;
  void retire();
  std::chrono::steady_clock::duration age() const;
  // Another connection to the same database, with the same options.
  std::unique_ptr<Connection> sibling() const;
  // Runs SQL text with no parameters outside any transaction (DDL, tests, tooling).
  void execute(const std::string& sql);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A READ COMMITTED transaction; rolled back on destruction unless committed.
class Tx {
 public:
  explicit Tx(Connection& connection);
  ~Tx();
  Tx(const Tx&) = delete;
  Tx& operator=(const Tx&) = delete;

  void commit();
  // Runs SQL text inside the transaction (tests and tooling, never request paths).
  void execute(const std::string& sql);

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Whether a transaction was rolled back by the database to let another one through (a deadlock,
// a serialization failure): the work may be tried again.
bool lost_to_another_transaction(const std::exception& error);

// Runs fn, turning libpqxx's connection and timeout errors into Unavailable.
template <typename Fn>
auto with_unavailable_mapped(Fn&& fn) -> decltype(fn());
void rethrow_mapped(std::exception_ptr error);

template <typename Fn>
auto with_unavailable_mapped(Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Unavailable&) {
    throw;
  } catch (...) {
    rethrow_mapped(std::current_exception());
    throw;  // not reached
  }
}

}  // namespace evoucher::store

namespace evoucher::store {
// A round trip to the database: throws Unavailable when it does not answer.
void ping(Connection& connection);
}  // namespace evoucher::store
