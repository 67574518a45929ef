// The nightly cashback batch's rows: its run and cursor per district and date, the advisory lock
// that keeps two runs apart, a chunk's pending payments and its writes, the report's totals, and
// the clawbacks that change a posting afterwards. ops/cashback_batch.cpp runs the loop.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// ---- The run of one district's business date ----

// A session-level advisory lock for one district's date, held while it lives, so that two runs
// of one batch never interleave. It waits for a run holding it on another connection.
class BatchDateLock {
 public:
  BatchDateLock(Connection& connection, const std::string& district, const std::string& business_date);
  ~BatchDateLock();
  BatchDateLock(const BatchDateLock&) = delete;
  BatchDateLock& operator=(const BatchDateLock&) = delete;

 private:
  Connection& connection_;
  std::string key_;
};

enum class BatchStatus { running, completed };
struct BatchRunRow {
  BatchStatus status = BatchStatus::running;
  std::optional<std::string> report;  // the latest completed run's
  int run = 1;
};
std::optional<BatchRunRow> read_batch_run(Tx& tx, const std::string& district, const std::string& business_date);
// Starts run 1 of a date that has no run yet.
void start_batch_run(Tx& tx, const std::string& district, const std::string& business_date);
// Starts a further run of a completed date; it keeps the last report until it completes.
void start_further_batch_run(Tx& tx, const std::string& district, const std::string& business_date);
void finish_batch_run(Tx& tx, const std::string& district, const std::string& business_date,
                      const std::string& report);

// Makes the rest of the transaction probe by key only. Postings grow by a chunk at a time, faster
// than statistics follow: a table last analyzed while empty would be read whole for every payment.
void probe_by_key_only(Tx& tx);
// Whether a payment of the date is still without its posting.
bool batch_date_has_pending(Tx& tx, const std::string& district, const std::string& business_date);

// Where a pass stands: after this payment, or at the date's start.
struct BatchCursor {
  std::optional<std::string> at;
  std::optional<std::int64_t> id;
};
struct BatchPosition {
  BatchCursor cursor;
  int run = 1;
};
BatchPosition batch_position(Tx& tx, const std::string& district, const std::string& business_date);
// Moves the cursor back to the date's start, for the next pass.
void rewind_batch_cursor(Tx& tx, const std::string& district, const std::string& business_date);

// ---- A chunk ----

// A pending payment and what it is due, as approval recorded it.
struct PendingCashback {
  std::int64_t id = 0;
  std::string occurred_at;
  std::string member;
  std::string merchant;
  Won city, district, merchant_cashback;
  std::optional<std::int64_t> city_policy_id;
};
// The next pending payments after `from`, at most `limit`, in payment-time order, locked (FOR
// SHARE, against a cancellation, which changes what they earn) in the order a cancellation takes
// them. A locked row is read as its latest version: what it is due cannot move before commit.
std::vector<PendingCashback> pick_pending_cashback(Tx& tx, const std::string& district,
                                                   const std::string& business_date, int limit,
                                                   const BatchCursor& from);
// The ids of the district's accounts named by key (an account's id never changes); keys without
// an account are left out.
std::map<std::string, std::int64_t> account_ids(Tx& tx, const std::string& district,
                                                const std::vector<std::string>& keys);

struct PoolLeft {
  std::int64_t id = 0;
  std::string source;  // national, city or district:<code>
  Won remaining;       // budget - drawn, which may be below zero
};
// Locks the pools covering the date for the district's three sources, in id order, then reads
// what they have left in a later snapshot: a batch of another district that drew the same pool
// meanwhile has committed by then.
std::vector<PoolLeft> lock_batch_pools(Tx& tx, const std::string& district, const std::string& business_date);
// What the pools covering the date have left, unlocked, in id order (for the report).
std::vector<PoolLeft> batch_pools_left(Tx& tx, const std::string& district, const std::string& business_date);

// What a chunk writes: a posting per payment, one journal of each account's sum, and the cursor
// past its last payment.
struct CashbackPostingRow {
  std::int64_t payment_id = 0;
  Won posted_national, posted_city, posted_district, posted_merchant;
  Won unfunded_national, unfunded_city, unfunded_district;
};
struct JournalLine {
  std::string account;                   // key
  Won amount;                            // > 0 debits
  std::optional<std::int64_t> account_id;  // when known, so that the write need not look it up
};
struct CashbackChunk {
  int run = 1;
  std::optional<std::int64_t> national_pool, city_pool, district_pool;
  std::vector<CashbackPostingRow> postings;
  std::vector<JournalLine> journal;  // balanced; none when nothing moved
  BatchCursor after;
};
void write_cashback_chunk(Tx& tx, const std::string& district, const std::string& business_date,
                          const CashbackChunk& chunk);

// ---- What was posted ----

struct BatchComponent {
  std::int64_t count = 0;  // payments with a non-zero component
  Won posted;
  Won unfunded;
};
struct BatchComponents {
  BatchComponent city, district_topup, merchant;
};
// What each run of the date posted, by run number.
std::map<int, BatchComponents> batch_totals_by_run(Tx& tx, const std::string& district,
                                                   const std::string& business_date);

// The stored report of the date's latest completed run.
std::optional<std::string> batch_report(Tx& tx, const std::string& district, const std::string& business_date);
// The business dates up to `through` on which the district still has pending cashback, in order.
std::vector<std::string> pending_dates(Tx& tx, const std::string& district, const std::string& through);

// The pool each source of a posted payment was drawn from (for clawbacks).
struct PaymentPools {
  std::optional<std::int64_t> national, city, district;
};
struct PostedAmounts {
  Won national, city, district, merchant;
};
struct PostedState {
  bool posted = false;
  PaymentPools pools;
  PostedAmounts amounts;
};
void record_clawback(Tx& tx, const std::string& district, std::int64_t payment_id, const std::string& business_date,
                     const PostedAmounts& posted_after, const PostedAmounts& unfunded_after, Won taken,
                     std::optional<std::int64_t> cancellation_id);  // none for a confirmed fraud flag

}  // namespace evoucher::store
