// The fraud rules. Thresholds are inclusive: a member's 3rd payment at one merchant in a day is
// flagged, the 2nd is not; a card's 5th payment within 10 minutes is flagged, the 4th is not.
#include "evoucher/engine/fraud.hpp"

#include <algorithm>

namespace evoucher::engine {
namespace {

constexpr std::int64_t kMinuteMs = 60'000;

constexpr std::pair<FlagRule, const char*> kRules[] = {{FlagRule::repeat, "repeat"},
                                                       {FlagRule::large, "large"},
                                                       {FlagRule::burst, "burst"},
                                                       {FlagRule::own_shop, "own_shop"},
                                                       {FlagRule::sales_over_revenue, "sales_over_revenue"}};
constexpr std::pair<FlagStatus, const char*> kStatuses[] = {
    {FlagStatus::open, "open"}, {FlagStatus::cleared, "cleared"}, {FlagStatus::confirmed, "confirmed"}};

// The card's payments less than `minutes` before `at_ms`, up to and including `at_ms`.
int in_window(const std::vector<RecentPayment>& recent, const std::string& card, std::int64_t at_ms, int minutes) {
  const std::int64_t from = at_ms - minutes * kMinuteMs;
  return static_cast<int>(std::count_if(recent.begin(), recent.end(), [&](const RecentPayment& r) {
    return r.card == card && r.at_ms > from && r.at_ms <= at_ms;
  }));
}

}  // namespace

const char* to_string(FlagRule rule) {
  for (const auto& [r, name] : kRules)
    if (r == rule) return name;
  return "?";
}

std::optional<FlagRule> flag_rule_from(std::string_view text) {
  for (const auto& [r, name] : kRules)
    if (text == name) return r;
  return std::nullopt;
}

const char* to_string(FlagStatus status) {
  for (const auto& [s, name] : kStatuses)
    if (s == status) return name;
  return "?";
}

std::optional<FlagStatus> flag_status_from(std::string_view text) {
  for (const auto& [s, name] : kStatuses)
    if (text == name) return s;
  return std::nullopt;
}

std::vector<FlagRule> judge_payment(const FraudRules& rules, const FlagFacts& payment, const DayCounters& today,
                                    const std::vector<RecentPayment>& earlier) {
  std::vector<FlagRule> out;
  if (rules.repeat_per_day > 0) {
    const auto found = today.by_merchant.find(payment.merchant);
    const int before = found == today.by_merchant.end() ? 0 : found->second;
    if (before + 1 >= rules.repeat_per_day) out.push_back(FlagRule::repeat);
  }
  if (rules.large_price > Won(0) && payment.price >= rules.large_price) out.push_back(FlagRule::large);
  if (rules.burst_count > 0) {
    const int before = in_window(today.recent, payment.card, payment.at_ms, rules.burst_minutes) +
                       in_window(earlier, payment.card, payment.at_ms, rules.burst_minutes);
    if (before + 1 >= rules.burst_count) out.push_back(FlagRule::burst);
  }
  if (rules.own_shop && payment.by_owner) out.push_back(FlagRule::own_shop);
  return out;
}

void count_payment(DayCounters& day, const FlagFacts& payment) {
  ++day.by_merchant[payment.merchant];
  auto& recent = day.recent;
  recent.push_back({payment.card, payment.at_ms});
  std::stable_sort(recent.begin(), recent.end(),
                   [](const RecentPayment& a, const RecentPayment& b) { return a.at_ms < b.at_ms; });
  const std::int64_t keep_from = recent.back().at_ms - FraudRules::kMaxBurstMinutes * kMinuteMs;
  recent.erase(recent.begin(), std::find_if(recent.begin(), recent.end(),
                                            [&](const RecentPayment& r) { return r.at_ms > keep_from; }));
  // A card may make at most kMaxBurstCount payments that matter to any burst rule; a member's
  // many cards together keep a few times that.
  constexpr std::size_t kMaxRecent = 4 * FraudRules::kMaxBurstCount;
  if (recent.size() > kMaxRecent) recent.erase(recent.begin(), recent.end() - kMaxRecent);
}

bool sales_over_revenue(Won month_sales, Won annual_revenue) {
  // For whole won, sales > revenue / 12 exactly when sales > floor(revenue / 12).
  return month_sales.value() > annual_revenue.value() / 12;
}

}  // namespace evoucher::engine
