// Error codes, roles, signatures, idempotency and concurrency over HTTP.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "api/api_fixture.hpp"

namespace evoucher::testing {
namespace {

class Contract : public ApiTest {};

void expect_problem(const Answer& a, int status, const std::string& code, const std::string& detail) {
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_EQ(a.headers.at("content-type"), "application/problem+json");
  EXPECT_EQ(a.body["code"], code);
  EXPECT_EQ(a.body["status"], status);
  EXPECT_EQ(a.body["detail"], detail);
}

TEST_F(Contract, EachErrorCode) {
  expect_problem(admin("POST", "/v1/members", {{"id", "m9"}}), 400, "invalid_request", "field 'district' is required");
  expect_problem(admin("POST", "/v1/members", {{"id", "m9"}, {"district", "bupyeong"}, {"x", 1}}), 400,
                 "invalid_request", "field 'x' is not known");
  expect_problem(admin("POST", "/v1/loads", {{"member", "m1"}, {"amount", 0}, {"bank_ref", "b"}}, kAdminToken, "k"),
                 400, "invalid_request", "field 'amount' must be an integer from 1 to 10000000000000, got 0");
  expect_problem(admin("POST", "/v1/loads", {{"member", "m1"}, {"amount", 1.5}, {"bank_ref", "b"}}, kAdminToken, "k"),
                 400, "invalid_request", "field 'amount' must be an integer from 1 to 10000000000000");
  expect_problem(answer(http_request(server->port(), "POST", "/v1/members", "{not json",
                                     {{"Authorization", std::string("Bearer ") + kAdminToken}})),
                 400, "invalid_request", "the body is not valid JSON");
  expect_problem(admin("POST", "/v1/loads", {{"member", "m1"}, {"amount", 5}, {"bank_ref", "b"}}), 400,
                 "invalid_request", "the Idempotency-Key header is required for this call");
  expect_problem(admin("GET", "/v1/districts", nullptr, "wrong"), 401, "unauthenticated",
                 "the bearer token is not valid");
  expect_problem(answer(http_get(server->port(), "/v1/districts")), 401, "unauthenticated",
                 "an Authorization: Bearer token is required");
  const auto yeonsu = token("district_admin", "yeonsu");
  expect_problem(admin("GET", "/v1/members/m1", nullptr, yeonsu), 403, "forbidden",
                 "this token may not read members of bupyeong");
  expect_problem(admin("GET", "/v1/members/nobody"), 404, "not_found", "no member nobody");
  expect_problem(admin("DELETE", "/v1/members/m1"), 405, "method_not_allowed",
                 "DELETE is not allowed on /v1/members/m1; allowed: GET");
  expect_problem(admin("POST", "/v1/members", {{"id", "m1"}, {"district", "yeonsu"}}), 409, "already_exists",
                 "member m1 already exists with different data");
  ASSERT_EQ(load("m1", 1'000, "same-key").status, 201);
  expect_problem(load("m1", 2'000, "same-key"), 409, "idempotency_key_reused",
                 "this key was already used with a different request; use a new key for a new request");
  expect_problem(answer(http_request(server->port(), "POST", "/v1/members", std::string(1024 * 1024 + 1, ' '),
                                     {{"Authorization", std::string("Bearer ") + kAdminToken}})),
                 413, "payload_too_large", "the body exceeds 1048576 bytes");
  expect_problem(answer(http_request(server->port(), "POST", "/v1/members", "id=m9",
                                     {{"Authorization", std::string("Bearer ") + kAdminToken},
                                      {"Content-Type", "application/x-www-form-urlencoded"}})),
                 415, "unsupported_media_type", "the body must be application/json");
  expect_problem(load("m1", 1'000'000, "too-much"), 422, "limit_exceeded",
                 "monthly_load_limit: 1000 loaded this month + 1000000 exceeds 1000000");
  expect_problem(admin("POST", "/v1/refunds", {{"member", "m2"}, {"bank_ref", "b"}}, kAdminToken, "rf"), 422,
                 "refund_not_allowed", "there is no cash to refund");
  auto p = pay("e1", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  expect_problem(cancel("x1", p.body["payment_id"], 1'001, "2020-03-02T11:00:00+09:00"), 422,
                 "cancel_exceeds_payment",
                 "cancelling 1001 would exceed the payment: charged 1000, already cancelled 0, remaining 1000");
  expect_problem(admin("POST", "/v1/policies",
                       json::parse(R"({"scope":"city","effective_from":"2020-05-01T00:00:00+09:00",
                         "rules":{"brackets":[{"up_to":500000,"rate_bp":1000},{"up_to":400000,"rate_bp":100}],
                                  "funding_split":{"national":4,"city":2}}})")),
                 422, "policy_invalid", "rules.brackets[1].up_to must be above the previous bound (500000)");
  expect_problem(admin("POST", "/v1/policies",
                       json::parse(R"({"scope":"bupyeong","effective_from":"2020-05-01T00:00:00+09:00",
                         "rules":{"topup_bp":"two"}})")),
                 422, "policy_invalid", "field 'rules.topup_bp' must be an integer from 0 to 10000");
  // Nothing any refusal above wrote: one load, one payment.
  EXPECT_EQ(scalar("SELECT count(*) FROM journals"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM members"), 4);
  EXPECT_EQ(scalar("SELECT count(*) FROM policies"), 2);
}

TEST_F(Contract, CreationIsIdempotentByIdentifier) {
  const json member{{"id", "new-1"}, {"district", "yeonsu"}};
  auto first = admin("POST", "/v1/members", member);
  EXPECT_EQ(first.status, 201);
  EXPECT_EQ(first.body, json::parse(R"({"id":"new-1","district":"yeonsu"})"));
  EXPECT_EQ(admin("POST", "/v1/members", member).status, 200);
  const json merchant = json::parse(R"({"id":"ys-new","business_no":"1","name":"N","district":"yeonsu",
    "category":"cafe","annual_revenue":5,"benefit":{"kind":"pre_discount","rate_bp":100}})");
  auto m = admin("POST", "/v1/merchants", merchant);
  EXPECT_EQ(m.status, 201);
  EXPECT_EQ(m.body, json::parse(R"({"id":"ys-new","business_no":"1","name":"N","district":"yeonsu",
    "category":"cafe","annual_revenue":5,"status":"active","benefit":{"kind":"pre_discount","rate_bp":100}})"));
  EXPECT_EQ(admin("POST", "/v1/merchants", merchant).status, 200);
  auto changed = merchant;
  changed["annual_revenue"] = 6;
  EXPECT_EQ(admin("POST", "/v1/merchants", changed).status, 409);
  auto bad_benefit = merchant;
  bad_benefit["id"] = "ys-bad";
  bad_benefit["benefit"]["rate_bp"] = 701;
  expect_problem(admin("POST", "/v1/merchants", bad_benefit), 400, "invalid_request",
                 "field 'benefit' is invalid: field 'benefit.rate_bp' must be an integer from 100 to 700, got 701");
  EXPECT_EQ(admin("POST", "/v1/cards", {{"token", "c-new"}, {"member", "new-1"}}).status, 201);
  EXPECT_EQ(admin("POST", "/v1/cards", {{"token", "c-new"}, {"member", "new-1"}}).status, 200);
  EXPECT_EQ(admin("POST", "/v1/cards", {{"token", "c-new"}, {"member", "m1"}}).status, 409);
  EXPECT_EQ(admin("POST", "/v1/districts", {{"code", "namdong"}, {"name", "남동구"}, {"brand", "남동e음"}}).status, 201);
  EXPECT_EQ(admin("POST", "/v1/districts", {{"code", "namdong"}, {"name", "남동구"}, {"brand", "남동e음"}}).status, 200);
  EXPECT_EQ(scalar("SELECT count(*) FROM pg_class WHERE relname = 'payments__namdong__p'"), 1);
}

TEST_F(Contract, IdempotentReplaysAnswerExactlyAsTheFirstTime) {
  auto first = load("m1", 300'000, "replay-1");
  auto again = load("m1", 300'000, "replay-1");
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.body, first.body);
  auto p = pay("pe-1", "c1", "bp-bakery", 10'000, "2020-03-02T10:00:00+09:00");
  auto p_again = pay("pe-1", "c1", "bp-bakery", 10'000, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(p_again.body, p.body);
  auto p_other = pay("pe-1", "c1", "bp-bakery", 20'000, "2020-03-02T10:00:00+09:00");
  expect_problem(p_other, 409, "idempotency_key_reused",
                 "this key was already used with a different request; use a new key for a new request");
  auto c = cancel("ce-1", p.body["payment_id"], 1'000, "2020-03-02T11:00:00+09:00");
  EXPECT_EQ(cancel("ce-1", p.body["payment_id"], 1'000, "2020-03-02T11:00:00+09:00").body, c.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM cancellations"), 1);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 300'000 - 9'500 + 1'000);
}

TEST_F(Contract, ProcessorSignatures) {
  const json body{{"event_id", "s1"}, {"card", "c1"}, {"merchant", "bp-cafe"}, {"price", 1},
                  {"occurred_at", "2020-03-02T10:00:00+09:00"}, {"channel", "card"}};
  expect_problem(answer(http_request(server->port(), "POST", "/v1/processor/payments", body.dump())), 401,
                 "unauthenticated", "the X-Evoucher-Signature header is missing");
  expect_problem(answer(http_request(server->port(), "POST", "/v1/processor/payments", body.dump(),
                                     {{"X-Evoucher-Signature", "sha256=abc"}})),
                 401, "unauthenticated", "the X-Evoucher-Signature header must be t=<unix seconds>,v1=<hex>");
  expect_problem(processor("/v1/processor/payments", body, 0, "wrong-secret"), 401, "unauthenticated",
                 "the signature does not match the body");
  // Clear of the boundary: the two clocks may read different seconds.
  expect_problem(processor("/v1/processor/payments", body, -305), 401, "unauthenticated",
                 "the signature's timestamp is more than 300 s from now");
  expect_problem(processor("/v1/processor/payments", body, 305), 401, "unauthenticated",
                 "the signature's timestamp is more than 300 s from now");
  // A signature over other bytes than those sent.
  const std::string t = std::to_string(std::time(nullptr));
  const std::string sig = "t=" + t + ",v1=" + hmac_sha256_hex(kSecret, t + "." + body.dump() + " ");
  expect_problem(answer(http_request(server->port(), "POST", "/v1/processor/payments", body.dump(),
                                     {{"X-Evoucher-Signature", sig}})),
                 401, "unauthenticated", "the signature does not match the body");
  EXPECT_EQ(processor("/v1/processor/payments", body, -295).body["decision"], "declined");  // within the window
}

// Each role on each endpoint: the status it gets. A district admin of yeonsu reaches into
// bupyeong and gets 403, with nothing of bupyeong's in the body.
TEST_F(Contract, RoleMatrix) {
  load("m1", 100'000, "rbac-load");
  const auto pay1 = pay("rbac-p", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  const std::map<std::string, std::string> tokens{{"city_admin", kAdminToken},
                                                  {"district_admin:bupyeong", token("district_admin", "bupyeong")},
                                                  {"district_admin:yeonsu", token("district_admin", "yeonsu")},
                                                  {"district_admin:city", token("district_admin", "city")},
                                                  {"auditor", token("auditor")}};
  struct Case {
    std::string method, path;
    json body;
    bool keyed;
    std::map<std::string, int> expected;  // by role
  };
  int n = 0;
  auto unique = [&](const std::string& s) { return s + "-" + std::to_string(n++); };
  const std::vector<std::string> roles{"city_admin", "district_admin:bupyeong", "district_admin:yeonsu",
                                       "district_admin:city", "auditor"};
  for (const auto& role : roles) {
    const auto& tok = tokens.at(role);
    const bool city = role == "city_admin", bp = role == "district_admin:bupyeong",
               cty = role == "district_admin:city", ys = role == "district_admin:yeonsu" || cty, aud = role == "auditor";
    auto st = [&](const std::string& method, const std::string& path, const json& body, const std::string& key = "") {
      return admin(method, path, body, tok, key);
    };
    auto expect = [&](const Answer& a, int status, const std::string& what) {
      EXPECT_EQ(a.status, status) << role << " " << what << " " << a.body;
      if (status == 403) {
        EXPECT_EQ(a.body["code"], "forbidden");
        EXPECT_EQ(a.body.dump().find("572500"), std::string::npos);
        EXPECT_FALSE(a.body.contains("cash"));
      }
    };
    expect(st("POST", "/v1/districts", {{"code", "dist" + std::to_string(n++)}, {"name", "n"}, {"brand", "b"}}), city ? 201 : 403,
           "create district");
    auto list = st("GET", "/v1/districts", nullptr);
    expect(list, 200, "list districts");
    if (ys && !cty) {
      EXPECT_EQ(list.body["districts"], json::parse(R"([{"code":"yeonsu","name":"연수구","brand":"연수e음"}])"));
    }
    expect(st("POST", "/v1/policies",
              {{"scope", "city"}, {"effective_from", "2021-01-0" + std::to_string(1 + n++ % 9) + "T00:00:00Z"},
               {"rules", {{"brackets", {{{"up_to", 1}, {"rate_bp", 1}}}}, {"funding_split", {{"national", 1}, {"city", 1}}}}}}),
           city ? 201 : 403, "city policy (not even the city district's admin)");
    expect(st("POST", "/v1/policies",
              {{"scope", "bupyeong"}, {"effective_from", "2021-02-0" + std::to_string(1 + n++ % 9) + "T00:00:00Z"},
               {"rules", {{"topup_bp", 1}, {"fee_support_bp", 1}}}}),
           city || bp ? 201 : 403, "bupyeong policy");
    expect(st("GET", "/v1/policies?scope=city&at=2020-03-05T00:00:00Z", nullptr), 200, "read city policy");
    expect(st("GET", "/v1/policies?scope=bupyeong&at=2020-03-05T00:00:00Z", nullptr), ys ? 403 : 200,
           "read bupyeong policy");
    expect(st("POST", "/v1/members", {{"id", unique("mem")}, {"district", "bupyeong"}}), city || bp ? 201 : 403,
           "create bupyeong member");
    expect(st("GET", "/v1/members/m1", nullptr), ys ? 403 : 200, "read m1");
    expect(st("GET", "/v1/members/m1/statement", nullptr), ys ? 403 : 200, "read m1 statement");
    expect(st("POST", "/v1/cards", {{"token", unique("card")}, {"member", "m2"}}), city || bp ? 201 : 403,
           "issue card");
    expect(st("PATCH", "/v1/cards/c2", {{"status", "active"}}), city || bp ? 200 : 403, "patch card");
    expect(st("POST", "/v1/merchants",
              {{"id", unique("mer")}, {"business_no", "1"}, {"name", "n"}, {"district", "bupyeong"},
               {"category", "cafe"}, {"annual_revenue", 1}, {"benefit", nullptr}}),
           city || bp ? 201 : 403, "create merchant");
    expect(st("PATCH", "/v1/merchants/bp-cafe", {{"annual_revenue", 80'000'000}}), city || bp ? 200 : 403,
           "patch merchant");
    expect(st("GET", "/v1/merchants/bp-cafe", nullptr), ys ? 403 : 200, "read merchant");
    expect(st("POST", "/v1/loads", {{"member", "m2"}, {"amount", 1}, {"bank_ref", "b"}}, unique("k")),
           city || bp ? 201 : 403, "load");
    expect(st("POST", "/v1/refunds", {{"member", "m4"}, {"bank_ref", "b"}}, unique("k")), city || cty ? 422 : 403,
           "refund of a city member");
    const auto year = std::to_string(2040 + n++);  // pools of one source may not overlap
    expect(st("POST", "/v1/pools",
              {{"source", "national"}, {"period_start", year + "-01-01"}, {"period_end", year + "-12-31"}, {"budget", 1}},
              unique("pool")),
           city ? 201 : 403, "national pool (not even the city district's admin)");
    expect(st("POST", "/v1/pools",
              {{"source", "district:city"}, {"period_start", year + "-01-01"}, {"period_end", year + "-12-31"},
               {"budget", 1}},
              unique("pool")),
           city || cty ? 201 : 403, "the city district's own pool");
    if (aud) {
      EXPECT_EQ(st("GET", "/v1/members/m3", nullptr).status, 200);
    }
  }
  // The auditor and the yeonsu admin wrote nothing.
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 1 + 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM districts"), 3 + 1);
  (void)pay1;
}

TEST_F(Contract, SixtyFourPaymentsAgainstThreeHundredThousand) {
  ASSERT_EQ(load("m1", 300'000, "conc-load").status, 201);
  std::atomic<int> approved{0}, insufficient{0}, other{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("conc-" + std::to_string(i), "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        ++approved;
      } else if (r.body["reason"] == "insufficient_funds") {
        ++insufficient;
      } else {
        ++other;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(approved.load(), 30);
  EXPECT_EQ(insufficient.load(), 34);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 0);
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 300'000);
  EXPECT_EQ(run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}}).exit_code, 0);
}

// A hot merchant: its payable moves once per group, by the group's sum.
TEST_F(Contract, SixtyFourConcurrentPaymentsToOneMerchantAddUpOnItsPayable) {
  for (const char* m : {"m1", "m2", "m3", "m4"})
    ASSERT_EQ(load(m, 500'000, std::string("hot-") + m).status, 201);
  const char* cards[] = {"c1", "c2", "c3", "c4"};
  std::atomic<long long> charged{0};
  std::atomic<int> approved{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 64; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("hot-" + std::to_string(i), cards[i % 4], "bp-cafe", 1'000 + 100 * i, "2020-03-02T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        ++approved;
        charged += r.body["charged"].get<long long>();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(approved.load(), 64);
  EXPECT_EQ(charged.load(), 64 * 1'000 + 100 * (63 * 64 / 2));  // 265,600
  // m4 is the city's member: its sub-account of the payable is the city district's.
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 265'600);
  EXPECT_EQ(scalar("SELECT sum(charged) FROM payments WHERE merchant_id = 'bp-cafe'"), 265'600);
  EXPECT_EQ(run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}}).exit_code, 0);
}

// The service dies right after a group's commit, before any answer leaves: the caller saw
// nothing, and its retry gets the committed answer, not a second payment.
TEST_F(Contract, KilledAfterCommitBeforeAnsweringReplaysTheCommittedAnswer) {
  ASSERT_EQ(load("m1", 100'000, "kill-load").status, 201);
  server.reset();
  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                   {"EVOUCHER_FAULT_KILL_AFTER_COMMIT", "1"}});
  EXPECT_THROW(pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00"), std::runtime_error);
  EXPECT_EQ(server->stop(), 128 + SIGKILL);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE event_id = 'killed'"), 1);

  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret}});
  const auto replay = pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00");
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.body["decision"], "approved");
  EXPECT_EQ(replay.body["charged"], 12'000);
  EXPECT_EQ(replay.body["payment_id"],
            "pay-bupyeong-" + std::to_string(scalar("SELECT id FROM payments WHERE event_id = 'killed'")));
  EXPECT_EQ(pay("killed", "c1", "bp-cafe", 12'000, "2020-03-02T10:00:00+09:00").body, replay.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE event_id = 'killed'"), 1);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 88'000);
}

// Backpressure: with the writer stuck on a lock and its queue full, a payment is refused at once.
TEST_F(Contract, AFullGroupQueueAnswers503WithRetryAfterAtOnce) {
  server.reset();
  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                   {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                   {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                   {"EVOUCHER_GROUP_WRITERS", "1"},
                                                   {"EVOUCHER_GROUP_QUEUE_LIMIT", "1"}});
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("SELECT 1 FROM members WHERE id = 'm1' FOR UPDATE");
  Answer first, second;
  std::thread a([&] { first = pay("bp-1", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the writer has taken it, and waits for m1
  std::thread b([&] { second = pay("bp-2", "c2", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // queued: the queue is full
  const auto started = std::chrono::steady_clock::now();
  const auto refused = pay("bp-3", "c3", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00");
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body["code"], "unavailable");
  EXPECT_EQ(refused.headers.at("retry-after"), "1");
  EXPECT_LT(took, std::chrono::milliseconds(200));
  lock.commit();
  a.join();
  b.join();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body["reason"], "insufficient_funds");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body["reason"], "insufficient_funds");
  // The refused request was never judged: nothing is stored under its key.
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE event_id = 'bp-3'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'payment' AND event_id IN ('bp-1', 'bp-2') "
                   "AND decision = 'declined' AND reason = 'insufficient_funds'"),
            2);
}

TEST_F(Contract, MonthlyCapIsNeverOverUsedConcurrently) {
  // Two cards of one member; 40 payments of 50,000 = 2,000,000 of spend against a 1,000,000 cap.
  ASSERT_EQ(admin("POST", "/v1/cards", {{"token", "c1b"}, {"member", "m1"}}).status, 201);
  ASSERT_EQ(load("m1", 1'000'000, "cap-1", "2020-03-01T09:00:00+09:00").status, 201);
  ASSERT_EQ(load("m1", 1'000'000, "cap-2", "2020-04-01T09:00:00+09:00").status, 201);
  std::vector<std::thread> threads;
  std::atomic<long long> city{0}, charged{0};
  for (int i = 0; i < 40; ++i) {
    threads.emplace_back([&, i] {
      auto r = pay("cap-" + std::to_string(i), i % 2 ? "c1" : "c1b", "bp-cafe", 50'000, "2020-03-15T10:00:00+09:00");
      if (r.body["decision"] == "approved") {
        city += r.body["cashback"]["city"].get<long long>();
        charged += r.body["charged"].get<long long>();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(charged.load(), 2'000'000);
  EXPECT_EQ(city.load(), 50'000 + 5'000);  // 10 % of 500,000 + 1 % of the next 500,000, and nothing past the cap
  EXPECT_EQ(admin("GET", "/v1/members/m1?month=2020-03").body["month"]["eligible_spent"], 1'000'000);
  EXPECT_EQ(scalar("SELECT sum(eligible) FROM payments"), 1'000'000);
}

TEST_F(Contract, SigtermLetsAnInFlightRequestFinish) {
  // A transaction of the test's own holds a lock the request needs, so the request is in
  // flight when SIGTERM arrives: the service answers it, then exits 0.
  pqxx::connection blocker(url);
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  std::optional<Answer> answered;
  std::thread client([&] { answered = admin("GET", "/v1/districts"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::thread stopper([&] { EXPECT_EQ(server->stop(), 0); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  lock.abort();
  client.join();
  stopper.join();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body["districts"].size(), 3u);
}

// The processor signs bytes: a body two parsers could read differently is refused, unwritten.
TEST_F(Contract, ABodyWithARepeatedKeyIsRefused) {
  ASSERT_EQ(load("m1", 100'000, "dup-load").status, 201);
  const std::string raw = R"({"event_id":"dup-1","card":"c1","merchant":"bp-cafe","price":1000,"price":90000,)"
                          R"("occurred_at":"2020-03-02T10:00:00+09:00","channel":"card"})";
  const std::string t = std::to_string(std::time(nullptr));
  const auto r = answer(http_request(server->port(), "POST", "/v1/processor/payments", raw,
                                     {{"X-Evoucher-Signature", "t=" + t + ",v1=" + hmac_sha256_hex(kSecret, t + "." + raw)}}));
  expect_problem(r, 400, "invalid_request", "the body repeats the key 'price' in one object; each key may appear once");
  // Nested objects too, and in admin calls.
  const std::string nested = R"({"benefit":{"kind":"pre_discount","rate_bp":100,"rate_bp":700}})";
  const auto n = answer(http_request(server->port(), "PATCH", "/v1/merchants/bp-cafe", nested,
                                     {{"Authorization", std::string("Bearer ") + kAdminToken},
                                      {"Content-Type", "application/json"}}));
  expect_problem(n, 400, "invalid_request", "the body repeats the key 'rate_bp' in one object; each key may appear once");
  // The same key in two different objects is fine.
  EXPECT_EQ(admin("PATCH", "/v1/merchants/bp-cafe", json::parse(R"({"benefit":{"kind":"pre_discount","rate_bp":100}})"))
                .status,
            200);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events"), 0);
}

// Bytes that are not UTF-8 in a query parameter, a path segment or a header are bad input, not a
// database error: 400 naming the place, and nothing written.
TEST_F(Contract, TextThatIsNotUtf8IsRefusedByName) {
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kAdminToken}};
  expect_problem(answer(http_request(server->port(), "GET", "/v1/ledger/trial-balance?district=%FF", "", auth)), 400,
                 "invalid_request", "query parameter 'district' is not valid UTF-8");
  // Paths are not percent-decoded: an encoded byte is an unknown id; a raw one is refused.
  expect_problem(answer(http_request(server->port(), "GET", "/v1/members/%C0%AF", "", auth)), 404, "not_found",
                 "no member %C0%AF");
  expect_problem(answer(http_request(server->port(), "GET", "/v1/members/\xc0\xaf", "", auth)), 400, "invalid_request",
                 "path segment 'id' is not valid UTF-8");
  auto keyed = auth;
  keyed["Idempotency-Key"] = "key-\xff\xfe";
  keyed["Content-Type"] = "application/json";
  expect_problem(answer(http_request(server->port(), "POST", "/v1/loads",
                                     R"({"member":"m1","amount":1000,"bank_ref":"b"})", keyed)),
                 400, "invalid_request", "header 'idempotency-key' is not valid UTF-8");
  EXPECT_EQ(scalar("SELECT count(*) FROM loads") + scalar("SELECT count(*) FROM idempotency_keys"), 0);
  // Korean in a key is UTF-8, and welcome.
  keyed["Idempotency-Key"] = "충전-1";
  EXPECT_EQ(http_request(server->port(), "POST", "/v1/loads", R"({"member":"m1","amount":1000,"bank_ref":"b"})", keyed)
                .status,
            201);
}

// A flood of bad tokens or signatures is refused on the I/O thread: it never fills the database
// workers' queue, so it never turns other calls into 503s.
TEST_F(Contract, BadCredentialsNeverQueueForTheDatabase) {
  ServeProcess one_worker(url, {{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                {"EVOUCHER_DB_WORKERS", "1"},
                                {"EVOUCHER_DB_QUEUE_LIMIT", "1"},
                                {"EVOUCHER_STATEMENT_TIMEOUT_MS", "30000"}});
  const std::string good = token("district_admin", "bupyeong");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // the token directory has read it
  // The one worker waits on a lock the test holds.
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  HttpResult blocked;
  std::thread waiting([&] {
    blocked = http_request(one_worker.port(), "GET", "/v1/districts", "", {{"Authorization", "Bearer " + good}});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int unauthenticated = 0, unavailable = 0;
  std::vector<std::thread> flood;
  std::mutex counts;
  for (int i = 0; i < 10; ++i)
    flood.emplace_back([&, i] {
      const auto r = http_request(one_worker.port(), "GET", "/v1/districts", "",
                                  {{"Authorization", "Bearer not-a-token-" + std::to_string(i)}});
      std::lock_guard g(counts);
      if (r.status == 401) ++unauthenticated;
      if (r.status == 503) ++unavailable;
    });
  const std::string raw = R"({"event_id":"s-1","merchant":"bp-cafe","business_date":"2020-03-02","amount":1})";
  const auto forged = http_request(one_worker.port(), "POST", "/v1/processor/settlements", raw,
                                   {{"X-Evoucher-Signature", "t=1,v1=00"}, {"Content-Type", "application/json"}});
  EXPECT_EQ(forged.status, 401);
  // Nine are refused at once; one is being looked up, behind the blocked call.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard g(counts);
      if (unauthenticated + unavailable >= 9) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    std::lock_guard g(counts);
    EXPECT_EQ(unauthenticated, 9);
    EXPECT_EQ(unavailable, 0);
  }
  lock.commit();
  waiting.join();
  for (auto& t : flood) t.join();
  EXPECT_EQ(blocked.status, 200);
  EXPECT_EQ(unauthenticated, 10);
  EXPECT_EQ(unavailable, 0);
}

// Past the shutdown grace period, a call still queued for a database worker is not run: nobody
// would hear its answer.
TEST_F(Contract, QueuedWorkIsDroppedAfterTheShutdownGrace) {
  auto stopping = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{
                                                          {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                          {"EVOUCHER_DB_WORKERS", "1"},
                                                          {"EVOUCHER_SHUTDOWN_GRACE_MS", "300"},
                                                          {"EVOUCHER_STATEMENT_TIMEOUT_MS", "30000"}});
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kAdminToken},
                                                {"Content-Type", "application/json"}};
  pqxx::connection holder(url);
  pqxx::work lock(holder);
  lock.exec("LOCK TABLE districts IN ACCESS EXCLUSIVE MODE");
  const int port = stopping->port();
  auto quietly = [&](const std::string& method, const std::string& path, const std::string& body) {
    try {
      return http_request(port, method, path, body, auth).status;
    } catch (const std::exception&) {
      return 0;  // the connection was closed unanswered
    }
  };
  std::thread running([&] { quietly("GET", "/v1/districts", ""); });  // takes the one worker, and waits
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int queued_status = -1;
  std::thread queued([&] { queued_status = quietly("POST", "/v1/members", R"({"id":"m-late","district":"bupyeong"})"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int exit_status = -1;
  std::thread stopper([&] { exit_status = stopping->stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // well past the grace period
  lock.commit();
  stopper.join();
  running.join();
  queued.join();
  EXPECT_EQ(exit_status, 0);
  EXPECT_NE(queued_status, 201);
  EXPECT_EQ(scalar("SELECT count(*) FROM members WHERE id = 'm-late'"), 0);
}

// District codes that were, or look like, the names of indexes still get every partition.
TEST_F(Contract, EveryDistrictCodeGetsEveryPartition) {
  for (const char* code : {"by_member", "pkey", "bupyeong_pkey", "by_date", "district_key_key"})
    ASSERT_EQ(admin("POST", "/v1/districts", {{"code", code}, {"name", code}, {"brand", code}}).status, 201) << code;
  const auto tables = scalar("SELECT count(*) FROM district_partitioned_tables");
  const auto districts = scalar("SELECT count(*) FROM districts");
  EXPECT_EQ(scalar("SELECT count(*) FROM district_partitioned_tables t JOIN pg_inherits i "
                   "ON i.inhparent = t.table_name::regclass"),
            tables * districts);
  // And they work: a member of `by_member` loads and pays.
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "bm-1"}, {"district", "by_member"}}).status, 201);
  ASSERT_EQ(admin("POST", "/v1/cards", {{"token", "bm-card"}, {"member", "bm-1"}}).status, 201);
  ASSERT_EQ(load("bm-1", 10'000, "bm-load").status, 201);
  EXPECT_EQ(pay("bm-pay", "bm-card", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
  auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

}  // namespace
}  // namespace evoucher::testing
