// Helpers shared by the route groups: answers, identifiers, idempotency.
#include "endpoints.hpp"

#include <charconv>
#include <limits>

#include "evoucher/crypto.hpp"

namespace evoucher::api {

Response json_answer(int status, const nlohmann::json& body) {
  return json_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response invalid(const std::string& detail) { return problem(ErrorCode::invalid_request, detail); }

Response forbidden(const std::string& what) {
  return problem(ErrorCode::forbidden, "this token may not " + what);
}

std::optional<OperationRef> parse_operation_ref(const char* prefix, const std::string& text) {
  const std::string head = std::string(prefix) + "-";
  if (text.size() > 128 || text.compare(0, head.size(), head) != 0) return std::nullopt;
  const auto dash = text.rfind('-');
  if (dash <= head.size()) return std::nullopt;
  OperationRef ref;
  ref.district = text.substr(head.size(), dash - head.size());
  if (!is_district_code(ref.district)) return std::nullopt;
  const char* begin = text.data() + dash + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, ref.id);
  if (ec != std::errc() || ptr != end || ref.id <= 0 || begin == end) return std::nullopt;
  return ref;
}

std::optional<std::string> idempotency_header(const Request& request, std::string& problem_detail) {
  const auto* key = request.header("idempotency-key");
  if (!key) {
    problem_detail = "the Idempotency-Key header is required for this call";
    return std::nullopt;
  }
  if (key->empty() || key->size() > 128) {
    problem_detail = "the Idempotency-Key header must be 1-128 characters";
    return std::nullopt;
  }
  return *key;
}

// A key names one request: its method, path, query and body. The query is hashed only when there
// is one, so that answers stored before it counted still replay.
std::string request_hash(const Request& request) {
  const auto target = request.query.empty() ? request.path : request.path + "?" + request.query;
  return sha256_hex(request.method + " " + target + "\n" + request.body);
}

ops::Answer to_answer(const Response& response) { return {response.status, response.body}; }

Response from_result(const ops::Result& result) {
  switch (result.trouble) {
    case ops::Trouble::none: break;
    case ops::Trouble::overloaded:
      return problem(ErrorCode::unavailable, "the service is overloaded; try again shortly");
    case ops::Trouble::unavailable:
      return problem(ErrorCode::unavailable, "the database is unavailable; try again shortly");
    case ops::Trouble::unconfirmed:
      return problem(ErrorCode::unavailable,
                     "the commit is not yet confirmed by the standby, so its outcome is not known; replay this "
                     "request with the same key to learn it");
    case ops::Trouble::failed:
      return problem(ErrorCode::internal, "the service failed to answer this request");
  }
  if (result.key_reused)
    return problem(ErrorCode::idempotency_key_reused,
                   "this key was already used with a different request; use a new key for a new request");
  Response r = json_response(result.answer.status, result.answer.body);
  if (r.status >= 400) r.content_type = "application/problem+json";
  return r;
}

void submit_command(ops::GroupWriter& writer, ops::Command command, Reply reply) {
  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  const bool queued =
      writer.submit(std::move(command), [shared_reply](ops::Result result) { (*shared_reply)(from_result(result)); });
  if (!queued) (*shared_reply)(from_result({ops::Trouble::overloaded, false, {}, {}}));
}


}  // namespace evoucher::api


namespace evoucher::api {
std::optional<std::map<std::string, std::string>> read_query(const Request& request,
                                                             std::initializer_list<const char*> allowed,
                                                             std::string& problem_detail) {
  auto query = parse_query(request.query);
  if (!query) {
    problem_detail = "the query string is malformed";
    return std::nullopt;
  }
  for (const auto& [key, value] : *query) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      problem_detail = "query parameter '" + key + "' is not known";
      return std::nullopt;
    }
  }
  return query;
}

store::AuditEntry audit_entry(const Request& request, const Principal& who, std::string district) {
  // A token made before tokens had names is named by its role.
  std::string name = who.name.empty() ? std::string("unnamed ") + to_string(who.role) : who.name;
  return {std::move(name), to_string(who.role), std::move(district), request.method, request.path, "", 0};
}

std::optional<std::int64_t> positive_integer(const std::string& text, std::int64_t max) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || n < 1 || n > max) return std::nullopt;
  return n;
}

std::optional<std::pair<std::chrono::year_month_day, std::chrono::year_month_day>> read_date_range(
    const std::map<std::string, std::string>& query, std::string& problem_detail) {
  std::chrono::year_month_day days[2];
  for (int i = 0; i < 2; ++i) {
    const char* k = i == 0 ? "from" : "to";
    const auto d = query.count(k) ? parse_date(query.at(k)) : std::nullopt;
    if (!d || !in_service_era(*d)) {
      problem_detail = std::string("query parameter '") + k + "' must be a date, YYYY-MM-DD, " + kServiceEra;
      return std::nullopt;
    }
    days[i] = *d;
  }
  if (std::chrono::sys_days(days[1]) < std::chrono::sys_days(days[0])) {
    problem_detail = "query parameter 'to' must not be before 'from'";
    return std::nullopt;
  }
  return std::pair{days[0], days[1]};
}

std::variant<Listing, Response> read_listing(const std::map<std::string, std::string>& query, const Principal& who,
                                             bool ids_after) {
  Listing out;
  if (query.count("district")) {
    const auto& district = query.at("district");
    if (!is_district_code(district)) return invalid("query parameter 'district' must be a district code");
    if (!may_read(who, district)) return problem(ErrorCode::not_found, "no district " + district);
    out.district = district;
  } else if (who.role == Role::district_admin) {
    out.district = who.district;  // a district admin's list is its own district's
  }
  if (query.count("after") && !ids_after) {
    out.after_text = query.at("after");
  } else if (query.count("after")) {
    const auto after = positive_integer(query.at("after"), std::numeric_limits<std::int64_t>::max());
    if (!after) return invalid("query parameter 'after' is not a cursor from an earlier page");
    out.after = *after;
  }
  if (query.count("limit")) {
    const auto limit = positive_integer(query.at("limit"), 500);
    if (!limit) return invalid("query parameter 'limit' must be an integer from 1 to 500");
    out.limit = static_cast<int>(*limit);
  }
  return out;
}

}  // namespace evoucher::api
