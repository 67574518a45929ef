// The ledger core against a real PostgreSQL: posting, the balance rule, floors, idempotency,
// partitions and statements.
#include <atomic>
#include <thread>

#include "evoucher/store/verify.hpp"
#include "store/ledger_fixture.hpp"
#include "support/refused.hpp"

namespace evoucher::testing {
namespace {

TEST_F(LedgerTest, BalancedJournalPostsAndMovesCachedBalances) {
  const auto journal = load(300'000);
  EXPECT_GT(journal, 0);
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(300'000));
  EXPECT_EQ(balance_of(accounts::float_account()), Won(300'000));
  EXPECT_EQ(scalar("SELECT count(*) FROM entries WHERE journal_id = " + std::to_string(journal)), 2);
  EXPECT_EQ(scalar("SELECT sum(amount) FROM entries WHERE district = 'bupyeong'"), 0);
}

TEST_F(LedgerTest, UnbalancedDraftIsRefusedBeforeTheDatabase) {
  store::Tx tx(*db);
  auto r = store::post_journal(
      tx, {"bupyeong", "load", t0, "", {{accounts::float_account(), Won(100)}, {accounts::member_cash("m1"), Won(-90)}}});
  EXPECT_FALSE(r.journal_id);
  EXPECT_EQ(r.refusal, store::LedgerRefusal::unbalanced);
  EXPECT_EQ(r.detail, "debits and credits differ by 10");
}

TEST_F(LedgerTest, UnknownAccountIsRefusedAndNothingIsWritten) {
  {
    store::Tx tx(*db);
    auto r = store::post_journal(
        tx, {"bupyeong", "load", t0, "", {{accounts::float_account(), Won(100)}, {"member:ghost:cash", Won(-100)}}});
    EXPECT_EQ(r.refusal, store::LedgerRefusal::unknown_account);
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), 0);
  EXPECT_EQ(balance_of(accounts::float_account()), Won(0));
}

TEST_F(LedgerTest, DatabaseRefusesUnbalancedEntriesFromRawSql) {
  pqxx::connection c(url);
  const auto float_id = scalar("SELECT id FROM accounts WHERE key = 'float'");
  const auto cash_id = scalar("SELECT id FROM accounts WHERE key = 'member:m1:cash'");
  const std::string insert_journal =
      "INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bupyeong', 9001, 'raw', now());";
  const std::string entries = "INSERT INTO entries (district, journal_id, seq, account_id, amount) VALUES ";
  {
    pqxx::work w(c);
    w.exec(insert_journal);
    EXPECT_THROW(w.exec(entries + "('bupyeong', 9001, 1, " + std::to_string(float_id) + ", 100), ('bupyeong', 9001, 2, " +
                        std::to_string(cash_id) + ", -90)"),
                 pqxx::check_violation);
  }
  {
    // Straight into the partition, around the parent table.
    pqxx::work w(c);
    w.exec(insert_journal);
    EXPECT_THROW(w.exec("INSERT INTO entries__bupyeong__p (district, journal_id, seq, account_id, amount) VALUES "
                        "('bupyeong', 9001, 1, " + std::to_string(float_id) + ", 100)"),
                 pqxx::check_violation);
  }
  {
    // Balanced raw SQL is accepted, and moves the cached balances.
    pqxx::work w(c);
    w.exec(insert_journal);
    w.exec(entries + "('bupyeong', 9001, 1, " + std::to_string(float_id) + ", 100), ('bupyeong', 9001, 2, " +
           std::to_string(cash_id) + ", -100)");
    w.commit();
  }
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(100));
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), 1);
}

// A journal left without entries moves no money; the database no longer probes for entries at
// every commit, and verify names it instead.
TEST_F(LedgerTest, VerifyNamesAJournalWithoutEntries) {
  {
    pqxx::connection c(url);
    pqxx::work w(c);
    w.exec("INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bupyeong', 9201, 'raw', now())");
    w.commit();
  }
  store::Connection c(url);
  std::vector<std::string> failures;
  for (const auto& r : store::verify_ledger(c, std::string("bupyeong")))
    for (const auto& f : r.failures) failures.push_back(r.name + ": " + f);
  EXPECT_EQ(failures, (std::vector<std::string>{"every journal balances: journal bupyeong/9201: 0 entries summing to 0"}));
}

// The balance trigger reads only its own statement's rows: a journal's entries must all arrive in
// one statement, numbered from 1, and every account they name must exist in their district.
TEST_F(LedgerTest, DatabaseRefusesLateEntriesAndUnknownAccounts) {
  pqxx::connection c(url);
  const auto float_id = scalar("SELECT id FROM accounts WHERE key = 'float'");
  const auto cash_id = scalar("SELECT id FROM accounts WHERE key = 'member:m1:cash'");
  const std::string entries = "INSERT INTO entries (district, journal_id, seq, account_id, amount) VALUES ";
  const auto line = [](long long journal, int seq, long long account, long long amount) {
    return "('bupyeong', " + std::to_string(journal) + ", " + std::to_string(seq) + ", " + std::to_string(account) +
           ", " + std::to_string(amount) + ")";
  };
  {
    pqxx::work w(c);
    w.exec("INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bupyeong', 9101, 'raw', now())");
    w.exec(entries + line(9101, 1, float_id, 100) + ", " + line(9101, 2, cash_id, -100));
    w.commit();
  }
  {
    // A balanced pair added to the committed journal later: numbered 3..4, not from 1.
    pqxx::work w(c);
    EXPECT_THROW(w.exec(entries + line(9101, 3, float_id, 50) + ", " + line(9101, 4, cash_id, -50)),
                 pqxx::check_violation);
  }
  {
    // Numbered with a gap.
    pqxx::work w(c);
    w.exec("INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bupyeong', 9102, 'raw', now())");
    EXPECT_THROW(w.exec(entries + line(9102, 1, float_id, 50) + ", " + line(9102, 3, cash_id, -50)),
                 pqxx::check_violation);
  }
  {
    // An account id that the district does not have.
    pqxx::work w(c);
    w.exec("INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bupyeong', 9103, 'raw', now())");
    EXPECT_THROW(w.exec(entries + line(9103, 1, float_id, 50) + ", " + line(9103, 2, 987654321, -50)),
                 pqxx::foreign_key_violation);
  }
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(100));
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), 2);
}

