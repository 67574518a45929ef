// One group of money movements: lock, read, decide in memory, write in a few set-based
// statements. Declines and refusals move no money and fail no neighbour: they are only stored
// under their keys with the group. A member's second command in the group sees the first one's
// cash, points, monthly cap and load limits through the running state.
#include "group_run.hpp"

#include <map>
#include <set>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/fraud.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/store/money_path.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/programs.hpp"

namespace evoucher::ops {
namespace {

using store::DistrictKey;
using store::PaymentKey;

engine::MerchantTerms terms_of(const std::string& district, const std::string& category, Won revenue, bool active,
                               const std::optional<std::string>& kind, const std::optional<int>& rate) {
  engine::MerchantTerms t{district, category, revenue, active, std::nullopt};
  if (kind)
    t.benefit = engine::Benefit{*kind == "pre_discount" ? engine::BenefitKind::pre_discount
                                                        : engine::BenefitKind::merchant_cashback,
                                rate.value_or(0)};
  return t;
}

std::string won_text(Won w) { return std::to_string(w.value()); }

// The Seoul date where the longest burst window before `at` starts: the day before `at`'s, near
// midnight.
std::string burst_window_day(Timestamp at) {
  return format_date(seoul_business_date(at - std::chrono::minutes(engine::FraudRules::kMaxBurstMinutes)));
}

// An approved payment as the engine judges its cancellations and forfeits: what it earns now,
// and the program money it still holds, with each program's pool.
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

// Everything the group reads after taking its locks, and what it has decided so far.
class Group {
 public:
  Group(store::Tx& tx, const std::vector<const Command*>& commands, PolicyCache& policies,
        const PayableIds& payable_ids)
      : tx_(tx), commands_(commands), policies_(policies), payable_ids_(payable_ids) {}

  GroupOutcome run();

 private:
  void read();
  Result decide(const PaymentCommand& c);
  Result decide(const CancellationCommand& c);
  Result decide(const LoadCommand& c);
  Result decide(const RefundCommand& c);
  Result decide(const FlagReviewCommand& c);
  Result decide(const GrantCommand& c);
  void write(GroupOutcome& out);
  BusinessTally tally() const;
  // Judges the fraud rules on an approved payment, counts it into its member's day, and raises
  // its flags with the group.
  void judge_flags(const PaymentCommand& c, const store::PaymentRecord& p, const store::Merchant& m,
                   const engine::FraudRules& rules);

  // A repeat of a key answers the first answer; the same key with another request is refused.
  // Covers keys stored earlier and keys answered earlier in this group.
  static std::optional<Result> earlier(const std::map<DistrictKey, store::StoredKey>& stored, const DistrictKey& key,
                                       const std::string& request_hash);
  // Stores a judged answer under its admin key, with the group.
  Result keep(const DistrictKey& key, const std::string& request_hash, Answer answer);
  // Stores a judged admin answer under its key, with its audit row when the command has one.
  template <typename AdminCommand>
  Result keep_audited(const AdminCommand& c, const DistrictKey& key, std::string resource, Answer answer) {
    audit(c.audit, std::move(resource), answer);
    return keep(key, c.request_hash, std::move(answer));
  }
  // Writes the admin command's audit row, when it has one, with the group.
  void audit(const std::optional<store::AuditEntry>& who, std::string resource, const Answer& answer) {
    if (!who) return;
    auto entry = *who;
    entry.resource = std::move(resource);
    entry.status = answer.status;
    writes_.audits.push_back(std::move(entry));
  }
  // Stores a judged processor answer under its event, with the group.
  Result keep(store::EventRow event, Answer answer);
  // A load or refund stamped before the member's latest one; the problem's detail when it is.
  std::optional<std::string> backdated(const std::string& district, const std::string& member, Timestamp at) const;
  // The time of a load or refund: as sent, or, for one that named none, now, but never before the
  // member's latest load or refund, so that it is never refused as backdated.
  Timestamp money_time(const std::optional<Timestamp>& sent, const std::string& district,
                       const std::string& member) const;
  std::pair<std::int64_t, std::int64_t> next_ids();
  Won& balance(const std::string& district, const std::string& account);
  store::MonthTotals& month(const std::string& district, const std::string& member, const std::string& month);
  // Moves a member's month, for later commands of the group and for the group's one upsert.
  void add_to_month(const std::string& district, const std::string& member, const std::string& month, Won loaded,
                    Won eligible_spent);

  store::Tx& tx_;
  const std::vector<const Command*>& commands_;
  PolicyCache& policies_;
  const PayableIds& payable_ids_;

