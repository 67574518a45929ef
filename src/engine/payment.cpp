// The payment and cancellation rules of PRODUCT.md, as arithmetic on won.
#include "evoucher/engine/payment.hpp"

#include <algorithm>
#include <tuple>

namespace evoucher::engine {
namespace {

bool is_benefit_plus(const MerchantTerms& m) { return m.benefit.has_value(); }

// The tier with the largest `over` below the merchant's revenue applies; none: 100 %.
int percent_of_rate(const CityRules& rules, Won revenue) {
  int percent = 100;
  Won best{-1};
  for (const auto& tier : rules.revenue_tiers) {
    if (tier.over < revenue && tier.over > best) {
      best = tier.over;
      percent = tier.percent_of_rate;
    }
  }
  return percent;
}

bool earns_city_cashback(const CityRules& rules, const MerchantTerms& m) {
  return m.annual_revenue <= rules.revenue_ceiling && !rules.excluded_cashback.count(m.category);
}

}  // namespace

const char* to_string(Decline decline) {
  switch (decline) {
    case Decline::insufficient_funds: return "insufficient_funds";
    case Decline::card_inactive: return "card_inactive";
    case Decline::unknown_card: return "unknown_card";
    case Decline::unknown_merchant: return "unknown_merchant";
    case Decline::merchant_ineligible: return "merchant_ineligible";
  }
  return "unknown";
}

Earnings earnings(Won charged, Won eligible_before, const MerchantTerms& merchant, const std::string& card_district,
                  const PolicyInForce& policy, Won program_part) {
  const CityRules& rules = policy.city;
  const Won earning = charged - program_part;  // the part that earns cashback
  Earnings out;
  if (earns_city_cashback(rules, merchant)) {
    const Won room = std::max(Won(0), rules.monthly_cap() - eligible_before);
    out.eligible = std::min(earning, room);
    const int percent = percent_of_rate(rules, merchant.annual_revenue);
    // Each bracket takes the part of [before, before + eligible) that falls inside it.
    Won lower{0};
    const Won start = eligible_before;
    const Won end = eligible_before + out.eligible;
    for (const auto& b : rules.brackets) {
      const Won from = std::max(lower, start);
      const Won to = std::min(b.up_to, end);
      if (to > from) out.cashback.city += floor_fraction(to - from, static_cast<std::int64_t>(b.rate_bp) * percent, 1'000'000);
      lower = b.up_to;
    }
  }
  const bool local_benefit_plus = is_benefit_plus(merchant) && merchant.district == card_district;
  if (policy.district && local_benefit_plus) {
    out.cashback.district = apply_bp(out.eligible, policy.district->topup_bp);
    out.fee_support = apply_bp(charged, policy.district->fee_support_bp);
  }
  if (merchant.benefit && merchant.benefit->kind == BenefitKind::merchant_cashback)
    out.cashback.merchant = apply_bp(earning, merchant.benefit->rate_bp);
  return out;
}

PaymentDecision decide_payment(const PaymentRequest& request, const PolicyInForce& policy) {
  PaymentDecision decision;
  if (request.card != CardStatus::active) {
    decision.declined = Decline::card_inactive;
    return decision;
  }
  const auto& m = request.merchant;
  if (!m.active || policy.city.excluded_voucher.count(m.category)) {
    decision.declined = Decline::merchant_ineligible;
    return decision;
  }
  PaymentQuote q;
  q.price = request.price;
  if (m.benefit && m.benefit->kind == BenefitKind::pre_discount) q.discount = apply_bp(request.price, m.benefit->rate_bp);
  q.charged = q.price - q.discount;
  // Program money valid here pays first, the earliest expiry first; then points; then cash.
  std::vector<const ProgramWallet*> valid;
  for (const auto& w : request.wallets)
    if (w.balance > Won(0) && program_valid(w, m, policy.city, request.business_date)) valid.push_back(&w);
  std::sort(valid.begin(), valid.end(), [](const ProgramWallet* a, const ProgramWallet* b) {
    return std::tie(a->expires_on, a->program) < std::tie(b->expires_on, b->program);
  });
  for (const auto* w : valid) {
    const Won take = std::min(w->balance, q.charged - q.paid_program);
    if (take <= Won(0)) break;
    q.program_draws.push_back({w->program, take, w->expires_on});
    q.paid_program += take;
  }
  const Won points = std::max(Won(0), request.balances.points);
  q.paid_points = std::min(points, q.charged - q.paid_program);
  q.paid_cash = q.charged - q.paid_program - q.paid_points;
  if (q.paid_cash > request.balances.cash) {
    decision.declined = Decline::insufficient_funds;
    return decision;
  }
  q.eligible_before = request.month_eligible_spent;
  q.earned = earnings(q.charged, q.eligible_before, m, request.card_district, policy, q.paid_program);
  decision.approved = q;
  return decision;
}

CitySplit split_city_component(Won city, const CityRules& rules) {
  CitySplit s;
  s.national = floor_fraction(city, rules.split_national, rules.split_national + rules.split_city);
  s.city = city - s.national;
  return s;
}

bool program_valid(const ProgramWallet& w, const MerchantTerms& m, const CityRules& rules,
                   const std::string& business_date) {
  if (business_date > w.expires_on || business_date < w.valid_from) return false;
  if (w.scope.categories && !w.scope.categories->count(m.category)) return false;
  return w.scope.over_ceiling_allowed || m.annual_revenue <= rules.revenue_ceiling;
}

std::optional<CancellationQuote> quote_cancellation(const PaymentState& p, Won amount, const PolicyInForce& policy,
                                                    const std::string& business_date) {
  if (amount <= Won(0) || p.cancelled + amount > p.charged) return std::nullopt;
  CancellationQuote q;
  q.amount = amount;
  q.refund_cash = std::min(amount, p.paid_cash - p.refunded_cash);
  const Won refunded_points = p.cancelled - p.refunded_cash - p.refunded_program;
  q.refund_points = std::min(amount - q.refund_cash, p.paid_points - refunded_points);
  // The rest is program money, back to the wallet spent last first.
  Won program_left;
  for (const auto& d : p.program_left) program_left += d.amount;
  Won rest = amount - q.refund_cash - q.refund_points;
  for (auto d = p.program_left.rbegin(); d != p.program_left.rend() && rest > Won(0); ++d) {
    const Won back = std::min(rest, d->amount);
    if (back <= Won(0)) continue;
    q.program_refunds.push_back({d->program, back, !business_date.empty() && business_date > d->expires_on});
    q.refund_program += back;
    rest -= back;
  }
  q.remaining = p.charged - p.cancelled - amount;
  q.earned_after = earnings(q.remaining, p.eligible_before, p.merchant, p.card_district, policy,
                            program_left - q.refund_program);
  if (p.cashback_forfeited) {
    q.earned_after.cashback = {};
    q.earned_after.eligible = Won(0);
  }
  q.reversed = {p.earned.cashback.city - q.earned_after.cashback.city,
                p.earned.cashback.district - q.earned_after.cashback.district,
                p.earned.cashback.merchant - q.earned_after.cashback.merchant};
  q.fee_support_reversed = p.earned.fee_support - q.earned_after.fee_support;
  q.eligible_reduction = p.earned.eligible - q.earned_after.eligible;
  return q;
}

Forfeit forfeit_cashback(const PaymentState& p) {
  if (p.cashback_forfeited) return {};
  return {p.earned.cashback, p.earned.eligible};
}

}  // namespace evoucher::engine

