// The money path's set-based SQL: what a group of payments, cancellations, loads and refunds
// reads after locking its members, and the few statements that write the whole group.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/money.hpp"
#include "evoucher/store/batch.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

// A row of a district-partitioned table is found by its district and its key.
using DistrictKey = std::pair<std::string, std::string>;

std::vector<Card> find_cards(Tx& tx, const std::vector<std::string>& tokens);
std::vector<Merchant> find_merchants(Tx& tx, const std::vector<std::string>& ids);
// The member of each payment (district, id) that exists; read before any lock (it never changes).
std::map<std::pair<std::string, std::int64_t>, std::string> payment_members(
    Tx& tx, const std::vector<std::pair<std::string, std::int64_t>>& payments);

// Takes the members' row locks in id order, so that two groups never deadlock.
void lock_members(Tx& tx, std::vector<std::string> ids);

// Natural balances of the named accounts; an account that does not exist is absent.
std::map<DistrictKey, Won> account_balances(Tx& tx, const std::vector<DistrictKey>& accounts);

struct MonthKey {
  std::string district, member, month;  // month: "YYYY-MM-01"
  auto operator<=>(const MonthKey&) const = default;
};
std::map<MonthKey, MonthTotals> member_months(Tx& tx, const std::vector<MonthKey>& months);

struct StoredKey {
  std::string request_hash;
  int status = 0;
  std::string answer;
};
std::map<DistrictKey, StoredKey> stored_keys(Tx& tx, const std::vector<DistrictKey>& keys);

// Approved payments with what the batch posted, locked until the group commits.
struct PaymentRow {
  PaymentRecord record;
  PostedState posted;
};
std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<std::pair<std::string, std::int64_t>>& payments);

struct PolicyVersion {
  std::int64_t id = 0;
  std::string scope;
  Timestamp effective_from;
};
std::vector<PolicyVersion> policy_versions(Tx& tx);

// n fresh operation ids, each with a journal id.
std::vector<std::pair<std::int64_t, std::int64_t>> take_ids(Tx& tx, int n);

// Opens the accounts that do not exist yet.
void open_accounts(Tx& tx, const std::vector<std::pair<std::string, AccountSpec>>& accounts);

struct JournalRow {
  std::string district;
  std::int64_t id = 0;
  std::string kind;
  Timestamp occurred_at;
  std::string reference;
  engine::Postings postings;
};
// Every journal and its entries in one statement: the ledger trigger runs once for all of them.
void insert_journals(Tx& tx, const std::vector<JournalRow>& journals);
void insert_payments(Tx& tx, const std::vector<PaymentRecord>& payments);
void insert_loads(Tx& tx, const std::vector<MoneyRecord>& loads);
void insert_refunds(Tx& tx, const std::vector<MoneyRecord>& refunds);

struct KeyRow {
  std::string district, key, request_hash;
  int status = 0;
  std::string answer;
};
void insert_keys(Tx& tx, const std::vector<KeyRow>& keys);

struct MonthDelta {
  MonthKey month;
  Won loaded, eligible_spent;
};
// One upsert for the group, pre-aggregated per member and month.
void add_to_months(Tx& tx, const std::vector<MonthDelta>& deltas);

}  // namespace evoucher::store
