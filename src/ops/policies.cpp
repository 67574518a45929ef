// Policy versions: each written in its own audited transaction.
#include "evoucher/ops/policies.hpp"

#include "evoucher/store/districts.hpp"

namespace evoucher::ops {

Result create_policy(store::Connection& connection, const CreatePolicy& c) {
  store::Tx tx(connection);
  PolicyCreation made;
  if (!store::find_district(tx, c.scope)) {
    made.unknown_scope = "field 'scope': no district " + c.scope;
    return answered(c.render(made));
  }
  std::tie(made.outcome, made.row) = store::create_policy(tx, c.scope, c.effective_from, c.rules_json);
  if (made.outcome == store::CreateOutcome::conflict) return answered(c.render(made));
  return commit_write(tx, c.write, "policy:" + std::to_string(made.row.id), c.render(made));
}

std::optional<store::PolicyRow> policy_at(store::Connection& connection, const std::string& scope, Timestamp at) {
  return reading(connection, [&](store::Tx& tx) { return store::policy_at(tx, scope, at); });
}

}  // namespace evoucher::ops
