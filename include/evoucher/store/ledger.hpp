// The ledger core: accounts, balanced journals, idempotency keys, balances and statements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

enum class Normal : int { debit = 1, credit = -1 };

struct AccountSpec {
  std::string key;
  Normal normal = Normal::debit;
  std::optional<Won> min_balance;  // lowest natural balance allowed
};

// Opens the account when it does not exist yet; an existing one is left as it is.
void open_account(Tx& tx, const std::string& district, const AccountSpec& spec);

// amount > 0 debits the account, amount < 0 credits it.
using Posting = engine::Posting;

struct JournalDraft {
  std::string district;
  std::string kind;
  Timestamp occurred_at;
  std::string reference;  // what the journal records, e.g. a payment id; may be empty
  std::vector<Posting> postings;
};

enum class LedgerRefusal {
  unbalanced,       // fewer than two postings, a zero amount, or debits != credits
  unknown_account,  // a posting names an account the district does not have
  floor_breached,   // an account would fall below its minimum balance
};
const char* to_string(LedgerRefusal refusal);

struct PostResult {
  std::optional<std::int64_t> journal_id;  // set when posted
  std::optional<LedgerRefusal> refusal;    // set when refused
  std::string detail;
};

// Posts one journal atomically inside tx. After a floor_breached or unknown_account
// refusal PostgreSQL has aborted tx: the caller must let it roll back.
PostResult post_journal(Tx& tx, const JournalDraft& draft);

// Idempotency: the first claim of a key wins; a repeat with the same request hash gets the
// stored answer, a repeat with another hash is refused.
enum class KeyState { fresh, replay, reused };
struct KeyClaim {
  KeyState state = KeyState::fresh;
  int status = 0;
  std::string answer;
};
KeyClaim claim_key(Tx& tx, const std::string& district, const std::string& key, const std::string& request_hash);
void record_answer(Tx& tx, const std::string& district, const std::string& key, int status,
                   const std::string& answer);

// Natural balance (what the account holds on its normal side), or nullopt for no such account.
std::optional<Won> balance(Tx& tx, const std::string& district, const std::string& account);

struct StatementLine {
  std::int64_t journal_id = 0;
  int seq = 0;
  std::string account;
  std::string kind;
  Timestamp at;
  Won amount;         // signed on the account's normal side: + raises the balance
  Won balance_after;
};
struct StatementPage {
  std::vector<StatementLine> lines;
  std::optional<std::string> next;  // cursor for the following page
};
// Entries of the given accounts in posting order, after `cursor` (from a previous page's next).
// Returns nullopt when the cursor is malformed.
std::optional<StatementPage> statement(Tx& tx, const std::string& district, const std::vector<std::string>& accounts,
                                       int limit, const std::optional<std::string>& cursor);

// A district's entries summed by side: the two are equal when every journal balances.
struct TrialBalance {
  Won debits;
  Won credits;
};
TrialBalance trial_balance(Tx& tx, const std::string& district);

}  // namespace evoucher::store
