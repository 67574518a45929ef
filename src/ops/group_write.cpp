// The writer of a decided group. Declines and refusals move no money: they are only stored under
// their keys with the group.
#include "group_write.hpp"

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/store/operations.hpp"

namespace evoucher::ops {

// A card nobody knows has no district: its declines count under "unknown".
BusinessTally tally(const GroupChanges& changes) {
  BusinessTally t;
  for (const auto& e : changes.rows.events) {
    const auto district = e.district.value_or("unknown");
    if (e.endpoint == "payment" && e.decision == "approved") ++t.approved[district];
    if (e.endpoint == "payment" && e.decision == "declined") ++t.declined[{district, e.reason.value_or("unknown")}];
    if (e.endpoint == "cancellation" && e.operation) ++t.cancellations[district];
  }
  for (const auto& p : changes.rows.payments) t.approved_won[p.district] += p.charged.value();
  for (const auto& l : changes.rows.loads) {
    ++t.loads[l.district];
    t.loaded_won[l.district] += l.amount.value();
  }
  return t;
}

void write_group_changes(store::Tx& tx, GroupState& group,
                         std::vector<std::pair<DistrictKey, std::int64_t>> learned_payables, GroupOutcome& out) {
  auto& changes = group.changes;
  auto& rows = changes.rows;
  // A payable the writer knew, or that the facts found, is named by id; one never seen is opened
  // here and found by key in the write.
  std::vector<std::pair<std::string, store::AccountSpec>> open;
  for (const auto& [district, merchant] : changes.payables) {
    const auto key = accounts::merchant_payable(merchant);
    if (!group.facts.account_ids.count({district, key}))
      open.push_back({district, {key, store::Normal::credit, std::nullopt}});
  }
  out.payable_ids = std::move(learned_payables);
  open.insert(open.end(), changes.pool_accounts.begin(), changes.pool_accounts.end());
  store::open_accounts(tx, open);
  for (const auto& [program, members] : changes.wallets_to_open) store::open_wallets(tx, program, members);
  for (const auto& [k, d] : changes.month_deltas) rows.months.push_back(d);
  for (const auto& key : changes.days_counted) rows.days[key] = group.facts.days.at(key);
  rows.account_ids = std::move(group.facts.account_ids);
  out.flags = rows.flags;
  out.tally = tally(changes);
  store::write_group(tx, rows);
  // Cancellations move a payment's cashback by differences and a forfeit sets it to zero: the
  // forfeits go last, so that a cancellation judged before a review in the group applies first.
  for (const auto& c : changes.cancellations) store::insert_cancellation(tx, c);
  for (const auto& c : changes.clawbacks)
    store::record_clawback(tx, c.district, c.payment_id, c.business_date, c.posted, c.unfunded, c.taken,
                           c.cancellation_id);
  for (const auto& [district, id] : changes.forfeits) store::forfeit_payment_cashback(tx, district, id);
  for (const auto& r : changes.reviews) store::record_review(tx, r);
  for (const auto& merchant : changes.suspensions) store::suspend_merchant(tx, merchant);
  for (const auto& [program, grant] : changes.grant_rows) store::insert_grants(tx, program, {grant});
}

}  // namespace evoucher::ops
