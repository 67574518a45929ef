// `evoucher verify` passes on a clean ledger and names the account after tampering.
#include "store/ledger_fixture.hpp"
#include "support/process.hpp"
#include "evoucher/store/verify.hpp"

namespace evoucher::testing {
namespace {

class VerifyTest : public LedgerTest {
 protected:
  CommandResult verify() { return run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}}); }

  // Tampering needs the triggers off, as only a superuser with replication role can do.
  void tamper(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::work w(c);
    w.exec("SET LOCAL session_replication_role = replica");
    w.exec(sql);
    w.commit();
  }

  // A load as the money path records it: the journal, its load row and the member's month.
  std::int64_t load_recorded(std::int64_t amount) {
    const auto journal = load(amount);
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    const auto a = std::to_string(amount);
    n.exec("INSERT INTO loads (district, member_id, amount, bank_ref, occurred_at, journal_id) VALUES ('bupyeong', "
           "'m1', " + a + ", 'b', '2020-03-02T09:00:00+09:00', " + std::to_string(journal) + ")");
    n.exec("INSERT INTO member_months (district, member_id, month, loaded) VALUES ('bupyeong', 'm1', '2020-03-01', " + a +
           ") ON CONFLICT (district, member_id, month) DO UPDATE SET loaded = member_months.loaded + EXCLUDED.loaded");
    return journal;
  }
};

TEST_F(VerifyTest, PassesOnACleanLedger) {
  load_recorded(50'000);
  load_recorded(20'000);
  auto r = verify();
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ok    bupyeong: every journal balances (2 journals)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ok    bupyeong: every member's monthly counters equal their loads and eligible payments "
                          "(1 member months)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("22 checks passed, 0 failed"), std::string::npos) << r.output;
}

// A journal that moves a member's cash with no load, payment or refund behind it is named.
TEST_F(VerifyTest, NamesCashThatNoRecordExplains) {
  load_recorded(50'000);
  load(1'000);  // the journal alone
  auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("member bupyeong/m1: cash 51000 and points 0; its records make cash 50000 and points 0"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("21 checks passed, 1 failed"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, FailsNamingTheAccountAfterAnEntryIsTampered) {
  const auto journal = load_recorded(50'000);
  tamper("UPDATE entries SET amount = amount - 1 WHERE journal_id = " + std::to_string(journal) + " AND seq = 2");
  auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto cash_id = scalar("SELECT id FROM accounts WHERE key = 'member:m1:cash'");
  EXPECT_NE(r.output.find("FAIL  bupyeong: every journal balances"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("journal bupyeong/" + std::to_string(journal) + ": 2 entries summing to -1"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("account bupyeong/member:m1:cash (#" + std::to_string(cash_id) +
                          "): cached balance 50000, entries sum to 50001"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("district bupyeong: debits 50000, credits 50001"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("19 checks passed, 3 failed"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, FailsNamingTheAccountAfterACachedBalanceIsTampered) {
  load_recorded(50'000);
  tamper("UPDATE accounts SET balance = balance + 7 WHERE key = 'float'");
  const auto results = store::verify_ledger(*db, std::string("bupyeong"));
  ASSERT_EQ(results.size(), 22u);
  int failed = 0;
  for (const auto& r : results) failed += r.ok ? 0 : 1;
  EXPECT_EQ(failed, 1);
  EXPECT_EQ(results[1].name, "every account's balance equals the sum of its entries");
  ASSERT_EQ(results[1].failures.size(), 1u);
  const auto float_id = scalar("SELECT id FROM accounts WHERE key = 'float'");
  EXPECT_EQ(results[1].failures[0],
            "account bupyeong/float (#" + std::to_string(float_id) + "): cached balance 50007, entries sum to 50000");
  // The command line prints the same failure, naming the account.
  auto r = verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("FAIL  bupyeong: every account's balance equals the sum of its entries"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("account bupyeong/float (#" + std::to_string(float_id) + "): cached balance 50007, entries sum to 50000"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("21 checks passed, 1 failed"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, NegativeCashIsReported) {
  // The CHECK constraint stops this even with triggers off: only dropping it lets the tamper through.
  tamper("ALTER TABLE accounts DROP CONSTRAINT accounts_floor; UPDATE accounts SET balance = -5 WHERE key = 'member:m1:cash'");
  const auto results = store::verify_ledger(*db, std::string("bupyeong"));
  EXPECT_FALSE(results[3].ok);
  ASSERT_EQ(results[3].failures.size(), 1u);
  EXPECT_NE(results[3].failures[0].find("member:m1:cash"), std::string::npos);
  EXPECT_NE(results[3].failures[0].find("balance -5, floor 0"), std::string::npos);
}

// The database no longer checks these links itself (migration 0005): verify does.
TEST_F(VerifyTest, NamesARecordWhoseJournalIsMissing) {
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  n.exec("INSERT INTO loads (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
         "VALUES ('bupyeong', 777, 'm1', 10, 'b', now(), 424242)");
  auto r = verify();
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL  bupyeong: every load, refund, payment and cancellation names a journal of its district"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("load bupyeong/777 names journal 424242, which is not in its district"), std::string::npos)
      << r.output;
}

// The command line has its own statement timeout: the service's (here 1 ms, shorter than any
// of verify's scans) does not apply to it.
TEST_F(VerifyTest, IgnoresTheServicesStatementTimeout) {
  load_recorded(50'000);
  auto r = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}, {"EVOUCHER_STATEMENT_TIMEOUT_MS", "1"}});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("22 checks passed, 0 failed"), std::string::npos) << r.output;
}

TEST_F(VerifyTest, UnknownDistrictFails) {
  auto r = run_evoucher({"verify", "--district", "nowhere"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("FAIL  nowhere: the district exists"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace evoucher::testing
