// The cancellation decider: a payment as it stands now (earlier cancellations of the group
// included), and, once the batch posted it, the cashback taken back to where it came from.
#include "deciders.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"

namespace evoucher::ops {

Result decide(const CancellationCommand& c, GroupState& group, LateFacts& late) {
  if (auto e = earlier(group.facts.events, {"cancellation", c.event_id}, c.request_hash)) return *e;
  auto event = store::event_row("cancellation", c.event_id, c.request_hash);
  event.amount = c.amount;
  event.occurred_at = c.occurred_at;
  CancellationOutcome outcome;
  const auto found =
      c.payment ? group.facts.payments.find({c.payment->district, c.payment->id}) : group.facts.payments.end();
  if (found == group.facts.payments.end()) {
    outcome.payment_missing = "no payment " + c.payment_ref;
    event.reason = "not_found";
    return keep(group, std::move(event), c.render(outcome));
  }
  auto& row = found->second;
  auto& p = row.record;
  event.district = p.district;
  event.card = p.card_token;
  event.member = p.member;
  event.merchant = p.merchant;

  const auto policies = late.policies_by_id(p.city_policy_id, p.district_policy_id);
  std::map<std::string, std::int64_t> program_pools;
  const auto state = payment_state(row, program_pools);
  const auto cancel_date = format_date(seoul_business_date(c.occurred_at));
  const auto q = engine::quote_cancellation(state, c.amount, policies.view(), cancel_date);
  if (!q) {
    outcome.exceeds = "cancelling " + won_text(c.amount) + " would exceed the payment: charged " + won_text(p.charged) +
                      ", already cancelled " + won_text(p.cancelled) + ", remaining " +
                      won_text(p.charged - p.cancelled);
    event.reason = "cancel_exceeds_payment";
    return keep(group, std::move(event), c.render(outcome));
  }
  const auto [id, journal_id] = next_ids(group);
  const auto ref = operation_ref("cxl", p.district, id);
  // After the batch posted this payment's cashback, what the remaining amount no longer earns
  // is taken back from points (which may go negative) and returned where it came from.
  std::optional<engine::Clawback> claw;
  const auto& pools = row.posted.pools;
  if (row.posted.posted) {
    const auto& a = row.posted.amounts;
    claw = engine::clawback_after_cancellation({a.national, a.city, a.district, a.merchant}, q->earned_after.cashback,
                                               *policies.city);
  }
  group.changes.rows.journals.push_back(
      {p.district, journal_id, "cancellation", c.occurred_at, ref,
       engine::cancellation_postings(p.member, p.merchant, *q, claw, {pools.national, pools.city, pools.district},
                                     program_pools)});
  for (const auto& r : q->program_refunds) {
    group.changes.rows.program_refunds.push_back({p.district, p.id, r.program, 0, r.amount});
    for (auto& part : row.programs)
      if (part.program == r.program) part.refunded += r.amount;
    if (!r.to_pool) balance(group, p.district, accounts::member_program(r.program, p.member)) += r.amount;
  }
  p.refunded_program += q->refund_program;
  group.changes.cancellations.push_back({id, p.district, c.event_id, p.id, q->amount, q->refund_cash, q->refund_points,
                                         q->refund_program, q->reversed.city, q->reversed.district,
                                         q->reversed.merchant, q->fee_support_reversed, q->eligible_reduction,
                                         c.occurred_at, format_date(seoul_business_date(c.occurred_at)), journal_id});
  if (claw) {
    const auto& after = claw->posted;
    const auto& unfunded = claw->unfunded;
    group.changes.clawbacks.push_back({p.district,
                                       p.id,
                                       id,
                                       p.business_date,
                                       {after.national, after.city, after.district, after.merchant},
                                       {unfunded.national, unfunded.city, unfunded.district, Won(0)},
                                       claw->taken.total()});
    row.posted.amounts = {after.national, after.city, after.district, after.merchant};
  }

  balance(group, p.district, accounts::member_cash(p.member)) += q->refund_cash;
  balance(group, p.district, accounts::member_points(p.member)) +=
      q->refund_points - (claw ? claw->taken.total() : Won(0));
  const auto month_key = seoul_month_start(p.occurred_at);
  add_to_month(group, p.district, p.member, month_key, Won(0), -q->eligible_reduction);

  // A second cancellation of this payment in the group is judged after this one.
  p.cancelled += q->amount;
  p.refunded_cash += q->refund_cash;
  p.city_cashback -= q->reversed.city;
  p.district_cashback -= q->reversed.district;
  p.merchant_cashback -= q->reversed.merchant;
  p.fee_support -= q->fee_support_reversed;
  p.eligible -= q->eligible_reduction;

  outcome.done = CancellationDone{ref, c.payment_ref, *q};
  event.operation = ref;
  return keep(group, std::move(event), c.render(outcome));
}

}  // namespace evoucher::ops
