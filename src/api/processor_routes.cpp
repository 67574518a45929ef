// The card processor's calls. Payments and cancellations are parsed here, on the I/O thread,
// and decided and recorded by the group writer (ops); settlements run on a database worker.
#include "endpoints.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/store/batch.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"

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
  return to_answer(json_answer(200, {{"decision", "approved"},
                                     {"payment_id", a.payment_id},
                                     {"price", q.price.value()},
                                     {"discount", q.discount.value()},
                                     {"charged", q.charged.value()},
                                     {"paid", {{"points", q.paid_points.value()}, {"cash", q.paid_cash.value()}}},
                                     {"cashback", cashback_json(q.earned.cashback)},
                                     {"fee_support", q.earned.fee_support.value()},
                                     {"policy_id", a.city_policy_id ? json(*a.city_policy_id) : json(nullptr)}}));
}

ops::Answer render_cancellation(const ops::CancellationOutcome& o) {
  if (o.payment_missing) return to_answer(problem(ErrorCode::not_found, *o.payment_missing));
  if (o.exceeds) return to_answer(problem(ErrorCode::cancel_exceeds_payment, *o.exceeds));
  const auto& d = *o.done;
  const auto& q = d.quote;
  return to_answer(json_answer(200, {{"cancellation_id", d.cancellation_id},
                                     {"payment_id", d.payment_id},
                                     {"amount", q.amount.value()},
                                     {"refunded", {{"cash", q.refund_cash.value()}, {"points", q.refund_points.value()}}},
                                     {"cashback_reversed", cashback_json(q.reversed)},
                                     {"remaining", q.remaining.value()}}));
}

void post_payment(ops::GroupWriter& writer, const Request& request, Reply reply) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  ops::PaymentCommand c;
  c.event_id = f.text("event_id", 128);
  c.card = f.client_id("card");
  c.merchant = f.client_id("merchant");
  c.price = f.amount("price");
  c.occurred_at = f.time("occurred_at");
  c.channel = f.one_of("channel", {"card", "qr"});
  if (auto p = f.problem()) return reply(invalid(*p));
  c.request_hash = request_hash(request);
  c.render = render_payment;
  submit_command(writer, std::move(c), std::move(reply));
}

void post_cancellation(ops::GroupWriter& writer, const Request& request, Reply reply) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  ops::CancellationCommand c;
  c.event_id = f.text("event_id", 128);
  c.payment_ref = f.text("payment_id", 128);
  c.amount = f.amount("amount");
  c.occurred_at = f.time("occurred_at");
  if (auto p = f.problem()) return reply(invalid(*p));
  const auto ref = parse_operation_ref("pay", c.payment_ref);
  if (!ref) return reply(problem(ErrorCode::not_found, "no payment " + c.payment_ref));
  c.payment = *ref;
  c.request_hash = request_hash(request);
  c.render = render_cancellation;
  submit_command(writer, std::move(c), std::move(reply));
}

// The processor paid a merchant for a business date: each issuing district's sub-account of
// the payable falls, and that district's float with it; the district pays the fee support.
Response post_settlement(store::Connection& c, const Request& request, const PathParams&) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto event_id = f.text("event_id", 128);
  const auto merchant_id = f.client_id("merchant");
  const auto business_date = f.date("business_date");
  const auto amount = f.amount("amount");
  if (auto p = f.problem()) return invalid(*p);
  store::Tx tx(c);
  const auto merchant = store::find_merchant(tx, merchant_id);
  if (!merchant) return problem(ErrorCode::not_found, "no merchant " + merchant_id);
  const IdempotencyKey key{merchant->district, "settlement:" + event_id, request_hash(request)};
  return run_idempotent(tx, key, [&]() -> Response {
    store::find_merchant(tx, merchant_id, /*lock=*/true);
    const auto owed = store::owed_to_merchant(tx, merchant_id, business_date);
    Won expected, payable, fee;
    for (const auto& o : owed) {
      payable += o.payable;
      fee += o.fee_support;
    }
    expected = payable + fee;
    if (amount != expected)
      return problem(ErrorCode::settlement_mismatch,
                     "expected " + std::to_string(expected.value()) + " won for merchant " + merchant_id + " on " +
                         business_date + " (payable " + std::to_string(payable.value()) +
                         " net of merchant cashback, plus fee support " + std::to_string(fee.value()) + "), got " +
                         std::to_string(amount.value()) + ": a difference of " +
                         std::to_string((amount - expected).value()));
    const auto id = store::next_operation_id(tx);
    const auto ref = operation_ref("stl", merchant->district, id);
    const auto now = now_utc();
    for (const auto& o : owed) {
      std::optional<std::int64_t> journal;
      const auto postings = engine::settlement_postings(merchant_id, o.payable, o.fee_support);
      if (postings.size() >= 2) {
        const auto posted = store::post_journal(tx, {o.district, "settlement", now, ref, postings});
        if (!posted.journal_id) throw std::runtime_error("settlement journal refused: " + posted.detail);
        journal = posted.journal_id;
      }
      store::insert_settlement_portion(tx, o, id, event_id, merchant_id, business_date, journal);
    }
    return json_answer(200, {{"settlement_id", ref}, {"merchant", merchant_id}, {"amount", amount.value()}});
  });
}

}  // namespace

void add_processor_routes(Service& service) {
  auto& writer = service.writer();
  service.processor_command("/v1/processor/payments", [&writer](const Request& request, const PathParams&,
                                                                Reply reply) {
    post_payment(writer, request, std::move(reply));
  });
  service.processor_command("/v1/processor/cancellations", [&writer](const Request& request, const PathParams&,
                                                                     Reply reply) {
    post_cancellation(writer, request, std::move(reply));
  });
  service.processor_route("/v1/processor/settlements", post_settlement);
}

}  // namespace evoucher::api
