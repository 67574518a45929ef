// One decider per money command: a pure function of the command, the group's running state (the
// facts as the earlier commands of the group left them) and the late facts, that returns the
// command's answer and adds its writes to the state. No database, and no clock but the late facts'.
#pragma once

#include "evoucher/ops/commands.hpp"
#include "group_state.hpp"

namespace evoucher::ops {

// A payment: declined (unknown card, card not active, unknown merchant, or the engine's
// refusals), or approved with its journal, record, program draws and fraud flags.
Result decide(const PaymentCommand& c, GroupState& group, LateFacts& late);
// A cancellation of a payment as it stands now, with the batch's clawback when it was posted.
Result decide(const CancellationCommand& c, GroupState& group, LateFacts& late);
// A load, within the city's limits; stamped `now` (never before the member's latest) when it
// named no time.
Result decide(const LoadCommand& c, GroupState& group, LateFacts& late);
// A refund of what the member may take back.
Result decide(const RefundCommand& c, GroupState& group, LateFacts& late);
// A review of a fraud flag: confirmed forfeits the payment's cashback (and claws back what the
// batch posted), and may suspend the merchant.
Result decide(const FlagReviewCommand& c, GroupState& group, LateFacts& late);
// A grant run: each line accepted or refused, never stopping half-way.
Result decide(const GrantCommand& c, GroupState& group, LateFacts& late);

}  // namespace evoucher::ops
