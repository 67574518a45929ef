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
// What the platform owes a merchant for this district's cards (liability, credit-normal).
inline std::string merchant_payable(const std::string& merchant) { return "merchant:" + merchant + ":payable"; }
// Cashback drawn from a funding source for this district's cards (expense, debit-normal).
inline std::string pool_drawn(const std::string& source) { return "pool:" + source + ":drawn"; }

}  // namespace evoucher::accounts
