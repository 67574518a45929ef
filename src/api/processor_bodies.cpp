// Decoding the processor's bodies: every field read, then the first problem asked for once.
#include "evoucher/api/processor_bodies.hpp"

#include "evoucher/api/json_input.hpp"

namespace evoucher::api {

std::optional<PaymentBody> decode_payment(const std::string& body, std::string& problem) {
  nlohmann::json doc;
  auto f = Fields::parse(body, doc);
  PaymentBody b;
  b.event_id = f.text("event_id", 128);
  b.card = f.client_id("card");
  b.merchant = f.client_id("merchant");
  b.price = f.amount("price");
  b.occurred_at = f.time("occurred_at");
  b.channel = f.one_of("channel", {"card", "qr"});
  if (auto p = f.problem()) return problem = *p, std::nullopt;
  return b;
}

std::optional<CancellationBody> decode_cancellation(const std::string& body, std::string& problem) {
  nlohmann::json doc;
  auto f = Fields::parse(body, doc);
  CancellationBody b;
  b.event_id = f.text("event_id", 128);
  b.payment_id = f.text("payment_id", 128);
  b.amount = f.amount("amount");
  b.occurred_at = f.time("occurred_at");
  if (auto p = f.problem()) return problem = *p, std::nullopt;
  return b;
}

std::optional<SettlementBody> decode_settlement(const std::string& body, std::string& problem) {
  nlohmann::json doc;
  auto f = Fields::parse(body, doc);
  SettlementBody b;
  b.event_id = f.text("event_id", 128);
  b.merchant = f.client_id("merchant");
  b.business_date = f.date("business_date");
  b.amount = f.amount("amount");
  if (auto p = f.problem()) return problem = *p, std::nullopt;
  return b;
}

}  // namespace evoucher::api
