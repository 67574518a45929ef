// Error codes, roles, signatures, idempotency and concurrency over HTTP.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "api/api_fixture.hpp"
#include "support/routes.hpp"

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

// The role matrix, from the route table: every admin route has at least one case below (a new
// route without one fails RoleMatrixCoversEveryAdminRoute), and each case says what every role
// gets on a resource of its own district and of another. The district admin is bupyeong's: its
// own district's resources are bupyeong's, the other's yeonsu's. Another district's resources are
// as absent as ones that never were (404, or 400 for a reference in a body); naming another
// district for a new resource is 403, whether it exists or not.
struct Expect {
  int city_admin, district_admin, auditor;
};
struct MatrixCase {
  std::string method, pattern;
  // The request against district D's resource: {path with query, body, needs an Idempotency-Key}.
  std::function<std::tuple<std::string, json, bool>(const std::string& d, int n)> make;
  Expect own, other;
};

// Per district: a member, its card, a merchant (from the demo), and a member who never has cash.
struct Of {
  const char *member, *card, *merchant, *idle;
};
Of of(const std::string& d) {
  return d == "bupyeong" ? Of{"m2", "c2", "bp-cafe", "m1"} : Of{"m3", "c3", "ys-books", "ys-idle"};
}

const std::vector<MatrixCase>& matrix() {
  using R = std::tuple<std::string, json, bool>;
  const Expect write_own{201, 201, 403}, write_other{201, 403, 403};
  const Expect read_own{200, 200, 200}, read_other{200, 404, 200};
  static const std::vector<MatrixCase> cases{
      {"POST", "/v1/districts",
       [](const std::string&, int n) { return R{"/v1/districts", {{"code", "dist" + std::to_string(n)}, {"name", "n"}, {"brand", "b"}}, false}; },
       {201, 403, 403}, {201, 403, 403}},
      {"GET", "/v1/districts", [](const std::string&, int) { return R{"/v1/districts", nullptr, false}; }, read_own, read_own},
      {"POST", "/v1/policies",
       [](const std::string& d, int n) {
         return R{"/v1/policies",
                  {{"scope", d}, {"effective_from", "2031-01-01T00:00:" + std::to_string(10 + n % 50) + "Z"},
                   {"rules", {{"topup_bp", 1}, {"fee_support_bp", 1}}}},
                  false};
       },
       write_own, write_other},
      // City-wide rules are the city_admin's alone, for every district admin.
      {"POST", "/v1/policies",
       [](const std::string&, int n) {
         return R{"/v1/policies",
                  {{"scope", "city"}, {"effective_from", "2032-01-01T00:00:" + std::to_string(10 + n % 50) + "Z"},
                   {"rules", {{"brackets", {{{"up_to", 1}, {"rate_bp", 1}}}}, {"funding_split", {{"national", 1}, {"city", 1}}}}}},
                  false};
       },
       {201, 403, 403}, {201, 403, 403}},
      {"GET", "/v1/policies",
       [](const std::string& d, int) { return R{"/v1/policies?scope=" + d + "&at=2019-07-01T00:00:00Z", nullptr, false}; },
       read_own, read_other},
      {"POST", "/v1/pools",
       [](const std::string& d, int n) {
         const auto year = std::to_string(2040 + n);
         return R{"/v1/pools",
                  {{"source", "district:" + d}, {"period_start", year + "-01-01"}, {"period_end", year + "-12-31"}, {"budget", 1}},
                  true};
       },
       write_own, write_other},
      {"POST", "/v1/pools",
       [](const std::string&, int n) {
         const auto year = std::to_string(2040 + n);
         return R{"/v1/pools",
                  {{"source", "national"}, {"period_start", year + "-01-01"}, {"period_end", year + "-12-31"}, {"budget", 1}},
                  true};
       },
       {201, 403, 403}, {201, 403, 403}},
      {"POST", "/v1/pools/{id}/top-ups",
       [](const std::string& d, int) {
         return R{"/v1/pools/" + std::string(d == "bupyeong" ? "4" : "5") + "/top-ups", {{"amount", 1}}, true};
       },
       write_own, {201, 404, 403}},
      {"GET", "/v1/pools", [](const std::string&, int) { return R{"/v1/pools", nullptr, false}; }, read_own, read_own},
      {"GET", "/v1/pools/{id}/burn-down",
       [](const std::string& d, int) {
         return R{"/v1/pools/" + std::string(d == "bupyeong" ? "4" : "5") + "/burn-down", nullptr, false};
       },
       read_own, read_other},
      {"GET", "/v1/batches/cashback",
       [](const std::string& d, int) { return R{"/v1/batches/cashback?from=2020-01-01&to=2020-01-31&district=" + d, nullptr, false}; },
       read_own, read_other},
      {"GET", "/v1/me", [](const std::string&, int) { return R{"/v1/me", nullptr, false}; }, read_own, read_own},
      {"POST", "/v1/members",
       [](const std::string& d, int n) { return R{"/v1/members", {{"id", "mem" + std::to_string(n)}, {"district", d}}, false}; },
       write_own, write_other},
      {"GET", "/v1/members/{id}", [](const std::string& d, int) { return R{"/v1/members/" + std::string(of(d).member), nullptr, false}; },
       read_own, read_other},
      {"GET", "/v1/members/{id}/statement",
       [](const std::string& d, int) { return R{"/v1/members/" + std::string(of(d).member) + "/statement", nullptr, false}; },
       read_own, read_other},
      {"POST", "/v1/cards",
       [](const std::string& d, int n) { return R{"/v1/cards", {{"token", "card" + std::to_string(n)}, {"member", of(d).member}}, false}; },
       write_own, {201, 400, 403}},
      {"PATCH", "/v1/cards/{token}",
       [](const std::string& d, int) { return R{"/v1/cards/" + std::string(of(d).card), {{"status", "active"}}, false}; },
       {200, 200, 403}, {200, 404, 403}},
      {"POST", "/v1/merchants",
       [](const std::string& d, int n) {
         return R{"/v1/merchants",
                  {{"id", "mer" + std::to_string(n)}, {"business_no", "1"}, {"name", "n"}, {"district", d},
                   {"category", "cafe"}, {"annual_revenue", 1}, {"benefit", nullptr}},
                  false};
       },
       write_own, write_other},
      {"PATCH", "/v1/merchants/{id}",
       [](const std::string& d, int) {
         return R{"/v1/merchants/" + std::string(of(d).merchant), {{"status", "active"}}, false};
       },
       {200, 200, 403}, {200, 404, 403}},
      {"GET", "/v1/merchants/{id}", [](const std::string& d, int) { return R{"/v1/merchants/" + std::string(of(d).merchant), nullptr, false}; },
       read_own, read_other},
      {"POST", "/v1/loads",
       [](const std::string& d, int) { return R{"/v1/loads", {{"member", of(d).member}, {"amount", 1}, {"bank_ref", "b"}}, true}; },
       write_own, {201, 400, 403}},
      // A member without cash: a judged 422 (nothing to refund) for whoever may ask.
      {"POST", "/v1/refunds",
       [](const std::string& d, int) { return R{"/v1/refunds", {{"member", of(d).idle}, {"bank_ref", "b"}}, true}; },
       {422, 422, 403}, {422, 400, 403}},
      {"GET", "/v1/districts/{code}/summary",
       [](const std::string& d, int) { return R{"/v1/districts/" + d + "/summary?from=2020-03-01&to=2020-03-31", nullptr, false}; },
       read_own, read_other},
      {"GET", "/v1/ledger/trial-balance",
       [](const std::string& d, int) { return R{"/v1/ledger/trial-balance?district=" + d, nullptr, false}; }, read_own,
       read_other},
      {"POST", "/v1/batches/cashback",
       [](const std::string& d, int) { return R{"/v1/batches/cashback", {{"district", d}, {"business_date", "2020-02-01"}}, true}; },
       {200, 200, 403}, {200, 403, 403}},
      {"GET", "/v1/batches/cashback/{district}/{date}",
       [](const std::string& d, int) { return R{"/v1/batches/cashback/" + d + "/2020-01-31", nullptr, false}; }, read_own,
       read_other},
      {"GET", "/v1/audit",
       [](const std::string& d, int) { return R{"/v1/audit?from=2020-01-01&to=2099-12-31&district=" + d, nullptr, false}; },
       read_own, read_other},
      {"POST", "/v1/programs",
       [](const std::string& d, int n) {
         return R{"/v1/programs",
                  {{"id", "prog" + std::to_string(n)}, {"name", "p"}, {"district", d}, {"funder", "district"},
                   {"budget", 1}, {"grant_from", "2020-01-01"}, {"grant_to", "2020-12-31"}, {"expires_on", "2020-12-31"},
                   {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", false}}}},
                  true};
       },
       write_own, write_other},
      {"GET", "/v1/programs/{id}",
       [](const std::string& d, int) { return R{"/v1/programs/fx-" + d, nullptr, false}; }, read_own, read_other},
      // A second grant to the same member is a refused line in a 200 answer.
      {"POST", "/v1/programs/{id}/grants",
       [](const std::string& d, int) {
         return R{"/v1/programs/fx-" + d + "/grants", {{"grants", {{{"member", of(d).member}, {"amount", 1}}}}}, true};
       },
       {200, 200, 403}, {200, 404, 403}},
      {"POST", "/v1/batches/expiry",
       [](const std::string&, int) { return R{"/v1/batches/expiry", {{"business_date", "2020-01-31"}}, true}; },
       {200, 403, 403}, {200, 403, 403}},
      {"GET", "/v1/flags",
       [](const std::string& d, int) { return R{"/v1/flags?from=2020-01-01&to=2020-12-31&district=" + d, nullptr, false}; },
       read_own, read_other},
      {"GET", "/v1/payments",
       [](const std::string& d, int) {
         return R{"/v1/payments?business_date=2020-01-31&format=csv&district=" + d, nullptr, false};
       },
       read_own, read_other},
      {"GET", "/v1/settlements",
       [](const std::string& d, int) { return R{"/v1/settlements?business_date=2020-01-31&district=" + d, nullptr, false}; },
       read_own, read_other},
      {"GET", "/v1/programs/{id}/grants",
       [](const std::string& d, int) { return R{"/v1/programs/fx-" + d + "/grants?format=csv", nullptr, false}; },
       read_own, read_other},
      // The same review again answers the flag as it stands: the city admin's first, then the
      // district admin's repeat.
      {"POST", "/v1/flags/{id}/review",
       [](const std::string& d, int) {
         return R{"/v1/flags/flag-" + d + "-" + std::to_string(d == "bupyeong" ? 9'000'001 : 9'000'002) + "/review",
                  {{"outcome", "cleared"}, {"note", "matrix"}}, false};
       },
       {200, 200, 403}, {200, 404, 403}},
  };
  return cases;
}

TEST(RoleMatrix, CoversEveryAdminRoute) {
  std::set<std::pair<std::string, std::string>> admin_routes, covered;
  for (const auto& [method, pattern] : served_routes())
    if (pattern.rfind("/v1/", 0) == 0 && pattern.rfind("/v1/processor/", 0) != 0) admin_routes.emplace(method, pattern);
  for (const auto& c : matrix()) covered.emplace(c.method, c.pattern);
  EXPECT_EQ(covered, admin_routes);
}

TEST_F(Contract, RoleMatrix) {
  // Fixtures the cases point at: a policy of each district in force in 2019, pools 4 (bupyeong)
  // and 5 (yeonsu), a completed batch of each district on 2020-01-31, and a yeonsu member
  // without cash.
  ASSERT_EQ(admin("POST", "/v1/members", {{"id", "ys-idle"}, {"district", "yeonsu"}}).status, 201);
  for (const char* d : {"bupyeong", "yeonsu"}) {
    ASSERT_EQ(admin("POST", "/v1/policies",
                    {{"scope", d}, {"effective_from", "2019-06-01T00:00:00Z"}, {"rules", {{"topup_bp", 1}, {"fee_support_bp", 1}}}})
                  .status,
              201);
    const auto pool = admin("POST", "/v1/pools",
                            {{"source", std::string("district:") + d}, {"period_start", "2030-01-01"},
                             {"period_end", "2030-12-31"}, {"budget", 1}},
                            kAdminToken, std::string("fixture-pool-") + d);
    ASSERT_EQ(pool.status, 201);
    ASSERT_EQ(pool.body["id"], std::string(d) == "bupyeong" ? 4 : 5);
    ASSERT_EQ(admin("POST", "/v1/batches/cashback", {{"district", d}, {"business_date", "2020-01-31"}}, kAdminToken,
                    std::string("fixture-batch-") + d)
                  .status,
              200);
  }
  // A program of each district, granting until 2099.
  for (const char* d : {"bupyeong", "yeonsu"})
    ASSERT_EQ(admin("POST", "/v1/programs",
                    {{"id", std::string("fx-") + d}, {"name", "fixture"}, {"district", d}, {"funder", "district"},
                     {"budget", 1'000'000}, {"grant_from", "2020-01-01"}, {"grant_to", "2099-12-31"},
                     {"expires_on", "2099-12-31"}, {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", false}}}},
                    kAdminToken, std::string("fixture-program-") + d)
                  .status,
              201);
  // A flag in each district, with fixed ids the review rows name.
  for (const auto& [d, id] : std::vector<std::pair<std::string, int>>{{"bupyeong", 9'000'001}, {"yeonsu", 9'000'002}})
    ASSERT_EQ(scalar("INSERT INTO flags (district, id, rule, payment_id, merchant_id, occurred_at, business_date, "
                     "detail) VALUES ('" + d + "', " + std::to_string(id) + ", 'large', 1, 'bp-cafe', "
                     "'2020-03-02T01:00:00Z', '2020-03-02', 'fixture') RETURNING id"),
              id);
  const std::string bp = token("district_admin", "bupyeong"), auditor = token("auditor");
  int n = 0;
  for (const auto& c : matrix())
    for (const std::string district : {"bupyeong", "yeonsu"}) {
      const auto& expect = district == "bupyeong" ? c.own : c.other;
      for (const auto& [role, tok, status] : std::vector<std::tuple<std::string, std::string, int>>{
               {"city_admin", kAdminToken, expect.city_admin},
               {"district_admin of bupyeong", bp, expect.district_admin},
               {"auditor", auditor, expect.auditor}}) {
        const auto [path, body, keyed] = c.make(district, n++);
        const auto a = admin(c.method, path, body, tok, keyed ? "matrix-" + std::to_string(n) : "");
        EXPECT_EQ(a.status, status) << role << ": " << c.method << " " << path << " (" << district << "'s) " << a.body;
        if (a.status >= 400) {
          // A refusal tells nothing of the resource: no balance, no district of a member.
          EXPECT_FALSE(a.body.contains("cash")) << a.body;
          EXPECT_EQ(a.body.dump().find("forbidden") != std::string::npos, a.status == 403) << a.body;
        }
      }
    }
  // The city district's own admin may write its own district's pool, and no city-wide rule.
  const std::string cty = token("district_admin", "city");
  EXPECT_EQ(admin("POST", "/v1/pools",
                  {{"source", "district:city"}, {"period_start", "2035-01-01"}, {"period_end", "2035-12-31"}, {"budget", 1}},
                  cty, "city-own-pool")
                .status,
            201);
  EXPECT_EQ(admin("POST", "/v1/pools",
                  {{"source", "city"}, {"period_start", "2035-01-01"}, {"period_end", "2035-12-31"}, {"budget", 1}}, cty,
                  "city-pool")
                .status,
            403);
  // The auditor and the district admin's refused calls wrote nothing: loads are the city
  // admin's two and the district admin's own one.
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM members WHERE id LIKE 'mem%'"), 3);
  EXPECT_EQ(scalar("SELECT count(*) FROM refunds"), 0);
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
