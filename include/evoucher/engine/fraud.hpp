// Fraud flags (부정유통, PRODUCT.md section 9): which rules an approved payment raises, judged
// from the member's counters for the payment's Seoul business day. Pure: a flag never declines
// a payment, and the caller keeps the counters in the same commit as the payment.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/engine/policy.hpp"

namespace evoucher::engine {

enum class FlagRule { repeat, large, burst, own_shop, sales_over_revenue };
const char* to_string(FlagRule rule);
std::optional<FlagRule> flag_rule_from(std::string_view text);

enum class FlagStatus { open, cleared, confirmed };
const char* to_string(FlagStatus status);
std::optional<FlagStatus> flag_status_from(std::string_view text);

// One approved payment, as the burst rule remembers it.
struct RecentPayment {
  std::string card;
  std::int64_t at_ms = 0;  // ms since the epoch
  bool operator==(const RecentPayment&) const = default;
};

// A member's approved payments of one Seoul business day.
struct DayCounters {
  std::map<std::string, int> by_merchant;  // merchant -> approved payments there that day
  std::vector<RecentPayment> recent;       // the latest ones, within the longest burst window
  bool operator==(const DayCounters&) const = default;
};

// What the rules need to know of an approved payment.
struct FlagFacts {
  Won price;
  std::string card;
  std::string merchant;
  std::int64_t at_ms = 0;
  bool by_owner = false;  // the card's member is the merchant's registered owner
};

// The rules an approved payment raises, in rule order. `today` is the member's day before this
// payment; `earlier` holds the card's payments of the day before, for a window that spans
// midnight (empty otherwise).
std::vector<FlagRule> judge_payment(const FraudRules& rules, const FlagFacts& payment, const DayCounters& today,
                                    const std::vector<RecentPayment>& earlier);

// Counts the payment into the member's day. Payments older than the longest burst window before
// the day's latest one are dropped from `recent`, so a row stays short whatever the rules say.
void count_payment(DayCounters& day, const FlagFacts& payment);

// Sales over revenue: a merchant whose month's sales exceed its declared annual revenue / 12.
bool sales_over_revenue(Won month_sales, Won annual_revenue);

}  // namespace evoucher::engine
