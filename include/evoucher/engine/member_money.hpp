// Loads and balance refunds (PRODUCT.md operations 1 and 6): the limits a member's money keeps.
#pragma once

#include <optional>
#include <string>

#include "evoucher/engine/payment.hpp"
#include "evoucher/engine/policy.hpp"

namespace evoucher::engine {

struct LoadCheck {
  bool allowed = false;
  std::string refusal;  // which limit, and the numbers, when refused
};

// month_loaded: what the member loaded earlier in the load's Seoul month.
LoadCheck check_load(const CityRules& rules, Won amount, Won month_loaded, const Balances& balances);

struct RefundCheck {
  std::optional<Won> amount;  // what goes back to the bank, when allowed: cash less the debt
  Won cash;                   // the cash the refund takes: all of it
  Won debt;                   // negative points brought to zero from that cash
  std::string refusal;
};

// loaded_total and refunded_total (what earlier refunds paid out) are over the member's whole
// history. Negative points are a debt, settled from cash before anything is paid out.
RefundCheck check_refund(const CityRules& rules, const Balances& balances, Won loaded_total, Won refunded_total);

}  // namespace evoucher::engine
