// The settlement's transaction: the merchant's row lock, what the ledger owes per issuing
// district, one journal per district, and the answer stored under the event_id.
#include "evoucher/ops/settlement.hpp"

#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/store/batch.hpp"
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
  const auto merchant = store::find_merchant(tx, c.merchant);
  if (!merchant) {
    outcome.merchant_missing = "no merchant " + c.merchant;
    return answered(c.render(outcome));
  }
  const std::string key = "settlement:" + c.event_id;
  const auto claim = store::claim_key(tx, merchant->district, key, c.request_hash);
  if (claim.state == store::KeyState::reused) {
    Result r;
    r.key_reused = true;
    return r;
  }
  if (claim.state == store::KeyState::replay) return answered({claim.status, claim.answer});

  store::find_merchant(tx, c.merchant, /*lock=*/true);
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
                       won_text(fee) + "), got " + won_text(c.amount) + ": a difference of " +
                       won_text(c.amount - expected);
    return answered(c.render(outcome));  // rolled back, key and all
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
  auto answer = c.render(outcome);
  store::record_answer(tx, merchant->district, key, answer.status, answer.body);
  tx.commit();
  return answered(std::move(answer));
}

}  // namespace evoucher::ops