  std::map<std::string, store::Card> cards_;
  std::map<std::string, store::Merchant> merchants_;
  std::map<PaymentKey, store::PaymentRow> payments_;
  std::vector<store::PolicyVersion> versions_;
  std::map<DistrictKey, Won> balances_;
  std::map<store::MonthKey, store::MonthTotals> months_;
  std::set<store::MonthKey> months_read_;  // asked of the database, whether or not a row was there
  std::map<store::MonthKey, store::MonthDelta> month_deltas_;
  std::map<DistrictKey, store::StoredKey> keys_;
  std::map<store::EventKey, store::StoredKey> events_;
  std::map<DistrictKey, Timestamp> latest_money_;  // (district, member): latest load or refund
  std::map<DistrictKey, store::MemberTotals> totals_;  // (district, member) for refunds
  std::vector<std::pair<std::int64_t, std::int64_t>> ids_;
  std::size_t next_id_ = 0;

  store::GroupWrites writes_;
  std::vector<store::CancellationRecord> cancellation_rows_;
  struct Clawed {
    std::string district;
    std::int64_t payment_id;
    std::optional<std::int64_t> cancellation_id;  // none for a confirmed fraud flag
    std::string business_date;
    store::PostedAmounts posted, unfunded;
    Won taken;
  };
  std::vector<Clawed> clawbacks_;
  std::map<store::DayKey, engine::DayCounters> days_;  // fraud counters, as read and as counted
  std::set<store::DayKey> days_counted_;               // the days this group's payments moved
  std::map<std::pair<std::string, std::int64_t>, store::Flag> flags_;  // flags under review, locked
  std::vector<store::FlagReview> reviews_;
  std::vector<PaymentKey> forfeits_;
  std::set<std::string> suspensions_;
  std::map<DistrictKey, std::vector<store::WalletFact>> wallets_;  // (district, member)
  std::map<std::string, std::string> member_districts_;           // members named by grants
  std::map<std::string, store::Program> programs_;                 // programs granted by the group
  std::map<std::string, std::map<std::string, Won>> granted_;      // program -> member -> amount
  std::map<std::int64_t, Won> pools_left_;                         // program pools: what is left
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> wallets_to_open_;
  std::vector<std::pair<std::string, store::GrantRow>> grant_rows_;  // (program, grant)
  std::vector<std::pair<std::string, store::AccountSpec>> pool_accounts_;
  std::set<DistrictKey> payables_;  // (district, merchant) that approved payments credit
  // Payables the writer did not know, whose ids the facts read found: ((district, merchant), id).
  std::vector<std::pair<DistrictKey, std::int64_t>> learned_payables_;
};

void Group::read() {
  store::LockRequest lock;
  std::vector<store::PaymentKey> payment_keys;
  for (const auto* c : commands_) {
    if (const auto* p = std::get_if<PaymentCommand>(c)) {
      lock.card_tokens.push_back(p->card);
    } else if (const auto* x = std::get_if<CancellationCommand>(c)) {
      if (x->payment) lock.payments.emplace_back(x->payment->district, x->payment->id);
    } else if (const auto* l = std::get_if<LoadCommand>(c)) {
      lock.members.push_back(l->member);
    } else if (const auto* r = std::get_if<RefundCommand>(c)) {
      lock.members.push_back(r->member);
    } else if (const auto* f = std::get_if<FlagReviewCommand>(c)) {
      if (f->payment_id) lock.payments.emplace_back(f->district, *f->payment_id);
    } else if (const auto* g = std::get_if<GrantCommand>(c)) {
      for (const auto& l : g->lines)
        if (!l.refused) lock.members.push_back(l.member);
    }
  }
  auto locked = store::lock_members(tx_, lock);
  for (auto& card : locked.cards) cards_[card.token] = std::move(card);
  // Cancellations judge the payment as it stands now: the batch may have posted it meanwhile.
  for (auto& row : store::lock_payments(tx_, lock.payments))
    payments_[{row.record.district, row.record.id}] = std::move(row);
  // A cancellation of a posted payment may return cashback to its pools.
  std::set<std::int64_t> pools;
  for (const auto& [key, row] : payments_) {
    if (!row.posted.posted) continue;
    for (const auto& id : {row.posted.pools.national, row.posted.pools.city, row.posted.pools.district})
      if (id) pools.insert(*id);
  }
  // Grants draw their programs' pools.
  std::vector<std::string> grant_members;
  for (const auto* c : commands_)
    if (const auto* g = std::get_if<GrantCommand>(c)) {
      if (!programs_.count(g->program))
        if (auto program = store::find_program(tx_, g->program)) programs_[g->program] = std::move(*program);
      if (programs_.count(g->program)) pools.insert(programs_.at(g->program).pool_id);
      for (const auto& l : g->lines)
        if (!l.refused) grant_members.push_back(l.member);
    }
  store::lock_pools(tx_, {pools.begin(), pools.end()});
  if (!grant_members.empty()) {
    member_districts_ = store::member_districts(tx_, grant_members);
    for (const auto& [id, program] : programs_) {
      granted_[id] = store::granted(tx_, id, grant_members);
      if (const auto pool = store::find_pool(tx_, program.pool_id)) pools_left_[program.pool_id] = pool->remaining();
    }
  }
  // Flags under review, after their payments: two reviews of one flag are judged one by one.
  for (const auto* c : commands_)
    if (const auto* f = std::get_if<FlagReviewCommand>(c))
      if (!flags_.count({f->district, f->flag_id}))
        if (auto flag = store::find_flag(tx_, f->district, f->flag_id, /*lock=*/true))
          flags_[{f->district, f->flag_id}] = std::move(*flag);

  store::FactsRequest wanted;
  // A review that suspends is judged against the merchant's own district.
  for (const auto* c : commands_)
    if (const auto* f = std::get_if<FlagReviewCommand>(c); f && f->suspend_merchant)
      if (const auto flag = flags_.find({f->district, f->flag_id}); flag != flags_.end())
        wanted.merchants.push_back(flag->second.raised.merchant);
  std::set<DistrictKey> unknown_payables;  // (district, merchant) whose payable id the writer lacks
  wanted.ids = static_cast<int>(commands_.size());
  for (const auto* c : commands_)
    if (const auto* g = std::get_if<GrantCommand>(c)) {
      wanted.ids += static_cast<int>(g->lines.size());  // a journal a grant
      wanted.keys.emplace_back(g->district, g->key);
      for (const auto& l : g->lines)
        if (const auto d = member_districts_.find(l.member); d != member_districts_.end())
          wanted.wallets.emplace_back(d->second, l.member);
    }
  auto member_accounts = [&](const std::string& district, const std::string& member) {
    wanted.accounts.emplace_back(district, accounts::member_cash(member));
    wanted.accounts.emplace_back(district, accounts::member_points(member));
  };
  for (const auto* c : commands_) {
    if (const auto* p = std::get_if<PaymentCommand>(c)) {
      wanted.events.emplace_back("payment", p->event_id);
      wanted.merchants.push_back(p->merchant);
      const auto card = cards_.find(p->card);
      if (card == cards_.end()) continue;
      member_accounts(card->second.district, card->second.member_id);
      wanted.wallets.emplace_back(card->second.district, card->second.member_id);
      // A payable whose id the writer does not know yet is read with the balances, for its id.
      const auto& district = card->second.district;
      if (const auto id = payable_ids_(district, p->merchant)) {
        writes_.account_ids[{district, accounts::merchant_payable(p->merchant)}] = *id;
      } else if (unknown_payables.insert({district, p->merchant}).second) {
        wanted.accounts.emplace_back(district, accounts::merchant_payable(p->merchant));
      }
      wanted.months.push_back({card->second.district, card->second.member_id, seoul_month_start(p->occurred_at)});
      // The member's day, and the day before when the longest burst window reaches back into it.
      const auto day = format_date(seoul_business_date(p->occurred_at));
      wanted.days.push_back({district, card->second.member_id, day});
      if (const auto start = burst_window_day(p->occurred_at); start != day)
        wanted.days.push_back({district, card->second.member_id, start});
    } else if (const auto* x = std::get_if<CancellationCommand>(c)) {
      wanted.events.emplace_back("cancellation", x->event_id);
      if (!x->payment) continue;
      const auto found = payments_.find({x->payment->district, x->payment->id});
      if (found == payments_.end()) continue;
      const auto& rec = found->second.record;
      member_accounts(rec.district, rec.member);
      wanted.months.push_back({rec.district, rec.member, seoul_month_start(rec.occurred_at)});
    } else if (const auto* l = std::get_if<LoadCommand>(c)) {
      member_accounts(l->district, l->member);
      // A load that names no time is stamped when decided, most often in this month; decide reads
      // the next one itself in the rare case the member's latest load already lies there.
      wanted.months.push_back({l->district, l->member, seoul_month_start(l->occurred_at.value_or(now_utc()))});
      wanted.keys.emplace_back(l->district, l->key);
      wanted.members.emplace_back(l->district, l->member);
    } else if (const auto* r = std::get_if<RefundCommand>(c)) {
      member_accounts(r->district, r->member);
      wanted.keys.emplace_back(r->district, r->key);
      wanted.members.emplace_back(r->district, r->member);
      if (!totals_.count({r->district, r->member}))
        totals_[{r->district, r->member}] = store::member_totals(tx_, r->district, r->member);
    }
  }
  // Every fact decided on is read after the lock, so it includes what the previous holder committed.
  months_read_.insert(wanted.months.begin(), wanted.months.end());
  auto facts = store::read_facts(tx_, wanted);
  for (auto& m : facts.merchants) merchants_[m.id] = std::move(m);
  versions_ = std::move(facts.versions);
  balances_ = std::move(facts.balances);
  writes_.account_ids.merge(facts.account_ids);
  for (const auto& [district, merchant] : unknown_payables)
    if (const auto found = writes_.account_ids.find({district, accounts::merchant_payable(merchant)});
        found != writes_.account_ids.end())
      learned_payables_.push_back({{district, merchant}, found->second});
  months_ = std::move(facts.months);
  keys_ = std::move(facts.keys);
  events_ = std::move(facts.events);
  latest_money_ = std::move(facts.latest_money);
  days_ = std::move(facts.days);
  wallets_ = std::move(facts.wallets);
  for (const auto& [member, wallets] : wallets_)
    for (const auto& w : wallets) {
      const DistrictKey key{member.first, accounts::member_program(w.program, member.second)};
      balances_[key] = w.balance;
      writes_.account_ids[key] = w.account_id;
    }
  ids_ = std::move(facts.ids);
}

std::optional<Result> Group::earlier(const std::map<DistrictKey, store::StoredKey>& stored, const DistrictKey& key,
                                     const std::string& request_hash) {
  const auto found = stored.find(key);
  if (found == stored.end()) return std::nullopt;
  Result r;
  if (found->second.request_hash != request_hash) {
    r.key_reused = true;
    return r;
  }
  r.answer = {found->second.status, found->second.answer};
  return r;
}

Result Group::keep(const DistrictKey& key, const std::string& request_hash, Answer answer) {
  writes_.keys.push_back({key.first, key.second, request_hash, answer.status, answer.body});
  keys_[key] = {request_hash, answer.status, answer.body};
  return answered(std::move(answer));
}

Result Group::keep(store::EventRow event, Answer answer) {
  event.status = answer.status;
  event.answer = answer.body;
  if (event.decision.empty()) event.decision = answer.status < 300 ? "done" : "refused";
  events_[{event.endpoint, event.event_id}] = {event.request_hash, answer.status, answer.body};
  writes_.events.push_back(std::move(event));
  return answered(std::move(answer));
}

std::optional<std::string> Group::backdated(const std::string& district, const std::string& member,
                                            Timestamp at) const {
  const auto latest = latest_money_.find({district, member});
  if (latest == latest_money_.end() || at >= latest->second) return std::nullopt;
  return "field 'occurred_at' " + format_rfc3339(at) + " is before member " + member +
         "'s latest load or refund, at " + format_rfc3339(latest->second) + "; loads and refunds cannot be backdated";
}

Timestamp Group::money_time(const std::optional<Timestamp>& sent, const std::string& district,
                            const std::string& member) const {
  if (sent) return *sent;
  const auto latest = latest_money_.find({district, member});
  const auto now = now_utc();
  return latest == latest_money_.end() ? now : std::max(now, latest->second);
}

std::pair<std::int64_t, std::int64_t> Group::next_ids() { return ids_.at(next_id_++); }

Won& Group::balance(const std::string& district, const std::string& account) {
  return balances_[{district, account}];  // an account not read holds nothing yet
}

store::MonthTotals& Group::month(const std::string& district, const std::string& member, const std::string& m) {
  return months_[{district, member, m}];
}

void Group::add_to_month(const std::string& district, const std::string& member, const std::string& m, Won loaded,
                         Won eligible_spent) {
  auto& totals = month(district, member, m);
  totals.loaded += loaded;
  totals.eligible_spent += eligible_spent;
  auto& delta = month_deltas_[{district, member, m}];
  delta.month = {district, member, m};
  delta.loaded += loaded;
  delta.eligible_spent += eligible_spent;
}

Result Group::decide(const PaymentCommand& c) {
  if (auto e = earlier(events_, {"payment", c.event_id}, c.request_hash)) return *e;
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
    return keep(std::move(event), c.render(outcome));
  };
  const auto card = cards_.find(c.card);
  if (card == cards_.end()) return decline(engine::Decline::unknown_card);
  const auto& district = card->second.district;
  const auto& member = card->second.member_id;
  event.district = district;
  event.member = member;
  if (card->second.status != engine::CardStatus::active) return decline(engine::Decline::card_inactive);
  const auto merchant = merchants_.find(c.merchant);
  if (merchant == merchants_.end()) return decline(engine::Decline::unknown_merchant);

