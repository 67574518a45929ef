// The audit trail, read back: GET /v1/audit?from=D1&to=D2[&district=C][&after=CURSOR][&limit=N].
// Dates are Seoul business dates, both included. A district admin reads only its own district.
#include "endpoints.hpp"
#include "evoucher/ops/reports.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

Response get_audit(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  std::string bad;
  const auto query = read_query(request, {"from", "to", "district", "after", "limit"}, bad);
  if (!query) return invalid(bad);
  const auto days = read_date_range(*query, bad);
  if (!days) return invalid(bad);
  store::AuditQuery q;
  q.from = seoul_day_start(days->first);
  q.to = seoul_day_end(days->second);
  auto listing = read_listing(*query, who);
  if (auto* refusal = std::get_if<Response>(&listing)) return std::move(*refusal);
  const auto& page = std::get<Listing>(listing);
  q.district = page.district;
  q.after = page.after;
  q.limit = page.limit;
  auto rows = ops::audit_entries(c, q);
  const bool more = static_cast<int>(rows.size()) > q.limit;
  if (more) rows.resize(static_cast<std::size_t>(q.limit));
  json entries = json::array();
  for (const auto& r : rows)
    entries.push_back({{"id", r.id},
                       {"at", format_rfc3339(r.at)},
                       {"token_name", r.entry.token_name},
                       {"role", r.entry.role},
                       {"district", r.entry.district},
                       {"method", r.entry.method},
                       {"path", r.entry.path},
                       {"resource", r.entry.resource},
                       {"status", r.entry.status}});
  return json_answer(200, {{"entries", entries},
                           {"next", more && !rows.empty() ? json(std::to_string(rows.back().id)) : json(nullptr)}});
}

}  // namespace

void add_audit_routes(Service& service) {
  // An auditor and the city admin read every district; a district admin its own.
  service.admin_route("GET", "/v1/audit", get_audit);
}

}  // namespace evoucher::api
