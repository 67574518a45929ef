// The checks a policy must pass before it can be in force.
#include "evoucher/engine/policy.hpp"

namespace evoucher::engine {

std::vector<std::string> validate(const CityRules& r) {
  std::vector<std::string> errors;
  if (r.brackets.empty()) errors.push_back("brackets must hold at least one bracket");
  Won previous{0};
  for (std::size_t i = 0; i < r.brackets.size(); ++i) {
    const auto& b = r.brackets[i];
    const std::string at = "brackets[" + std::to_string(i) + "]";
    if (b.up_to <= previous) errors.push_back(at + ".up_to must be above the previous bound (" +
                                              std::to_string(previous.value()) + ")");
    if (b.up_to.value() > kMaxAmount) errors.push_back(at + ".up_to must be at most " + std::to_string(kMaxAmount));
    if (b.rate_bp < 0 || b.rate_bp > 10'000) errors.push_back(at + ".rate_bp must be from 0 to 10000");
    previous = b.up_to;
  }
  if (r.revenue_ceiling.value() < 0 || r.revenue_ceiling.value() > kMaxAmount)
    errors.push_back("revenue_ceiling must be from 0 to " + std::to_string(kMaxAmount));
  Won previous_over{-1};
  for (std::size_t i = 0; i < r.revenue_tiers.size(); ++i) {
    const auto& t = r.revenue_tiers[i];
    const std::string at = "revenue_tiers[" + std::to_string(i) + "]";
    if (t.over <= previous_over) errors.push_back(at + ".over must be above the previous tier's");
    if (t.over.value() > kMaxAmount) errors.push_back(at + ".over must be at most " + std::to_string(kMaxAmount));
    if (t.percent_of_rate < 0 || t.percent_of_rate > 100) errors.push_back(at + ".percent_of_rate must be from 0 to 100");
    previous_over = t.over;
  }
  if (r.split_national < 0 || r.split_city < 0 || r.split_national + r.split_city <= 0 ||
      r.split_national > 1'000'000 || r.split_city > 1'000'000)
    errors.push_back("funding_split weights must be from 0 to 1000000, and not both 0");
  if (r.monthly_load_limit.value() < 1 || r.monthly_load_limit.value() > kMaxAmount)
    errors.push_back("monthly_load_limit must be from 1 to " + std::to_string(kMaxAmount));
  if (r.balance_cap.value() < 1 || r.balance_cap.value() > kMaxAmount)
    errors.push_back("balance_cap must be from 1 to " + std::to_string(kMaxAmount));
  if (r.refund_min_used_pct < 0 || r.refund_min_used_pct > 100)
    errors.push_back("refund_min_used_pct must be from 0 to 100");
  const auto& f = r.fraud;
  if (f.repeat_per_day < 0 || f.repeat_per_day > 1000) errors.push_back("fraud.repeat_per_day must be from 0 to 1000");
  if (f.large_price.value() < 0 || f.large_price.value() > kMaxAmount)
    errors.push_back("fraud.large_price must be from 0 to " + std::to_string(kMaxAmount));
  if (f.burst_count != 0 && (f.burst_count < 2 || f.burst_count > FraudRules::kMaxBurstCount))
    errors.push_back("fraud.burst_count must be 0 (off) or from 2 to " + std::to_string(FraudRules::kMaxBurstCount));
  if (f.burst_minutes < 1 || f.burst_minutes > FraudRules::kMaxBurstMinutes)
    errors.push_back("fraud.burst_minutes must be from 1 to " + std::to_string(FraudRules::kMaxBurstMinutes));
  return errors;
}

std::vector<std::string> validate(const DistrictRules& r) {
  std::vector<std::string> errors;
  if (r.topup_bp < 0 || r.topup_bp > 10'000) errors.push_back("topup_bp must be from 0 to 10000");
  if (r.fee_support_bp < 0 || r.fee_support_bp > 10'000) errors.push_back("fee_support_bp must be from 0 to 10000");
  return errors;
}

}  // namespace evoucher::engine
