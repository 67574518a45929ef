// Decoding the processor's bodies: every field read, then the first problem asked for once.
#include "evoucher/api/processor_bodies.hpp"

#include <type_traits>

#include "evoucher/api/json_input.hpp"

namespace evoucher::api {
namespace {

// The body read(fields) builds, or nothing and the first problem. read lists the fields in a
// braced initializer, which reads them in order, so the first problem is the first field's.
template <typename Read>
auto decode(const std::string& body, std::string& problem, Read read)
    -> std::optional<std::invoke_result_t<Read, Fields&>> {
  nlohmann::json doc;
  auto f = Fields::parse(body, doc);
  auto decoded = read(f);
  if (auto p = f.problem()) return problem = *p, std::nullopt;
  return decoded;
}

}  // namespace

std::optional<PaymentBody> decode_payment(const std::string& body, std::string& problem) {
  return decode(body, problem, [](Fields& f) {
    return PaymentBody{.event_id = f.text("event_id", 128),
                       .card = f.client_id("card"),
                       .merchant = f.client_id("merchant"),
                       .price = f.amount("price"),
                       .occurred_at = f.time("occurred_at"),
                       .channel = f.one_of("channel", {"card", "qr"})};
  });
}

std::optional<CancellationBody> decode_cancellation(const std::string& body, std::string& problem) {
  return decode(body, problem, [](Fields& f) {
    return CancellationBody{.event_id = f.text("event_id", 128),
                            .payment_id = f.text("payment_id", 128),
                            .amount = f.amount("amount"),
                            .occurred_at = f.time("occurred_at")};
  });
}

std::optional<SettlementBody> decode_settlement(const std::string& body, std::string& problem) {
  return decode(body, problem, [](Fields& f) {
    return SettlementBody{.event_id = f.text("event_id", 128),
                          .merchant = f.client_id("merchant"),
                          .business_date = f.date("business_date"),
                          .amount = f.amount("amount")};
  });
}

}  // namespace evoucher::api