  const auto& m = merchant->second;
  const auto policies = policies_.at(tx_, versions_, district, c.occurred_at);
  const auto month_key = seoul_month_start(c.occurred_at);
  Won& cash = balance(district, accounts::member_cash(member));
  Won& points = balance(district, accounts::member_points(member));
  const auto& month_totals = month(district, member, month_key);
  const auto terms =
      terms_of(m.district, m.category, m.annual_revenue, m.status == store::MerchantStatus::active, m.benefit_kind, m.benefit_rate_bp);
  const auto business_date = format_date(seoul_business_date(c.occurred_at));
  std::vector<engine::ProgramWallet> wallets;
  if (const auto w = wallets_.find({district, member}); w != wallets_.end())
    for (const auto& wallet : w->second) {
      engine::ProgramScope scope{std::nullopt, wallet.over_ceiling_allowed};
      if (wallet.categories) scope.categories = std::set<std::string>(wallet.categories->begin(), wallet.categories->end());
      wallets.push_back({wallet.program, balance(district, accounts::member_program(wallet.program, member)),
                         wallet.expires_on, std::move(scope), wallet.grant_from});
    }
  const engine::PaymentRequest request{c.price,        district,
                                       card->second.status, terms,
                                       {cash, points}, month_totals.eligible_spent,
                                       std::move(wallets), business_date};
  const auto decision = engine::decide_payment(request, policies.view());
  if (decision.declined) return decline(*decision.declined);
  const auto& q = *decision.approved;
  const auto [id, journal_id] = next_ids();
  const auto ref = operation_ref("pay", district, id);
  writes_.journals.push_back({district, journal_id, "payment", c.occurred_at, ref, engine::payment_postings(member, m.id, q)});
  payables_.insert({district, m.id});

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
    writes_.payment_programs.push_back({district, id, d.program, ++seq, d.amount});
    balance(district, accounts::member_program(d.program, member)) -= d.amount;
  }
  judge_flags(c, p, m, policies.city->fraud);
  writes_.payments.push_back(std::move(p));

