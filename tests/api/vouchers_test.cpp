// The engine issue's worked example, end to end, and the money rules over HTTP.
#include <pqxx/pqxx>

#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

class WorkedExample : public ApiTest {};

TEST_F(WorkedExample, TableOfTheEngineIssue) {
  auto l = load("m1", 1'000'000, "load-1");
  ASSERT_EQ(l.status, 201) << l.body;
  EXPECT_EQ(l.body, json::parse(R"({"load_id":"load-bupyeong-1","member":"m1","amount":1000000,"cash":1000000,"points":0})"));

  auto p1 = pay("e-p1", "c1", "bp-bakery", 50'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(p1.status, 200) << p1.body;
  EXPECT_EQ(p1.body, json::parse(R"({"decision":"approved","payment_id":"pay-bupyeong-2","price":50000,
    "discount":2500,"charged":47500,"paid":{"points":0,"cash":47500},
    "cashback":{"city":4750,"district":950,"merchant":0},"fee_support":237,"policy_id":1})"));

  auto p2 = pay("e-p2", "c1", "ys-books", 480'000, "2020-03-02T11:00:00+09:00");
  ASSERT_EQ(p2.status, 200) << p2.body;
  EXPECT_EQ(p2.body, json::parse(R"({"decision":"approved","payment_id":"pay-bupyeong-3","price":480000,
    "discount":0,"charged":480000,"paid":{"points":0,"cash":480000},
    "cashback":{"city":45525,"district":0,"merchant":14400},"fee_support":0,"policy_id":1})"));

  auto c1 = cancel("e-c1", "pay-bupyeong-3", 100'000, "2020-03-02T12:00:00+09:00");
  ASSERT_EQ(c1.status, 200) << c1.body;
  EXPECT_EQ(c1.body, json::parse(R"({"cancellation_id":"cxl-bupyeong-4","payment_id":"pay-bupyeong-3",
    "amount":100000,"refunded":{"cash":100000,"points":0},
    "cashback_reversed":{"city":7525,"district":0,"merchant":3000},"remaining":380000})"));

  auto state = admin("GET", "/v1/members/m1?month=2020-03");
  ASSERT_EQ(state.status, 200);
  EXPECT_EQ(state.body, json::parse(R"({"id":"m1","district":"bupyeong","cash":572500,"points":0,"programs":[],
    "pending_cashback":55100,"month":{"month":"2020-03","loaded":1000000,"eligible_spent":427500}})"));

  // The nightly batch posts the 55,100 of pending cashback to points.
  auto batch = run_evoucher({"batch", "cashback", "--date", "2020-03-02", "--district", "bupyeong"},
                            {{"EVOUCHER_DATABASE_URL", url}});
  ASSERT_EQ(batch.exit_code, 0) << batch.output;
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 55'100);
  auto p3 = pay("e-p3", "c1", "bp-bakery", 100'000, "2020-03-03T10:00:00+09:00");
  ASSERT_EQ(p3.status, 200) << p3.body;
  EXPECT_EQ(p3.body["discount"], 5'000);
  EXPECT_EQ(p3.body["charged"], 95'000);
  EXPECT_EQ(p3.body["paid"], json::parse(R"({"points":55100,"cash":39900})"));
  EXPECT_EQ(p3.body["cashback"], json::parse(R"({"city":7475,"district":1900,"merchant":0})"));
  EXPECT_EQ(p3.body["fee_support"], 475);

  auto after = admin("GET", "/v1/members/m1?month=2020-03");
  EXPECT_EQ(after.body["cash"], 532'600);
  EXPECT_EQ(after.body["points"], 0);
  EXPECT_EQ(after.body["pending_cashback"], 9'375);
  EXPECT_EQ(after.body["month"]["eligible_spent"], 522'500);

  auto merchant = admin("GET", "/v1/merchants/bp-bakery");
  EXPECT_EQ(merchant.body["payable"], 47'500 + 95'000);
  auto books = admin("GET", "/v1/merchants/ys-books");
  EXPECT_EQ(books.body["payable"], 380'000 - 11'400);  // the batch took the merchant-funded cashback

  auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST_F(WorkedExample, StatementShowsEveryMovementWithRunningBalances) {
  load("m1", 200'000, "s-1");
  pay("s-p1", "c1", "bp-cafe", 30'000, "2020-03-02T10:00:00+09:00");
  cancel("s-c1", "pay-bupyeong-2", 10'000, "2020-03-02T11:00:00+09:00");
  auto page = admin("GET", "/v1/members/m1/statement?limit=2");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_EQ(page.body, json::parse(R"({"entries":[
    {"at":"2020-03-02T00:00:00Z","journal_id":1,"kind":"load","balance":"cash","amount":200000,"balance_after":200000},
    {"at":"2020-03-02T01:00:00Z","journal_id":2,"kind":"payment","balance":"cash","amount":-30000,"balance_after":170000}],
    "next":"2.1"})"));
  auto rest = admin("GET", "/v1/members/m1/statement?limit=2&after=2.1");
  EXPECT_EQ(rest.body, json::parse(R"({"entries":[
    {"at":"2020-03-02T02:00:00Z","journal_id":3,"kind":"cancellation","balance":"cash","amount":10000,"balance_after":180000}],
    "next":null})"));
}

TEST_F(WorkedExample, LoadLimitsAndRefundRule) {
  ASSERT_EQ(load("m2", 600'000, "m2-1").status, 201);
  auto over = load("m2", 400'001, "m2-2");
  EXPECT_EQ(over.status, 422);
  EXPECT_EQ(over.body["code"], "limit_exceeded");
  EXPECT_EQ(over.body["detail"], "monthly_load_limit: 600000 loaded this month + 400001 exceeds 1000000");
  // A new Seoul month starts at 2020-04-01T00:00+09:00, which is still 31 March in UTC.
  ASSERT_EQ(load("m2", 1'000'000, "m2-3", "2020-03-31T15:00:00Z").status, 201);
  auto cap = load("m2", 400'001, "m2-4", "2020-05-02T09:00:00+09:00");
  EXPECT_EQ(cap.status, 422);
  EXPECT_EQ(cap.body["detail"], "balance_cap: balance 1600000 + 400001 exceeds 2000000");

  auto refused = admin("POST", "/v1/refunds", {{"member", "m2"}, {"bank_ref", "r"}}, kAdminToken, "r-1");
  EXPECT_EQ(refused.status, 201) << refused.body;  // nothing spent yet: a full refund is allowed
  EXPECT_EQ(refused.body["amount"], 1'600'000);
  auto nothing = admin("POST", "/v1/refunds", {{"member", "m2"}, {"bank_ref", "r"}}, kAdminToken, "r-2");
  EXPECT_EQ(nothing.status, 422);
  EXPECT_EQ(nothing.body["code"], "refund_not_allowed");
  EXPECT_EQ(nothing.body["detail"], "there is no cash to refund");

  ASSERT_EQ(load("m3", 100'000, "m3-1").status, 201);
  ASSERT_EQ(pay("m3-p", "c3", "ys-diner", 50'000, "2020-03-02T12:00:00+09:00").body["charged"], 48'500);
  auto early = admin("POST", "/v1/refunds", {{"member", "m3"}, {"bank_ref", "r"}}, kAdminToken, "r-3");
  EXPECT_EQ(early.status, 422);
  EXPECT_EQ(early.body["detail"], "refund_min_used_pct: spent 48500 of 100000 loaded, less than 60 %");
  ASSERT_EQ(pay("m3-p2", "c3", "ys-diner", 20'000, "2020-03-02T13:00:00+09:00").body["charged"], 19'400);
  auto ok = admin("POST", "/v1/refunds", {{"member", "m3"}, {"bank_ref", "r"}}, kAdminToken, "r-4");
  EXPECT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.body["amount"], 100'000 - 48'500 - 19'400);
  EXPECT_EQ(admin("GET", "/v1/members/m3").body["cash"], 0);
}

TEST_F(WorkedExample, Declines) {
  load("m1", 100'000, "d-1");
  auto d = [&](const std::string& event, const std::string& card, const std::string& merchant, long long price) {
    return pay(event, card, merchant, price, "2020-03-02T10:00:00+09:00").body;
  };
  EXPECT_EQ(d("d1", "c1", "bp-cafe", 100'001), json::parse(R"({"decision":"declined","reason":"insufficient_funds"})"));
  EXPECT_EQ(d("d2", "nope", "bp-cafe", 1), json::parse(R"({"decision":"declined","reason":"unknown_card"})"));
  EXPECT_EQ(d("d3", "c1", "nope", 1), json::parse(R"({"decision":"declined","reason":"unknown_merchant"})"));
  EXPECT_EQ(d("d4", "c1", "bp-mart", 1), json::parse(R"({"decision":"declined","reason":"merchant_ineligible"})"));
  EXPECT_EQ(admin("PATCH", "/v1/merchants/bp-cafe", {{"status", "suspended"}}).status, 200);
  EXPECT_EQ(d("d5", "c1", "bp-cafe", 1), json::parse(R"({"decision":"declined","reason":"merchant_ineligible"})"));
  EXPECT_EQ(admin("PATCH", "/v1/cards/c1", {{"status", "suspended"}}).status, 200);
  EXPECT_EQ(d("d6", "c1", "bp-bakery", 1), json::parse(R"({"decision":"declined","reason":"card_inactive"})"));
  // They moved no money: each left only its final answer, under its event.
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), 1);  // the load
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys"), 1);  // the load's key
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE decision = 'declined'"), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events"), 6);
  EXPECT_EQ(scalar("SELECT count(*) FROM member_months"), 1);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 100'000);
}

TEST_F(WorkedExample, PolicyVersionsApplyByPaymentTimeAndCancellationsKeepTheirs) {
  load("m4", 500'000, "pv-1");
  auto april = admin("POST", "/v1/policies", json::parse(R"({"scope":"city","effective_from":"2020-04-01T00:00:00+09:00",
    "rules":{"brackets":[{"up_to":500000,"rate_bp":500},{"up_to":1000000,"rate_bp":100}],
             "funding_split":{"national":1,"city":1}}})"));
  ASSERT_EQ(april.status, 201) << april.body;
  EXPECT_EQ(april.body["id"], 3);
  auto march_pay = pay("pv-p1", "c4", "bp-cafe", 10'000, "2020-03-31T23:59:59+09:00");
  auto april_pay = pay("pv-p2", "c4", "bp-cafe", 10'000, "2020-04-01T00:00:00+09:00");
  EXPECT_EQ(march_pay.body["cashback"]["city"], 1'000);
  EXPECT_EQ(march_pay.body["policy_id"], 1);
  EXPECT_EQ(april_pay.body["cashback"]["city"], 500);
  EXPECT_EQ(april_pay.body["policy_id"], 3);
  // A March payment cancelled in April reverses at March's rate.
  auto c = cancel("pv-c1", march_pay.body["payment_id"], 10'000, "2020-04-02T10:00:00+09:00");
  EXPECT_EQ(c.body["cashback_reversed"]["city"], 1'000);
  auto in_force = admin("GET", "/v1/policies?scope=city&at=2020-04-01T00:00:00%2B09:00");
  EXPECT_EQ(in_force.body["id"], 3);
  EXPECT_EQ(admin("GET", "/v1/policies?scope=city&at=2019-12-31T00:00:00Z").status, 404);
}

}  // namespace
}  // namespace evoucher::testing
