// Settlements (정산): what the ledger owes a merchant for a business date, and each district's
// portion of a settlement paid.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct Owed {
  std::string district;  // the issuing district's sub-account
  Won payable;           // charged - cancelled - merchant cashback
  Won fee_support;
};
// What the ledger owes a merchant for a business date, per issuing district, not yet settled.
std::vector<Owed> owed_to_merchant(Tx& tx, const std::string& merchant, const std::string& business_date);
void insert_settlement_portion(Tx& tx, const Owed& owed, std::int64_t id, const std::string& event_id,
                               const std::string& merchant, const std::string& business_date,
                               std::optional<std::int64_t> journal_id);

}  // namespace evoucher::store
