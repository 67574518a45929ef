// The cashback batch's loop. Each chunk picks and locks its pending payments with what each is
// due, locks the pools, lets the engine draw them in payment-time order and sum the chunk's
// journal, and hands the store the postings and the journal to write in one statement.
#include "evoucher/ops/cashback_batch.hpp"

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/store/ledger.hpp"

namespace evoucher::ops {
namespace {

struct Picked {
  std::int64_t id;
  std::string member;
  std::string merchant;
};

// A chunk picked and locked in its own transaction, not yet written.
struct Chunk {
  std::unique_ptr<store::Tx> tx;
  std::vector<Picked> picked;
  std::vector<engine::PostedCashback> due;       // each payment's, from each source
  store::BatchCursor after;                      // the cursor past its last payment
  std::map<std::string, std::int64_t> accounts;  // the members' points and merchants' payables, by key
};

// The city rules of each policy version the rows name, decoded once by the cache.
std::map<std::int64_t, std::shared_ptr<const engine::CityRules>> city_rules_of(
    store::Tx& tx, PolicyCache& policies, const std::vector<store::PendingCashback>& rows) {
  std::map<std::int64_t, std::shared_ptr<const engine::CityRules>> out;
  for (const auto& r : rows)
    if (r.city_policy_id && !out.count(*r.city_policy_id))
      out.emplace(*r.city_policy_id, policies.by_id(tx, r.city_policy_id, std::nullopt).city);
  return out;
}

// Picks and locks the next chunk after `from`, with what each payment is due (the city component
// split between the national and the city pool by its policy's funding split) and the ids of the
// accounts its journal will name. Runs while the chunk before is written.
Chunk pick_chunk(store::Connection& connection, PolicyCache& policies, const std::string& district,
                 const std::string& business_date, int chunk_size, const store::BatchCursor& from) {
  Chunk chunk{std::make_unique<store::Tx>(connection), {}, {}, {}, {}};
  store::probe_by_key_only(*chunk.tx);
  const auto rows = store::pick_pending_cashback(*chunk.tx, district, business_date, chunk_size, from);
  if (rows.empty()) return chunk;
  chunk.after = {rows.back().occurred_at, rows.back().id};

  const auto rules = city_rules_of(*chunk.tx, policies, rows);
  const engine::CityRules no_policy;
  std::set<std::string> keys;
  chunk.picked.reserve(rows.size());
  chunk.due.reserve(rows.size());
  for (const auto& r : rows) {
    const auto split =
        engine::split_city_component(r.city, r.city_policy_id ? *rules.at(*r.city_policy_id) : no_policy);
    chunk.due.push_back({split.national, split.city, r.district, r.merchant_cashback});
    keys.insert(accounts::member_points(r.member));
    if (r.merchant_cashback != Won(0)) keys.insert(accounts::merchant_payable(r.merchant));
    chunk.picked.push_back({r.id, r.member, r.merchant});
  }
  chunk.accounts = store::account_ids(*chunk.tx, district, {keys.begin(), keys.end()});
  return chunk;
}

// Draws the pools for a picked chunk, writes its postings and journal, moves the cursor past it,
// and commits.
void write_chunk(Chunk& chunk, const std::string& district, const std::string& business_date, int run_number) {
  store::Tx& tx = *chunk.tx;
  const auto& picked = chunk.picked;
  const auto& due = chunk.due;
  engine::DrawnPools pools;
  engine::PoolsLeft left;
  for (const auto& p : store::lock_batch_pools(tx, district, business_date)) {
    auto& pool = p.source == "national" ? pools.national : p.source == "city" ? pools.city : pools.district;
    auto& remaining = p.source == "national" ? left.national : p.source == "city" ? left.city : left.district;
    if (pool) continue;
    pool = p.id;
    remaining = std::max(Won(0), p.remaining);
    store::open_account(tx, district, {accounts::pool_drawn(*pool), store::Normal::debit, std::nullopt});
  }
  const auto posted = engine::draw_cashback(due, left);
  engine::Postings lines;
  lines.reserve(picked.size() * 5);
  for (std::size_t i = 0; i < picked.size(); ++i) {
    const auto payment = engine::cashback_postings(picked[i].member, picked[i].merchant, posted[i], pools);
    lines.insert(lines.end(), payment.begin(), payment.end());
  }
  const auto journal = engine::merge_postings(lines);
  if (engine::imbalance(journal) != Won(0)) throw std::logic_error("a batch chunk's journal does not balance");

  store::CashbackChunk write{run_number, pools.national, pools.city, pools.district, {}, {}, chunk.after};
  write.postings.reserve(picked.size());
  for (std::size_t i = 0; i < picked.size(); ++i)
    write.postings.push_back({picked[i].id, posted[i].national, posted[i].city, posted[i].district, posted[i].merchant,
                              due[i].national - posted[i].national, due[i].city - posted[i].city,
                              due[i].district - posted[i].district});
  write.journal.reserve(journal.size());
  for (const auto& l : journal) {
    const auto found = chunk.accounts.find(l.account);
    write.journal.push_back(
        {l.account, l.amount, found == chunk.accounts.end() ? std::optional<std::int64_t>() : found->second});
  }
  store::write_cashback_chunk(tx, district, business_date, write);
  tx.commit();
}

// One pass of chunks from the stored cursor until nothing is pending. While one chunk is written
// on `connection`, the next is picked on `helper`, from the first one's end: the two never share a
// payment, the second locks the pools only once the first has committed (it waits on their rows),
// and so draws them in payment-time order. A pass that starts over from the date's start (for
// payments that committed behind the cursor) picks only when no chunk is in flight, since an
// uncommitted chunk's payments still look pending.
void post_chunks(store::Connection& connection, store::Connection& helper, PolicyCache& policies,
                 const std::string& district, const std::string& business_date, int chunk_size,
                 const std::function<void(int)>& after_chunk, int& chunks) {
  store::BatchPosition position;
  {
    store::Tx tx(connection);
    position = store::batch_position(tx, district, business_date);
  }
  store::BatchCursor from = position.cursor;
  store::Connection* connections[2] = {&connection, &helper};
  int turn = 0;
  Chunk chunk = pick_chunk(*connections[turn], policies, district, business_date, chunk_size, from);
  for (;;) {
    if (chunk.picked.empty()) {
      if (!from.at) return;
      // The pass is over. It starts over only when a payment committed behind it (no chunk is in
      // flight now, so every posting made so far is committed).
      const bool behind = store::batch_date_has_pending(*chunk.tx, district, business_date);
      store::rewind_batch_cursor(*chunk.tx, district, business_date);
      chunk.tx->commit();
      chunk.tx.reset();
      if (!behind) return;
      from = {};
      chunk = pick_chunk(*connections[turn], policies, district, business_date, chunk_size, from);
      continue;
    }
    from = chunk.after;
    auto next = std::async(std::launch::async, [&, other = connections[1 - turn]] {
      return pick_chunk(*other, policies, district, business_date, chunk_size, from);
    });
    try {
      write_chunk(chunk, district, business_date, position.run);
    } catch (...) {
      // The next chunk was picked after this one: it is rolled back with it.
      try {
        next.get();
      } catch (...) {
      }
      throw;
    }
    after_chunk(++chunks);
    chunk = next.get();
    turn = 1 - turn;
  }
}

void add(store::BatchComponent& total, const store::BatchComponent& part) {
  total.count += part.count;
  total.posted += part.posted;
  total.unfunded += part.unfunded;
}

// The date's report: what each run posted, their sum, and what the pools have left.
BatchReport read_report(store::Tx& tx, const std::string& district, const std::string& business_date) {
  BatchReport report;
  report.district = district;
  report.business_date = business_date;
  report.run = store::batch_position(tx, district, business_date).run;
  report.runs.resize(report.run);
  for (const auto& [number, components] : store::batch_totals_by_run(tx, district, business_date))
    if (number >= 1 && number <= report.run) report.runs[number - 1] = components;
  for (const auto& c : report.runs) {
    add(report.components.city, c.city);
    add(report.components.district_topup, c.district_topup);
    add(report.components.merchant, c.merchant);
  }
  for (const auto& p : store::batch_pools_left(tx, district, business_date))
    report.pools.emplace_back(p.source, p.remaining);
  return report;
}

}  // namespace

BatchRun run_cashback_batch(store::Connection& connection, PolicyCache& policies, const std::string& district,
                            const std::string& business_date, int chunk_size,
                            const std::function<std::string(const BatchReport&)>& render,
                            const std::function<void(int chunks_done)>& after_chunk) {
  const store::BatchDateLock lock(connection, district, business_date);

  const bool nothing_to_do = [&] {
    store::Tx tx(connection);
    const auto row = store::read_batch_run(tx, district, business_date);
    if (!row) {
      store::start_batch_run(tx, district, business_date);
    } else if (row->status == store::BatchStatus::completed) {
      store::probe_by_key_only(tx);
      if (!store::batch_date_has_pending(tx, district, business_date)) return true;
      store::start_further_batch_run(tx, district, business_date);
    }
    tx.commit();
    return false;
  }();
  if (nothing_to_do) {
    store::Tx tx(connection);
    return {true, *store::batch_report(tx, district, business_date)};
  }
  // A chunk that lost a deadlock to a cancellation is tried again, from the stored cursor.
  const auto helper = connection.sibling();
  for (int chunks = 0, retries = 0;;) {
    try {
      post_chunks(connection, *helper, policies, district, business_date, chunk_size, after_chunk, chunks);
      break;
    } catch (const std::exception& e) {
      if (!store::lost_to_another_transaction(e) || ++retries > 5) throw;
    }
  }
  store::Tx tx(connection);
  const auto text = render(read_report(tx, district, business_date));
  store::finish_batch_run(tx, district, business_date, text);
  tx.commit();
  return {false, text};
}

}  // namespace evoucher::ops
