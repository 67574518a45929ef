// Reads a group's facts: the locks first, in the order every writer takes them, then one
// statement for everything decided on (and a few for what only refunds, grants and reviews need).
#include "group_facts.hpp"

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/pools.hpp"
#include "group_state.hpp"

namespace evoucher::ops {

GroupFacts read_group_facts(store::Tx& tx, const std::vector<const Command*>& commands, const PayableIds& payable_ids,
                            std::vector<std::pair<DistrictKey, std::int64_t>>& learned_payables) {
  GroupFacts read;
  store::LockRequest lock;
  std::vector<store::PaymentKey> payment_keys;
  for (const auto* c : commands) {
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
  auto locked = store::lock_members(tx, lock);
  for (auto& card : locked.cards) read.cards[card.token] = std::move(card);
  // Cancellations judge the payment as it stands now: the batch may have posted it meanwhile.
  for (auto& row : store::lock_payments(tx, lock.payments))
    read.payments[{row.record.district, row.record.id}] = std::move(row);
  // A cancellation of a posted payment may return cashback to its pools.
  std::set<std::int64_t> pools;
  for (const auto& [key, row] : read.payments) {
    if (!row.posted.posted) continue;
    for (const auto& id : {row.posted.pools.national, row.posted.pools.city, row.posted.pools.district})
      if (id) pools.insert(*id);
  }
  // Grants draw their programs' pools.
  std::vector<std::string> grant_members;
  for (const auto* c : commands)
    if (const auto* g = std::get_if<GrantCommand>(c)) {
      if (!read.programs.count(g->program))
        if (auto program = store::find_program(tx, g->program)) read.programs[g->program] = std::move(*program);
      if (read.programs.count(g->program)) pools.insert(read.programs.at(g->program).pool_id);
      for (const auto& l : g->lines)
        if (!l.refused) grant_members.push_back(l.member);
    }
  store::lock_pools(tx, {pools.begin(), pools.end()});
  if (!grant_members.empty()) {
    read.member_districts = store::member_districts(tx, grant_members);
    for (const auto& [id, program] : read.programs) {
      read.granted[id] = store::granted(tx, id, grant_members);
      if (const auto pool = store::find_pool(tx, program.pool_id)) read.pools_left[program.pool_id] = pool->remaining();
    }
  }
  // Flags under review, after their payments: two reviews of one flag are judged one by one.
  for (const auto* c : commands)
    if (const auto* f = std::get_if<FlagReviewCommand>(c))
      if (!read.flags.count({f->district, f->flag_id}))
        if (auto flag = store::find_flag(tx, f->district, f->flag_id, /*lock=*/true))
          read.flags[{f->district, f->flag_id}] = std::move(*flag);

  store::FactsRequest wanted;
  // A review that suspends is judged against the merchant's own district.
  for (const auto* c : commands)
    if (const auto* f = std::get_if<FlagReviewCommand>(c); f && f->suspend_merchant)
      if (const auto flag = read.flags.find({f->district, f->flag_id}); flag != read.flags.end())
        wanted.merchants.push_back(flag->second.raised.merchant);
  std::set<DistrictKey> unknown_payables;  // (district, merchant) whose payable id the writer lacks
  wanted.ids = static_cast<int>(commands.size());
  for (const auto* c : commands)
    if (const auto* g = std::get_if<GrantCommand>(c)) {
      wanted.ids += static_cast<int>(g->lines.size());  // a journal a grant
      wanted.keys.emplace_back(g->district, g->key);
      for (const auto& l : g->lines)
        if (const auto d = read.member_districts.find(l.member); d != read.member_districts.end())
          wanted.wallets.emplace_back(d->second, l.member);
    }
  auto member_accounts = [&](const std::string& district, const std::string& member) {
    wanted.accounts.emplace_back(district, accounts::member_cash(member));
    wanted.accounts.emplace_back(district, accounts::member_points(member));
  };
  for (const auto* c : commands) {
    if (const auto* p = std::get_if<PaymentCommand>(c)) {
      wanted.events.emplace_back("payment", p->event_id);
      wanted.merchants.push_back(p->merchant);
      const auto card = read.cards.find(p->card);
      if (card == read.cards.end()) continue;
      member_accounts(card->second.district, card->second.member_id);
      wanted.wallets.emplace_back(card->second.district, card->second.member_id);
      // A payable whose id the writer does not know yet is read with the balances, for its id.
      const auto& district = card->second.district;
      if (const auto id = payable_ids(district, p->merchant)) {
        read.account_ids[{district, accounts::merchant_payable(p->merchant)}] = *id;
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
      const auto found = read.payments.find({x->payment->district, x->payment->id});
      if (found == read.payments.end()) continue;
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
      if (!read.totals.count({r->district, r->member}))
        read.totals[{r->district, r->member}] = store::member_totals(tx, r->district, r->member);
    }
  }
  // Every fact decided on is read after the lock, so it includes what the previous holder committed.
  read.months_read.insert(wanted.months.begin(), wanted.months.end());
  auto facts = store::read_facts(tx, wanted);
  for (auto& m : facts.merchants) read.merchants[m.id] = std::move(m);
  read.versions = std::move(facts.versions);
  read.balances = std::move(facts.balances);
  read.account_ids.merge(facts.account_ids);
  for (const auto& [district, merchant] : unknown_payables)
    if (const auto found = read.account_ids.find({district, accounts::merchant_payable(merchant)});
        found != read.account_ids.end())
      learned_payables.push_back({{district, merchant}, found->second});
  read.months = std::move(facts.months);
  read.keys = std::move(facts.keys);
  read.events = std::move(facts.events);
  read.latest_money = std::move(facts.latest_money);
  read.days = std::move(facts.days);
  read.wallets = std::move(facts.wallets);
  for (const auto& [member, wallets] : read.wallets)
    for (const auto& w : wallets) {
      const DistrictKey key{member.first, accounts::member_program(w.program, member.second)};
      read.balances[key] = w.balance;
      read.account_ids[key] = w.account_id;
    }
  read.ids = std::move(facts.ids);
  return read;
}

}  // namespace evoucher::ops
