// The seed's policies and merchants as engine values, for rule tests.
#pragma once

#include <gtest/gtest.h>

#include "evoucher/engine/payment.hpp"
#include "support/printers.hpp"

namespace evoucher::engine::testing {

inline CityRules seed_city() {
  CityRules r;
  r.brackets = {{Won(500'000), 1'000}, {Won(1'000'000), 100}};
  r.revenue_ceiling = Won(3'000'000'000);
  r.excluded_voucher = {"department_store", "large_mart", "entertainment", "gambling"};
  r.split_national = 4;
  r.split_city = 2;
  r.monthly_load_limit = Won(1'000'000);
  r.balance_cap = Won(2'000'000);
  r.refund_min_used_pct = 60;
  return r;
}

inline DistrictRules bupyeong_rules() { return {200, 50}; }

inline MerchantTerms bp_bakery() {
  return {"bupyeong", "bakery", Won(100'000'000), true, Benefit{BenefitKind::pre_discount, 500}};
}
inline MerchantTerms ys_books() {
  return {"yeonsu", "bookstore", Won(500'000'000), true, Benefit{BenefitKind::merchant_cashback, 300}};
}
inline MerchantTerms plain(const std::string& district, Won revenue = Won(100'000'000)) {
  return {district, "cafe", revenue, true, std::nullopt};
}

// The seed's city rules with Bupyeong's district rules, in force together.
class SeedPolicy : public ::testing::Test {
 protected:
  CityRules city = seed_city();
  DistrictRules bupyeong = bupyeong_rules();
  PolicyInForce policy{city, &bupyeong};
};

}  // namespace evoucher::engine::testing
