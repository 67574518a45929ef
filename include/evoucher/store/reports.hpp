// Read-only lists for reports and exports: a business date's payments, a program's grants, and
// a date's settlement list per merchant. Each is paged by a key, so a CSV export of a million
// rows reads one page at a time inside one snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

// Makes the transaction read-only, with one snapshot for all its statements: the pages of an
// export agree with each other. Call it before the first read.
void read_only_snapshot(Tx& tx);

struct PaymentLine {
  std::string district;
  std::int64_t id = 0;
  std::string event_id, member, merchant, merchant_district, channel;
  Timestamp occurred_at;
  Won price, discount, charged, paid_program, paid_points, paid_cash;
  Won city_cashback, district_cashback, merchant_cashback, fee_support, cancelled;
  bool cashback_posted = false;
  bool cashback_forfeited = false;
};
// Where a page of payments ends: they are listed by time, then id.
struct PaymentPageKey {
  Timestamp occurred_at;
  std::int64_t id = 0;
};
// One issuing district's payments of a business date after `after`, at most limit + 1 of them,
// so that the caller can tell whether a page follows.
std::vector<PaymentLine> list_payments(Tx& tx, const std::string& district, const std::string& business_date,
                                       const std::optional<PaymentPageKey>& after, int limit);

struct GrantLine {
  std::string district;
  std::int64_t id = 0;
  std::string member;
  Won amount;
  Timestamp granted_at;
};
// A program's grants by district, then id, after (district, id); at most limit + 1. `district`
// narrows it to one district.
std::vector<GrantLine> list_grants(Tx& tx, const std::string& program, const std::optional<std::string>& district,
                                   const std::optional<std::pair<std::string, std::int64_t>>& after, int limit);

// What one merchant's payments of a business date owe it from one issuing district, and what
// settlements of that date paid: outstanding = payable + fee_support - settled.
struct SettlementLine {
  std::string merchant, name;
  std::int64_t payments = 0;
  Won charged, cancelled, merchant_cashback, payable, fee_support, settled, outstanding;
};
// By merchant id, after `after`; at most limit + 1.
std::vector<SettlementLine> settlement_list(Tx& tx, const std::string& district, const std::string& business_date,
                                            const std::optional<std::string>& after, int limit);

// A pool's remaining as each business date's last batch run reported it, oldest first: the
// burn-down. Reads the batch reports of the pool's period, not the postings.
struct PoolHistoryDay {
  std::string business_date;
  Won remaining;
};
std::vector<PoolHistoryDay> pool_history(Tx& tx, std::int64_t pool_id);

// The cashback batch by district and date, newest date first: each date with a run, and each
// closed date (up to `last_closed`) with payments but no run, which is pending.
enum class BatchDayStatus { completed, running, pending };
const char* to_string(BatchDayStatus status);
struct BatchDay {
  std::string district, business_date;
  BatchDayStatus status = BatchDayStatus::pending;
  int run = 0;  // 0 while pending
  std::optional<Timestamp> started_at, completed_at;
  std::optional<std::string> report;  // the stored report of a completed run
};
std::vector<BatchDay> batch_days(Tx& tx, const std::optional<std::string>& district, const std::string& from,
                                 const std::string& to, const std::string& last_closed);

}  // namespace evoucher::store
