// The money path's payments: approved payments locked for a cancellation or a review, with what
// the batch posted, and the pools a clawback returns money to.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "evoucher/store/cashback_batches.hpp"
#include "evoucher/store/money_path_reads.hpp"
#include "evoucher/store/operations.hpp"

namespace evoucher::store {

// What a payment took from one program wallet, with the program's expiry and pool.
struct PaymentProgram {
  std::string program;
  int seq = 0;
  Won amount, refunded;
  std::string expires_on;
  std::int64_t pool_id = 0;
};
// Approved payments with what the batch posted, locked until the group commits.
struct PaymentRow {
  PaymentRecord record;
  PostedState posted;
  std::vector<PaymentProgram> programs;  // in spending order
};
std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<PaymentKey>& payments);
// Locks pool rows in id order before a clawback returns money to them: payments, then pools, then
// accounts, the order the batch takes them in, so that the two never deadlock.
void lock_pools(Tx& tx, const std::vector<std::int64_t>& pool_ids);

}  // namespace evoucher::store
