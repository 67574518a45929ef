// A group's running state built by hand, and late facts answered from memory, for the deciders'
// tests: no database. Each command renders its outcome as a short line the tests compare.
#pragma once

#include <gtest/gtest.h>

#include "engine/engine_fixture.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "ops/deciders.hpp"

namespace evoucher::ops::testing {

inline Timestamp at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

// The seed's city rules, no district policy; months not read up front are asked for and counted.
class MemoryLateFacts final : public LateFacts {
 public:
  std::shared_ptr<const engine::CityRules> city =
      std::make_shared<const engine::CityRules>(engine::testing::seed_city());
  std::vector<store::MonthKey> months_asked;

  PoliciesInForce policies_at(const std::vector<store::PolicyVersion>&, const std::string&, Timestamp) override {
    return {7, city, std::nullopt, nullptr};
  }
  PoliciesInForce policies_by_id(std::optional<std::int64_t> city_id, std::optional<std::int64_t>) override {
    return {city_id, city, std::nullopt, nullptr};
  }
  store::MonthTotals month(const store::MonthKey& key) override {
    months_asked.push_back(key);
    return {Won(900'000), Won(0)};
  }
  Timestamp clock = at("2026-03-10T03:00:00Z");  // 12:00 in Seoul
  int clock_reads = 0;
  Timestamp now() override {
    ++clock_reads;
    return clock;
  }
};

class Deciders : public ::testing::Test {
 protected:
  GroupState group;
  MemoryLateFacts late;

  void SetUp() override {
    auto& f = group.facts;
    f.cards["card-1"] = {"card-1", "m1", store::CardStatus::active, "bupyeong"};
    f.cards["card-2"] = {"card-2", "m2", store::CardStatus::active, "bupyeong"};
    f.merchants["cafe"] = merchant("cafe", "cafe");
    cash("m1") = Won(100'000);
    f.ids = {{101, 901}, {102, 902}, {103, 903}, {104, 904}, {105, 905}};
  }

  static store::Merchant merchant(const std::string& id, const std::string& category) {
    store::Merchant m;
    m.id = id;
    m.name = id;
    m.district = "bupyeong";
    m.category = category;
    m.annual_revenue = Won(100'000'000);
    return m;
  }
  Won& cash(const std::string& member) { return group.facts.balances[{"bupyeong", accounts::member_cash(member)}]; }
  Won& points(const std::string& member) { return group.facts.balances[{"bupyeong", accounts::member_points(member)}]; }
  const store::GroupWrites& rows() const { return group.changes.rows; }

  static PaymentCommand payment(std::string event, Won price, std::string card = "card-1",
                                std::string merchant = "cafe", Timestamp when = at("2026-03-10T03:00:00Z")) {
    PaymentCommand c{std::move(event), std::move(card), std::move(merchant), price, when, "pos", "hash", {}};
    c.render = [](const PaymentOutcome& o) -> Answer {
      if (o.declined) return {402, engine::to_string(*o.declined)};
      const auto& q = o.approved->quote;
      return {201, o.approved->payment_id + " cash " + std::to_string(q.paid_cash.value()) + " points " +
                       std::to_string(q.paid_points.value()) + " cashback " +
                       std::to_string(q.earned.cashback.total().value())};
    };
    return c;
  }
  static CancellationCommand cancellation(std::string event, std::optional<std::int64_t> payment, Won amount) {
    CancellationCommand c{std::move(event),
                          "pay-bupyeong-" + std::to_string(payment.value_or(0)),
                          std::nullopt,
                          amount,
                          at("2026-03-10T05:00:00Z"),
                          "hash",
                          {}};
    if (payment) c.payment = OperationRef{"bupyeong", *payment};
    c.render = [](const CancellationOutcome& o) -> Answer {
      if (o.payment_missing) return {404, *o.payment_missing};
      if (o.exceeds) return {422, *o.exceeds};
      return {201, o.done->cancellation_id + " cash " + std::to_string(o.done->quote.refund_cash.value())};
    };
    return c;
  }
  static LoadCommand load(std::string key, Won amount, std::optional<Timestamp> when = at("2026-03-10T03:00:00Z"),
                          std::string member = "m1") {
    LoadCommand c{std::move(member), "bupyeong", std::move(key), amount, "bank-1", when, "hash", std::nullopt, {}};
    c.render = [](const LoadOutcome& o) -> Answer {
      if (o.limit_exceeded) return {422, *o.limit_exceeded};
      if (o.backdated) return {400, *o.backdated};
      return {201, o.done->load_id + " cash " + std::to_string(o.done->cash.value())};
    };
    return c;
  }
  static RefundCommand refund(std::string key) {
    RefundCommand c{"m1", "bupyeong", std::move(key), "bank-1", at("2026-03-10T03:00:00Z"), "hash", std::nullopt, {}};
    c.render = [](const RefundOutcome& o) -> Answer {
      if (o.not_allowed) return {422, *o.not_allowed};
      if (o.backdated) return {400, *o.backdated};
      return {201, o.done->refund_id + " amount " + std::to_string(o.done->amount.value())};
    };
    return c;
  }

  // A payment of member m1 at the cafe, approved and not yet posted by the batch.
  void approved_payment(std::int64_t id, Won charged, Won city_cashback) {
    store::PaymentRow row;
    auto& p = row.record;
    p.id = id;
    p.district = "bupyeong";
    p.event_id = "ev-" + std::to_string(id);
    p.card_token = "card-1";
    p.member = "m1";
    p.merchant = "cafe";
    p.merchant_district = "bupyeong";
    p.merchant_category = "cafe";
    p.merchant_revenue = Won(100'000'000);
    p.price = p.charged = p.paid_cash = p.eligible = charged;
    p.city_cashback = city_cashback;
    p.city_policy_id = 7;
    p.occurred_at = at("2026-03-10T01:00:00Z");
    p.business_date = "2026-03-10";
    group.facts.payments[{"bupyeong", id}] = std::move(row);
    group.facts.months[{"bupyeong", "m1", "2026-03-01"}].eligible_spent = charged;
  }

  template <typename Command>
  Result decide(const Command& c) {
    return ops::decide(c, group, late);
  }
};

}  // namespace evoucher::ops::testing
