// Private to ops: one group's decisions and writes inside one transaction.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/ops/commands.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

struct GroupOutcome {
  std::vector<Result> results;  // one per command, in order
  std::vector<std::pair<std::string, std::string>> opened_payables;  // (district, merchant)
};

// Locks the group's members, reads what it decides on, decides every command in arrival order
// (a member's later command sees the earlier ones), and writes the whole group. The caller
// commits. Throws when the database fails; nothing is answered then.
GroupOutcome run_group(store::Tx& tx, const std::vector<const Command*>& commands, PolicyCache& policies,
                       const std::function<bool(const std::string& district, const std::string& merchant)>& payable_known);

}  // namespace evoucher::ops
