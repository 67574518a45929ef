// The settlement's transaction: the merchant's row lock, what the ledger owes per issuing
// district, one journal per district, and the answer stored under the event_id.
#include "evoucher/ops/settlement.hpp"

#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/store/settlements.hpp"
#include "evoucher/store/money_path_writes.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/parties.hpp"

namespace evoucher::ops {
namespace {

std::string won_text(Won w) { return std::to_string(w.value()); }

}  // namespace

Result settle(store::Connection& connection, const SettlementCommand& c) {
  SettlementOutcome outcome;
  store::Tx tx(connection);
  const store::EventKey key{"settlement", c.event_id};
  store::lock_event(tx, key);  // two deliveries of one event wait for each other
  if (const auto stored = store::find_event(tx, key)) {
    if (stored->request_hash != c.request_hash) {
      Result r;
      r.key_reused = true;
      return r;
    }
    return answered({stored->status, stored->answer});
  }
  auto event = store::event_row("settlement", c.event_id, c.request_hash);
  event.merchant = c.merchant;
  event.amount = c.amount;
  // Stores the answer under the event, with whatever the settlement wrote, and commits.
  auto finish = [&](const char* reason) {
    auto answer = c.render(outcome);
    if (reason) event.reason = reason;
    event.status = answer.status;
    event.answer = answer.body;
    event.decision = answer.status < 300 ? "done" : "refused";
    store::insert_event(tx, event);
    tx.commit();
    return answered(std::move(answer));
  };

  const auto merchant = store::find_merchant(tx, c.merchant, /*lock=*/true);
  if (!merchant) {
    outcome.merchant_missing = "no merchant " + c.merchant;
    return finish("not_found");
  }
  if (auto open = date_still_open(c.business_date, c.now)) {
    outcome.date_not_closed = "cannot settle yet: " + *open;
    return finish("date_not_closed");
  }
  const auto owed = store::owed_to_merchant(tx, c.merchant, c.business_date);
  Won payable, fee;
  for (const auto& o : owed) {
    payable += o.payable;
    fee += o.fee_support;
  }
  const Won expected = payable + fee;
  if (c.amount != expected) {
    outcome.mismatch = "expected " + won_text(expected) + " won for merchant " + c.merchant + " on " +
                       c.business_date + " (payable " + won_text(payable) + " net of merchant cashback, plus fee support " +
                       won_text(fee) + ", less what earlier settlements paid), got " + won_text(c.amount) +
                       ": a difference of " + won_text(c.amount - expected);
    return finish("settlement_mismatch");  // the ledger is untouched
  }
  const auto id = store::next_operation_id(tx);
  const auto ref = operation_ref("stl", merchant->district, id);
  for (const auto& o : owed) {
    std::optional<std::int64_t> journal;
    const auto postings = engine::settlement_postings(c.merchant, o.payable, o.fee_support);
    if (postings.size() >= 2) {
      const auto posted = store::post_journal(tx, {o.district, "settlement", c.now, ref, postings});
      if (!posted.journal_id) throw std::runtime_error("settlement journal refused: " + posted.detail);
      journal = posted.journal_id;
    }
    store::insert_settlement_portion(tx, o, id, c.event_id, c.merchant, c.business_date, journal);
  }
  outcome.done = SettlementDone{ref, c.merchant, c.amount};
  event.operation = ref;
  return finish(nullptr);
}

}  // namespace evoucher::ops
