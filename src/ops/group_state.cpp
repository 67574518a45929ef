// The running state's bookkeeping, shared by the deciders: stored answers, fresh ids, balances
// and month counters as the earlier commands of the group left them.
#include "group_state.hpp"

namespace evoucher::ops {

std::string won_text(Won w) { return std::to_string(w.value()); }

std::string burst_window_day(Timestamp at) {
  return format_date(seoul_business_date(at - std::chrono::minutes(engine::FraudRules::kMaxBurstMinutes)));
}

engine::MerchantTerms terms_of(const std::string& district, const std::string& category, Won revenue, bool active,
                               const std::optional<std::string>& kind, const std::optional<int>& rate) {
  engine::MerchantTerms t{district, category, revenue, active, std::nullopt};
  if (kind)
    t.benefit = engine::Benefit{
        *kind == "pre_discount" ? engine::BenefitKind::pre_discount : engine::BenefitKind::merchant_cashback,
        rate.value_or(0)};
  return t;
}

engine::PaymentState payment_state(const store::PaymentRow& row, std::map<std::string, std::int64_t>& program_pools) {
  const auto& p = row.record;
  engine::PaymentState state{
      p.charged,
      p.paid_cash,
      p.paid_points,
      p.cancelled,
      p.refunded_cash,
      p.eligible_before,
      {p.eligible, {p.city_cashback, p.district_cashback, p.merchant_cashback}, p.fee_support},
      terms_of(p.merchant_district, p.merchant_category, p.merchant_revenue, true, p.benefit_kind, p.benefit_rate_bp),
      p.district,
      p.cashback_forfeited,
      {},
      p.refunded_program};
  for (const auto& part : row.programs) {
    program_pools[part.program] = part.pool_id;
    if (part.amount > part.refunded)
      state.program_left.push_back({part.program, part.amount - part.refunded, part.expires_on});
  }
  return state;
}

Result keep(GroupState& group, const DistrictKey& key, const std::string& request_hash, Answer answer) {
  group.changes.rows.keys.push_back({key.first, key.second, request_hash, answer.status, answer.body});
  group.facts.keys[key] = {request_hash, answer.status, answer.body};
  return answered(std::move(answer));
}

Result keep(GroupState& group, store::EventRow event, Answer answer) {
  event.status = answer.status;
  event.answer = answer.body;
  if (event.decision.empty()) event.decision = answer.status < 300 ? "done" : "refused";
  group.facts.events[{event.endpoint, event.event_id}] = {event.request_hash, answer.status, answer.body};
  group.changes.rows.events.push_back(std::move(event));
  return answered(std::move(answer));
}

void audit(GroupState& group, const std::optional<store::AuditEntry>& who, std::string resource, const Answer& answer) {
  if (!who) return;
  auto entry = *who;
  entry.resource = std::move(resource);
  entry.status = answer.status;
  group.changes.rows.audits.push_back(std::move(entry));
}

std::pair<std::int64_t, std::int64_t> next_ids(GroupState& group) { return group.facts.ids.at(group.next_id++); }

Won& balance(GroupState& group, const std::string& district, const std::string& account) {
  return group.facts.balances[{district, account}];  // an account not read holds nothing yet
}

store::MonthTotals& month(GroupState& group, const std::string& district, const std::string& member,
                          const std::string& m) {
  return group.facts.months[{district, member, m}];
}

void add_to_month(GroupState& group, const std::string& district, const std::string& member, const std::string& m,
                  Won loaded, Won eligible_spent) {
  auto& totals = month(group, district, member, m);
  totals.loaded += loaded;
  totals.eligible_spent += eligible_spent;
  auto& delta = group.changes.month_deltas[{district, member, m}];
  delta.month = {district, member, m};
  delta.loaded += loaded;
  delta.eligible_spent += eligible_spent;
}

}  // namespace evoucher::ops