  cash -= q.paid_cash;
  points -= q.paid_points;
  add_to_month(district, member, month_key, Won(0), q.earned.eligible);

  outcome.approved = PaymentApproved{ref, q, policies.city_id};
  event.decision = "approved";
  event.operation = ref;
  return keep(std::move(event), c.render(outcome));
}

Result Group::decide(const CancellationCommand& c) {
  if (auto e = earlier(events_, {"cancellation", c.event_id}, c.request_hash)) return *e;
  auto event = store::event_row("cancellation", c.event_id, c.request_hash);
  event.amount = c.amount;
  event.occurred_at = c.occurred_at;
  CancellationOutcome outcome;
  const auto found = c.payment ? payments_.find({c.payment->district, c.payment->id}) : payments_.end();
  if (found == payments_.end()) {
    outcome.payment_missing = "no payment " + c.payment_ref;
    event.reason = "not_found";
    return keep(std::move(event), c.render(outcome));
  }
  auto& row = found->second;
  auto& p = row.record;
  event.district = p.district;
  event.card = p.card_token;
  event.member = p.member;
  event.merchant = p.merchant;

  const auto policies = policies_.by_id(tx_, p.city_policy_id, p.district_policy_id);
  std::map<std::string, std::int64_t> program_pools;
  const auto state = payment_state(row, program_pools);
  const auto cancel_date = format_date(seoul_business_date(c.occurred_at));
  const auto q = engine::quote_cancellation(state, c.amount, policies.view(), cancel_date);
  if (!q) {
    outcome.exceeds = "cancelling " + won_text(c.amount) + " would exceed the payment: charged " +
                      won_text(p.charged) + ", already cancelled " + won_text(p.cancelled) + ", remaining " +
                      won_text(p.charged - p.cancelled);
    event.reason = "cancel_exceeds_payment";
    return keep(std::move(event), c.render(outcome));
  }
  const auto [id, journal_id] = next_ids();
  const auto ref = operation_ref("cxl", p.district, id);
  // After the batch posted this payment's cashback, what the remaining amount no longer earns
  // is taken back from points (which may go negative) and returned where it came from.
  std::optional<engine::Clawback> claw;
  const auto& pools = row.posted.pools;
  if (row.posted.posted) {
    const auto& a = row.posted.amounts;
    claw = engine::clawback_after_cancellation({a.national, a.city, a.district, a.merchant},
                                               q->earned_after.cashback, *policies.city);
  }
  writes_.journals.push_back({p.district, journal_id, "cancellation", c.occurred_at, ref,
                       engine::cancellation_postings(p.member, p.merchant, *q, claw,
                                                     {pools.national, pools.city, pools.district}, program_pools)});
  for (const auto& r : q->program_refunds) {
    writes_.program_refunds.push_back({p.district, p.id, r.program, 0, r.amount});
    for (auto& part : row.programs)
      if (part.program == r.program) part.refunded += r.amount;
    if (!r.to_pool) balance(p.district, accounts::member_program(r.program, p.member)) += r.amount;
  }
  p.refunded_program += q->refund_program;
  cancellation_rows_.push_back({id, p.district, c.event_id, p.id, q->amount, q->refund_cash, q->refund_points,
                                q->refund_program, q->reversed.city, q->reversed.district, q->reversed.merchant,
                                q->fee_support_reversed, q->eligible_reduction, c.occurred_at,
                                format_date(seoul_business_date(c.occurred_at)), journal_id});
  if (claw) {
    const auto& after = claw->posted;
    const auto& unfunded = claw->unfunded;
    clawbacks_.push_back({p.district, p.id, id, p.business_date,
                          {after.national, after.city, after.district, after.merchant},
                          {unfunded.national, unfunded.city, unfunded.district, Won(0)},
                          claw->taken.total()});
    row.posted.amounts = {after.national, after.city, after.district, after.merchant};
  }

  balance(p.district, accounts::member_cash(p.member)) += q->refund_cash;
  balance(p.district, accounts::member_points(p.member)) += q->refund_points - (claw ? claw->taken.total() : Won(0));
  const auto month_key = seoul_month_start(p.occurred_at);
  add_to_month(p.district, p.member, month_key, Won(0), -q->eligible_reduction);

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
  return keep(std::move(event), c.render(outcome));
}

