// Fraud flags (PRODUCT.md section 9): the review queue, a review's writes, and the nightly
// sales-over-revenue judgement. Flags raised by payments are written with their group
// (money_path.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/fraud.hpp"
#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

// A flag as it is raised.
struct NewFlag {
  std::string district;
  engine::FlagRule rule = engine::FlagRule::repeat;
  std::optional<std::int64_t> payment_id;
  std::optional<std::string> member, card;
  std::string merchant;
  Timestamp occurred_at;
  std::string business_date;
  std::optional<std::string> month;  // "YYYY-MM-01", sales over revenue only
  std::string detail;
};

struct Flag {
  NewFlag raised;
  std::int64_t id = 0;
  engine::FlagStatus status = engine::FlagStatus::open;
  Timestamp raised_at;
  std::optional<Timestamp> reviewed_at;
  std::optional<std::string> reviewed_by, review_note;
  bool merchant_suspended = false;
  Won clawed_back, forfeited;
};

struct FlagQuery {
  std::optional<std::string> district;
  std::string from, to;  // business dates, both included
  std::optional<engine::FlagRule> rule;
  std::optional<engine::FlagStatus> status;
  std::optional<std::int64_t> after;  // the last id of the previous page
  int limit = 100;
};
// Oldest first by id; at most limit + 1 rows, so the caller can tell whether a page follows.
std::vector<Flag> list_flags(Tx& tx, const FlagQuery& query);
// lock: until the transaction ends, so that two reviews of one flag are judged one after the other.
std::optional<Flag> find_flag(Tx& tx, const std::string& district, std::int64_t id, bool lock = false);

// What a review writes to its flag; the clawback, the payment and the merchant are written by the
// caller in the same transaction.
struct FlagReview {
  std::string district;
  std::int64_t id = 0;
  engine::FlagStatus outcome = engine::FlagStatus::cleared;
  std::string reviewed_by, note;
  bool merchant_suspended = false;
  Won clawed_back, forfeited;
  std::optional<std::int64_t> journal_id;
};
void record_review(Tx& tx, const FlagReview& review);
// A confirmed flag's payment earns no cashback from now on.
void forfeit_payment_cashback(Tx& tx, const std::string& district, std::int64_t payment_id);
void suspend_merchant(Tx& tx, const std::string& merchant);

// Voucher sales (charged less cancelled) per merchant over the business dates from..through, with
// the merchant's district and declared annual revenue.
struct MerchantSales {
  std::string merchant, district;
  Won annual_revenue, sales;
};
std::vector<MerchantSales> merchant_sales(Tx& tx, const std::string& from, const std::string& through);
// Inserts flags outside the money path (the nightly rule). One already raised for the same
// payment and rule, or merchant and month, is left alone. Returns the ones that were new.
std::vector<NewFlag> insert_flags(Tx& tx, const std::vector<NewFlag>& flags);

}  // namespace evoucher::store
