// The nightly fraud rule (PRODUCT.md section 9): a merchant whose voucher sales in a Seoul month
// exceed its declared annual revenue / 12 is flagged once for that month.
#pragma once

#include <string>

#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::ops {

struct FlagBatchOutcome {
  std::optional<std::string> date_not_closed;  // the refusal's detail
  std::string report;                           // JSON: what was judged and raised
};

// Judges the month of `business_date` up to and including it, under the city policy in force at
// the date's end. Idempotent: a merchant already flagged for the month is not flagged again.
FlagBatchOutcome run_flag_batch(store::Connection& connection, PolicyCache& policies, const std::string& business_date,
                                Timestamp now);

}  // namespace evoucher::ops
