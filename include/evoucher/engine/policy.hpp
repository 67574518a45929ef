// Policy rules as plain data, and their validation. A city policy covers everyone; a district
// policy adds its top-up and fee support for its own cards.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"

namespace evoucher::engine {

struct Bracket {
  Won up_to;        // the running monthly eligible total this bracket reaches
  int rate_bp = 0;
};

struct RevenueTier {
  Won over;                   // applies to merchants whose revenue is above this
  int percent_of_rate = 100;
};

// The fraud flags' thresholds (PRODUCT.md section 9). A count or price of 0 turns its rule off.
struct FraudRules {
  int repeat_per_day = 3;        // a member's nth and later approved payment at one merchant in one day
  Won large_price{1'000'000};    // one payment's price at or above this
  int burst_count = 5;           // this many payments by one card within burst_minutes
  int burst_minutes = 10;
  bool own_shop = true;
  bool sales_over_revenue = true;  // judged nightly
  static constexpr int kMaxBurstMinutes = 60;
  static constexpr int kMaxBurstCount = 50;
};

struct CityRules {
  std::vector<Bracket> brackets;  // ascending up_to; the last up_to is the monthly cap
  Won revenue_ceiling{3'000'000'000};
  std::vector<RevenueTier> revenue_tiers;
  std::set<std::string> excluded_voucher;   // categories where vouchers cannot pay
  std::set<std::string> excluded_cashback;  // categories that earn no city or district cashback
  int split_national = 1;
  int split_city = 0;
  Won monthly_load_limit{700'000};
  Won balance_cap{1'500'000};
  int refund_min_used_pct = 60;
  FraudRules fraud;

  Won monthly_cap() const { return brackets.empty() ? Won(0) : brackets.back().up_to; }
};

struct DistrictRules {
  int topup_bp = 0;
  int fee_support_bp = 0;
};

// Empty when the rules are acceptable; otherwise what is wrong, one message per problem.
std::vector<std::string> validate(const CityRules& rules);
std::vector<std::string> validate(const DistrictRules& rules);

}  // namespace evoucher::engine
