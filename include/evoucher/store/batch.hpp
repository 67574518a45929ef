// Funding pools, the nightly cashback batch, settlements and ledger reports.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct Pool {
  std::int64_t id = 0;
  std::string source;  // national, city or district:<code>
  std::string period_start;
  std::string period_end;
  Won budget;
  Won drawn;  // the sum of the pool's accounts over every district
  std::string owner;  // "city", or the district whose pool it is (a district pool, a district program's)
  Won remaining() const { return budget - drawn; }
};
// A new pool; none when a pool of the same source overlaps the period (that one is returned in
// `overlapping`). Creations are serialised, and the database refuses an overlap besides.
struct PoolCreation {
  std::optional<Pool> created;
  std::optional<Pool> overlapping;
};
PoolCreation create_pool(Tx& tx, const std::string& source, const std::string& period_start,
                         const std::string& period_end, Won budget);
std::vector<Pool> list_pools(Tx& tx);
std::optional<Pool> find_pool(Tx& tx, std::int64_t id, bool lock = false);
// Raises the budget and records the top-up; the pool as it now stands.
Pool top_up_pool(Tx& tx, std::int64_t id, Won amount);

struct BatchComponent {
  std::int64_t count = 0;  // payments with a non-zero component
  Won posted;
  Won unfunded;
};
struct BatchComponents {
  BatchComponent city, district_topup, merchant;
};
struct BatchReport {
  std::string district;
  std::string business_date;
  int run = 1;                   // the latest run of the date
  BatchComponents components;    // the date's totals over every run
  std::vector<BatchComponents> runs;  // what each run posted, run 1 first
  std::vector<std::pair<std::string, Won>> pools;  // source, remaining
};

struct BatchRun {
  bool already_completed = false;  // this call wrote nothing
  std::string report;              // as rendered when the latest run completed
};

// Posts the pending cashback of one district's business date in chunks, each its own
// transaction, in payment-time order; a killed run resumes where its last chunk committed.
// A run never skips a pending payment: after its pass it sweeps the date again for payments that
// committed behind it. A date whose batch completed answers its report and writes nothing, unless
// payments arrived since: then a further run posts them.
// after_chunk is called after each committed chunk (a fault-injection point for tests).
BatchRun run_cashback_batch(Connection& connection, const std::string& district, const std::string& business_date,
                            int chunk_size, const std::function<std::string(const BatchReport&)>& render,
                            const std::function<void(int chunks_done)>& after_chunk);
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

struct Owed {
  std::string district;  // the issuing district's sub-account
  Won payable;           // charged - cancelled - merchant cashback
  Won fee_support;
};
// What the ledger owes a merchant for a business date, per issuing district, not yet settled.
std::vector<Owed> owed_to_merchant(Tx& tx, const std::string& merchant, const std::string& business_date);
void insert_settlement_portion(Tx& tx, const Owed& owed, std::int64_t id, const std::string& event_id,
                               const std::string& merchant, const std::string& business_date,
                               std::optional<std::int64_t> journal_id);

struct TrialBalance {
  Won debits;
  Won credits;
};
TrialBalance trial_balance(Tx& tx, const std::string& district);

}  // namespace evoucher::store

namespace evoucher::store {

// A district's totals for business dates from..to (Seoul), from the operation records;
// outstanding balances are as of now.
struct DistrictSummary {
  std::int64_t members = 0;  // registered now
  Won loaded, refunded;
  std::int64_t payment_count = 0;
  Won price, discount, charged, cancelled;
  Won pending, posted_city, posted_district, posted_merchant, unfunded, clawed_back;
  Won fee_support, settled;
  Won cash, points, payable;
  // Program money: granted (by grant date), spent by the dates' payments, given back by the
  // dates' cancellations, expired by the dates' expiry runs, and held in wallets now.
  Won program_granted, program_spent, program_refunded, program_expired, program_held;
};
DistrictSummary district_summary(Tx& tx, const std::string& district, const std::string& from, const std::string& to);

}  // namespace evoucher::store
