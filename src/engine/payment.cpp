// The payment and cancellation rules of PRODUCT.md, as arithmetic on won.
#include "evoucher/engine/payment.hpp"

#include <algorithm>

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
                  const PolicyInForce& policy) {
  const CityRules& rules = policy.city;
  Earnings out;
  if (earns_city_cashback(rules, merchant)) {
    const Won room = std::max(Won(0), rules.monthly_cap() - eligible_before);
    out.eligible = std::min(charged, room);
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
    out.cashback.merchant = apply_bp(charged, merchant.benefit->rate_bp);
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
  const Won points = std::max(Won(0), request.balances.points);
  q.paid_points = std::min(points, q.charged);
  q.paid_cash = q.charged - q.paid_points;
  if (q.paid_cash > request.balances.cash) {
    decision.declined = Decline::insufficient_funds;
    return decision;
  }
  q.eligible_before = request.month_eligible_spent;
  q.earned = earnings(q.charged, q.eligible_before, m, request.card_district, policy);
  decision.approved = q;
  return decision;
}

CitySplit split_city_component(Won city, const CityRules& rules) {
  CitySplit s;
  s.national = floor_fraction(city, rules.split_national, rules.split_national + rules.split_city);
  s.city = city - s.national;
  return s;
}

std::optional<CancellationQuote> quote_cancellation(const PaymentState& p, Won amount, const PolicyInForce& policy) {
  if (amount <= Won(0) || p.cancelled + amount > p.charged) return std::nullopt;
  CancellationQuote q;
  q.amount = amount;
  q.refund_cash = std::min(amount, p.paid_cash - p.refunded_cash);
  q.refund_points = amount - q.refund_cash;
  q.remaining = p.charged - p.cancelled - amount;
  q.earned_after = earnings(q.remaining, p.eligible_before, p.merchant, p.card_district, policy);
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
