// The expiry batch (PRODUCT.md section 8): program money unspent at its expiry goes back to the
// program's pool. Idempotent and resumable: each chunk commits on its own, and a wallet emptied
// is not taken again.
#pragma once

#include <optional>
#include <string>

#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::ops {

struct ExpiryOutcome {
  std::optional<std::string> date_not_closed;  // the refusal's detail
  std::string report;  // JSON: {business_date, programs: [{program, count, returned}], pools: [{source, remaining}]}
};

// Returns the money of every program whose expires_on is the closed `business_date` or earlier.
ExpiryOutcome run_expiry(store::Connection& connection, const std::string& business_date, Timestamp now,
                         int chunk_size);

}  // namespace evoucher::ops
