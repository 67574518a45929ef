// The card processor's calls: payments approved or declined at once, and cancellations.
// Each approved payment is one journal in the card's issuing district; a decline writes nothing.
#include "endpoints.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
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

Response declined(engine::Decline reason) {
  return json_answer(200, {{"decision", "declined"}, {"reason", engine::to_string(reason)}});
}

engine::MerchantTerms terms_of(const store::Merchant& m) {
  engine::MerchantTerms t{m.district, m.category, m.annual_revenue, m.status == "active", std::nullopt};
  if (m.benefit_kind)
    t.benefit = engine::Benefit{*m.benefit_kind == "pre_discount" ? engine::BenefitKind::pre_discount
                                                                  : engine::BenefitKind::merchant_cashback,
                                m.benefit_rate_bp.value_or(0)};
  return t;
}

engine::MerchantTerms terms_of(const store::PaymentRecord& p) {
  store::Merchant m;
  m.district = p.merchant_district;
  m.category = p.merchant_category;
  m.annual_revenue = p.merchant_revenue;
  m.benefit_kind = p.benefit_kind;
  m.benefit_rate_bp = p.benefit_rate_bp;
  return terms_of(m);
}

engine::CardStatus card_status(const std::string& s) {
  if (s == "active") return engine::CardStatus::active;
  if (s == "suspended") return engine::CardStatus::suspended;
  return engine::CardStatus::closed;
}

engine::PolicyInForce in_force(const PoliciesInForce& p) {
  return {p.city, p.district ? &*p.district : nullptr};
}

Response post_payment(store::Connection& c, const Request& request, const PathParams&) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto event_id = f.text("event_id", 128);
  const auto card_token = f.client_id("card");
  const auto merchant_id = f.client_id("merchant");
  const auto price = f.amount("price");
  const auto occurred_at = f.time("occurred_at");
  const auto channel = f.one_of("channel", {"card", "qr"});
  if (auto p = f.problem()) return invalid(*p);

  store::Tx tx(c);
  const auto card = store::find_card(tx, card_token);
  if (!card) return declined(engine::Decline::unknown_card);
  const auto merchant = store::find_merchant(tx, merchant_id);
  if (!merchant) return declined(engine::Decline::unknown_merchant);
  const IdempotencyKey key{card->district, "payment:" + event_id, request_hash(request)};
  return run_idempotent(tx, key, [&]() -> Response {
    store::find_member(tx, card->member_id, /*lock=*/true);
    const auto policies = policies_at(tx, card->district, occurred_at);
    const auto month = seoul_month(occurred_at);
    const auto terms = terms_of(*merchant);
    const engine::PaymentRequest req{price,
                                     card->district,
                                     card_status(card->status),
                                     terms,
                                     member_balances(tx, card->district, card->member_id),
                                     store::member_month(tx, card->district, card->member_id, month).eligible_spent};
    const auto decision = engine::decide_payment(req, in_force(policies));
    if (decision.declined) return declined(*decision.declined);
    const auto& q = *decision.approved;

    const auto id = store::next_operation_id(tx);
    const auto ref = operation_ref("pay", card->district, id);
    std::vector<store::Posting> postings;
    if (q.paid_points > Won(0)) postings.push_back({accounts::member_points(card->member_id), q.paid_points});
    if (q.paid_cash > Won(0)) postings.push_back({accounts::member_cash(card->member_id), q.paid_cash});
    postings.push_back({accounts::merchant_payable(merchant->id), -q.charged});
    store::open_account(tx, card->district, {accounts::merchant_payable(merchant->id), store::Normal::credit, std::nullopt});
    const auto posted = store::post_journal(tx, {card->district, "payment", occurred_at, ref, postings});
    if (!posted.journal_id) throw std::runtime_error("payment journal refused: " + posted.detail);

    store::PaymentRecord p;
    p.id = id;
    p.district = card->district;
    p.event_id = event_id;
    p.card_token = card->token;
    p.member = card->member_id;
    p.merchant = merchant->id;
    p.merchant_district = merchant->district;
    p.merchant_category = merchant->category;
    p.merchant_revenue = merchant->annual_revenue;
    p.benefit_kind = merchant->benefit_kind;
    p.benefit_rate_bp = merchant->benefit_rate_bp;
    p.channel = channel;
    p.price = q.price;
    p.discount = q.discount;
    p.charged = q.charged;
    p.paid_points = q.paid_points;
    p.paid_cash = q.paid_cash;
    p.eligible_before = q.eligible_before;
    p.eligible = q.earned.eligible;
    p.city_cashback = q.earned.cashback.city;
    p.district_cashback = q.earned.cashback.district;
    p.merchant_cashback = q.earned.cashback.merchant;
    p.fee_support = q.earned.fee_support;
    p.city_policy_id = policies.city_id;
    p.district_policy_id = policies.district_id;
    p.occurred_at = occurred_at;
    p.business_date = format_date(seoul_business_date(occurred_at));
    p.journal_id = *posted.journal_id;
    store::insert_payment(tx, p);
    store::add_to_month(tx, card->district, card->member_id, month, Won(0), q.earned.eligible);

    return json_answer(200, {{"decision", "approved"},
                             {"payment_id", ref},
                             {"price", q.price.value()},
                             {"discount", q.discount.value()},
                             {"charged", q.charged.value()},
                             {"paid", {{"points", q.paid_points.value()}, {"cash", q.paid_cash.value()}}},
                             {"cashback", cashback_json(q.earned.cashback)},
                             {"fee_support", q.earned.fee_support.value()},
                             {"policy_id", policies.city_id ? json(*policies.city_id) : json(nullptr)}});
  });
}

