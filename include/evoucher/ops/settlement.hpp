// 정산 as an operation: the processor reports that it paid a merchant for a business date.
// Settlements are few, so each runs in a transaction of its own on a database worker.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "evoucher/engine/money.hpp"
#include "evoucher/ops/commands.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

struct SettlementDone {
  std::string settlement_id;
  std::string merchant;
  Won amount;
};
struct SettlementOutcome {
  std::optional<SettlementDone> done;
  std::optional<std::string> merchant_missing;  // the detail of a 404
  std::optional<std::string> mismatch;          // the detail of settlement_mismatch, with the expected amount
  std::optional<std::string> date_not_closed;   // the detail of date_not_closed
};

struct SettlementCommand {
  std::string event_id;
  std::string merchant;
  std::string business_date;  // YYYY-MM-DD
  Won amount;
  Timestamp now;
  std::string request_hash;
  std::function<Answer(const SettlementOutcome&)> render;
};

// Each issuing district's sub-account of the merchant's payable falls, and that district's float
// with it; the district pays the fee support. A date is settled once it has closed in Seoul, for
// what the ledger owes and was not settled before: a payment that arrives late is settled by a
// further settlement. Every judged answer is final under the event_id, like the money path.
Result settle(store::Connection& connection, const SettlementCommand& command);

}  // namespace evoucher::ops
