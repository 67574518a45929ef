// The HTTP service without the transport: routes, authentication, and the handlers' wiring
// to the database workers.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "evoucher/api/auth.hpp"
#include "evoucher/api/body_stream.hpp"
#include "evoucher/api/business_metrics.hpp"
#include "evoucher/api/http.hpp"
#include "evoucher/api/metrics.hpp"
#include "evoucher/api/router.hpp"
#include "evoucher/config.hpp"
#include "evoucher/ops/group_writer.hpp"
#include "evoucher/store/standby.hpp"
#include "evoucher/store/worker_pool.hpp"

namespace evoucher::store {
class Connection;
}

namespace evoucher::api {

// What a job answers when the queue is full (503 `when_full`) or it throws (a logged 500
// `when_failed`); an unreachable database is 503.
struct JobAnswers {
  const char* when_full = "the service is overloaded; try again shortly";
  const char* when_failed = "the service failed to answer this request";
};

struct ReadGate;
enum class Fallback;

// The cache of decoded policy versions that the group writer and the batches share, with the
// API's decoders of stored rules. The command line builds the service from this header alone.
std::unique_ptr<ops::PolicyCache> make_policy_cache();

class Service {
 public:
  // Blocking database work runs on db's workers; money movements go through writer's group commits.
  // `batches` runs nightly batches on connections of their own, with the command line's
  // timeouts: a batch never holds a request worker.
  // `exports` streams CSV exports, each holding one of its connections while the client reads.
  // `reads` and `exports` connect with config.read_database_url (a standby when one answers).
  Service(const Config& config, store::WorkerPool& db, store::WorkerPool& reads, ops::GroupWriter& writer,
          store::WorkerPool& batches, store::WorkerPool& exports);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Answers one request through reply, now or later from a database worker.
  void handle(Request request, Reply reply);
  Metrics& metrics() { return metrics_; }
  // For routes that need no token (the console's files).
  Router& router() { return router_; }
  const Config& config() const { return config_; }
  ops::GroupWriter& writer() { return writer_; }
  store::WorkerPool& batches() { return batches_; }
  store::WorkerPool& exports() { return exports_; }
  // Streamed bodies being written: at shutdown their writers are told the readers are gone, so
  // that the export workers can be joined.
  void track(const std::shared_ptr<BodyStream>& body);
  void abandon_streams();
  // Every {method, pattern} served, for checking the contract document against the code.
  std::vector<std::pair<std::string, std::string>> routes() const;

  using DbHandler = std::function<Response(store::Connection&, const Request&, const PathParams&)>;
  using AdminHandler =
      std::function<Response(store::Connection&, const Request&, const PathParams&, const Principal&)>;
  // Where an admin endpoint reads. The primary: what must be current (a balance, anything before
  // a write). A standby: the reports, statements, lists and exports of kStandbyReads
  // (service.cpp), which say in X-Evoucher-Read-From and X-Evoucher-Stale-Seconds where they
  // were read and how far behind that may be.
  enum class ReadFrom { primary, standby };
  // An admin endpoint: a valid bearer token first (401), and no writes by an auditor (403).
  void admin_route(std::string method, std::string pattern, AdminHandler handler);
  // A processor endpoint (POST): a valid signature first (401).
  void processor_route(std::string pattern, DbHandler handler);
  // A processor endpoint whose work is a money-path command: the signature is checked and the
  // body parsed on the I/O thread, so the request takes no database worker; handler answers
  // through its Reply once the command's group has committed.
  void processor_command(std::string pattern, Handler handler);
  // An admin endpoint that authenticates and looks up on a database worker, then hands a
  // command to the group writer and answers through its Reply.
  using AdminCommandHandler =
      std::function<void(store::Connection&, const Request&, const PathParams&, const Principal&, Reply)>;
  void admin_command(std::string method, std::string pattern, AdminCommandHandler handler);
  // Runs `work` on one of `pool`'s workers (reads or exports) when its connection is the primary,
  // or a standby at most read_max_stale_ms behind the primary's WAL flushed just before; else on
  // the primary. The answer carries where it was read, and how stale it may be.
  using ReadWork = std::function<void(store::Connection&, const store::ReadPosition&, Reply)>;
  void run_read(store::WorkerPool& pool, ReadWork work, Reply reply, JobAnswers answers = {});

 private:
  // Runs fn on a database worker; maps an unreachable database to 503 and a bug to 500.
  Handler on_db(DbHandler fn);
  using DbCommandHandler = std::function<void(store::Connection&, const Request&, const PathParams&, Reply)>;
  Handler on_db_replying(DbCommandHandler fn);
  // On the I/O thread: the caller's principal, or the 401/403 answer; neither when the token is
  // not in the directory yet and may be looked up in the database.
  struct Verdict {
    std::optional<Principal> principal;
    std::optional<Response> refusal;
    std::shared_ptr<void> lookup;  // the claimed database lookup, given back when the last holder lets go
  };
  Verdict authenticate_early(const Request& request, bool writes);
  // On a database worker, for a token the directory did not know: the principal, or the answer.
  std::optional<Response> authenticate(store::Connection& c, const Request& request, bool writes,
                                       Principal& principal);
  void refresh_tokens();
  void refresh_figures();
  // On a primary connection, for a read that may go to the standby: learns the primary's flushed
  // WAL there, then runs `work` on `pool` (read_after); on a single node, here or on `pool`.
  void read_next(store::Connection& primary, store::WorkerPool& pool, ReadWork work, Reply reply, JobAnswers answers);
  Fallback fallback_of(const store::WorkerPool& pool) const;
  void add_operations_routes();

  const Config& config_;
  store::WorkerPool& db_;
  store::WorkerPool& reads_;
  ops::GroupWriter& writer_;
  store::WorkerPool& batches_;
  store::WorkerPool& exports_;
  Router router_;
  Metrics metrics_;
  // Shared with the refresh jobs, which may outlive the service in the worker pool's queue.
  std::shared_ptr<TokenDirectory> tokens_ = std::make_shared<TokenDirectory>();
  std::shared_ptr<FiguresCache> figures_ = std::make_shared<FiguresCache>();
  std::shared_ptr<const ReadGate> gate_;  // where reads may run (standby_reads.hpp)
  std::mutex streams_mutex_;
  std::vector<std::weak_ptr<BodyStream>> streams_;
  std::mutex refresh_mutex_;
  std::condition_variable refresh_wake_;
  bool stopping_ = false;
  std::thread refresher_;
};

// Runs `work` on one of `pool`'s workers; it answers through the Reply it is given.
void run_on(store::WorkerPool& pool, std::function<void(store::Connection&, Reply)> work, Reply reply,
            JobAnswers answers = {});

// A JSON answer.
Response json_response(int status, const std::string& body);

}  // namespace evoucher::api