Response post_cancellation(store::Connection& c, const Request& request, const PathParams&) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto event_id = f.text("event_id", 128);
  const auto payment_ref = f.text("payment_id", 128);
  const auto amount = f.amount("amount");
  const auto occurred_at = f.time("occurred_at");
  if (auto p = f.problem()) return invalid(*p);
  const auto ref = parse_operation_ref("pay", payment_ref);
  if (!ref) return problem(ErrorCode::not_found, "no payment " + payment_ref);

  store::Tx tx(c);
  const auto found = store::find_payment(tx, ref->district, ref->id, /*lock=*/false);
  if (!found) return problem(ErrorCode::not_found, "no payment " + payment_ref);
  const IdempotencyKey key{ref->district, "cancellation:" + event_id, request_hash(request)};
  return run_idempotent(tx, key, [&]() -> Response {
    store::find_member(tx, found->member, /*lock=*/true);
    const auto p = *store::find_payment(tx, ref->district, ref->id, /*lock=*/true);
    const auto policies = policies_by_id(tx, p.city_policy_id, p.district_policy_id);
    const engine::PaymentState state{p.charged,
                                     p.paid_cash,
                                     p.paid_points,
                                     p.cancelled,
                                     p.refunded_cash,
                                     p.eligible_before,
                                     {p.eligible, {p.city_cashback, p.district_cashback, p.merchant_cashback}, p.fee_support},
                                     terms_of(p),
                                     p.district};
    const auto q = engine::quote_cancellation(state, amount, in_force(policies));
    if (!q)
      return problem(ErrorCode::cancel_exceeds_payment,
                     "cancelling " + std::to_string(amount.value()) + " would exceed the payment: charged " +
                         std::to_string(p.charged.value()) + ", already cancelled " +
                         std::to_string(p.cancelled.value()) + ", remaining " +
                         std::to_string((p.charged - p.cancelled).value()));
    const auto id = store::next_operation_id(tx);
    const auto cref = operation_ref("cxl", p.district, id);
    std::vector<store::Posting> postings{{accounts::merchant_payable(p.merchant), q->amount}};
    if (q->refund_cash > Won(0)) postings.push_back({accounts::member_cash(p.member), -q->refund_cash});
    if (q->refund_points > Won(0)) postings.push_back({accounts::member_points(p.member), -q->refund_points});
    // After the batch posted this payment's cashback, what the remaining amount no longer earns
    // is taken back from points (which may go negative) and returned where it came from.
    const auto earlier = store::posted_state(tx, p.district, p.id);
    std::optional<engine::Clawback> claw;
    if (earlier.posted) {
      const auto& a = earlier.amounts;
      claw = engine::clawback_after_cancellation({a.national, a.city, a.district, a.merchant}, q->earned_after.cashback,
                                                 policies.city);
      const auto& t = claw->taken;
      if (t.total() > Won(0)) postings.push_back({accounts::member_points(p.member), t.total()});
      if (t.national > Won(0)) postings.push_back({accounts::pool_drawn(*earlier.pools.national), -t.national});
      if (t.city > Won(0)) postings.push_back({accounts::pool_drawn(*earlier.pools.city), -t.city});
      if (t.district > Won(0)) postings.push_back({accounts::pool_drawn(*earlier.pools.district), -t.district});
      if (t.merchant > Won(0)) postings.push_back({accounts::merchant_payable(p.merchant), -t.merchant});
    }
    const auto posted = store::post_journal(tx, {p.district, "cancellation", occurred_at, cref, postings});
    if (!posted.journal_id) throw std::runtime_error("cancellation journal refused: " + posted.detail);
    store::insert_cancellation(tx, {id, p.district, event_id, p.id, q->amount, q->refund_cash, q->refund_points,
                                    q->reversed.city, q->reversed.district, q->reversed.merchant,
                                    q->fee_support_reversed, q->eligible_reduction, occurred_at,
                                    format_date(seoul_business_date(occurred_at)), *posted.journal_id});
    store::add_to_month(tx, p.district, p.member, seoul_month(p.occurred_at), Won(0), -q->eligible_reduction);
    if (claw) {
      const auto& after = claw->posted;
      const auto& unfunded = claw->unfunded;
      store::record_clawback(tx, p.district, p.id, {after.national, after.city, after.district, after.merchant},
                             {unfunded.national, unfunded.city, unfunded.district, Won(0)}, claw->taken.total(), id);
    }
    return json_answer(200, {{"cancellation_id", cref},
                             {"payment_id", payment_ref},
                             {"amount", q->amount.value()},
                             {"refunded", {{"cash", q->refund_cash.value()}, {"points", q->refund_points.value()}}},
                             {"cashback_reversed", cashback_json(q->reversed)},
                             {"remaining", q->remaining.value()}});
  });
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
      std::vector<store::Posting> postings;
      if (o.payable != Won(0)) postings.push_back({accounts::merchant_payable(merchant_id), o.payable});
      if (o.fee_support != Won(0)) postings.push_back({accounts::fee_support_expense(), o.fee_support});
      if (!postings.empty()) {
        postings.push_back({accounts::float_account(), -(o.payable + o.fee_support)});
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
  service.processor_route("/v1/processor/payments", post_payment);
  service.processor_route("/v1/processor/cancellations", post_cancellation);
  service.processor_route("/v1/processor/settlements", post_settlement);
}

}  // namespace evoucher::api
