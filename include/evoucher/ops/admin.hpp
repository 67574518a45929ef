// What every admin write shares: its audit row, and for a keyed call the key its answer is
// stored under. Each write's own transaction (in the ops file of its resource) uses these.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "evoucher/ops/commands.hpp"
#include "evoucher/store/audit.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

// An admin's Idempotency-Key, in the partition of the district whose resource it names.
struct AdminKey {
  std::string district;
  std::string key;
  std::string request_hash;
};

// Who asked (the status is filled in when the write is judged) and, for a keyed call, its key.
struct AdminWrite {
  store::AuditEntry audit;
  std::optional<AdminKey> key;
};

// A read in a transaction of its own: read(tx)'s result.
template <typename Read>
auto reading(store::Connection& connection, Read read) {
  store::Tx tx(connection);
  return read(tx);
}

// Whether the caller may change a district's resources (an admin's role and district).
using MayWrite = std::function<bool(const std::string& district)>;

// Inside a write's transaction: the answer stored under the key by an earlier call (or that the
// key came with another request); none when the key is fresh.
std::optional<Result> earlier(store::Tx& tx, const AdminKey& key);

// Stores the answer under the key (a keyed write), records the audit row with the answer's
// status and `resource`, and commits.
Result commit_write(store::Tx& tx, const AdminWrite& write, const std::string& resource, Answer answer);

// A keyed admin call run outside one transaction (a batch that commits in chunks): the earlier
// answer, when there is one, in a transaction of its own.
std::optional<Result> earlier(store::Connection& connection, const AdminKey& key);
// Stores the run's answer under its key with its audit row, unless another call stored one first.
void record_once(store::Connection& connection, const AdminWrite& write, const std::string& resource,
                 const Answer& answer);

}  // namespace evoucher::ops
