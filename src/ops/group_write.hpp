// Writes what a group's deciders collected: the accounts it opens, its one set-based write, then
// the statements that follow it, in a fixed order.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "group_run.hpp"
#include "group_state.hpp"

namespace evoucher::ops {

// What the group's new decisions did, for /metrics (replays are not counted).
BusinessTally tally(const GroupChanges& changes);

// Writes the group and fills out's payable ids, flags and tally. Consumes the state's writes.
void write_group_changes(store::Tx& tx, GroupState& group,
                         std::vector<std::pair<DistrictKey, std::int64_t>> learned_payables, GroupOutcome& out);

}  // namespace evoucher::ops
