// A district's summary over a range of business dates: money in and out, cashback, settlements
// and program money, for the district report.
#pragma once

#include <cstdint>
#include <string>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// A district's totals for business dates from..to (Seoul), from the operation records;
// outstanding balances are as of now.
struct DistrictSummary {
  std::int64_t members = 0;  // registered now
  Won loaded, refunded;
  std::int64_t payment_count = 0;
  Won price, discount, charged, cancelled;
  Won pending, posted_city, posted_district, posted_merchant, unfunded, clawed_back;
  Won fee_support, settled;
  Won cash, points, payable;
  // Program money: granted (by grant date), spent by the dates' payments, given back by the
  // dates' cancellations, expired by the dates' expiry runs, and held in wallets now.
  Won program_granted, program_spent, program_refunded, program_expired, program_held;
};
DistrictSummary district_summary(Tx& tx, const std::string& district, const std::string& from, const std::string& to);

}  // namespace evoucher::store
