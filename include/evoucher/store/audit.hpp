// The audit trail (migration 0010): who wrote what through the admin API, recorded in the
// transaction of the change itself, so that a change and its record commit or vanish together.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

struct AuditEntry {
  std::string token_name;  // the token's name, never the token
  std::string role;
  std::string district;  // whose resource: a district code, or "city"
  std::string method;
  std::string path;
  std::string resource;  // "member:m-1", "load:load-bupyeong-7", ...
  int status = 0;
};

// Adds the entries to the transaction; nothing for none.
void record_audit(Tx& tx, const std::vector<AuditEntry>& entries);

struct AuditRow {
  std::int64_t id = 0;
  Timestamp at;
  AuditEntry entry;
};
struct AuditQuery {
  Timestamp from, to;  // [from, to)
  std::optional<std::string> district;
  std::int64_t after = 0;  // the id of the previous page's last row
  int limit = 100;
};
// Entries in id order; one more than limit is asked for, so the caller knows whether a next page exists.
std::vector<AuditRow> audit_entries(Tx& tx, const AuditQuery& query);

}  // namespace evoucher::store
