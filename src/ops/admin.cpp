// The idempotency key and the audit row of an admin write, in the write's own transaction.
#include "evoucher/ops/admin.hpp"

#include "evoucher/store/ledger.hpp"

namespace evoucher::ops {

std::optional<Result> earlier(store::Tx& tx, const AdminKey& key) {
  const auto claim = store::claim_key(tx, key.district, key.key, key.request_hash);
  if (claim.state == store::KeyState::fresh) return std::nullopt;
  Result r;
  if (claim.state == store::KeyState::reused) r.key_reused = true;
  else r.answer = {claim.status, claim.answer};
  return r;
}

Result commit_write(store::Tx& tx, const AdminWrite& write, const std::string& resource, Answer answer) {
  if (write.key) store::record_answer(tx, write.key->district, write.key->key, answer.status, answer.body);
  auto audit = write.audit;
  if (!resource.empty()) audit.resource = resource;
  audit.status = answer.status;
  store::record_audit(tx, {std::move(audit)});
  tx.commit();
  return answered(std::move(answer));
}

std::optional<Result> earlier(store::Connection& connection, const AdminKey& key) {
  store::Tx tx(connection);
  return earlier(tx, key);
}

void record_once(store::Connection& connection, const AdminWrite& write, const std::string& resource,
                 const Answer& answer) {
  store::Tx tx(connection);
  if (!write.key || earlier(tx, *write.key)) return;
  commit_write(tx, write, resource, answer);
}

}  // namespace evoucher::ops
