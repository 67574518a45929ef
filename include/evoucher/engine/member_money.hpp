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
  std::optional<Won> amount;  // the cash to return, when allowed
  std::string refusal;
};

// loaded_total and refunded_total are over the member's whole history.
RefundCheck check_refund(const CityRules& rules, const Balances& balances, Won loaded_total, Won refunded_total);

}  // namespace evoucher::engine