Result Group::decide(const LoadCommand& c) {
  LoadOutcome outcome;
  const DistrictKey key{c.district, c.key};
  if (auto e = earlier(keys_, key, c.request_hash)) return *e;
  const auto at = money_time(c.occurred_at, c.district, c.member);
  if (auto late = backdated(c.district, c.member, at)) {
    outcome.backdated = std::move(late);
    return answered(c.render(outcome));  // bad input: judged nothing, stored nothing
  }
  const auto policies = policies_.at(tx_, versions_, c.district, at);
  const auto month_key = seoul_month_start(at);
  // A stamped load's month was read with the group's facts, unless the clock crossed into a month
  // no one asked for: then it is read now, under the member's lock.
  if (const store::MonthKey read{c.district, c.member, month_key}; !months_read_.count(read)) {
    if (!months_.count(read)) months_[read] = store::member_month(tx_, c.district, c.member, month_key);
    months_read_.insert(read);
  }
  const auto& totals = month(c.district, c.member, month_key);
  Won& cash = balance(c.district, accounts::member_cash(c.member));
  const Won points = balance(c.district, accounts::member_points(c.member));
  const auto check = engine::check_load(*policies.city, c.amount, totals.loaded, {cash, points});
  if (!check.allowed) {
    outcome.limit_exceeded = check.refusal;
    return keep_audited(c, key, "member:" + c.member, c.render(outcome));
  }
  const auto [id, journal_id] = next_ids();
  const auto ref = operation_ref("load", c.district, id);
  writes_.journals.push_back({c.district, journal_id, "load", at, ref, engine::load_postings(c.member, c.amount)});
  writes_.loads.push_back({id, c.district, c.member, c.amount, c.bank_ref, at, journal_id});
  cash += c.amount;
  latest_money_[{c.district, c.member}] = at;
  add_to_month(c.district, c.member, month_key, c.amount, Won(0));
  if (auto t = totals_.find({c.district, c.member}); t != totals_.end()) t->second.loaded += c.amount;
  outcome.done = LoadDone{ref, c.member, c.amount, cash, points};
  return keep_audited(c, key, "load:" + ref, c.render(outcome));
}

