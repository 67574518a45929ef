// Money rules under time: final answers under every key, the decline order, bounded and
// non-backdated times, settlements of closed dates, and city-wide rules written by the city only.
#include "api/api_fixture.hpp"
#include "evoucher/time.hpp"

namespace evoucher::testing {
namespace {

class MoneyRules : public ApiTest {
 protected:
  json payment(const std::string& event, const std::string& card, const std::string& merchant, long long price,
               const std::string& at = "2020-03-02T10:00:00+09:00") {
    return {{"event_id", event}, {"card", card},  {"merchant", merchant},
            {"price", price},    {"occurred_at", at}, {"channel", "card"}};
  }
  Answer pay_body(const json& body) { return processor("/v1/processor/payments", body); }

  Answer settle(const std::string& event, const std::string& merchant, const std::string& date, long long amount) {
    return processor("/v1/processor/settlements",
                     {{"event_id", event}, {"merchant", merchant}, {"business_date", date}, {"amount", amount}});
  }

  long long writes() {
    return scalar("SELECT (SELECT count(*) FROM journals) + (SELECT count(*) FROM payments) + "
                  "(SELECT count(*) FROM loads) + (SELECT count(*) FROM refunds) + "
                  "(SELECT count(*) FROM idempotency_keys) + (SELECT count(*) FROM processor_events)");
  }
};

void expect_declined(const Answer& a, const std::string& reason) {
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, json({{"decision", "declined"}, {"reason", reason}}));
}

void expect_problem(const Answer& a, int status, const std::string& code, const std::string& detail) {
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_EQ(a.body["code"], code) << a.body;
  EXPECT_EQ(a.body["detail"], detail) << a.body;
}

// A shop was told "declined": a retry of that event after the member loaded money says so again.
TEST_F(MoneyRules, ADeclineIsFinalUnderItsEventId) {
  const auto body = payment("late-retry", "c1", "bp-cafe", 5'000);
  expect_declined(pay_body(body), "insufficient_funds");
  ASSERT_EQ(load("m1", 100'000, "after-decline").status, 201);
  expect_declined(pay_body(body), "insufficient_funds");
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["cash"], 100'000);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'payment' AND event_id = 'late-retry' "
                   "AND decision = 'declined' AND reason = 'insufficient_funds' AND card_token = 'c1' AND "
                   "merchant_id = 'bp-cafe' AND member_id = 'm1' AND district = 'bupyeong' AND amount = 5000 AND "
                   "occurred_at = '2020-03-02T01:00:00Z'"),
            1);
}

// One event_id names one payment, whatever district its card belongs to.
TEST_F(MoneyRules, AnEventIdIsUniqueAcrossDistricts) {
  ASSERT_EQ(load("m1", 50'000, "bp").status, 201);
  ASSERT_EQ(load("m3", 50'000, "ys").status, 201);
  const auto first = pay_body(payment("shared", "c1", "bp-cafe", 1'000));
  ASSERT_EQ(first.body["decision"], "approved") << first.body;
  expect_problem(pay_body(payment("shared", "c3", "bp-cafe", 1'000)), 409, "idempotency_key_reused",
                 "this key was already used with a different request; use a new key for a new request");
  EXPECT_EQ(pay_body(payment("shared", "c1", "bp-cafe", 1'000)).body, first.body);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 1);
  EXPECT_EQ(admin("GET", "/v1/members/m3").body["cash"], 50'000);
  // Cancellations have their own key space: the same event_id there is another event.
  const auto cancel_answer = cancel("shared", first.body["payment_id"], 1'000, "2020-03-02T11:00:00+09:00");
  EXPECT_EQ(cancel_answer.status, 200) << cancel_answer.body;
}

// An unknown card or merchant is an answer too: issuing the card afterwards changes nothing.
TEST_F(MoneyRules, UnknownCardAndMerchantAreFinalAnswers) {
  ASSERT_EQ(load("m1", 50'000, "unknowns").status, 201);
  const auto no_card = payment("no-card", "c-new", "bp-cafe", 1'000);
  const auto no_merchant = payment("no-merchant", "c1", "shop-new", 1'000);
  expect_declined(pay_body(no_card), "unknown_card");
  expect_declined(pay_body(no_merchant), "unknown_merchant");
  ASSERT_EQ(admin("POST", "/v1/cards", {{"token", "c-new"}, {"member", "m1"}}).status, 201);
  ASSERT_EQ(admin("POST", "/v1/merchants", {{"id", "shop-new"}, {"business_no", "1"}, {"name", "n"},
                                            {"district", "bupyeong"}, {"category", "cafe"}, {"annual_revenue", 1},
                                            {"benefit", nullptr}})
                .status,
            201);
  expect_declined(pay_body(no_card), "unknown_card");
  expect_declined(pay_body(no_merchant), "unknown_merchant");
  EXPECT_EQ(pay_body(payment("fresh", "c-new", "shop-new", 1'000)).body["decision"], "approved");
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE decision = 'declined' AND district IS NULL "
                   "AND reason = 'unknown_card'"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE decision = 'declined' AND district = 'bupyeong' "
                   "AND reason = 'unknown_merchant'"),
            1);
}

// unknown_card, card_inactive, unknown_merchant, merchant_ineligible, insufficient_funds: the
// first that applies wins.
TEST_F(MoneyRules, DeclineReasonsComeInTheirOrder) {
  ASSERT_EQ(admin("PATCH", "/v1/cards/c2", {{"status", "suspended"}}).status, 200);
  ASSERT_EQ(admin("PATCH", "/v1/merchants/bp-cafe", {{"status", "suspended"}}).status, 200);
  // m2 (card c2) has no money, and m1 (card c1) has none either.
  expect_declined(pay("o-1", "nope", "nowhere", 1'000, "2020-03-02T10:00:00+09:00"), "unknown_card");
  expect_declined(pay("o-2", "c2", "nowhere", 1'000, "2020-03-02T10:00:00+09:00"), "card_inactive");
  expect_declined(pay("o-3", "c2", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"), "card_inactive");
  expect_declined(pay("o-4", "c1", "nowhere", 1'000, "2020-03-02T10:00:00+09:00"), "unknown_merchant");
  expect_declined(pay("o-5", "c1", "bp-cafe", 1'000, "2020-03-02T10:00:00+09:00"), "merchant_ineligible");
  expect_declined(pay("o-6", "c1", "bp-bakery", 1'000, "2020-03-02T10:00:00+09:00"), "insufficient_funds");
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE decision = 'declined'"), 6);
}

// A 422 is judged, so it is final; a 400 judged nothing, so the caller may fix it under the same key.
TEST_F(MoneyRules, AdminRefusalsAreStoredAndBadInputIsNot) {
  ASSERT_EQ(load("m1", 1'000'000, "full", "2020-03-02T09:00:00+09:00").status, 201);
  const auto over = load("m1", 1, "over", "2020-03-02T09:10:00+09:00");
  expect_problem(over, 422, "limit_exceeded", "monthly_load_limit: 1000000 loaded this month + 1 exceeds 1000000");
  // April has room, but the key holds March's answer.
  EXPECT_EQ(load("m1", 1, "over", "2020-03-02T09:10:00+09:00").body, over.body);
  expect_problem(load("m1", 1, "over", "2020-04-02T09:10:00+09:00"), 409, "idempotency_key_reused",
                 "this key was already used with a different request; use a new key for a new request");
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys WHERE key = 'over' AND status = 422"), 1);

  const auto refused = admin("POST", "/v1/refunds", {{"member", "m2"}, {"bank_ref", "r"}}, kAdminToken, "empty");
  expect_problem(refused, 422, "refund_not_allowed", "there is no cash to refund");
  ASSERT_EQ(load("m2", 10'000, "m2-load", "2020-03-02T09:00:00+09:00").status, 201);
  EXPECT_EQ(admin("POST", "/v1/refunds", {{"member", "m2"}, {"bank_ref", "r"}}, kAdminToken, "empty").body,
            refused.body);
  EXPECT_EQ(admin("GET", "/v1/members/m2").body["cash"], 10'000);

  const auto backdated = load("m1", 1, "fixable", "2020-03-01T09:00:00+09:00");
  expect_problem(backdated, 400, "invalid_request",
                 "field 'occurred_at' 2020-03-01T00:00:00Z is before member m1's latest load or refund, at "
                 "2020-03-02T00:00:00Z; loads and refunds cannot be backdated");
  EXPECT_EQ(load("m1", 1, "fixable", "2020-04-01T09:00:00+09:00").status, 201);
}

// A cancellation of a payment that does not exist is judged too.
TEST_F(MoneyRules, ACancellationOfNoPaymentIsFinal) {
  const auto first = cancel("cx-1", "pay-bupyeong-999999", 100, "2020-03-02T11:00:00+09:00");
  expect_problem(first, 404, "not_found", "no payment pay-bupyeong-999999");
  EXPECT_EQ(cancel("cx-1", "pay-bupyeong-999999", 100, "2020-03-02T11:00:00+09:00").body, first.body);
  expect_problem(cancel("cx-1", "pay-bupyeong-999998", 100, "2020-03-02T11:00:00+09:00"), 409,
                 "idempotency_key_reused",
                 "this key was already used with a different request; use a new key for a new request");
  expect_problem(cancel("cx-2", "not-a-payment-ref", 100, "2020-03-02T11:00:00+09:00"), 404, "not_found",
                 "no payment not-a-payment-ref");
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'cancellation' AND reason = 'not_found'"),
            2);
}

// Every accepted time reads back: times before 2000 or after 2099 are refused, and write nothing.
TEST_F(MoneyRules, TimesLieFrom2000To2099) {
  const auto before = writes();
  expect_problem(load("m1", 1'000, "ancient", "1900-01-01T00:00:00+09:00"), 400, "invalid_request",
                 "field 'occurred_at' must lie from 2000-01-01 to 2099-12-31 (UTC)");
  expect_problem(pay("far", "c1", "bp-cafe", 1'000, "2100-01-01T00:00:00Z"), 400, "invalid_request",
                 "field 'occurred_at' must lie from 2000-01-01 to 2099-12-31 (UTC)");
  expect_problem(pay("early", "c1", "bp-cafe", 1'000, "2000-01-01T08:59:59+09:00"), 400, "invalid_request",
                 "field 'occurred_at' must lie from 2000-01-01 to 2099-12-31 (UTC)");
  expect_problem(admin("POST", "/v1/policies", {{"scope", "bupyeong"}, {"effective_from", "1999-12-31T23:59:59Z"},
                                                {"rules", {{"topup_bp", 1}, {"fee_support_bp", 1}}}}),
                 400, "invalid_request", "field 'effective_from' must lie from 2000-01-01 to 2099-12-31 (UTC)");
  expect_problem(admin("POST", "/v1/pools",
                       {{"source", "city"}, {"period_start", "2099-01-01"}, {"period_end", "2100-01-01"},
                        {"budget", 1}},
                       kAdminToken, "pool-2100"),
                 400, "invalid_request", "field 'period_end' must lie from 2000-01-01 to 2099-12-31 (UTC)");
  expect_problem(admin("GET", "/v1/districts/bupyeong/summary?from=1900-01-01&to=2020-01-01"), 400, "invalid_request",
                 "query parameter 'from' must be a date, YYYY-MM-DD, from 2000-01-01 to 2099-12-31 (UTC)");
  EXPECT_EQ(writes(), before);
  // The edges are inside.
  EXPECT_EQ(pay("edge", "c1", "bp-cafe", 1'000, "2099-12-31T23:59:59.999999Z").body["reason"], "insufficient_funds");
  EXPECT_EQ(load("m1", 1'000, "edge-load", "2000-01-01T00:00:00Z").status, 201);
  const auto statement = admin("GET", "/v1/members/m1/statement");
  ASSERT_EQ(statement.status, 200) << statement.body;
  EXPECT_EQ(statement.body["entries"][0]["at"], "2000-01-01T00:00:00Z");
}

// Loads and refunds cannot be backdated, nor stamped in the future.
TEST_F(MoneyRules, LoadsAndRefundsCannotBeBackdated) {
  // Before the demo's March policy, the default limit of 700,000 a month applies.
  ASSERT_EQ(load("m1", 600'000, "feb", "2020-02-01T09:00:00+09:00").status, 201);
  const auto before = writes();
  expect_problem(load("m1", 700'000, "jan", "2020-01-15T09:00:00+09:00"), 400, "invalid_request",
                 "field 'occurred_at' 2020-01-15T00:00:00Z is before member m1's latest load or refund, at "
                 "2020-02-01T00:00:00Z; loads and refunds cannot be backdated");
  expect_problem(admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "r"}, {"occurred_at", "2020-01-31T00:00:00Z"}},
                       kAdminToken, "old-refund"),
                 400, "invalid_request",
                 "field 'occurred_at' 2020-01-31T00:00:00Z is before member m1's latest load or refund, at "
                 "2020-02-01T00:00:00Z; loads and refunds cannot be backdated");
  const auto future = format_rfc3339(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()) +
                                     std::chrono::minutes(6));
  const auto ahead = load("m1", 1, "ahead", future);
  EXPECT_EQ(ahead.status, 400);
  EXPECT_EQ(ahead.body["detail"].get<std::string>().rfind(
                "field 'occurred_at' " + future + " is more than 5 minutes after the server's clock (", 0),
            0u)
      << ahead.body;
  EXPECT_EQ(writes(), before);
  // Same instant is allowed; a refund without a time is stamped now.
  const auto same = load("m1", 1, "same", "2020-02-01T09:00:00+09:00");
  EXPECT_EQ(same.status, 201) << same.body;
  const auto refund = admin("POST", "/v1/refunds", {{"member", "m1"}, {"bank_ref", "r"}}, kAdminToken, "now-refund");
  EXPECT_EQ(refund.status, 201) << refund.body;
  EXPECT_EQ(refund.body["amount"], 600'001);
}

TEST_F(MoneyRules, SettlementWaitsForTheDateToClose) {
  const auto now = std::chrono::system_clock::now() + std::chrono::hours(9);
  const auto today = format_date(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)});
  const auto r = settle("stl-open", "bp-cafe", today, 1'000);
  EXPECT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.body["code"], "date_not_closed");
  EXPECT_EQ(r.body["detail"].get<std::string>().rfind("cannot settle yet: business date " + today + " ends at ", 0), 0u)
      << r.body;
  EXPECT_EQ(scalar("SELECT count(*) FROM settlements"), 0);
  EXPECT_EQ(settle("stl-open", "bp-cafe", today, 1'000).body, r.body);
}

// A payment that arrives after its date was settled is settled by a further settlement.
TEST_F(MoneyRules, ALatePaymentIsSettledByAFurtherSettlement) {
  ASSERT_EQ(load("m1", 100'000, "stl").status, 201);
  ASSERT_EQ(pay("on-time", "c1", "bp-cafe", 10'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
  ASSERT_EQ(settle("stl-a", "bp-cafe", "2020-03-02", 10'000).status, 200);
  ASSERT_EQ(pay("late", "c1", "bp-cafe", 3'000, "2020-03-02T23:00:00+09:00").body["decision"], "approved");
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 3'000);
  expect_problem(settle("stl-b", "bp-cafe", "2020-03-02", 13'000), 422, "settlement_mismatch",
                 "expected 3000 won for merchant bp-cafe on 2020-03-02 (payable 3000 net of merchant cashback, plus "
                 "fee support 0, less what earlier settlements paid), got 13000: a difference of 10000");
  const auto further = settle("stl-c", "bp-cafe", "2020-03-02", 3'000);
  ASSERT_EQ(further.status, 200) << further.body;
  EXPECT_EQ(further.body["amount"], 3'000);
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-cafe").body["payable"], 0);
  EXPECT_EQ(admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-02&to=2020-03-02").body["settled"], 13'000);
  auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(v.exit_code, 0) << v.output;
}

// The `city` district's own admin administers that district, not the city's rules and pools.
TEST_F(MoneyRules, OnlyTheCityAdminWritesCityWideRulesAndPools) {
  const auto city_district = token("district_admin", "city");
  const json city_policy{{"scope", "city"},
                         {"effective_from", "2021-01-01T00:00:00Z"},
                         {"rules", {{"brackets", {{{"up_to", 1}, {"rate_bp", 1}}}},
                                    {"funding_split", {{"national", 1}, {"city", 1}}}}}};
  const json national_pool{{"source", "national"}, {"period_start", "2030-01-01"}, {"period_end", "2030-12-31"},
                           {"budget", 1'000}};
  json city_pool = national_pool;
  city_pool["source"] = "city";
  for (const auto* body : {&city_policy}) {
    const auto a = admin("POST", "/v1/policies", *body, city_district);
    expect_problem(a, 403, "forbidden", "this token may not set the policy of city");
  }
  expect_problem(admin("POST", "/v1/pools", national_pool, city_district, "np"), 403, "forbidden",
                 "this token may not create national pools");
  expect_problem(admin("POST", "/v1/pools", city_pool, city_district, "cp"), 403, "forbidden",
                 "this token may not create city pools");
  EXPECT_EQ(scalar("SELECT count(*) FROM policies WHERE scope = 'city'"), 1);
  EXPECT_EQ(scalar("SELECT count(*) FROM pools"), 3);
  // What is theirs they write.
  EXPECT_EQ(admin("POST", "/v1/members", {{"id", "city-member"}, {"district", "city"}}, city_district).status, 201);
  EXPECT_EQ(admin("POST", "/v1/policies", city_policy).status, 201);
  EXPECT_EQ(admin("POST", "/v1/pools", national_pool, kAdminToken, "np").status, 201);
}

}  // namespace
}  // namespace evoucher::testing
