// The role matrix: what each role may do on every admin route, on its own district's resources and
// on another's.
#include <functional>
#include <set>
#include <tuple>

#include "api/contract_fixture.hpp"
#include "support/routes.hpp"

namespace evoucher::testing {
namespace {

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

}  // namespace
}  // namespace evoucher::testing
