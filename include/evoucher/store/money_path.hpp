// The money path's set-based SQL. A group of payments, cancellations, loads and refunds costs a
// fixed number of round trips whatever its size: lock the members, read the facts, write
// everything, commit (and, only when the group holds cancellations, lock their payments).
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

// What a payment took from one program wallet, with the program's expiry and pool.
struct PaymentProgram {
  std::string program;
  int seq = 0;
  Won amount, refunded;
  std::string expires_on;
  std::int64_t pool_id = 0;
};
// Approved payments with what the batch posted, locked until the group commits.
struct PaymentRow {
  PaymentRecord record;
  PostedState posted;
  std::vector<PaymentProgram> programs;  // in spending order
};
std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<PaymentKey>& payments);
// Locks pool rows in id order before a clawback returns money to them: payments, then pools, then
// accounts, the order the batch takes them in, so that the two never deadlock.
void lock_pools(Tx& tx, const std::vector<std::int64_t>& pool_ids);

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
struct KeyRow {
  std::string district, key, request_hash;
  int status = 0;
  std::string answer;
};
// A judged processor call: its stored answer, and what the fraud work queries.
struct EventRow {
  std::string endpoint, event_id, request_hash;
  int status = 0;
  std::string answer;
  std::string decision;  // approved, done, declined or refused
  std::optional<std::string> reason, district, card, member, merchant;
  std::optional<Won> amount;
  std::optional<Timestamp> occurred_at;
  std::optional<std::string> operation;
};
inline EventRow event_row(std::string endpoint, std::string event_id, std::string request_hash) {
  EventRow e;
  e.endpoint = std::move(endpoint);
  e.event_id = std::move(event_id);
  e.request_hash = std::move(request_hash);
  return e;
}
// The stored answer under a processor event, when there is one.
std::optional<StoredKey> find_event(Tx& tx, const EventKey& key);
// Serialises two deliveries of one event until the transaction ends (for calls off the group path).
void lock_event(Tx& tx, const EventKey& key);
void insert_event(Tx& tx, const EventRow& event);

struct MonthDelta {
  MonthKey month;
  Won loaded, eligible_spent;
};
struct GroupWrites {
  std::vector<JournalRow> journals;
  std::vector<PaymentRecord> payments;
  std::vector<MoneyRecord> loads, refunds;
  std::vector<KeyRow> keys;
  std::vector<EventRow> events;
  std::vector<MonthDelta> months;  // one per member and month
  std::vector<AuditEntry> audits;  // one per admin command judged
  std::map<DayKey, engine::DayCounters> days;  // each member day's counters after the group
  // Program money: what new payments took from each wallet, and what cancellations gave back.
  struct ProgramLine {
    std::string district;
    std::int64_t payment_id = 0;
    std::string program;
    int seq = 0;
    Won amount;
  };
  std::vector<ProgramLine> payment_programs, program_refunds;  // seq unused in refunds
  std::vector<NewFlag> flags;                  // raised by the group's payments
  // Ids of accounts the journals name, by (district, key), when known; an entry to any other
  // account finds its id by key in the write.
  std::map<DistrictKey, std::int64_t> account_ids;
};
// Every journal, entry, record, key and month counter of a group in one statement: the ledger
// trigger runs once for the whole group, and a hot merchant's payable moves once.
void write_group(Tx& tx, const GroupWrites& writes);

}  // namespace evoucher::store
