// The expiry run: chunks of wallets, each under its members' locks (the lock every money
// movement of a member takes), re-read after the lock, one journal a wallet.
#include "evoucher/ops/expiry.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/money_path_reads.hpp"
#include "evoucher/store/programs.hpp"

namespace evoucher::ops {

ExpiryOutcome run_expiry(store::Connection& connection, const std::string& business_date, Timestamp now,
                         int chunk_size) {
  ExpiryOutcome out;
  if (auto open = date_still_open(business_date, now)) {
    out.date_not_closed = std::move(open);
    return out;
  }
  const auto at = seoul_day_end(parse_date(business_date).value());
  for (;;) {
    store::Tx tx(connection);
    const auto seen = store::expiring_wallets(tx, business_date, chunk_size);
    if (seen.empty()) break;
    store::LockRequest lock;
    for (const auto& w : seen) lock.members.push_back(w.member);
    store::lock_members(tx, lock);
    // What a payment or cancellation committed before the lock is in this read.
    const std::set<std::string> locked(lock.members.begin(), lock.members.end());
    for (const auto& w : store::expiring_wallets(tx, business_date, chunk_size)) {
      if (!locked.count(w.member)) continue;  // the next chunk takes it, under its lock
      const auto posted = store::post_journal(
          tx, {w.district, "expiry", at, "expiry " + w.program,
               engine::expiry_postings(w.program, w.pool_id, w.member, w.balance)});
      if (!posted.journal_id) throw std::runtime_error("an expiry journal was refused: " + posted.detail);
      store::record_expiry(tx, w, business_date, *posted.journal_id);
    }
    tx.commit();
  }
  store::Tx tx(connection);
  nlohmann::json programs = nlohmann::json::array(), pools = nlohmann::json::array();
  for (const auto& t : store::expiry_totals(tx, business_date)) {
    programs.push_back({{"program", t.program}, {"count", t.count}, {"returned", t.returned.value()}});
    pools.push_back({{"source", t.pool_source}, {"remaining", t.pool_remaining.value()}});
  }
  out.report =
      nlohmann::json{{"business_date", business_date}, {"programs", programs}, {"pools", pools}}.dump();
  return out;
}

}  // namespace evoucher::ops