namespace evoucher::engine {

Clawback clawback_after_cancellation(const PostedCashback& posted, const Cashback& earned_after,
                                     const CityRules& rules) {
  const auto split = split_city_component(earned_after.city, rules);
  const PostedCashback due{split.national, split.city, earned_after.district, earned_after.merchant};
  Clawback c;
  c.posted = {std::min(posted.national, due.national), std::min(posted.city, due.city),
              std::min(posted.district, due.district), std::min(posted.merchant, due.merchant)};
  c.taken = {posted.national - c.posted.national, posted.city - c.posted.city, posted.district - c.posted.district,
             posted.merchant - c.posted.merchant};
  c.unfunded = {due.national - c.posted.national, due.city - c.posted.city, due.district - c.posted.district, Won(0)};
  return c;
}

std::vector<PostedCashback> draw_cashback(const std::vector<PostedCashback>& due, PoolsLeft& left) {
  auto draw = [](Won wanted, Won& pool) {
    const Won paid = std::max(Won(0), std::min(wanted, pool));
    pool -= paid;
    return paid;
  };
  std::vector<PostedCashback> out;
  out.reserve(due.size());
  for (const auto& d : due)
    out.push_back({draw(d.national, left.national), draw(d.city, left.city), draw(d.district, left.district),
                   d.merchant});
  return out;
}

}  // namespace evoucher::engine
