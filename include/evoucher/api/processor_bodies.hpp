// The card processor's request bodies, decoded and validated. The first problem names the field
// and the reason; a body with a problem decodes to nothing.
#pragma once

#include <optional>
#include <string>

#include "evoucher/engine/money.hpp"
#include "evoucher/time.hpp"

namespace evoucher::api {

struct PaymentBody {
  std::string event_id, card, merchant;
  Won price;
  Timestamp occurred_at;
  std::string channel;  // card or qr
};

struct CancellationBody {
  std::string event_id, payment_id;
  Won amount;
  Timestamp occurred_at;
};

struct SettlementBody {
  std::string event_id, merchant, business_date;
  Won amount;
};

std::optional<PaymentBody> decode_payment(const std::string& body, std::string& problem);
std::optional<CancellationBody> decode_cancellation(const std::string& body, std::string& problem);
std::optional<SettlementBody> decode_settlement(const std::string& body, std::string& problem);

}  // namespace evoucher::api