TEST_F(LedgerTest, EntriesAreAppendOnlyAndBalancesMoveOnlyThroughEntries) {
  load(1'000);
  pqxx::connection c(url);
  {
    pqxx::work w(c);
    EXPECT_THROW(w.exec("UPDATE entries SET amount = amount * 2"), pqxx::integrity_constraint_violation);
  }
  {
    pqxx::work w(c);
    EXPECT_THROW(w.exec("DELETE FROM entries"), pqxx::integrity_constraint_violation);
  }
  {
    pqxx::work w(c);
    EXPECT_THROW(w.exec("UPDATE accounts SET balance = 5 WHERE key = 'float'"), pqxx::integrity_constraint_violation);
  }
  EXPECT_EQ(balance_of(accounts::float_account()), Won(1'000));
}

TEST_F(LedgerTest, FloorRefusesOverdraft) {
  load(1'000);
  {
    store::Tx tx(*db);
    auto r = store::post_journal(tx, spend(1'001));
    EXPECT_EQ(r.refusal, store::LedgerRefusal::floor_breached);
  }
  store::Tx tx(*db);
  auto r = store::post_journal(tx, spend(1'000));
  tx.commit();
  EXPECT_TRUE(r.journal_id);
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(0));
  EXPECT_EQ(balance_of(accounts::merchant_payable("shop")), Won(1'000));
}

TEST_F(LedgerTest, SixteenThreadsDebitingOneFlooredAccount) {
  // 100,000 won of cash; 1,000 debits of 150 won: exactly floor(100000 / 150) = 666 fit.
  load(100'000);
  constexpr int kThreads = 16;
  constexpr int kDebits = 1'000;
  std::atomic<int> next{0}, posted{0}, refused{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      store::Connection c(url);
      while (next.fetch_add(1) < kDebits) {
        store::Tx tx(c);
        auto r = store::post_journal(tx, spend(150));
        if (r.journal_id) {
          tx.commit();
          ++posted;
        } else if (r.refusal == store::LedgerRefusal::floor_breached) {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(posted.load(), 666);
  EXPECT_EQ(refused.load(), 334);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(100));
  EXPECT_EQ(balance_of(accounts::merchant_payable("shop")), Won(99'900));
  // The account's history is exactly the load and 666 debits of 150 in journal order: its running
  // balances are 100,000, 99,850, ..., 100, each exactly once, and nothing else.
  const std::string history =
      "(SELECT -sum(e.amount) OVER (ORDER BY journal_id) AS running FROM entries e JOIN accounts a "
      "   ON a.district = e.district AND a.id = e.account_id WHERE a.key = 'member:m1:cash') s";
  EXPECT_EQ(scalar("SELECT count(DISTINCT running) FROM " + history +
                   " WHERE running BETWEEN 100 AND 100000 AND (100000 - running) % 150 = 0"),
            667);
  EXPECT_EQ(scalar("SELECT count(*) FROM " + history), 667);
  EXPECT_EQ(scalar("SELECT count(*) FROM journals WHERE kind = 'payment'"), 666);
}

// As the admin routes use a key: claim it, post, record the answer, in one transaction.
TEST_F(LedgerTest, IdempotentReplayReturnsTheFirstAnswerAndWritesNothing) {
  load(10'000);
  auto post = [&](const store::JournalDraft& draft, const std::string& hash) {
    store::Tx tx(*db);
    auto claim = store::claim_key(tx, draft.district, "pay-1", hash);
    if (claim.state != store::KeyState::fresh) return claim;
    const auto posted = store::post_journal(tx, draft);
    claim.status = 201;
    claim.answer = "{\"journal\":" + std::to_string(posted.journal_id.value_or(0)) + "}";
    store::record_answer(tx, draft.district, "pay-1", claim.status, claim.answer);
    tx.commit();
    return claim;
  };
  const auto first = post(spend(2'500), "hash-a");
  ASSERT_EQ(first.state, store::KeyState::fresh);
  EXPECT_EQ(first.answer, "{\"journal\":" + std::to_string(scalar("SELECT max(id) FROM journals WHERE kind = 'payment'")) + "}");

  const auto again = post(spend(2'500), "hash-a");
  EXPECT_EQ(again.state, store::KeyState::replay);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.answer, first.answer);
  EXPECT_EQ(scalar("SELECT count(*) FROM journals WHERE kind = 'payment'"), 1);
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(7'500));

  const auto reused = post(spend(3'000), "hash-b");
  EXPECT_EQ(reused.state, store::KeyState::reused);
  EXPECT_EQ(scalar("SELECT count(*) FROM journals WHERE kind = 'payment'"), 1);
  EXPECT_EQ(balance_of(accounts::member_cash("m1")), Won(7'500));
}

TEST_F(LedgerTest, CreatingADistrictCreatesItsPartitionsAndEntriesLandThere) {
  {
    store::Tx tx(*db);
    ASSERT_EQ(store::create_district(tx, {"yeonsu", "연수구", "연수e음"}), store::CreateOutcome::created);
    EXPECT_EQ(store::create_district(tx, {"yeonsu", "연수구", "연수e음"}), store::CreateOutcome::existing);
    EXPECT_EQ(store::create_district(tx, {"yeonsu", "연수구", "다른이름"}), store::CreateOutcome::conflict);
    store::open_account(tx, "yeonsu", {accounts::member_cash("m9"), store::Normal::credit, Won(0)});
    tx.commit();
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE c.relname IN ('accounts__yeonsu__p', 'journals__yeonsu__p', 'entries__yeonsu__p', "
                   "'idempotency_keys__yeonsu__p')"),
            4);
  store::Tx tx(*db);
  auto r = store::post_journal(tx, {"yeonsu", "load", t0, "", {{accounts::float_account(), Won(5'000)},
                                                              {accounts::member_cash("m9"), Won(-5'000)}}});
  tx.commit();
  ASSERT_TRUE(r.journal_id);
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  const auto rows = n.exec("SELECT DISTINCT tableoid::regclass::text FROM entries WHERE journal_id = " +
                           std::to_string(*r.journal_id));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "entries__yeonsu__p");
  EXPECT_EQ(n.exec("SELECT count(*) FROM entries__bupyeong__p")[0][0].as<int>(), 0);
}

TEST_F(LedgerTest, StatementPagesWithRunningBalances) {
  load(10'000);
  for (int amount : {1'000, 2'000, 3'000}) {
    store::Tx tx(*db);
    ASSERT_TRUE(store::post_journal(tx, spend(amount)).journal_id);
    tx.commit();
  }
  const std::vector<std::string> keys{accounts::member_cash("m1")};
  store::Tx tx(*db);
  auto first = store::statement(tx, "bupyeong", keys, 2, std::nullopt).value();
  ASSERT_EQ(first.lines.size(), 2u);
  EXPECT_EQ(first.lines[0].kind, "load");
  EXPECT_EQ(first.lines[0].amount, Won(10'000));
  EXPECT_EQ(first.lines[0].balance_after, Won(10'000));
  EXPECT_EQ(first.lines[0].at, t0);
  EXPECT_EQ(first.lines[1].amount, Won(-1'000));
  EXPECT_EQ(first.lines[1].balance_after, Won(9'000));
  ASSERT_TRUE(first.next);
  auto second = store::statement(tx, "bupyeong", keys, 2, first.next).value();
  ASSERT_EQ(second.lines.size(), 2u);
  EXPECT_EQ(second.lines[0].balance_after, Won(7'000));
  EXPECT_EQ(second.lines[1].balance_after, Won(4'000));
  EXPECT_FALSE(second.next);
  EXPECT_FALSE(store::statement(tx, "bupyeong", keys, 2, std::string("x.1")).has_value());
}

// PostgreSQL quotes the row in a DETAIL line; what the service logs of an error never carries it.
TEST_F(LedgerTest, LoggedErrorsLeaveOutTheRowTheyQuote) {
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  n.exec("INSERT INTO members (id, district) VALUES ('m-redact', 'bupyeong')");
  n.exec("INSERT INTO cards (token, member_id) VALUES ('tok-4242-secret', 'm-redact')");
  std::string raw;
  try {
    n.exec("INSERT INTO cards (token, member_id) VALUES ('tok-4242-secret', 'm-redact')");
  } catch (const pqxx::sql_error& e) {
    raw = e.what();
  }
  ASSERT_NE(raw.find("tok-4242-secret"), std::string::npos) << raw;  // PostgreSQL does quote it
  const auto logged = store::redacted(raw);
  EXPECT_EQ(logged.find("tok-4242-secret"), std::string::npos) << logged;
  EXPECT_EQ(logged, "ERROR:  duplicate key value violates unique constraint \"cards_pkey\"\nDETAIL:  (redacted)\n");
}

// The service's role reads, inserts and updates; it cannot truncate, delete, alter, disable a
// trigger, switch replication mode off, mint tokens, or rewrite an account's rules or a posting.
TEST_F(LedgerTest, TheServiceRoleCannotBypassTheLedger) {
  load(10'000);
  store::ConnectionOptions as_service;
  as_service.as_service = true;
  store::Connection service(url, as_service);
  auto refused = [&](const std::string& sql, const std::string& expected) { expect_refused(service, sql, expected); };
  refused("TRUNCATE entries", "permission denied for table entries");
  refused("DELETE FROM journals", "permission denied for table journals");
  refused("ALTER TABLE entries DISABLE TRIGGER ALL", "must be owner of table entries");
  refused("SET session_replication_role = replica", "permission denied to set parameter");
  refused("INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'city_admin')", "permission denied for table api_tokens");
  refused("UPDATE accounts SET min_balance = NULL WHERE key = 'member:m1:cash'", "its key, normal side and floor never change");
  refused("UPDATE accounts SET balance = balance + 1 WHERE key = 'member:m1:cash'", "moves only through entries");
  refused("DROP TABLE payments", "must be owner of table payments");
  refused("SELECT 1 FROM members WHERE id = 'm1' FOR NO KEY UPDATE", "permission denied for table members");
  // What it must do, it can: hold a member's money (the money path's lock).
  service.execute("SELECT pg_advisory_xact_lock(member_lock_key('m1'))");
  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE key = 'member:m1:cash'"), 10'000);
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), 2);
}

}  // namespace
}  // namespace evoucher::testing
