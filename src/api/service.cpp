// Request dispatch: match a route, check the media type, run the handler, count the answer.
#include "evoucher/api/service.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <set>

#include "endpoints.hpp"
#include "standby_reads.hpp"
#include "evoucher/api/problem.hpp"
#include "evoucher/crypto.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/api/policy_json.hpp"
#include "evoucher/ops/platform.hpp"

namespace evoucher::api {
namespace {

bool is_media(const std::string* content_type, const char* media) {
  if (!content_type) return false;
  std::string v = content_type->substr(0, content_type->find(';'));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == media;
}

// Bodies are JSON; a bulk grant may also come as CSV.
bool acceptable_body(const std::string* content_type, const std::string& route) {
  if (is_media(content_type, "application/json")) return true;
  return route == "/v1/programs/{id}/grants" && is_media(content_type, "text/csv");
}

Response internal_error(const char* where, const std::exception* e) {
  spdlog::error("{}: {}", where, e ? store::redacted(e->what()) : std::string("unknown exception"));
  return problem(ErrorCode::internal, "the service failed to answer this request");
}

}  // namespace

Response json_response(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.body = body;
  return r;
}

namespace {

std::string render_group_sizes(const ops::GroupStats& s) {
  std::string out =
      "# HELP evoucher_group_commit_size Money-path commands committed together in one transaction.\n"
      "# TYPE evoucher_group_commit_size histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < s.buckets.size(); ++i) {
    cumulative += s.buckets[i];
    out += "evoucher_group_commit_size_bucket{le=\"" + std::to_string(ops::GroupStats::kBounds[i]) + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += "evoucher_group_commit_size_bucket{le=\"+Inf\"} " + std::to_string(s.groups) + "\n";
  out += "evoucher_group_commit_size_sum " + std::to_string(s.commands) + "\n";
  out += "evoucher_group_commit_size_count " + std::to_string(s.groups) + "\n";
  out += "# HELP evoucher_group_waits_cut_total Money-path callers answered 503 because their command waited past "
         "commit_wait_ms (a commit waiting for the synchronous standby, or a queue behind one).\n"
         "# TYPE evoucher_group_waits_cut_total counter\n"
         "evoucher_group_waits_cut_total " + std::to_string(s.waits_cut) + "\n";
  out += "# HELP evoucher_flags_raised_total Fraud flags raised by approved payments since start, by issuing "
         "district and rule.\n"
         "# TYPE evoucher_flags_raised_total counter\n";
  for (const auto& [key, count] : s.flags)
    out += "evoucher_flags_raised_total{district=\"" + key.first + "\",rule=\"" + key.second + "\"} " +
           std::to_string(count) + "\n";
  return out;
}

}  // namespace

// How often the token directory is read again from the database.
constexpr std::chrono::seconds kTokenRefresh{2};

Service::Service(const Config& config, store::WorkerPool& db, store::WorkerPool& reads, ops::GroupWriter& writer,
                 store::WorkerPool& batches, store::WorkerPool& exports)
    : config_(config),
      db_(db),
      reads_(reads),
      writer_(writer),
      batches_(batches),
      exports_(exports),
      gate_(std::make_shared<const ReadGate>(
          ReadGate{db, reads.url() != db.url(), static_cast<double>(config.read_max_stale_ms) / 1000.0})) {
  add_operations_routes();
  add_party_routes(*this);
  add_policy_routes(*this);
  add_money_routes(*this);
  add_processor_routes(*this);
  add_batch_routes(*this);
  add_audit_routes(*this);
  add_flag_routes(*this);
  add_program_routes(*this);
  add_report_routes(*this);
  add_console_routes(*this);
  metrics_.add_gauge("evoucher_db_queue_depth", "Requests waiting for a database worker.",
                     [this] { return static_cast<double>(db_.queued()); });
  metrics_.add_gauge("evoucher_group_queue_depth", "Money-path commands waiting for a group writer.",
                     [this] { return static_cast<double>(writer_.queued()); });
  metrics_.add_section([this] {
    const auto stats = writer_.stats();
    return render_group_sizes(stats) + render_tally(stats.business);
  });
  metrics_.add_section([figures = figures_] { return figures->render(); });
  refresher_ = std::thread([this] {
    std::unique_lock lock(refresh_mutex_);
    auto figures_due = std::chrono::steady_clock::now();
    while (!stopping_) {
      lock.unlock();
      refresh_tokens();
      if (std::chrono::steady_clock::now() >= figures_due) {
        refresh_figures();
        figures_due = std::chrono::steady_clock::now() + std::chrono::seconds(config_.metrics_refresh_s);
      }
      lock.lock();
      refresh_wake_.wait_for(lock, kTokenRefresh, [this] { return stopping_; });
    }
  });
}

std::vector<std::pair<std::string, std::string>> Service::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : router_.routes()) out.emplace_back(r.method, r.pattern);
  return out;
}