Result Group::decide(const RefundCommand& c) {
  RefundOutcome outcome;
  const DistrictKey key{c.district, c.key};
  if (auto e = earlier(keys_, key, c.request_hash)) return *e;
  const auto at = money_time(c.occurred_at, c.district, c.member);
  if (auto late = backdated(c.district, c.member, at)) {
    outcome.backdated = std::move(late);
    return answered(c.render(outcome));
  }
  const auto policies = policies_.at(tx_, versions_, c.district, at);
  auto& totals = totals_[{c.district, c.member}];
  Won& cash = balance(c.district, accounts::member_cash(c.member));
  Won& points = balance(c.district, accounts::member_points(c.member));
  const auto check = engine::check_refund(*policies.city, {cash, points}, totals.loaded, totals.refunded);
  if (!check.amount) {
    outcome.not_allowed = check.refusal;
    return keep_audited(c, key, "member:" + c.member, c.render(outcome));
  }
  const Won amount = *check.amount;
  const auto [id, journal_id] = next_ids();
  const auto ref = operation_ref("rfd", c.district, id);
  writes_.journals.push_back({c.district, journal_id, "refund", at, ref, engine::refund_postings(c.member, check.cash, check.debt)});
  writes_.refunds.push_back({id, c.district, c.member, amount, c.bank_ref, at, journal_id});
  cash -= check.cash;
  points += check.debt;
  totals.refunded += amount;
  latest_money_[{c.district, c.member}] = at;
  outcome.done = RefundDone{ref, amount};
  return keep_audited(c, key, "refund:" + ref, c.render(outcome));
}

