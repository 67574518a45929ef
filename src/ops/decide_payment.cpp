// The payment decider: the card, the merchant and the engine's rules, then the fraud rules on
// what it approves.
#include "deciders.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/fraud.hpp"
#include "evoucher/engine/journal_recipes.hpp"

namespace evoucher::ops {
namespace {

std::int64_t epoch_ms(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Judges the fraud rules on an approved payment, counts it into its member's day, and raises its
// flags with the group.
void judge_flags(GroupState& group, const PaymentCommand& c, const store::PaymentRecord& p, const store::Merchant& m,
                 const engine::FraudRules& rules) {
  const store::DayKey key{p.district, p.member, p.business_date};
  auto& today = group.facts.days[key];
  std::vector<engine::RecentPayment> earlier;
  if (const auto window_start = burst_window_day(c.occurred_at); window_start != p.business_date)
    if (const auto found = group.facts.days.find({p.district, p.member, window_start}); found != group.facts.days.end())
      earlier = found->second.recent;
  const engine::FlagFacts facts{c.price, c.card, m.id, epoch_ms(c.occurred_at), m.owner_member == p.member};
  const auto at_merchant = today.by_merchant.count(m.id) ? today.by_merchant.at(m.id) : 0;
  for (const auto rule : engine::judge_payment(rules, facts, today, earlier)) {
    std::string detail;
    switch (rule) {
      case engine::FlagRule::repeat:
        detail = "approved payment no. " + std::to_string(at_merchant + 1) + " by member " + p.member +
                 " at merchant " + m.id + " on " + p.business_date + "; the rule flags no. " +
                 std::to_string(rules.repeat_per_day) + " and later";
        break;
      case engine::FlagRule::large:
        detail = "price " + won_text(c.price) + " won is at or above " + won_text(rules.large_price);
        break;
      case engine::FlagRule::burst:
        detail = "card " + c.card + " made " + std::to_string(rules.burst_count) +
                 " or more approved payments within " + std::to_string(rules.burst_minutes) + " minutes";
        break;
      case engine::FlagRule::own_shop:
        detail = "member " + p.member + " is the registered owner of merchant " + m.id;
        break;
      case engine::FlagRule::sales_over_revenue:
        break;  // judged nightly, never here
    }
    group.changes.rows.flags.push_back({p.district, rule, p.id, p.member, c.card, m.id, c.occurred_at, p.business_date,
                                        std::nullopt, std::move(detail)});
  }
  engine::count_payment(today, facts);
  group.changes.days_counted.insert(key);
}

}  // namespace

Result decide(const PaymentCommand& c, GroupState& group, LateFacts& late) {
  if (auto e = earlier(group.facts.events, {"payment", c.event_id}, c.request_hash)) return *e;
  auto event = store::event_row("payment", c.event_id, c.request_hash);
  event.card = c.card;
  event.merchant = c.merchant;
  event.amount = c.price;
  event.occurred_at = c.occurred_at;
  PaymentOutcome outcome;
  // When several reasons apply, the first of this order wins.
  auto decline = [&](engine::Decline reason) {
    outcome.declined = reason;
    event.decision = "declined";
    event.reason = engine::to_string(reason);
    return keep(group, std::move(event), c.render(outcome));
  };
  const auto card = group.facts.cards.find(c.card);
  if (card == group.facts.cards.end()) return decline(engine::Decline::unknown_card);
  const auto& district = card->second.district;
  const auto& member = card->second.member_id;
  event.district = district;
  event.member = member;
  if (card->second.status != engine::CardStatus::active) return decline(engine::Decline::card_inactive);
  const auto merchant = group.facts.merchants.find(c.merchant);
  if (merchant == group.facts.merchants.end()) return decline(engine::Decline::unknown_merchant);

  const auto& m = merchant->second;
  const auto policies = late.policies_at(group.facts.versions, district, c.occurred_at);
  const auto month_key = seoul_month_start(c.occurred_at);
  Won& cash = balance(group, district, accounts::member_cash(member));
  Won& points = balance(group, district, accounts::member_points(member));
  const auto& month_totals = month(group, district, member, month_key);
  const auto terms = terms_of(m.district, m.category, m.annual_revenue, m.status == store::MerchantStatus::active,
                              m.benefit_kind, m.benefit_rate_bp);
  const auto business_date = format_date(seoul_business_date(c.occurred_at));
  std::vector<engine::ProgramWallet> wallets;
  if (const auto w = group.facts.wallets.find({district, member}); w != group.facts.wallets.end())
    for (const auto& wallet : w->second) {
      engine::ProgramScope scope{std::nullopt, wallet.over_ceiling_allowed};
      if (wallet.categories)
        scope.categories = std::set<std::string>(wallet.categories->begin(), wallet.categories->end());
      wallets.push_back({wallet.program, balance(group, district, accounts::member_program(wallet.program, member)),
                         wallet.expires_on, std::move(scope), wallet.grant_from});
    }
  const engine::PaymentRequest request{c.price,
                                       district,
                                       card->second.status,
                                       terms,
                                       {cash, points},
                                       month_totals.eligible_spent,
                                       std::move(wallets),
                                       business_date};
  const auto decision = engine::decide_payment(request, policies.view());
  if (decision.declined) return decline(*decision.declined);
  const auto& q = *decision.approved;
  const auto [id, journal_id] = next_ids(group);
  const auto ref = operation_ref("pay", district, id);
  group.changes.rows.journals.push_back(
      {district, journal_id, "payment", c.occurred_at, ref, engine::payment_postings(member, m.id, q)});
  group.changes.payables.insert({district, m.id});

  store::PaymentRecord p;
  p.id = id;
  p.district = district;
  p.event_id = c.event_id;
  p.card_token = c.card;
  p.member = member;
  p.merchant = m.id;
  p.merchant_district = m.district;
  p.merchant_category = m.category;
  p.merchant_revenue = m.annual_revenue;
  p.benefit_kind = m.benefit_kind;
  p.benefit_rate_bp = m.benefit_rate_bp;
  p.channel = c.channel;
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
  p.occurred_at = c.occurred_at;
  p.business_date = business_date;
  p.journal_id = journal_id;
  p.paid_program = q.paid_program;
  int seq = 0;
  for (const auto& d : q.program_draws) {
    group.changes.rows.payment_programs.push_back({district, id, d.program, ++seq, d.amount});
    balance(group, district, accounts::member_program(d.program, member)) -= d.amount;
  }
  judge_flags(group, c, p, m, policies.city->fraud);
  group.changes.rows.payments.push_back(std::move(p));

  cash -= q.paid_cash;
  points -= q.paid_points;
  add_to_month(group, district, member, month_key, Won(0), q.earned.eligible);

  outcome.approved = PaymentApproved{ref, q, policies.city_id};
  event.decision = "approved";
  event.operation = ref;
  return keep(group, std::move(event), c.render(outcome));
}

}  // namespace evoucher::ops
