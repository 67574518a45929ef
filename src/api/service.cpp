// Request dispatch: match a route, check the media type, run the handler, count the answer.
#include "evoucher/api/service.hpp"

#include <spdlog/spdlog.h>

#include "endpoints.hpp"
#include "evoucher/api/problem.hpp"
#include "evoucher/crypto.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/parties.hpp"

namespace evoucher::api {
namespace {

bool is_json(const std::string* content_type) {
  if (!content_type) return false;
  std::string v = content_type->substr(0, content_type->find(';'));
  while (!v.empty() && v.back() == ' ') v.pop_back();
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return v == "application/json";
}

Response internal_error(const char* where, const std::exception* e) {
  spdlog::error("{}: {}", where, e ? e->what() : "unknown exception");
  return problem(ErrorCode::internal, "the service failed to answer this request");
}

}  // namespace

Response json_response(int status, const std::string& body) {
  Response r;
  r.status = status;
  r.body = body;
  return r;
}

Service::Service(const Config& config, store::WorkerPool& db) : config_(config), db_(db) {
  add_operations_routes();
  add_party_routes(*this);
  add_policy_routes(*this);
  add_money_routes(*this);
  add_processor_routes(*this);
  add_batch_routes(*this);
  metrics_.add_gauge("evoucher_db_queue_depth", "Requests waiting for a database worker.",
                     [this] { return static_cast<double>(db_.queued()); });
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

void Service::admin_route(std::string method, std::string pattern, AdminHandler handler) {
  const bool writes = method != "GET";
  router_.add(std::move(method), std::move(pattern),
              on_db([this, writes, handler = std::move(handler)](store::Connection& c, const Request& request,
                                                                 const PathParams& params) {
                const auto token = bearer_token(request.header("authorization"));
                if (!token) return problem(ErrorCode::unauthenticated, "an Authorization: Bearer token is required");
                Principal principal;
                if (!config_.admin_token.empty() && constant_time_equal(*token, config_.admin_token)) {
                  principal.role = Role::city_admin;
                } else {
                  std::optional<store::TokenRow> row;
                  {
                    store::Tx tx(c);
                    row = store::find_token(tx, sha256_hex(*token));
                  }
                  if (!row) return problem(ErrorCode::unauthenticated, "the bearer token is not valid");
                  principal.role = parse_role(row->role).value_or(Role::auditor);
                  principal.district = row->district;
                }
                if (writes && principal.role == Role::auditor)
                  return problem(ErrorCode::forbidden, "an auditor reads and writes nothing");
                return handler(c, request, params, principal);
              }));
}

void Service::processor_route(std::string pattern, DbHandler handler) {
  router_.add("POST", std::move(pattern),
              on_db([this, handler = std::move(handler)](store::Connection& c, const Request& request,
                                                         const PathParams& params) {
                const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
                const auto check = check_signature(request.header("x-evoucher-signature"), request.body,
                                                   config_.processor_secret, now, config_.signature_window_s);
                if (check != SignatureCheck::ok) return problem(ErrorCode::unauthenticated, describe(check));
                return handler(c, request, params);
              }));
}

Handler Service::on_db(DbHandler fn) {
  return [this, fn = std::move(fn)](const Request& request, const PathParams& params, Reply reply) {
    auto shared_reply = std::make_shared<Reply>(std::move(reply));
    auto job_request = std::make_shared<Request>(request);
    store::DbJob job;
    job.run = [fn, job_request, params, shared_reply](store::Connection& c) {
      (*shared_reply)(fn(c, *job_request, params));
    };
    job.fail = [shared_reply](std::exception_ptr error) {
      try {
        std::rethrow_exception(error);
      } catch (const store::Unavailable& e) {
        (*shared_reply)(problem(ErrorCode::unavailable, "the database is unavailable; try again shortly"));
      } catch (const std::exception& e) {
        (*shared_reply)(internal_error("database handler", &e));
      } catch (...) {
        (*shared_reply)(internal_error("database handler", nullptr));
      }
    };
    if (!db_.submit(std::move(job)))
      (*shared_reply)(problem(ErrorCode::unavailable, "the service is overloaded; try again shortly"));
  };
}

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
  if ((request.method == "POST" || request.method == "PATCH") && !is_json(request.header("content-type"))) {
    counted(problem(ErrorCode::unsupported_media_type, "the body must be application/json"));
    return;
  }
  try {
    match.route->handler(request, match.params, counted);
  } catch (const std::exception& e) {
    counted(internal_error("handler", &e));
  }
}

}  // namespace evoucher::api
