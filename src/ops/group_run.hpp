// Private to ops: one group's decisions and writes inside one transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/ops/commands.hpp"
#include "evoucher/ops/group_writer.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

struct GroupOutcome {
  std::vector<Result> results;  // one per command, in order
  // Merchant payables whose ids this group read: ((district, merchant), account id).
  std::vector<std::pair<std::pair<std::string, std::string>, std::int64_t>> payable_ids;
  std::vector<store::NewFlag> flags;  // raised by the group's payments
  BusinessTally tally;                // what the group's new decisions did (replays are not counted)
};

// The id of a merchant's payable account in a district, when the caller knows it. Account ids
// never change, so a writer may keep them for good once a committed group has read them.
using PayableIds = std::function<std::optional<std::int64_t>(const std::string& district, const std::string& merchant)>;

// Locks the group's members, reads what it decides on, decides every command in arrival order
// (a member's later command sees the earlier ones), and writes the whole group. The caller
// commits. Throws when the database fails; nothing is answered then.
GroupOutcome run_group(store::Tx& tx, const std::vector<const Command*>& commands, PolicyCache& policies,
                       const PayableIds& payable_ids);

}  // namespace evoucher::ops
