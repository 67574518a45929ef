// The ledger core's SQL. Balances and the balance rule are enforced by PostgreSQL's triggers
// (migrations/0001_ledger.sql); this code checks what it can first, to refuse with a value.
#include "evoucher/store/ledger.hpp"

#include <charconv>

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kOpenAccount{
    "ledger_open_account",
    "INSERT INTO accounts (district, key, normal, min_balance) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (district, key) DO NOTHING"};

// One round trip: the journal and its entries. A posting to an unknown account inserts a
// NULL account_id, which the NOT NULL constraint refuses.
const Statement kPostJournal{
    "ledger_post_journal",
    "WITH j AS (INSERT INTO journals (district, kind, occurred_at, reference) "
    "           VALUES ($1, $2, $3::timestamptz, NULLIF($4, '')) RETURNING id) "
    "INSERT INTO entries (district, journal_id, seq, account_id, amount) "
    "SELECT $1, j.id, p.seq, a.id, p.amount "
    "  FROM j CROSS JOIN unnest($5::text[], $6::bigint[]) WITH ORDINALITY AS p(key, amount, seq) "
    "  LEFT JOIN accounts a ON a.district = $1 AND a.key = p.key "
    "RETURNING journal_id"};

const Statement kClaimKey{
    "ledger_claim_key",
    "INSERT INTO idempotency_keys (district, key, request_hash) VALUES ($1, $2, $3) "
    "ON CONFLICT (district, key) DO NOTHING RETURNING 1"};

const Statement kReadKey{
    "ledger_read_key",
    "SELECT request_hash, status, answer FROM idempotency_keys WHERE district = $1 AND key = $2"};

const Statement kRecordAnswer{
    "ledger_record_answer",
    "UPDATE idempotency_keys SET status = $3, answer = $4 WHERE district = $1 AND key = $2"};

const Statement kBalance{
    "ledger_balance", "SELECT balance FROM accounts WHERE district = $1 AND key = $2"};

const Statement kTrialBalance{
    "trial_balance",
    "SELECT coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::bigint AS debits, "
    "       coalesce(-sum(amount) FILTER (WHERE amount < 0), 0)::bigint AS credits FROM entries WHERE district = $1"};

// balance_after = everything up to the cursor, plus the running sum within the page.
const Statement kStatement{
    "ledger_statement",
    "WITH acct AS (SELECT id, key, normal FROM accounts WHERE district = $1 AND key = ANY($2::text[])), "
    "page AS ( "
    "  SELECT e.journal_id, e.seq, acct.key, (e.amount * acct.normal)::bigint AS amount, j.kind, j.occurred_at "
    "    FROM entries e JOIN acct ON e.account_id = acct.id "
    "    JOIN journals j ON j.district = e.district AND j.id = e.journal_id "
    "   WHERE e.district = $1 AND (e.journal_id, e.seq) > ($3::bigint, $4::smallint) "
    "   ORDER BY e.journal_id, e.seq LIMIT $5), "
    "before AS ( "
    "  SELECT acct.key, coalesce(sum(e.amount * acct.normal), 0)::bigint AS total "
    "    FROM acct LEFT JOIN entries e ON e.district = $1 AND e.account_id = acct.id "
    "     AND (e.journal_id, e.seq) <= ($3::bigint, $4::smallint) "
    "   GROUP BY acct.key) "
    "SELECT p.journal_id, p.seq, p.key, p.kind, "
    "       to_char(p.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS occurred_at, p.amount, "
    "       (b.total + sum(p.amount) OVER (PARTITION BY p.key ORDER BY p.journal_id, p.seq))::bigint AS balance_after "
    "  FROM page p JOIN before b ON b.key = p.key ORDER BY p.journal_id, p.seq"};

bool parse_cursor(const std::string& text, long long& journal, int& seq) {
  const auto dot = text.find('.');
  if (dot == std::string::npos) return false;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p1, e1] = std::from_chars(begin, begin + dot, journal);
  auto [p2, e2] = std::from_chars(begin + dot + 1, end, seq);
  return e1 == std::errc() && p1 == begin + dot && e2 == std::errc() && p2 == end && journal >= 0 && seq >= 0 &&
         seq <= 32767;
}

bool mentions(const std::exception& e, const char* what) { return std::string(e.what()).find(what) != std::string::npos; }

}  // namespace

const char* to_string(LedgerRefusal refusal) {
  switch (refusal) {
    case LedgerRefusal::unbalanced: return "unbalanced";
    case LedgerRefusal::unknown_account: return "unknown_account";
    case LedgerRefusal::floor_breached: return "floor_breached";
  }
  return "unknown";
}

