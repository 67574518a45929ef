// Writing and reading the audit trail.
#include "evoucher/store/audit.hpp"

#include <nlohmann/json.hpp>

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kRecordAudit{
    "audit_record",
    "INSERT INTO audit_log (token_name, role, district, method, path, resource, status) "
    "SELECT token_name, role, district, method, path, resource, status "
    "  FROM jsonb_to_recordset($1::jsonb) AS r(token_name text, role text, district text, method text, path text, "
    "                                          resource text, status integer)"};

const Statement kAuditEntries{
    "audit_entries",
    "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS at, token_name, role, district, "
    "       method, path, resource, status "
    "  FROM audit_log "
    " WHERE at >= $1::timestamptz AND at < $2::timestamptz AND ($3::text IS NULL OR district = $3) AND id > $4 "
    " ORDER BY id LIMIT $5"};

}  // namespace

void record_audit(Tx& tx, const std::vector<AuditEntry>& entries) {
  if (entries.empty()) return;
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& e : entries)
    rows.push_back({{"token_name", e.token_name},
                    {"role", e.role},
                    {"district", e.district},
                    {"method", e.method},
                    {"path", e.path},
                    {"resource", e.resource},
                    {"status", e.status}});
  with_unavailable_mapped([&] {
    run(tx, kRecordAudit, rows.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return 0;
  });
}

std::vector<AuditRow> audit_entries(Tx& tx, const AuditQuery& q) {
  return with_unavailable_mapped([&] {
    const auto rows = run(tx, kAuditEntries, format_rfc3339(q.from), format_rfc3339(q.to), q.district, q.after,
                          q.limit + 1);
    std::vector<AuditRow> out;
    for (const auto& row : rows) {
      AuditRow a;
      a.id = row["id"].as<std::int64_t>();
      a.at = timestamp(row["at"]);
      auto text = [&](const char* column) { return row[column].as<std::string>(); };
      a.entry = {text("token_name"), text("role"),     text("district"),         text("method"),
                 text("path"),       text("resource"), row["status"].as<int>()};
      out.push_back(std::move(a));
    }
    return out;
  });
}

}  // namespace evoucher::store
