// The records behind each money movement: loads, payments, cancellations, refunds, and the
// member's monthly totals. Each is written in the same transaction as its journal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

// A fresh id for a load, payment, cancellation or refund, taken before its journal is posted.
std::int64_t next_operation_id(Tx& tx);

struct MonthTotals {
  Won loaded;
  Won eligible_spent;
};
// month: the first day of a Seoul month, "YYYY-MM-01".
MonthTotals member_month(Tx& tx, const std::string& district, const std::string& member, const std::string& month);

struct MemberTotals {
  Won loaded;    // all time
  Won refunded;  // all time
  Won pending_cashback;
};
MemberTotals member_totals(Tx& tx, const std::string& district, const std::string& member);

struct MoneyRecord {  // a load or a refund
  std::int64_t id = 0;
  std::string district;
  std::string member;
  Won amount;
  std::string bank_ref;
  Timestamp occurred_at;
  std::int64_t journal_id = 0;
};

struct PaymentRecord {
  std::int64_t id = 0;
  std::string district;
  std::string event_id;
  std::string card_token;
  std::string member;
  std::string merchant;
  std::string merchant_district;
  std::string merchant_category;
  Won merchant_revenue;
  std::optional<std::string> benefit_kind;
  std::optional<int> benefit_rate_bp;
  std::string channel;
  Won price, discount, charged, paid_points, paid_cash;
  Won eligible_before, eligible;
  Won city_cashback, district_cashback, merchant_cashback, fee_support;
  Won cancelled, refunded_cash;
  std::optional<std::int64_t> city_policy_id;  // none when no city policy was in force
  std::optional<std::int64_t> district_policy_id;
  Timestamp occurred_at;
  std::string business_date;
  std::int64_t journal_id = 0;
  bool cashback_forfeited = false;  // a confirmed fraud flag took its cashback
  Won paid_program, refunded_program;
};

struct CancellationRecord {
  std::int64_t id = 0;
  std::string district;
  std::string event_id;
  std::int64_t payment_id = 0;
  Won amount, refund_cash, refund_points, refund_program;
  Won reversed_city, reversed_district, reversed_merchant, reversed_fee_support, eligible_reduction;
  Timestamp occurred_at;
  std::string business_date;
  std::int64_t journal_id = 0;
};
// Records the cancellation and moves the payment to what its remaining amount earns.
void insert_cancellation(Tx& tx, const CancellationRecord& cancellation);

}  // namespace evoucher::store
