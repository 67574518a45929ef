// The monthly load limit, the balance cap and the refund rule.
#include "evoucher/engine/member_money.hpp"

#include <algorithm>

namespace evoucher::engine {
namespace {
std::string won(Won w) { return std::to_string(w.value()); }
}  // namespace

LoadCheck check_load(const CityRules& rules, Won amount, Won month_loaded, const Balances& balances) {
  LoadCheck c;
  if (month_loaded + amount > rules.monthly_load_limit) {
    c.refusal = "monthly_load_limit: " + won(month_loaded) + " loaded this month + " + won(amount) + " exceeds " +
                won(rules.monthly_load_limit);
    return c;
  }
  const Won held = balances.cash + std::max(Won(0), balances.points);
  if (held + amount > rules.balance_cap) {
    c.refusal = "balance_cap: balance " + won(held) + " + " + won(amount) + " exceeds " + won(rules.balance_cap);
    return c;
  }
  c.allowed = true;
  return c;
}

RefundCheck check_refund(const CityRules& rules, const Balances& balances, Won loaded_total, Won refunded_total) {
  RefundCheck c;
  const Won debt = std::max(Won(0), -balances.points);
  const Won held = balances.cash - debt;
  if (held <= Won(0)) {
    c.refusal = balances.cash <= Won(0) ? "there is no cash to refund"
                                        : "there is nothing to refund: cash " + won(balances.cash) +
                                              " does not exceed the debt of " + won(debt) + " in points";
    return c;
  }
  const Won spent = loaded_total - refunded_total - held;
  // spent / loaded >= pct / 100, in integers.
  const bool used_enough = floor_fraction(spent, 100, 1) >= floor_fraction(loaded_total, rules.refund_min_used_pct, 1);
  if (spent != Won(0) && !used_enough) {
    c.refusal = "refund_min_used_pct: spent " + won(spent) + " of " + won(loaded_total) + " loaded, less than " +
                std::to_string(rules.refund_min_used_pct) + " %";
    return c;
  }
  c.amount = held;
  c.cash = balances.cash;
  c.debt = debt;
  return c;
}

}  // namespace evoucher::engine
