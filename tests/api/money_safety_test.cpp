// Money that must not leak: a cancellation or a confirmed review that meets the nightly batch, a
// suspension of another district's merchant, a refund that walks away from a clawback debt, a
// load stamped before its member's latest one, another district's program pool, a key reused on
// another endpoint, dates left pending by a late payment, and what the service's role may not
// rewrite. Each test fails without its fix.
#include <chrono>
#include <thread>

#include "api/api_fixture.hpp"
#include "evoucher/time.hpp"
#include "support/refused.hpp"

namespace evoucher::testing {
namespace {

class MoneySafety : public ApiTest {
 protected:
  std::string approve(const std::string& event, const std::string& card, const std::string& merchant, long long price,
                      const std::string& at) {
    const auto a = pay(event, card, merchant, price, at);
    EXPECT_EQ(a.body["decision"], "approved") << a.body;
    return a.body.value("payment_id", "");
  }

  CommandResult batch(const std::string& date, const std::string& district = "bupyeong") {
    return run_evoucher({"batch", "cashback", "--date", date, "--district", district}, {{"EVOUCHER_DATABASE_URL", url}});
  }

  // Waits until `count` sessions of the database wait for a lock.
  void await_lock_waiters(int count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND wait_event_type = 'Lock'") < count) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "fewer than " << count << " sessions wait for a lock";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Runs `action` while the batch for bupyeong's 2020-03-02 holds that date's payments (it picked
  // them FOR SHARE and waits for the national pool, which this test holds); lets the batch go
  // once the action waits too. Returns the action's answer, given after the batch committed.
  Answer meeting_the_batch(const std::function<Answer()>& action) {
    pqxx::connection holder(url);
    pqxx::work held(holder);
    held.exec("SELECT 1 FROM pools WHERE source = 'national' FOR UPDATE");
    CommandResult batch_result;
    std::thread batch_thread([&] { batch_result = batch("2020-03-02"); });
    await_lock_waiters(1);
    Answer answer;
    std::thread action_thread([&] { answer = action(); });
    await_lock_waiters(2);
    held.commit();
    batch_thread.join();
    action_thread.join();
    EXPECT_EQ(batch_result.exit_code, 0) << batch_result.output;
    return answer;
  }

  json pool(const std::string& source, const std::string& tok = kAdminToken) {
    const auto listed = admin("GET", "/v1/pools", nullptr, tok).body;
    for (const auto& p : listed["pools"])
      if (p["source"] == source) return p;
    return nullptr;
  }

  json member(const std::string& id) { return admin("GET", "/v1/members/" + id + "?month=2020-03").body; }

  std::string only_flag() {
    const auto flags = admin("GET", "/v1/flags?from=2020-03-01&to=2020-03-31").body["flags"];
    EXPECT_EQ(flags.size(), 1u) << flags;
    return flags.empty() ? "" : std::string(flags[0]["id"]);
  }
};

// The batch posts the payment's 10,000 won of city cashback while the cancellation waits for it;
// the cancellation then takes all of it back, and the pools are drawn for nothing.
TEST_F(MoneySafety, ACancellationThatMeetsTheBatchTakesBackWhatTheBatchPosted) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  const auto payment = approve("e1", "c1", "bp-cafe", 100'000, "2020-03-02T10:00:00+09:00");
  const auto cancelled =
      meeting_the_batch([&] { return cancel("x1", payment, 100'000, "2020-03-02T12:00:00+09:00"); });
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.body["cashback_reversed"], json::parse(R"({"city":10000,"district":0,"merchant":0})"));
  EXPECT_EQ(scalar("SELECT count(*) FROM cashback_postings"), 1);  // the batch did post it first
  EXPECT_EQ(scalar("SELECT clawed_back FROM cancellations"), 10'000);
  const auto m1 = member("m1");
  EXPECT_EQ(m1["cash"], 1'000'000);
  EXPECT_EQ(m1["points"], 0);
  EXPECT_EQ(m1["pending_cashback"], 0);
  EXPECT_EQ(pool("national")["drawn"], 0);
  EXPECT_EQ(pool("city")["drawn"], 0);
  expect_verified();
}

// The same for a confirmed fraud review: the third payment at one shop in a day is flagged; its
// posted cashback comes back, the first two keep theirs.
TEST_F(MoneySafety, AConfirmedReviewThatMeetsTheBatchTakesBackWhatTheBatchPosted) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  for (const auto* e : {"r1", "r2", "r3"}) approve(e, "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00");
  const auto flag = only_flag();
  const auto reviewed = meeting_the_batch([&] {
    return admin("POST", "/v1/flags/" + flag + "/review", {{"outcome", "confirmed"}, {"note", "test"}});
  });
  ASSERT_EQ(reviewed.status, 200) << reviewed.body;
  EXPECT_EQ(reviewed.body["review"]["clawed_back"], 1'000);
  EXPECT_EQ(member("m1")["points"], 2'000);
  EXPECT_EQ(pool("national")["drawn"], 1'332);  // 666 for each of the two payments left
  EXPECT_EQ(pool("city")["drawn"], 668);
  expect_verified();
}

// A Bupyeong card pays three times at a Yeonsu shop: the flag is Bupyeong's, the shop is not.
TEST_F(MoneySafety, ADistrictAdminSuspendsOnlyItsOwnDistrictsMerchants) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  for (const auto* e : {"y1", "y2", "y3"}) approve(e, "c1", "ys-diner", 10'000, "2020-03-02T10:00:00+09:00");
  const auto flag = only_flag();
  const auto bupyeong = token("district_admin", "bupyeong", "bp-reviewer");
  const json suspend{{"outcome", "confirmed"}, {"note", "three in a row"}, {"suspend_merchant", true}};
  const auto audit_rows = scalar("SELECT count(*) FROM audit_log");
  auto refused = admin("POST", "/v1/flags/" + flag + "/review", suspend, bupyeong);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.body["code"], "forbidden");
  EXPECT_EQ(refused.body["detail"], "merchant ys-diner is located in yeonsu; a district admin of bupyeong may suspend "
                                    "only its own district's merchants");
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-diner").body["status"], "active");
  EXPECT_EQ(scalar("SELECT count(*) FROM flags WHERE status = 'open'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM audit_log"), audit_rows);
  // Confirming without the suspension is its own to do; the city may suspend.
  EXPECT_EQ(admin("POST", "/v1/flags/" + flag + "/review", {{"outcome", "confirmed"}, {"note", "n"}}, bupyeong).status,
            200);
  for (const auto* e : {"y4", "y5", "y6"}) approve(e, "c1", "ys-diner", 10'000, "2020-03-03T10:00:00+09:00");
  const auto flags = admin("GET", "/v1/flags?from=2020-03-03&to=2020-03-03").body["flags"];
  ASSERT_EQ(flags.size(), 1u) << flags;
  EXPECT_EQ(admin("POST", "/v1/flags/" + std::string(flags[0]["id"]) + "/review", suspend).status, 200);
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-diner").body["status"], "suspended");
  expect_verified();
}

// PRODUCT.md's example: the member holds 950,000 (cash less the 50,000 debt) and spent 50,000.
TEST_F(MoneySafety, ARefundSettlesTheClawbackDebtFirst) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  const auto big = approve("p1", "c1", "bp-cafe", 500'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  EXPECT_EQ(member("m1")["points"], 50'000);
  const auto spend = pay("p2", "c1", "bp-cafe", 50'000, "2020-03-03T10:00:00+09:00");
  EXPECT_EQ(spend.body["paid"], json::parse(R"({"points":50000,"cash":0})"));
  ASSERT_EQ(cancel("x1", big, 500'000, "2020-03-03T11:00:00+09:00").status, 200);
  EXPECT_EQ(member("m1")["cash"], 1'000'000);
  EXPECT_EQ(member("m1")["points"], -50'000);
  auto refused = admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "b"}}, kAdminToken, "refund-1");
  EXPECT_EQ(refused.status, 422) << refused.body;
  EXPECT_EQ(refused.body["detail"], "refund_min_used_pct: spent 50000 of 1000000 loaded, less than 60 %");
  EXPECT_EQ(scalar("SELECT count(*) FROM refunds"), 0);
  expect_verified();
}

TEST_F(MoneySafety, AnAllowedRefundPaysCashLessTheDebtAndClearsIt) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  const auto first = approve("p1", "c1", "bp-cafe", 100'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  approve("p2", "c1", "bp-cafe", 10'000, "2020-03-03T10:00:00+09:00");   // the 10,000 points
  approve("p3", "c1", "bp-cafe", 700'000, "2020-03-03T11:00:00+09:00");  // cash 200,000 left
  ASSERT_EQ(cancel("x1", first, 100'000, "2020-03-03T12:00:00+09:00").status, 200);
  EXPECT_EQ(member("m1")["cash"], 300'000);
  EXPECT_EQ(member("m1")["points"], -10'000);
  // Held 290,000; spent 710,000 of 1,000,000: allowed, and 290,000 goes to the bank.
  auto refund = admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "b"}}, kAdminToken, "refund-1");
  ASSERT_EQ(refund.status, 201) << refund.body;
  EXPECT_EQ(refund.body["amount"], 290'000);
  EXPECT_EQ(member("m1")["cash"], 0);
  EXPECT_EQ(member("m1")["points"], 0);
  EXPECT_EQ(scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district "
                   "AND j.id = e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id "
                   "WHERE j.kind = 'refund' AND a.key = 'float'"),
            290'000);
  expect_verified();
}

// A load sent without a time is stamped when decided, never before the member's latest load: one
// sent with a time a few minutes ahead (allowed) must not make the next unstamped one backdated.
TEST_F(MoneySafety, ALoadWithoutATimeIsNeverRefusedAsBackdated) {
  const auto ahead = format_rfc3339(std::chrono::floor<std::chrono::seconds>(now_utc()) + std::chrono::minutes(4));
  ASSERT_EQ(load("m1", 10'000, "ahead", ahead).status, 201);
  auto unstamped = admin("POST", "/v1/loads", {{"member", "m1"}, {"amount", 20'000}, {"bank_ref", "b2"}},
                         kAdminToken, "unstamped");
  ASSERT_EQ(unstamped.status, 201) << unstamped.body;
  EXPECT_EQ(unstamped.body["cash"], 30'000);
  EXPECT_EQ(scalar("SELECT count(*) FROM loads WHERE occurred_at >= '" + ahead + "'"), 2);
  // So is a refund.
  auto refund = admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "b3"}}, kAdminToken, "refund");
  EXPECT_EQ(refund.status, 201) << refund.body;
  expect_verified();
}

// A district admin sees the city-wide pools and its own district's, never another district's.
TEST_F(MoneySafety, ADistrictAdminSeesNoOtherDistrictsProgramPool) {
  auto program = [](const std::string& id, const std::string& district) {
    return json{{"id", id}, {"name", "relief"}, {"district", district}, {"funder", district == "city" ? "city" : "district"},
                {"budget", 1'000}, {"grant_from", "2020-03-01"}, {"grant_to", "2020-06-30"},
                {"expires_on", "2020-08-31"}, {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", true}}}};
  };
  ASSERT_EQ(admin("POST", "/v1/programs", program("ys-relief", "yeonsu"), kAdminToken, "p1").status, 201);
  ASSERT_EQ(admin("POST", "/v1/programs", program("bp-relief", "bupyeong"), kAdminToken, "p2").status, 201);
  ASSERT_EQ(admin("POST", "/v1/programs", program("city-relief", "city"), kAdminToken, "p3").status, 201);
  const auto bupyeong = token("district_admin", "bupyeong");
  std::vector<std::string> all, seen;
  const auto everything = admin("GET", "/v1/pools").body;
  for (const auto& p : everything["pools"])
    if (p["source"] != "district:yeonsu" && p["source"] != "program:ys-relief") all.push_back(p["source"]);
  const auto for_bupyeong = admin("GET", "/v1/pools", nullptr, bupyeong).body;
  for (const auto& p : for_bupyeong["pools"]) seen.push_back(p["source"]);
  EXPECT_EQ(seen, all);
  EXPECT_NE(std::find(seen.begin(), seen.end(), "program:bp-relief"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "program:city-relief"), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), "national"), seen.end());
  const auto yeonsu_pool = pool("program:ys-relief");
  ASSERT_TRUE(yeonsu_pool.is_object());
  const auto id = std::to_string(yeonsu_pool["id"].get<long long>());
  EXPECT_EQ(admin("GET", "/v1/pools/" + id + "/burn-down", nullptr, bupyeong).status, 404);
  EXPECT_EQ(admin("GET", "/v1/pools/" + id + "/burn-down").status, 200);
  std::vector<std::string> yeonsu_sees;
  const auto for_yeonsu = admin("GET", "/v1/pools", nullptr, token("district_admin", "yeonsu")).body;
  for (const auto& p : for_yeonsu["pools"])
    yeonsu_sees.push_back(p["source"]);
  EXPECT_NE(std::find(yeonsu_sees.begin(), yeonsu_sees.end(), "program:ys-relief"), yeonsu_sees.end());
  EXPECT_EQ(std::find(yeonsu_sees.begin(), yeonsu_sees.end(), "program:bp-relief"), yeonsu_sees.end());
}

// An Idempotency-Key names one request, whatever the endpoint and query string.
TEST_F(MoneySafety, AKeyUsedOnAnotherEndpointOrQueryIsRefused) {
  ASSERT_EQ(load("m1", 10'000, "one-key").status, 201);
  auto refund = admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "b"}}, kAdminToken, "one-key");
  EXPECT_EQ(refund.status, 409) << refund.body;
  EXPECT_EQ(refund.body["code"], "idempotency_key_reused");
  EXPECT_EQ(scalar("SELECT count(*) FROM refunds"), 0);
  // A grant's occurred_at is part of its request.
  ASSERT_EQ(admin("POST", "/v1/programs",
                  {{"id", "relief"}, {"name", "relief"}, {"district", "bupyeong"}, {"funder", "district"},
                   {"budget", 100'000}, {"grant_from", "2020-03-01"}, {"grant_to", "2020-06-30"},
                   {"expires_on", "2020-08-31"}, {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", true}}}},
                  kAdminToken, "program")
                .status,
            201);
  auto grant = [&](const std::string& at) {
    std::map<std::string, std::string> headers{{"Authorization", std::string("Bearer ") + kAdminToken},
                                               {"Idempotency-Key", "grant-key"}};
    return answer(http_request(server->port(), "POST", "/v1/programs/relief/grants?occurred_at=" + at,
                               json{{"grants", json::array({json{{"member", "m2"}, {"amount", 1'000}}})}}.dump(), headers));
  };
  EXPECT_EQ(grant("2020-03-02T10:00:00Z").status, 200);
  EXPECT_EQ(grant("2020-03-02T10:00:00Z").status, 200);  // the same request: replayed
  const auto other = grant("2020-03-05T10:00:00Z");
  EXPECT_EQ(other.status, 409) << other.body;
  EXPECT_EQ(scalar("SELECT count(*) FROM grants"), 1);
  expect_verified();
}

// The nightly run posts every closed date that still has pending cashback, not only yesterday.
TEST_F(MoneySafety, TheNightlyRunPostsADateLeftPendingByALatePayment) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  approve("p1", "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  approve("late", "c1", "bp-cafe", 20'000, "2020-03-02T11:00:00+09:00");  // two days late, say
  EXPECT_EQ(member("m1")["pending_cashback"], 2'000);
  // A run killed after its last chunk, before it completed: nothing left to post but its report.
  scalar("WITH r AS (INSERT INTO batch_runs (district, business_date, status) VALUES ('bupyeong', '2020-03-05', "
         "'running') RETURNING 1) SELECT count(*) FROM r");
  const auto nightly =
      run_evoucher({"batch", "cashback", "--date", "pending"}, {{"EVOUCHER_DATABASE_URL", url}});
  ASSERT_EQ(nightly.exit_code, 0) << nightly.output;
  EXPECT_EQ(member("m1")["pending_cashback"], 0);
  EXPECT_EQ(member("m1")["points"], 2'000);  // the late payment spent the first 1,000
  const auto report = admin("GET", "/v1/batches/cashback/bupyeong/2020-03-02").body;
  EXPECT_EQ(report["run"], 2);
  EXPECT_EQ(report["runs"][1]["components"]["city"], json::parse(R"({"count":1,"posted":2000,"unfunded":0})"));
  // One report a district for yesterday, and bupyeong's 2020-03-02 and 2020-03-05 before its yesterday.
  const auto& out = nightly.output;
  std::size_t reports = 0;
  for (auto at = out.find("\"status\":\"completed\""); at != std::string::npos;
       at = out.find("\"status\":\"completed\"", at + 1))
    ++reports;
  EXPECT_EQ(reports, 5u) << out;
  EXPECT_EQ(admin("GET", "/v1/batches/cashback/bupyeong/2020-03-05").body["status"], "completed");
  const auto yesterday = "\"business_date\":\"" + format_date(seoul_yesterday(now_utc())) + "\"";
  EXPECT_NE(out.find(yesterday), std::string::npos) << out;
  EXPECT_LT(out.find("\"business_date\":\"2020-03-02\""), out.find(yesterday)) << out;
  expect_verified();
}

// What the service's role may not rewrite, it cannot: each statement is refused by the database.
TEST_F(MoneySafety, TheServiceRoleCannotRewriteWhatItRecorded) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  const auto payment = approve("p1", "c1", "bp-cafe", 100'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(cancel("x1", payment, 10'000, "2020-03-02T11:00:00+09:00").status, 200);
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  store::ConnectionOptions as_service;
  as_service.as_service = true;
  store::Connection service(url, as_service);
  auto refused = [&](const std::string& sql, const std::string& expected) { expect_refused(service, sql, expected); };
  const std::string pools = "pools: a pool's budget rises only by a top-up, and its draw moves only through the ledger";
  refused("UPDATE pools SET budget = budget + 1 WHERE source = 'city'", pools);
  refused("UPDATE pools SET drawn = 0 WHERE source = 'national'", pools);
  refused("UPDATE pools SET period_end = '2099-12-31' WHERE source = 'city'", pools);
  refused("INSERT INTO pools (source, period_start, period_end, budget, drawn) "
          "VALUES ('district:yeonsu', '2021-01-01', '2021-12-31', 10, 5)",
          "pools: a new pool has drawn nothing");
  const std::string answers = "idempotency_keys: a stored answer is final";
  refused("UPDATE idempotency_keys SET answer = '{}'", answers);
  refused("UPDATE idempotency_keys SET request_hash = 'x'", answers);
  refused("UPDATE processor_events SET answer = '{}'", "permission denied for table processor_events");
  const std::string figures = "payments: a payment's figures move only by its cancellations and reviews";
  refused("UPDATE payments SET price = price + 1, charged = charged + 1, paid_cash = paid_cash + 1", figures);
  refused("UPDATE payments SET city_cashback = city_cashback + 1", figures);
  refused("UPDATE payments SET cancelled = 0", figures);
  refused("UPDATE payments SET refunded_cash = 0", figures);
  refused("UPDATE payments SET eligible = eligible + 1", figures);
  refused("UPDATE payments SET member_id = 'm2'", figures);
  refused("UPDATE payments SET occurred_at = occurred_at + interval '1 day'", figures);
  refused("UPDATE cashback_postings SET posted_city = posted_city + 1", "the posting of payment");
  // No SECURITY DEFINER function is PUBLIC's to call.
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_proc WHERE prosecdef AND has_function_privilege('public', oid, 'EXECUTE')"),
            0);
  EXPECT_GE(scalar("SELECT count(*) FROM pg_proc WHERE prosecdef"), 1);
  // What it must do, it can: a top-up raises the budget through its row.
  const auto city = pool("city");
  const auto id = std::to_string(city["id"].get<long long>());
  auto topped = admin("POST", "/v1/pools/" + id + "/top-ups", {{"amount", 5}}, kAdminToken, "top-up");
  ASSERT_EQ(topped.status, 201) << topped.body;
  EXPECT_EQ(topped.body["budget"], city["budget"].get<long long>() + 5);
  expect_verified();
}

// verify reconciles every record beside the ledger with it: each tampering below is named.
TEST_F(MoneySafety, VerifyReconcilesEveryRecordWithTheLedger) {
  ASSERT_EQ(load("m1", 1'000'000, "load").status, 201);
  const auto big = approve("p1", "c1", "bp-cafe", 500'000, "2020-03-02T10:00:00+09:00");
  approve("p3", "c1", "bp-cafe", 10'000, "2020-03-02T11:00:00+09:00");
  ASSERT_EQ(batch("2020-03-02").exit_code, 0);
  approve("p2", "c1", "bp-cafe", 50'000, "2020-03-03T10:00:00+09:00");  // from points
  ASSERT_EQ(cancel("x1", big, 500'000, "2020-03-03T11:00:00+09:00").status, 200);
  EXPECT_EQ(member("m1")["points"], -49'900);  // p3 earned 1 % (100): p1 filled the 10 % bracket
  ASSERT_EQ(admin("POST", "/v1/programs",
                  {{"id", "relief"}, {"name", "relief"}, {"district", "bupyeong"}, {"funder", "district"},
                   {"budget", 100'000}, {"grant_from", "2020-03-01"}, {"grant_to", "2020-06-30"},
                   {"expires_on", "2020-08-31"}, {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", true}}}},
                  kAdminToken, "program")
                .status,
            201);
  std::map<std::string, std::string> headers{{"Authorization", std::string("Bearer ") + kAdminToken},
                                             {"Idempotency-Key", "grant"}};
  const auto granted = answer(http_request(server->port(), "POST", "/v1/programs/relief/grants?occurred_at=2020-03-02T10:00:00Z",
                                           json{{"grants", json::array({json{{"member", "m2"}, {"amount", 1'000}}})}}.dump(),
                                           headers));
  ASSERT_EQ(granted.body["accepted"], 1) << granted.body;
  expect_verified();
  // Each tampering is made as the owner with the guards off, named by verify, then undone.
  auto named = [&](const std::string& tamper, const std::string& undo, const std::string& expected) {
    auto as_owner = [&](const std::string& sql) {
      pqxx::connection c(url);
      pqxx::nontransaction n(c);
      n.exec("SET session_replication_role = replica");
      n.exec(sql);
    };
    as_owner(tamper);
    const auto v = run_evoucher({"verify", "--district", "bupyeong"}, {{"EVOUCHER_DATABASE_URL", url}});
    EXPECT_EQ(v.exit_code, 1) << tamper;
    EXPECT_NE(v.output.find(expected), std::string::npos) << tamper << "\n" << v.output;
    as_owner(undo);
  };
  named("UPDATE member_months SET eligible_spent = eligible_spent + 7 WHERE member_id = 'm1'",
        "UPDATE member_months SET eligible_spent = eligible_spent - 7 WHERE member_id = 'm1'",
        "member bupyeong/m1, month 2020-03: the counters say loaded 1000000 and eligible 60007; loads sum to 1000000 "
        "and eligible payments to 60000");
  named("UPDATE processor_events SET operation = 'pay-bupyeong-999' WHERE endpoint = 'payment' AND event_id = 'p2'",
        "UPDATE processor_events e SET operation = format('pay-%s-%s', p.district, p.id) FROM payments p "
        " WHERE e.endpoint = 'payment' AND e.event_id = 'p2' AND p.event_id = 'p2'",
        "payment event p2: answered pay-bupyeong-999, recorded as pay-bupyeong-");
  named("UPDATE processor_events SET decision = 'declined' WHERE endpoint = 'cancellation' AND event_id = 'x1'",
        "UPDATE processor_events SET decision = 'done' WHERE endpoint = 'cancellation' AND event_id = 'x1'",
        "cancellation event x1: cxl-bupyeong-");
  named("UPDATE grants SET amount = amount + 1", "UPDATE grants SET amount = amount - 1",
        "of relief to m2 (1001): its journal credits the wallet 1000");
  named("UPDATE cashback_postings k SET posted_national = posted_national - 1, unfunded_national = unfunded_national + 1 "
        "  FROM payments p WHERE p.id = k.payment_id AND p.event_id = 'p3'",
        "UPDATE cashback_postings k SET posted_national = posted_national + 1, unfunded_national = unfunded_national - 1 "
        "  FROM payments p WHERE p.id = k.payment_id AND p.event_id = 'p3'",
        "pool 1 (national) in bupyeong: drawn 66, its postings hold 65");
  named("UPDATE cancellations SET clawed_back = 0", "UPDATE cancellations SET clawed_back = 50000",
        "member bupyeong/m1: points -49900, but clawbacks took only 0");
  named("UPDATE loads SET amount = amount + 1", "UPDATE loads SET amount = amount - 1",
        "member bupyeong/m1: cash 990000 and points -49900; its records make cash 990001 and points -49900");
  named("UPDATE payments SET price = price + 1, charged = charged + 1, paid_cash = paid_cash + 1 WHERE event_id = 'p3'",
        "UPDATE payments SET price = price - 1, charged = charged - 1, paid_cash = paid_cash - 1 WHERE event_id = 'p3'",
        "merchant bp-cafe in bupyeong: payable 60000; sales less cancellations 60001, merchant cashback 0, settled 0");
  expect_verified();
}

// The shipped deployments log in as a role that holds only evoucher_service: the service, the
// batch and verify work that way, and the login itself can do nothing the role may not.
TEST_F(MoneySafety, TheServiceRunsLoggedInAsItsRestrictedRole) {
  {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    n.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'evoucher_app') THEN "
           "CREATE ROLE evoucher_app LOGIN IN ROLE evoucher_service; END IF; END $$");
  }
  const auto at = url.find("user=evoucher ");
  ASSERT_NE(at, std::string::npos) << url;
  const auto app_url = url.substr(0, at) + "user=evoucher_app " + url.substr(at + 14);
  server->stop();
  server = std::make_unique<ServeProcess>(app_url, std::map<std::string, std::string>{
                                                       {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                       {"EVOUCHER_PROCESSOR_SECRET", kSecret}});
  ASSERT_EQ(load("m1", 100'000, "load").status, 201);
  const auto payment = approve("p1", "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(cancel("x1", payment, 1'000, "2020-03-02T11:00:00+09:00").status, 200);
  const auto b = run_evoucher({"batch", "cashback", "--date", "2020-03-02", "--district", "bupyeong"},
                              {{"EVOUCHER_DATABASE_URL", app_url}});
  ASSERT_EQ(b.exit_code, 0) << b.output;
  EXPECT_EQ(member("m1")["points"], 900);
  const auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", app_url}});
  EXPECT_EQ(v.exit_code, 0) << v.output;
  pqxx::connection login(app_url);
  pqxx::nontransaction n(login);
  EXPECT_EQ(n.exec("SELECT current_user")[0][0].as<std::string>(), "evoucher_app");
  for (const std::string sql : {"DELETE FROM journals", "UPDATE pools SET budget = 1", "TRUNCATE entries",
                                "INSERT INTO api_tokens (token_hash, role) VALUES ('x', 'city_admin')"}) {
    try {
      n.exec(sql);
      ADD_FAILURE() << "allowed: " << sql;
    } catch (const pqxx::sql_error& e) {
      EXPECT_TRUE(std::string(e.what()).find("permission denied") != std::string::npos ||
                  std::string(e.what()).find("pools: a pool's budget") != std::string::npos)
          << sql << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace evoucher::testing
