// The money path's set-based SQL: a group of payments, cancellations, loads and refunds costs a
// fixed number of round trips whatever its size: lock the members, read the facts, write
// everything, commit (and, only when the group holds cancellations, lock their payments).
// This part: the members' locks and the facts a group decides on.
#pragma once


#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/engine/fraud.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/money.hpp"
#include "evoucher/store/audit.hpp"
#include "evoucher/store/cashback_batches.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/time.hpp"


namespace evoucher::store {

// A row of a district-partitioned table is found by its district and its key.
using DistrictKey = std::pair<std::string, std::string>;
using PaymentKey = std::pair<std::string, std::int64_t>;

struct LockRequest {
  std::vector<std::string> card_tokens;  // the members of these cards,
  std::vector<PaymentKey> payments;      // of these payments,
  std::vector<std::string> members;      // and these
};
struct Locked {
  std::vector<Card> cards;                         // the cards found
  std::map<PaymentKey, std::string> payment_members;  // the payments found, and their members
};
// Takes the members' row locks in id order, so that two groups never deadlock. A card's and a
// payment's member never change, so they are read in the same statement.
Locked lock_members(Tx& tx, const LockRequest& request);

struct MonthKey {
  std::string district, member, month;  // month: "YYYY-MM-01"
  auto operator<=>(const MonthKey&) const = default;
};
// A member's Seoul business day, for the fraud counters.
struct DayKey {
  std::string district, member, date;  // date: "YYYY-MM-DD"
  auto operator<=>(const DayKey&) const = default;
};
// A member's wallet of one program, with the program's terms.
struct WalletFact {
  std::string program;
  Won balance;
  std::int64_t account_id = 0;
  std::string expires_on;
  std::optional<std::vector<std::string>> categories;
  bool over_ceiling_allowed = false;
  std::int64_t pool_id = 0;
  std::string grant_from;
};
struct StoredKey {
  std::string request_hash;
  int status = 0;
  std::string answer;
};
struct PolicyVersion {
  std::int64_t id = 0;
  std::string scope;
  Timestamp effective_from;
};

// A processor call's key: its endpoint ("payment", "cancellation", "settlement") and event_id.
using EventKey = std::pair<std::string, std::string>;

struct FactsRequest {
  std::vector<std::string> merchants;
  std::vector<DistrictKey> accounts;  // balances
  std::vector<MonthKey> months;
  std::vector<DistrictKey> keys;      // idempotency keys
  std::vector<EventKey> events;       // processor events
  std::vector<DistrictKey> members;   // (district, member) whose latest load or refund is wanted
  std::vector<DayKey> days;           // fraud counters
  std::vector<DistrictKey> wallets;   // (district, member) whose program wallets are wanted
  int ids = 0;                        // fresh operation ids wanted, each with a journal id
};
struct Facts {
  std::vector<Merchant> merchants;
  std::vector<PolicyVersion> versions;            // every policy version's header
  std::map<DistrictKey, Won> balances;            // natural balances; a missing account is absent
  std::map<DistrictKey, std::int64_t> account_ids;  // the same accounts' ids, which never change
  std::map<MonthKey, MonthTotals> months;
  std::map<DistrictKey, StoredKey> keys;
  std::map<EventKey, StoredKey> events;
  std::map<DistrictKey, Timestamp> latest_money;  // a member's latest load or refund, when any
  std::map<DayKey, engine::DayCounters> days;     // a day without payments is absent
  std::map<DistrictKey, std::vector<WalletFact>> wallets;  // (district, member): every wallet
  std::vector<std::pair<std::int64_t, std::int64_t>> ids;  // (operation id, journal id)
};
// Everything a group decides on, read after its locks in one statement.
Facts read_facts(Tx& tx, const FactsRequest& request);

}  // namespace evoucher::store
