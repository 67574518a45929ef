// The flag review decider: a confirmed flag forfeits its payment's cashback, and takes back
// what the batch already posted; a review may suspend the merchant.
#include "deciders.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"

namespace evoucher::ops {

Result decide(const FlagReviewCommand& c, GroupState& group, LateFacts& late) {
  FlagReviewOutcome outcome;
  auto found = group.facts.flags.find({c.district, c.flag_id});
  if (found == group.facts.flags.end()) {
    outcome.not_found = "no flag " + c.flag_ref;
    return answered(c.render(outcome));  // judged nothing, stored nothing
  }
  auto& flag = found->second;
  if (flag.status != engine::FlagStatus::open) {
    if (flag.status != c.outcome)
      outcome.conflict = "flag " + c.flag_ref + " was already reviewed: " + engine::to_string(flag.status);
    else
      outcome.done = flag;  // the same review again: the flag as it stands
    return answered(c.render(outcome));
  }
  if (c.suspend_merchant && c.merchants_of) {
    const auto merchant = group.facts.merchants.find(flag.raised.merchant);
    if (merchant == group.facts.merchants.end() || merchant->second.district != *c.merchants_of) {
      outcome.forbidden =
          "merchant " + flag.raised.merchant + " is located in " +
          (merchant == group.facts.merchants.end() ? std::string("no district") : merchant->second.district) +
          "; a district admin of " + *c.merchants_of + " may suspend only its own district's merchants";
      return answered(c.render(outcome));  // refused before anything was judged: nothing stored
    }
  }
  const Timestamp now = late.now();  // the review's time, on its journal and on the flag
  store::FlagReview review{c.district,         c.flag_id, c.outcome, c.reviewer,  c.note,
                           c.suspend_merchant, Won(0),    Won(0),    std::nullopt};
  const auto payment = flag.raised.payment_id ? group.facts.payments.find({c.district, *flag.raised.payment_id})
                                              : group.facts.payments.end();
  if (c.outcome == engine::FlagStatus::confirmed && payment != group.facts.payments.end() &&
      !payment->second.record.cashback_forfeited) {
    auto& row = payment->second;
    auto& p = row.record;
    std::map<std::string, std::int64_t> program_pools;
    const auto forfeit = engine::forfeit_cashback(payment_state(row, program_pools));
    review.forfeited = forfeit.reversed.total();
    if (auto& posted = row.posted; posted.posted) {
      // What the batch posted goes back to where it came from, as a full cancellation's would.
      const auto policies = late.policies_by_id(p.city_policy_id, p.district_policy_id);
      const auto& a = posted.amounts;
      const auto claw =
          engine::clawback_after_cancellation({a.national, a.city, a.district, a.merchant}, {}, *policies.city);
      if (claw.taken.total() > Won(0)) {
        const auto journal_id = next_ids(group).second;
        const auto& pools = posted.pools;
        group.changes.rows.journals.push_back(
            {p.district, journal_id, "fraud_clawback", now, c.flag_ref,
             engine::clawback_postings(p.member, p.merchant, claw.taken,
                                       {pools.national, pools.city, pools.district})});
        review.journal_id = journal_id;
        review.clawed_back = claw.taken.total();
        balance(group, p.district, accounts::member_points(p.member)) -= claw.taken.total();
      }
      group.changes.clawbacks.push_back({p.district, p.id, std::nullopt, p.business_date, {}, {}, claw.taken.total()});
      posted.amounts = {};
    }
    add_to_month(group, p.district, p.member, seoul_month_start(p.occurred_at), Won(0), -forfeit.eligible_reduction);
    group.changes.forfeits.push_back({p.district, p.id});
    p.city_cashback = p.district_cashback = p.merchant_cashback = p.eligible = Won(0);
    p.cashback_forfeited = true;
  }
  if (c.suspend_merchant) group.changes.suspensions.insert(flag.raised.merchant);
  group.changes.reviews.push_back(review);
  flag.status = c.outcome;
  flag.reviewed_at = now;
  flag.reviewed_by = c.reviewer;
  flag.review_note = c.note;
  flag.merchant_suspended = c.suspend_merchant;
  flag.clawed_back = review.clawed_back;
  flag.forfeited = review.forfeited;
  outcome.done = flag;
  auto answer = c.render(outcome);
  audit(group, c.audit, "flag:" + c.flag_ref, answer);
  return answered(std::move(answer));
}

}  // namespace evoucher::ops
