// The card processor's calls, parsed and answered here. Payments and cancellations are decided
// and recorded by the group writer (ops) and take no database worker; settlements (ops::settle)
// run on a database worker.
#include "endpoints.hpp"
#include "evoucher/api/processor_bodies.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/ops/settlement.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

json cashback_json(const engine::Cashback& c) {
  return {{"city", c.city.value()}, {"district", c.district.value()}, {"merchant", c.merchant.value()}};
}

ops::Answer render_payment(const ops::PaymentOutcome& o) {
  if (o.declined)
    return to_answer(json_answer(200, {{"decision", "declined"}, {"reason", engine::to_string(*o.declined)}}));
  const auto& a = *o.approved;
  const auto& q = a.quote;
  json paid{{"points", q.paid_points.value()}, {"cash", q.paid_cash.value()}};
  if (q.paid_program > Won(0)) paid["program"] = q.paid_program.value();  // only when program money paid
  return to_answer(json_answer(200, {{"decision", "approved"},
                                     {"payment_id", a.payment_id},
                                     {"price", q.price.value()},
                                     {"discount", q.discount.value()},
                                     {"charged", q.charged.value()},
                                     {"paid", paid},
                                     {"cashback", cashback_json(q.earned.cashback)},
                                     {"fee_support", q.earned.fee_support.value()},
                                     {"policy_id", a.city_policy_id ? json(*a.city_policy_id) : json(nullptr)}}));
}

ops::Answer render_cancellation(const ops::CancellationOutcome& o) {
  if (o.payment_missing) return to_answer(problem(ErrorCode::not_found, *o.payment_missing));
  if (o.exceeds) return to_answer(problem(ErrorCode::cancel_exceeds_payment, *o.exceeds));
  const auto& d = *o.done;
  const auto& q = d.quote;
  json refunded{{"cash", q.refund_cash.value()}, {"points", q.refund_points.value()}};
  if (q.refund_program > Won(0)) refunded["program"] = q.refund_program.value();
  return to_answer(json_answer(200, {{"cancellation_id", d.cancellation_id},
                                     {"payment_id", d.payment_id},
                                     {"amount", q.amount.value()},
                                     {"refunded", refunded},
                                     {"cashback_reversed", cashback_json(q.reversed)},
                                     {"remaining", q.remaining.value()}}));
}

void post_payment(ops::GroupWriter& writer, const Request& request, const PathParams&, Reply reply) {
  std::string bad;
  auto b = decode_payment(request.body, bad);
  if (!b) return reply(invalid(bad));
  ops::PaymentCommand c;
  c.event_id = std::move(b->event_id);
  c.card = std::move(b->card);
  c.merchant = std::move(b->merchant);
  c.price = b->price;
  c.occurred_at = b->occurred_at;
  c.channel = std::move(b->channel);
  c.request_hash = request_hash(request);
  c.render = render_payment;
  submit_command(writer, std::move(c), std::move(reply));
}

void post_cancellation(ops::GroupWriter& writer, const Request& request, const PathParams&, Reply reply) {
  std::string bad;
  auto b = decode_cancellation(request.body, bad);
  if (!b) return reply(invalid(bad));
  ops::CancellationCommand c;
  c.event_id = std::move(b->event_id);
  c.payment_ref = std::move(b->payment_id);
  c.amount = b->amount;
  c.occurred_at = b->occurred_at;
  // A reference we could never have issued is judged like any unknown payment: a stored 404.
  c.payment = parse_operation_ref("pay", c.payment_ref);
  c.request_hash = request_hash(request);
  c.render = render_cancellation;
  submit_command(writer, std::move(c), std::move(reply));
}

ops::Answer render_settlement(const ops::SettlementOutcome& o) {
  if (o.merchant_missing) return to_answer(problem(ErrorCode::not_found, *o.merchant_missing));
  if (o.mismatch) return to_answer(problem(ErrorCode::settlement_mismatch, *o.mismatch));
  if (o.date_not_closed) return to_answer(problem(ErrorCode::date_not_closed, *o.date_not_closed));
  return to_answer(
      json_answer(200, {{"settlement_id", o.done->settlement_id}, {"merchant", o.done->merchant}, {"amount", o.done->amount.value()}}));
}

Response post_settlement(store::Connection& c, const Request& request, const PathParams&) {
  std::string bad;
  auto b = decode_settlement(request.body, bad);
  if (!b) return invalid(bad);
  ops::SettlementCommand command;
  command.event_id = std::move(b->event_id);
  command.merchant = std::move(b->merchant);
  command.business_date = std::move(b->business_date);
  command.amount = b->amount;
  command.now = now_utc();
  command.request_hash = request_hash(request);
  command.render = render_settlement;
  return from_result(ops::settle(c, command));
}

}  // namespace

void add_processor_routes(Service& service) {
  auto& writer = service.writer();
  service.processor_command("/v1/processor/payments", std::bind_front(post_payment, std::ref(writer)));
  service.processor_command("/v1/processor/cancellations", std::bind_front(post_cancellation, std::ref(writer)));
  service.processor_route("/v1/processor/settlements", post_settlement);
}

}  // namespace evoucher::api