Result Group::decide(const GrantCommand& c) {
  const DistrictKey key{c.district, c.key};
  if (auto e = earlier(keys_, key, c.request_hash)) return *e;
  GrantOutcome outcome;
  const auto& program = programs_.at(c.program);
  const auto date = format_date(seoul_business_date(c.occurred_at));
  const bool in_period = date >= program.grant_from && date <= program.grant_to;
  auto& already = granted_[c.program];
  Won& left = pools_left_[program.pool_id];
  for (const auto& l : c.lines) {
    auto refuse = [&](std::string reason) { outcome.refused.push_back({l.line, l.member, std::move(reason)}); };
    if (l.refused) {
      refuse(*l.refused);
      continue;
    }
    if (!in_period) {
      refuse("the grant period is " + program.grant_from + " to " + program.grant_to + "; this grant is dated " + date);
      continue;
    }
    const auto district = member_districts_.find(l.member);
    if (district == member_districts_.end() || (program.district != "city" && district->second != program.district)) {
      refuse(program.district == "city" ? "no member " + l.member
                                        : "no member " + l.member + " in " + program.district);
      continue;
    }
    if (const auto had = already.find(l.member); had != already.end()) {
      refuse("already granted " + won_text(had->second) + " won by this program");
      continue;
    }
    if (l.amount > left) {
      refuse("the program's pool has " + won_text(left) + " won left");
      continue;
    }
    const auto& d = district->second;
    const auto journal_id = next_ids().second;
    writes_.journals.push_back({d, journal_id, "grant", c.occurred_at, "grant " + c.program,
                                engine::grant_postings(c.program, program.pool_id, l.member, l.amount)});
    pool_accounts_.push_back({d, {accounts::pool_drawn(program.pool_id), store::Normal::debit, std::nullopt}});
    const DistrictKey wallet{d, accounts::member_program(c.program, l.member)};
    if (!writes_.account_ids.count(wallet)) {
      if (wallets_to_open_.empty() || wallets_to_open_.back().first != c.program) wallets_to_open_.push_back({c.program, {}});
      wallets_to_open_.back().second.emplace_back(d, l.member);
    }
    balance(d, wallet.second) += l.amount;
    grant_rows_.push_back({c.program, {d, l.member, l.amount, journal_id}});
    already[l.member] = l.amount;
    left -= l.amount;
    ++outcome.accepted;
    outcome.amount += l.amount;
  }
  return keep_audited(c, key, "program:" + c.program, c.render(outcome));
}

std::int64_t epoch_ms(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

void Group::judge_flags(const PaymentCommand& c, const store::PaymentRecord& p, const store::Merchant& m,
                        const engine::FraudRules& rules) {
  const store::DayKey key{p.district, p.member, p.business_date};
  auto& today = days_[key];
  std::vector<engine::RecentPayment> earlier;
  if (const auto window_start = burst_window_day(c.occurred_at); window_start != p.business_date)
    if (const auto found = days_.find({p.district, p.member, window_start}); found != days_.end())
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
    writes_.flags.push_back({p.district, rule, p.id, p.member, c.card, m.id, c.occurred_at, p.business_date,
                             std::nullopt, std::move(detail)});
  }
  engine::count_payment(today, facts);
  days_counted_.insert(key);
}

