// Journal recipes: the postings each operation makes, as pure functions. Every recipe balances
// (debits equal credits), and names accounts by their chart-of-accounts keys.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/engine/payment.hpp"

namespace evoucher::engine {

// amount > 0 debits the account, amount < 0 credits it.
struct Posting {
  std::string account;
  Won amount;
  bool operator==(const Posting&) const = default;
};
using Postings = std::vector<Posting>;

// The sum of the amounts: zero for a balanced journal.
Won imbalance(const Postings& postings);

// 충전: the bank transfer arrives in the district's float and becomes the member's cash.
Postings load_postings(const std::string& member, Won amount);
// 잔액환불: the member's cash goes back to the bank.
// All of the member's cash leaves; the debt of negative points is settled from it, and the rest
// goes back to the bank.
Postings refund_postings(const std::string& member, Won cash, Won debt);
// 결제: points and cash pay the merchant's payable.
Postings payment_postings(const std::string& member, const std::string& merchant, const PaymentQuote& quote);

// The pools a posted payment's cashback was drawn from.
struct DrawnPools {
  std::optional<std::int64_t> national, city, district;
};

// 취소: the payable returns the cancelled amount to cash and points; when the batch had already
// posted the payment's cashback, the clawback takes the difference from points back to its pools.
// `program_pools`: each program's pool id, for program money that expired and goes to its pool.
Postings cancellation_postings(const std::string& member, const std::string& merchant, const CancellationQuote& quote,
                               const std::optional<Clawback>& clawback, const DrawnPools& pools,
                               const std::map<std::string, std::int64_t>& program_pools = {});

// 정책발행: a grant draws the program's pool into the member's wallet; expiry returns what is left.
Postings grant_postings(const std::string& program, std::int64_t pool_id, const std::string& member, Won amount);
Postings expiry_postings(const std::string& program, std::int64_t pool_id, const std::string& member, Won amount);

// A confirmed fraud flag on a posted payment: what was posted goes back from points to the pools
// it came from, and the merchant component to the merchant's payable.
Postings clawback_postings(const std::string& member, const std::string& merchant, const PostedCashback& taken,
                           const DrawnPools& pools);

// The nightly batch's posting of one payment's cashback: the pools and the merchant pay points.
Postings cashback_postings(const std::string& member, const std::string& merchant, const PostedCashback& paid,
                           const DrawnPools& pools);

// Many postings of one district as one journal: each account's lines summed into one, the zero
// sums left out, in account-key order. The nightly batch posts a chunk of payments' cashback so.
Postings merge_postings(const Postings& lines);

// 정산: one issuing district's portion of a merchant's settlement, paid out of that district's float.
Postings settlement_postings(const std::string& merchant, Won payable, Won fee_support);

}  // namespace evoucher::engine
