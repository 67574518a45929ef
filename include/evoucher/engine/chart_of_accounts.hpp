// The ledger's account keys. Every key lives inside one issuing district's partition:
// a party that many districts touch (a merchant, a pool) has one sub-account per district.
#pragma once

#include <string>

namespace evoucher::accounts {

// Money held at the bank for the district's members (asset, debit-normal).
inline std::string float_account() { return "float"; }
// What the district's members hold (liabilities, credit-normal). Cash never goes below zero.
inline std::string member_cash(const std::string& member) { return "member:" + member + ":cash"; }
inline std::string member_points(const std::string& member) { return "member:" + member + ":points"; }
// A member's program money of one program (liability, credit-normal, never below zero). Program
// ids hold no ':', so the key reads one way only.
inline std::string member_program(const std::string& program, const std::string& member) {
  return "program:" + program + ":" + member;
}
// What the platform owes a merchant for this district's cards (liability, credit-normal).
inline std::string merchant_payable(const std::string& merchant) { return "merchant:" + merchant + ":payable"; }
// Cashback drawn from one funding pool for this district's cards (expense, debit-normal).
// A pool's drawn total is the sum of its accounts over every district.
inline std::string pool_drawn(long long pool_id) { return "pool:" + std::to_string(pool_id) + ":drawn"; }
// Card-fee support the district pays its 혜택+ merchants at settlement (expense, debit-normal).
inline std::string fee_support_expense() { return "fee_support"; }

}  // namespace evoucher::accounts