Result Group::decide(const FlagReviewCommand& c) {
  FlagReviewOutcome outcome;
  auto found = flags_.find({c.district, c.flag_id});
  if (found == flags_.end()) {
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
    const auto merchant = merchants_.find(flag.raised.merchant);
    if (merchant == merchants_.end() || merchant->second.district != *c.merchants_of) {
      outcome.forbidden = "merchant " + flag.raised.merchant + " is located in " +
                          (merchant == merchants_.end() ? std::string("no district") : merchant->second.district) +
                          "; a district admin of " + *c.merchants_of + " may suspend only its own district's merchants";
      return answered(c.render(outcome));  // refused before anything was judged: nothing stored
    }
  }
  store::FlagReview review{c.district, c.flag_id, c.outcome, c.reviewer, c.note, c.suspend_merchant, Won(0), Won(0),
                           std::nullopt};
  const auto payment = flag.raised.payment_id ? payments_.find({c.district, *flag.raised.payment_id}) : payments_.end();
  if (c.outcome == engine::FlagStatus::confirmed && payment != payments_.end() &&
      !payment->second.record.cashback_forfeited) {
    auto& row = payment->second;
    auto& p = row.record;
    std::map<std::string, std::int64_t> program_pools;
    const auto forfeit = engine::forfeit_cashback(payment_state(row, program_pools));
    review.forfeited = forfeit.reversed.total();
    if (auto& posted = row.posted; posted.posted) {
      // What the batch posted goes back to where it came from, as a full cancellation's would.
      const auto policies = policies_.by_id(tx_, p.city_policy_id, p.district_policy_id);
      const auto& a = posted.amounts;
      const auto claw =
          engine::clawback_after_cancellation({a.national, a.city, a.district, a.merchant}, {}, *policies.city);
      if (claw.taken.total() > Won(0)) {
        const auto journal_id = next_ids().second;
        const auto& pools = posted.pools;
        writes_.journals.push_back({p.district, journal_id, "fraud_clawback", now_utc(), c.flag_ref,
                                    engine::clawback_postings(p.member, p.merchant, claw.taken,
                                                              {pools.national, pools.city, pools.district})});
        review.journal_id = journal_id;
        review.clawed_back = claw.taken.total();
        balance(p.district, accounts::member_points(p.member)) -= claw.taken.total();
      }
      clawbacks_.push_back({p.district, p.id, std::nullopt, p.business_date, {}, {}, claw.taken.total()});
      posted.amounts = {};
    }
    add_to_month(p.district, p.member, seoul_month_start(p.occurred_at), Won(0), -forfeit.eligible_reduction);
    forfeits_.push_back({p.district, p.id});
    p.city_cashback = p.district_cashback = p.merchant_cashback = p.eligible = Won(0);
    p.cashback_forfeited = true;
  }
  if (c.suspend_merchant) suspensions_.insert(flag.raised.merchant);
  reviews_.push_back(review);
  flag.status = c.outcome;
  flag.reviewed_at = now_utc();
  flag.reviewed_by = c.reviewer;
  flag.review_note = c.note;
  flag.merchant_suspended = c.suspend_merchant;
  flag.clawed_back = review.clawed_back;
  flag.forfeited = review.forfeited;
  outcome.done = flag;
  auto answer = c.render(outcome);
  audit(c.audit, "flag:" + c.flag_ref, answer);
  return answered(std::move(answer));
}

void Group::write(GroupOutcome& out) {
  // A payable the writer knew, or that the facts found, is named by id; one never seen is opened
  // here and found by key in the write.
  std::vector<std::pair<std::string, store::AccountSpec>> open;
  for (const auto& [district, merchant] : payables_) {
    const auto key = accounts::merchant_payable(merchant);
    if (!writes_.account_ids.count({district, key})) open.push_back({district, {key, store::Normal::credit, std::nullopt}});
  }
  out.payable_ids = std::move(learned_payables_);
  open.insert(open.end(), pool_accounts_.begin(), pool_accounts_.end());
  store::open_accounts(tx_, open);
  for (const auto& [program, members] : wallets_to_open_) store::open_wallets(tx_, program, members);
  for (const auto& [k, d] : month_deltas_) writes_.months.push_back(d);
  for (const auto& key : days_counted_) writes_.days[key] = days_.at(key);
  out.flags = writes_.flags;
  out.tally = tally();
  store::write_group(tx_, writes_);
  // Cancellations move a payment's cashback by differences and a forfeit sets it to zero: the
  // forfeits go last, so that a cancellation judged before a review in the group applies first.
  for (const auto& c : cancellation_rows_) store::insert_cancellation(tx_, c);
  for (const auto& c : clawbacks_)
    store::record_clawback(tx_, c.district, c.payment_id, c.business_date, c.posted, c.unfunded, c.taken,
                           c.cancellation_id);
  for (const auto& [district, id] : forfeits_) store::forfeit_payment_cashback(tx_, district, id);
  for (const auto& r : reviews_) store::record_review(tx_, r);
  for (const auto& merchant : suspensions_) store::suspend_merchant(tx_, merchant);
  for (const auto& [program, grant] : grant_rows_) store::insert_grants(tx_, program, {grant});
}

// A card nobody knows has no district: its declines count under "unknown".
BusinessTally Group::tally() const {
  BusinessTally t;
  for (const auto& e : writes_.events) {
    const auto district = e.district.value_or("unknown");
    if (e.endpoint == "payment" && e.decision == "approved") ++t.approved[district];
    if (e.endpoint == "payment" && e.decision == "declined") ++t.declined[{district, e.reason.value_or("unknown")}];
    if (e.endpoint == "cancellation" && e.operation) ++t.cancellations[district];
  }
  for (const auto& p : writes_.payments) t.approved_won[p.district] += p.charged.value();
  for (const auto& l : writes_.loads) {
    ++t.loads[l.district];
    t.loaded_won[l.district] += l.amount.value();
  }
  return t;
}

GroupOutcome Group::run() {
  read();
  GroupOutcome out;
  for (const auto* c : commands_)
    out.results.push_back(std::visit([this](const auto& command) { return decide(command); }, *c));
  write(out);
  return out;
}

}  // namespace

GroupOutcome run_group(store::Tx& tx, const std::vector<const Command*>& commands, PolicyCache& policies,
                       const PayableIds& payable_ids) {
  Group group(tx, commands, policies, payable_ids);
  return group.run();
}

}  // namespace evoucher::ops