void Service::add_operations_routes() {
  router_.add("GET", "/healthz", [](const Request&, const PathParams&, Reply reply) {
    reply(json_response(200, R"({"status":"ok"})"));
  });
  router_.add("GET", "/readyz", on_db([](store::Connection& c, const Request&, const PathParams&) {
                store::ping(c);
                return json_response(200, R"({"status":"ready"})");
              }));
  router_.add("GET", "/metrics", [this](const Request&, const PathParams&, Reply reply) {
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = metrics_.render();
    reply(std::move(r));
  });
}

Service::~Service() {
  {
    std::lock_guard lock(refresh_mutex_);
    stopping_ = true;
  }
  refresh_wake_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

namespace {

std::optional<Response> refused_to_auditor(bool writes, const Principal& principal) {
  if (writes && principal.role == Role::auditor) return problem(ErrorCode::forbidden, "an auditor reads and writes nothing");
  return std::nullopt;
}

Principal principal_of(const TokenDirectory::Token& token) { return {token.role, token.district, token.name}; }

}  // namespace

std::unique_ptr<ops::PolicyCache> make_policy_cache() {
  return std::make_unique<ops::PolicyCache>(decode_stored_city_rules, decode_stored_district_rules);
}

void Service::refresh_tokens() {
  store::DbJob job;
  job.run = [tokens = tokens_](store::Connection& c) {
    std::map<std::string, TokenDirectory::Token> by_hash;
    for (auto& [hash, row] : ops::tokens(c))
      by_hash[hash] = {parse_role(row.role).value_or(Role::auditor), row.district, row.name};
    tokens->replace(std::move(by_hash));
  };
  job.fail = [](std::exception_ptr) {};  // the next refresh tries again
  db_.submit(std::move(job));
}

void Service::track(const std::shared_ptr<BodyStream>& body) {
  std::lock_guard lock(streams_mutex_);
  std::erase_if(streams_, [](const auto& weak) { return weak.expired(); });
  streams_.push_back(body);
}

void Service::abandon_streams() {
  std::lock_guard lock(streams_mutex_);
  for (const auto& weak : streams_)
    if (auto body = weak.lock()) body->abandon();
  streams_.clear();
}

Fallback Service::fallback_of(const store::WorkerPool& pool) const {
  return &pool == &exports_ ? Fallback::own_connection : Fallback::hop;
}

void Service::read_next(store::Connection& primary, store::WorkerPool& pool, ReadWork work, Reply reply,
                        JobAnswers answers) {
  if (!gate_->standby_possible) {
    const store::ReadPosition here;
    if (&pool == &reads_) return work(primary, here, with_read_headers(std::move(reply), here));
    return read_on(pool, here, std::move(work), std::move(reply), answers);
  }
  read_after(gate_, pool, ops::flushed_lsn(primary), std::move(work), std::move(reply), answers, fallback_of(pool));
}

void Service::run_read(store::WorkerPool& pool, ReadWork work, Reply reply, JobAnswers answers) {
  if (!gate_->standby_possible) return read_on(pool, store::ReadPosition{}, std::move(work), std::move(reply), answers);
  auto shared_work = std::make_shared<ReadWork>(std::move(work));
  run_on(
      db_,
      [this, &pool, shared_work, answers](store::Connection& primary, Reply answer) {
        read_next(primary, pool, *shared_work, std::move(answer), answers);
      },
      std::move(reply), answers);
}

// Replication's figures on the primary, then the business figures where reads go.
void Service::refresh_figures() {
  store::DbJob job;
  job.run = [figures = figures_, gate = gate_, &reads = reads_](store::Connection& c) {
    figures->store_replication(ops::replication_figures(c));
    const auto read = [figures](store::Connection& r, const store::ReadPosition& at) {
      const auto now = now_utc();
      figures->store(ops::business_figures(r, format_date(seoul_business_date(now))), now, at);
    };
    if (!gate->standby_possible) return read(c, store::ReadPosition{});
    read_after(
        gate, reads, ops::flushed_lsn(c),
        [read](store::Connection& r, const store::ReadPosition& at, Reply done) {
          read(r, at);
          done(Response{});
        },
        [](Response r) {
          if (r.status >= 500) spdlog::warn("reading the business figures for /metrics: {}", r.body);
        },
        {}, Fallback::hop);
  };
  job.fail = [](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::warn("reading the figures for /metrics: {}", store::redacted(e.what()));
    } catch (...) {
    }
  };
  db_.submit(std::move(job));
}