void open_account(Tx& tx, const std::string& district, const AccountSpec& spec) {
  with_unavailable_mapped([&] {
    std::optional<long long> floor;
    if (spec.min_balance) floor = spec.min_balance->value();
    run(tx, kOpenAccount, district, spec.key, static_cast<int>(spec.normal), floor);
    return 0;
  });
}

PostResult post_journal(Tx& tx, const JournalDraft& draft) {
  PostResult out;
  if (draft.postings.size() < 2 || draft.postings.size() > 32767) {
    out.refusal = LedgerRefusal::unbalanced;
    out.detail = "a journal needs from 2 to 32767 postings, got " + std::to_string(draft.postings.size());
    return out;
  }
  std::vector<std::string> keys;
  std::vector<long long> amounts;
  Won total;
  for (const auto& p : draft.postings) {
    if (p.amount == Won(0)) {
      out.refusal = LedgerRefusal::unbalanced;
      out.detail = "posting to " + p.account + " has a zero amount";
      return out;
    }
    total += p.amount;
    keys.push_back(p.account);
    amounts.push_back(p.amount.value());
  }
  if (total != Won(0)) {
    out.refusal = LedgerRefusal::unbalanced;
    out.detail = "debits and credits differ by " + std::to_string(total.value());
    return out;
  }
  try {
    with_unavailable_mapped([&] {
      const auto rows = run(tx, kPostJournal, draft.district, draft.kind, format_rfc3339(draft.occurred_at),
                            draft.reference, text_array(keys), bigint_array(amounts));
      out.journal_id = rows.at(0).at("journal_id").as<std::int64_t>();
      return 0;
    });
  } catch (const pqxx::not_null_violation& e) {
    out.refusal = LedgerRefusal::unknown_account;
    out.detail = "a posting names an account that district " + draft.district + " does not have";
  } catch (const pqxx::check_violation& e) {
    if (!mentions(e, "accounts_floor")) throw;
    out.refusal = LedgerRefusal::floor_breached;
    out.detail = "an account would fall below its minimum balance";
  }
  return out;
}

KeyClaim claim_key(Tx& tx, const std::string& district, const std::string& key, const std::string& request_hash) {
  return with_unavailable_mapped([&] {
    KeyClaim claim;
    if (!run(tx, kClaimKey, district, key, request_hash).empty()) return claim;
    const auto rows = run(tx, kReadKey, district, key);
    const auto row = rows.at(0);
    if (row["request_hash"].as<std::string>() != request_hash || row["status"].is_null()) {
      claim.state = KeyState::reused;
      return claim;
    }
    claim.state = KeyState::replay;
    claim.status = row["status"].as<int>();
    claim.answer = row["answer"].as<std::string>();
    return claim;
  });
}

void record_answer(Tx& tx, const std::string& district, const std::string& key, int status,
                   const std::string& answer) {
  with_unavailable_mapped([&] {
    run(tx, kRecordAnswer, district, key, status, answer);
    return 0;
  });
}

std::optional<Won> balance(Tx& tx, const std::string& district, const std::string& account) {
  return with_unavailable_mapped([&]() -> std::optional<Won> {
    const auto rows = run(tx, kBalance, district, account);
    if (rows.empty()) return std::nullopt;
    return won(rows[0]["balance"]);
  });
}

std::optional<StatementPage> statement(Tx& tx, const std::string& district, const std::vector<std::string>& accounts,
                                       int limit, const std::optional<std::string>& cursor) {
  long long after_journal = 0;
  int after_seq = 0;
  if (cursor && !parse_cursor(*cursor, after_journal, after_seq)) return std::nullopt;
  return with_unavailable_mapped([&] {
    const auto rows = run(tx, kStatement, district, text_array(accounts), after_journal, after_seq, limit + 1);
    StatementPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.lines.size()) == limit) break;
      StatementLine line;
      line.journal_id = row["journal_id"].as<std::int64_t>();
      line.seq = row["seq"].as<int>();
      line.account = row["key"].as<std::string>();
      line.kind = row["kind"].as<std::string>();
      line.at = timestamp(row["occurred_at"]);
      line.amount = won(row["amount"]);
      line.balance_after = won(row["balance_after"]);
      page.lines.push_back(std::move(line));
    }
    if (static_cast<int>(rows.size()) > limit && !page.lines.empty())
      page.next = std::to_string(page.lines.back().journal_id) + "." + std::to_string(page.lines.back().seq);
    return page;
  });
}

TrialBalance trial_balance(Tx& tx, const std::string& district) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kTrialBalance, district)[0];
    return TrialBalance{won(r["debits"]), won(r["credits"])};
  });
}

}  // namespace evoucher::store
