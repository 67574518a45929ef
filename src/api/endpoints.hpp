// Private to the api layer: the route groups, and the helpers their handlers share.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "evoucher/api/body_stream.hpp"
#include "evoucher/api/csv.hpp"
#include "evoucher/api/json_input.hpp"
#include "evoucher/api/problem.hpp"
#include "evoucher/api/service.hpp"
#include "evoucher/ops/commands.hpp"
#include "evoucher/store/audit.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::api {

void add_party_routes(Service& service);
void add_policy_routes(Service& service);
void add_money_routes(Service& service);
void add_processor_routes(Service& service);
void add_batch_routes(Service& service);
void add_audit_routes(Service& service);
void add_flag_routes(Service& service);
void add_program_routes(Service& service);
void add_report_routes(Service& service);
void add_console_routes(Service& service);

Response json_answer(int status, const nlohmann::json& body);
Response invalid(const std::string& detail);
Response forbidden(const std::string& what);

// Server-generated identifiers carry their district: "pay-bupyeong-42".
using ops::operation_ref;
using ops::OperationRef;
std::optional<OperationRef> parse_operation_ref(const char* prefix, const std::string& text);

// The Idempotency-Key header as a key for `scope`, or the 400 problem for a bad or missing one.
std::optional<std::string> idempotency_header(const Request& request, std::string& problem_detail);
std::string request_hash(const Request& request);

// A money-path command's answer as an HTTP response, and back: what a command's render stores
// is the response's status and body; a problem's media type follows from its status.
ops::Answer to_answer(const Response& response);
Response from_result(const ops::Result& result);
// Hands a command to the group writer; the reply comes after its group's commit, or at once
// with 503 when the queue is full.
void submit_command(ops::GroupWriter& writer, ops::Command command, Reply reply);

}  // namespace evoucher::api

#include "evoucher/engine/payment.hpp"
#include "evoucher/engine/policy.hpp"

namespace evoucher::api {

// The query string, with only the allowed parameters; otherwise the 400 problem's detail.
std::optional<std::map<std::string, std::string>> read_query(const Request& request,
                                                             std::initializer_list<const char*> allowed,
                                                             std::string& problem_detail);

// A load, refund or grant may be stamped at most this far after the server's clock.
inline constexpr auto kClockTolerance = std::chrono::minutes(5);

// Query parameters `from` and `to`: Seoul business dates in the service's era, `to` not before
// `from`; otherwise the 400 problem's detail.
std::optional<std::pair<std::chrono::year_month_day, std::chrono::year_month_day>> read_date_range(
    const std::map<std::string, std::string>& query, std::string& problem_detail);

// A whole decimal number from 1 to max, and nothing else; nullopt otherwise.
std::optional<std::int64_t> positive_integer(const std::string& text, std::int64_t max);

// A paged, district-scoped list's query parameters: `district` (a district admin's own by
// default, and 404 for another), `after` (the previous page's last id) and `limit` (1-500).
struct Listing {
  std::optional<std::string> district;
  std::int64_t after = 0;
  std::optional<std::string> after_text;  // a cursor that is not an id, when ids_after is false
  int limit = 100;
};
// The listing, or the problem answer for a bad parameter.
std::variant<Listing, Response> read_listing(const std::map<std::string, std::string>& query, const Principal& who,
                                             bool ids_after = true);

// Whether the caller asked for CSV: `format=csv`, or an Accept header that names text/csv. A
// `format` other than csv or json is refused with the problem's detail.
std::optional<bool> wants_csv(const Request& request, const std::map<std::string, std::string>& query,
                              std::string& problem_detail);

// A CSV export in the making: rows go into the pending chunk, which is sent once it is full.
class CsvExport {
 public:
  CsvExport(std::shared_ptr<BodyStream> body, std::function<void()> start) : body_(std::move(body)), start_(std::move(start)) {}
  std::string& buffer() { return buffer_; }
  CsvRow row() { return CsvRow(buffer_); }
  // After a row: sends the chunk once it is full. False once the client has gone: stop then.
  bool more();
  // Sends what is left.
  bool close();

 private:
  bool send();
  std::shared_ptr<BodyStream> body_;
  std::function<void()> start_;
  std::string buffer_;
};
// Answers a CSV file streamed from an export worker: the BOM and the header, then what `rows`
// writes (an ops export: a page at a time, inside one read-only snapshot). A failure before the first chunk is
// answered 503 or 500; one after it cuts the body short.
void stream_csv(Service& service, std::string filename, std::initializer_list<std::string_view> header,
                std::function<void(store::Connection&, CsvExport&)> rows, Reply reply);
// One JSON page of rows fetched limit + 1 at a time (the extra one tells that more follow): the
// items, and the next page's cursor (null on the last page).
template <typename Row, typename ToJson, typename CursorOf>
std::pair<nlohmann::json, nlohmann::json> json_page(std::vector<Row> rows, int limit, ToJson to_json, CursorOf cursor_of) {
  const bool more = static_cast<int>(rows.size()) > limit;
  if (more) rows.resize(static_cast<std::size_t>(limit));
  auto items = nlohmann::json::array();
  for (const auto& r : rows) items.push_back(to_json(r));
  return {items, more && !rows.empty() ? nlohmann::json(cursor_of(rows.back())) : nlohmann::json(nullptr)};
}

// An export's `take`: writes each row with write(row, line), and stops once the client has gone.
template <typename Line, typename Write>
std::function<bool(const Line&)> csv_rows(CsvExport& out, Write write) {
  return [&out, write](const Line& line) {
    auto row = out.row();
    write(row, line);
    row.end();
    return out.more();
  };
}
// A small CSV answer (a report of one row), with the BOM.
Response csv_answer(std::string filename, std::string body);

// An admin write's audit row: the token's name and role, the method and path, and whose resource
// (a district code, or "city"). ops fills in the resource and status once the write is judged.
store::AuditEntry audit_entry(const Request& request, const Principal& who, std::string district);
}  // namespace evoucher::api