Service::Verdict Service::authenticate_early(const Request& request, bool writes) {
  Verdict v;
  const auto token = bearer_token(request.header("authorization"));
  if (!token) {
    v.refusal = problem(ErrorCode::unauthenticated, "an Authorization: Bearer token is required");
    return v;
  }
  if (!config_.admin_token.empty() && constant_time_equal(*token, config_.admin_token)) {
    v.principal = Principal{Role::city_admin, std::nullopt, "EVOUCHER_ADMIN_TOKEN"};
  } else if (const auto known = tokens_->find(sha256_hex(*token))) {
    v.principal = principal_of(*known);
  } else if (!tokens_->begin_lookup()) {
    v.refusal = problem(ErrorCode::unauthenticated, "the bearer token is not valid");
    return v;
  } else {
    // Looked up on a database worker; the claim goes back when that job is done or dropped.
    v.lookup = std::shared_ptr<void>(nullptr, [tokens = tokens_](void*) { tokens->end_lookup(); });
    return v;
  }
  v.refusal = refused_to_auditor(writes, *v.principal);
  return v;
}

std::optional<Response> Service::authenticate(store::Connection& c, const Request& request, bool writes,
                                              Principal& principal) {
  const auto hash = sha256_hex(bearer_token(request.header("authorization")).value_or(""));
  const auto row = ops::find_token(c, hash);
  if (!row) return problem(ErrorCode::unauthenticated, "the bearer token is not valid");
  const TokenDirectory::Token token{parse_role(row->role).value_or(Role::auditor), row->district, row->name};
  tokens_->add(hash, token);
  principal = principal_of(token);
  return refused_to_auditor(writes, principal);
}

// An admin route is an admin command that answers once, from its return value.
void Service::admin_route(std::string method, std::string pattern, AdminHandler handler) {
  admin_command(std::move(method), std::move(pattern),
                [handler = std::move(handler)](store::Connection& c, const Request& request, const PathParams& params,
                                               const Principal& who, Reply reply) {
                  reply(handler(c, request, params, who));
                });
}

