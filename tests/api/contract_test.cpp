// Error codes, signatures, idempotency and the bytes of a body over HTTP. The role matrix and the
// concurrency and shutdown tests of the same suite are in role_matrix_test.cpp and
// contract_concurrency_test.cpp.
#include <ctime>

#include "api/contract_fixture.hpp"

namespace evoucher::testing {
namespace {

// A problem answer (application/problem+json): its status, code and detail.
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
  const auto loads_before = scalar("SELECT count(*) FROM loads");
  expect_problem(
      admin("POST", "/v1/loads", {{"member", "m1"}, {"amount", 5}, {"bank_ref", std::string("a\0b", 3)}}, kAdminToken,
            "nul"),
      400, "invalid_request", "field 'bank_ref' must not contain the NUL character (\\u0000)");
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys WHERE key = 'nul'"), 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), loads_before);
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
  // Another district's member answers exactly like a member that does not exist.
  expect_problem(admin("GET", "/v1/members/m1", nullptr, yeonsu), 404, "not_found", "no member m1");
  expect_problem(admin("POST", "/v1/members", {{"id", "y9"}, {"district", "bupyeong"}}, yeonsu), 403, "forbidden",
                 "this token may not create members in bupyeong");
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
    "category":"cafe","annual_revenue":5,"status":"active","benefit":{"kind":"pre_discount","rate_bp":100},"owner_member":null})"));
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

// The processor signs bytes: a body two parsers could read differently is refused, unwritten.
TEST_F(Contract, ABodyWithARepeatedKeyIsRefused) {
  ASSERT_EQ(load("m1", 100'000, "dup-load").status, 201);
  const std::string raw = R"({"event_id":"dup-1","card":"c1","merchant":"bp-cafe","price":1000,"price":90000,)"
                          R"("occurred_at":"2020-03-02T10:00:00+09:00","channel":"card"})";
  const auto r = answer(http_request(server->port(), "POST", "/v1/processor/payments", raw,
                                     {{"X-Evoucher-Signature", processor_signature(kSecret, raw)}}));
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
