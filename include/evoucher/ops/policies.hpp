// Policy versions as operations: a version is written once under its scope and effective time,
// audited; reads give the version in force at a time.
#pragma once

#include <optional>
#include <string>

#include "evoucher/ops/admin.hpp"
#include "evoucher/store/parties.hpp"

namespace evoucher::ops {

struct PolicyCreation {
  store::CreateOutcome outcome = store::CreateOutcome::created;
  store::PolicyRow row;
  std::optional<std::string> unknown_scope;  // the detail of a 400: no such district
};
// The rules were validated by the caller; rules_json is their text as stored.
struct CreatePolicy {
  std::string scope;
  Timestamp effective_from;
  std::string rules_json;
  AdminWrite write;
  std::function<Answer(const PolicyCreation&)> render;
};
Result create_policy(store::Connection& connection, const CreatePolicy& command);

std::optional<store::PolicyRow> policy_at(store::Connection& connection, const std::string& scope, Timestamp at);

}  // namespace evoucher::ops