namespace {
// The admin GETs a standby may answer: reports, statements, lists and CSV exports, and so the
// console's pages. Balances, parties, policies and pools (a pool's remaining budget, read before a
// top-up) read the primary: an admin reads them to act.
const std::set<std::string> kStandbyReads = {
    "/v1/payments",          "/v1/settlements",           "/v1/programs/{id}/grants",
    "/v1/flags",             "/v1/audit",                 "/v1/members/{id}/statement",
    "/v1/pools/{id}/burn-down", "/v1/batches/cashback",
    "/v1/batches/cashback/{district}/{date}",             "/v1/ledger/trial-balance",
    "/v1/districts/{code}/summary"};
}  // namespace

// The token is checked on the I/O thread; only a token the directory does not know yet takes a
// database worker to be looked up.
void Service::admin_command(std::string method, std::string pattern, AdminCommandHandler handler) {
  const bool writes = method != "GET";
  const auto from = !writes && kStandbyReads.count(pattern) ? ReadFrom::standby : ReadFrom::primary;
  auto shared_handler = std::make_shared<AdminCommandHandler>(std::move(handler));
  router_.add(std::move(method), std::move(pattern),
              [this, writes, shared_handler, from](const Request& request, const PathParams& params, Reply reply) {
                auto verdict = authenticate_early(request, writes);
                if (verdict.refusal) return reply(std::move(*verdict.refusal));
                // The lookup's claim is given back as soon as the token is known, before any answer
                // leaves: the caller's next call, with another new token, must find it free.
                auto claim = std::make_shared<std::shared_ptr<void>>(std::move(verdict.lookup));
                on_db_replying([this, writes, shared_handler, known = verdict.principal, claim, from](
                                   store::Connection& c, const Request& r, const PathParams& p, Reply answer) {
                  Principal principal;
                  if (known) {
                    principal = *known;
                  } else {
                    auto refused = authenticate(c, r, writes, principal);
                    claim->reset();
                    if (refused) return answer(std::move(*refused));
                  }
                  if (from == ReadFrom::primary) return (*shared_handler)(c, r, p, principal, std::move(answer));
                  // Authenticated on the primary (a revoked token is refused at once); read where
                  // it is fresh enough.
                  auto read_request = std::make_shared<Request>(r);
                  read_next(
                      c, reads_,
                      [shared_handler, read_request, p, principal](store::Connection& rc, const store::ReadPosition&,
                                                                   Reply a) {
                        (*shared_handler)(rc, *read_request, p, principal, std::move(a));
                      },
                      std::move(answer), {});
                })(request, params, std::move(reply));
              });
}

namespace {
std::optional<Response> check_processor_signature(const Config& config, const Request& request) {
  const auto now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto check = check_signature(request.header("x-evoucher-signature"), request.body, config.processor_secret, now,
                                     config.signature_window_s);
  if (check != SignatureCheck::ok) return problem(ErrorCode::unauthenticated, describe(check));
  return std::nullopt;
}
}  // namespace

// The signature is checked on the I/O thread: a badly signed call never takes a database worker.
void Service::processor_route(std::string pattern, DbHandler handler) {
  router_.add("POST", std::move(pattern),
              [this, on_database = on_db(std::move(handler))](const Request& request, const PathParams& params,
                                                              Reply reply) {
                if (auto refused = check_processor_signature(config_, request)) return reply(std::move(*refused));
                on_database(request, params, std::move(reply));
              });
}

void Service::processor_command(std::string pattern, Handler handler) {
  router_.add("POST", std::move(pattern),
              [this, handler = std::move(handler)](const Request& request, const PathParams& params, Reply reply) {
                if (auto refused = check_processor_signature(config_, request)) return reply(std::move(*refused));
                handler(request, params, std::move(reply));
              });
}

Handler Service::on_db(DbHandler fn) {
  return on_db_replying([fn = std::move(fn)](store::Connection& c, const Request& request, const PathParams& params,
                                             Reply reply) { reply(fn(c, request, params)); });
}

