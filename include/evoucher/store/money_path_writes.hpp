// The money path's writes: a group's journals, entries, records, keys and counters in one
// statement, the accounts they open, and the processor events they answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/store/money_path_reads.hpp"

namespace evoucher::store {

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
