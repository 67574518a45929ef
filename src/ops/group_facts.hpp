// What a group of money commands decides on: the facts read under the group's locks. The
// deciders change them as each command is decided, so that a later command sees the earlier ones.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/ops/commands.hpp"
#include "evoucher/store/money_path_payments.hpp"
#include "evoucher/store/money_path_reads.hpp"
#include "evoucher/store/money_path_writes.hpp"
#include "evoucher/store/programs.hpp"
#include "group_run.hpp"

namespace evoucher::ops {

using store::DistrictKey;
using store::PaymentKey;

struct GroupFacts {
  std::map<std::string, store::Card> cards;  // by token
  std::map<std::string, store::Merchant> merchants;
  std::map<PaymentKey, store::PaymentRow> payments;  // locked, as they stand now
  std::vector<store::PolicyVersion> versions;
  std::map<DistrictKey, Won> balances;  // an account not read holds nothing yet
  std::map<store::MonthKey, store::MonthTotals> months;
  std::set<store::MonthKey> months_read;  // asked of the database, whether or not a row was there
  std::map<DistrictKey, store::StoredKey> keys;
  std::map<store::EventKey, store::StoredKey> events;
  std::map<DistrictKey, Timestamp> latest_money;                      // (district, member): latest load or refund
  std::map<DistrictKey, store::MemberTotals> totals;                  // (district, member) for refunds
  std::map<store::DayKey, engine::DayCounters> days;                  // fraud counters
  std::map<std::pair<std::string, std::int64_t>, store::Flag> flags;  // flags under review, locked
  std::map<DistrictKey, std::vector<store::WalletFact>> wallets;      // (district, member)
  std::map<std::string, std::string> member_districts;                // members named by grants
  std::map<std::string, store::Program> programs;                     // programs granted by the group
  std::map<std::string, std::map<std::string, Won>> granted;          // program -> member -> amount
  std::map<std::int64_t, Won> pools_left;                             // program pools: what is left
  // Ids of accounts known to exist, by (district, key): named by id in the write.
  std::map<DistrictKey, std::int64_t> account_ids;
  std::vector<std::pair<std::int64_t, std::int64_t>> ids;  // fresh (operation id, journal id)
};

// Locks the group's members (and the payments, pools and flags its commands name) and reads
// every fact decided on after the lock, so that they include what the previous holder committed.
// learned_payables: payables the writer did not know, whose ids the read found.
GroupFacts read_group_facts(store::Tx& tx, const std::vector<const Command*>& commands, const PayableIds& payable_ids,
                            std::vector<std::pair<DistrictKey, std::int64_t>>& learned_payables);

}  // namespace evoucher::ops