// The handler must either answer through its Reply or throw before handing it on.
void run_on(store::WorkerPool& pool, std::function<void(store::Connection&, Reply)> work, Reply reply,
            JobAnswers answers) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  store::DbJob job;
  job.run = [work = std::move(work), shared_reply](store::Connection& c) {
    work(c, [shared_reply](Response r) { (*shared_reply)(std::move(r)); });
  };
  job.fail = [shared_reply, answers](std::exception_ptr error) {
    try {
      std::rethrow_exception(error);
    } catch (const store::Unavailable& e) {
      (*shared_reply)(problem(ErrorCode::unavailable, "the database is unavailable; try again shortly"));
    } catch (const std::exception& e) {
      spdlog::error("database handler: {}", store::redacted(e.what()));
      (*shared_reply)(problem(ErrorCode::internal, answers.when_failed));
    } catch (...) {
      spdlog::error("database handler: unknown exception");
      (*shared_reply)(problem(ErrorCode::internal, answers.when_failed));
    }
  };
  if (!pool.submit(std::move(job))) (*shared_reply)(problem(ErrorCode::unavailable, answers.when_full));
}

Handler Service::on_db_replying(DbCommandHandler fn) {
  return [this, fn = std::move(fn)](const Request& request, const PathParams& params, Reply reply) {
    auto job_request = std::make_shared<Request>(request);
    run_on(
        db_, [fn, job_request, params](store::Connection& c, Reply answer) { fn(c, *job_request, params, std::move(answer)); },
        std::move(reply));
  };
}

namespace {

// The first query parameter, path segment or header that is not UTF-8, described; none when all are.
std::optional<std::string> unreadable_text(const Request& request, const PathParams& params) {
  if (const auto query = parse_query(request.query))
    for (const auto& [key, value] : *query) {
      if (!is_utf8(key)) return std::string("a query parameter's name is not valid UTF-8");
      if (!is_utf8(value)) return "query parameter '" + key + "' is not valid UTF-8";
    }
  for (const auto& [name, value] : params)
    if (!is_utf8(value)) return "path segment '" + name + "' is not valid UTF-8";
  for (const auto& [name, value] : request.headers)
    if (!is_utf8(value)) return "header '" + name + "' is not valid UTF-8";
  return std::nullopt;
}

}  // namespace

void Service::handle(Request request, Reply reply) {
  const auto started = std::chrono::steady_clock::now();
  const auto match = router_.match(request.method, request.path);
  const std::string route = match.route ? match.route->pattern : "unmatched";
  // The log names the route pattern, not the path: a path can hold a card token.
  Reply counted = [this, reply = std::move(reply), started, method = request.method, route](Response response) {
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    metrics_.observe(method, route, response.status, took);
    spdlog::debug("{} {} -> {} in {} us", method, route, response.status, took.count());
    reply(std::move(response));
  };
  if (!match.route) {
    if (match.allowed.empty()) {
      counted(problem(ErrorCode::not_found, "no resource at " + request.path));
      return;
    }
    std::string allow;
    for (const auto& m : match.allowed) allow += (allow.empty() ? "" : ", ") + m;
    auto r = problem(ErrorCode::method_not_allowed, request.method + " is not allowed on " + request.path +
                                                        "; allowed: " + allow);
    r.headers.emplace_back("Allow", allow);
    counted(std::move(r));
    return;
  }
  // Text that is not UTF-8 never reaches a handler: PostgreSQL would refuse it as a parameter.
  if (auto bad = unreadable_text(request, match.params)) {
    counted(problem(ErrorCode::invalid_request, *bad));
    return;
  }
  if ((request.method == "POST" || request.method == "PATCH") && !acceptable_body(request.header("content-type"), route)) {
    counted(problem(ErrorCode::unsupported_media_type,
                    route == "/v1/programs/{id}/grants" ? "the body must be application/json or text/csv"
                                                        : "the body must be application/json"));
    return;
  }
  try {
    match.route->handler(request, match.params, counted);
  } catch (const std::exception& e) {
    counted(internal_error("handler", &e));
  }
}

}  // namespace evoucher::api
