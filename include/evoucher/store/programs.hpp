// Policy money (정책발행, PRODUCT.md section 8): programs, their grants and wallets, and what the
// program report and the member view read.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/districts.hpp"

namespace evoucher::store {

struct Program {
  std::string id, name;
  std::string district;  // "city" or a district code
  std::string funder;    // national, city or district
  std::int64_t pool_id = 0;
  std::string grant_from, grant_to, expires_on;
  std::optional<std::vector<std::string>> categories;  // none: every category
  bool over_ceiling_allowed = false;
  bool operator==(const Program&) const = default;
};
// Creates the program and its pool (source program:<id>, budget, grant_from..expires_on). The
// same program again is `existing`; another under the same id is `conflict`.
std::pair<CreateOutcome, Program> create_program(Tx& tx, Program program, Won budget);
std::optional<Program> find_program(Tx& tx, const std::string& id);

// Members' districts, for those that exist.
std::map<std::string, std::string> member_districts(Tx& tx, const std::vector<std::string>& members);
// The members of the list that already have a grant of the program: member -> amount.
std::map<std::string, Won> granted(Tx& tx, const std::string& program, const std::vector<std::string>& members);

struct GrantRow {
  std::string district, member;
  Won amount;
  std::int64_t journal_id = 0;
};
// Opens each member's wallet (account and registry row) when it has none, before the journals
// that credit it are written.
void open_wallets(Tx& tx, const std::string& program, const std::vector<std::pair<std::string, std::string>>& members);
void insert_grants(Tx& tx, const std::string& program, const std::vector<GrantRow>& grants);

// The program report, by district: granted, spent (net of cancellations), expired (returned by
// the expiry batch), returned (cancelled after expiry, back to the pool) and the wallets' balance.
struct ProgramTotals {
  Won granted, spent, expired, returned, balance;
  std::int64_t grants = 0;
};
std::map<std::string, ProgramTotals> program_totals(Tx& tx, const std::string& program);

// A member's wallets: (program, balance, expires_on).
struct WalletView {
  std::string program;
  Won balance;
  std::string expires_on;
};
std::vector<WalletView> member_wallets(Tx& tx, const std::string& district, const std::string& member);

// The expiry batch: wallets of programs expired by `business_date` that still hold money, at
// most `limit`, in (district, member) order; and the record of what a run returned.
struct ExpiringWallet {
  std::string district, member, program;
  std::int64_t pool_id = 0;
  Won balance;
};
std::vector<ExpiringWallet> expiring_wallets(Tx& tx, const std::string& business_date, int limit);
void record_expiry(Tx& tx, const ExpiringWallet& wallet, const std::string& business_date, std::int64_t journal_id);
// Per program expired by the date: wallets returned, amount returned, and the pool's remaining.
struct ExpiryTotals {
  std::string program, pool_source;
  std::int64_t count = 0;
  Won returned, pool_remaining;
};
std::vector<ExpiryTotals> expiry_totals(Tx& tx, const std::string& business_date);

}  // namespace evoucher::store
