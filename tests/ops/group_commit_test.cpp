// The group writer against a real PostgreSQL: commands submitted together form one group, and
// each gets its own answer while the others commit.
#include <gtest/gtest.h>

#include <future>
#include <pqxx/pqxx>

#include "evoucher/api/policy_json.hpp"
#include "evoucher/ops/group_writer.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"
#include "support/pg_harness.hpp"

namespace evoucher::testing {
namespace {

// What the writer reported for one command, with the typed outcome its render saw.
struct Seen {
  ops::Result result;
  std::optional<ops::PaymentOutcome> payment;
  std::optional<ops::LoadOutcome> load;
};

class GroupCommit : public ::testing::Test {
 protected:
  void SetUp() override {
    url = PgHarness::instance().demo_database();
    writer = std::make_unique<ops::GroupWriter>(url, store::ConnectionOptions{}, ops::GroupWriterOptions{1, 64, 4096},
                                                policies);
  }
  void TearDown() override { writer->stop(); }

  // Commands and the futures of what each one saw.
  struct Batch {
    std::vector<std::pair<ops::Command, ops::Done>> commands;
    std::vector<std::shared_ptr<Seen>> seen;
    std::vector<std::future<void>> done;
  };

  void add_payment(Batch& b, const std::string& event, const std::string& card, const std::string& merchant,
                   long long price, const std::string& at = "2020-03-02T10:00:00+09:00") {
    auto seen = std::make_shared<Seen>();
    ops::PaymentCommand c;
    c.event_id = event;
    c.card = card;
    c.merchant = merchant;
    c.price = Won(price);
    c.occurred_at = parse_rfc3339(at).value();
    c.channel = "card";
    c.request_hash = event + "|" + card + "|" + merchant + "|" + std::to_string(price) + "|" + at;
    c.render = [seen](const ops::PaymentOutcome& o) {
      seen->payment = o;
      return ops::Answer{200, o.approved ? "approved " + o.approved->payment_id
                                         : std::string("declined ") + engine::to_string(*o.declined)};
    };
    add(b, std::move(c), seen);
  }

  void add_load(Batch& b, const std::string& key, const std::string& member, const std::string& district,
                long long amount) {
    auto seen = std::make_shared<Seen>();
    ops::LoadCommand c;
    c.member = member;
    c.district = district;
    c.key = key;
    c.amount = Won(amount);
    c.bank_ref = "bank-" + key;
    c.occurred_at = parse_rfc3339("2020-03-02T09:00:00+09:00").value();
    c.request_hash = key + "|" + member + "|" + std::to_string(amount);
    c.render = [seen](const ops::LoadOutcome& o) {
      seen->load = o;
      return o.done ? ops::Answer{201, "loaded " + o.done->load_id} : ops::Answer{422, *o.limit_exceeded};
    };
    add(b, std::move(c), seen);
  }

  void add(Batch& b, ops::Command command, const std::shared_ptr<Seen>& seen) {
    auto promise = std::make_shared<std::promise<void>>();
    b.done.push_back(promise->get_future());
    b.seen.push_back(seen);
    b.commands.emplace_back(std::move(command), [seen, promise](ops::Result r) {
      seen->result = std::move(r);
      promise->set_value();
    });
  }

  // Submits the batch as one group and waits for every answer; returns how many groups it took.
  std::uint64_t run(Batch& b) {
    const auto before = writer->stats().groups;
    EXPECT_TRUE(writer->submit_together(std::move(b.commands)));
    for (auto& f : b.done) f.get();
    return writer->stats().groups - before;
  }

  std::string text(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    return n.exec(sql)[0][0].as<std::string>();
  }

  long long scalar(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    return n.exec(sql)[0][0].as<long long>();
  }

  std::string url;
  ops::PolicyCache policies{api::decode_stored_city_rules, api::decode_stored_district_rules};
  std::unique_ptr<ops::GroupWriter> writer;
};

TEST_F(GroupCommit, TwoPaymentsOfOneMemberInOneGroupSeeEachOthersCashAndCap) {
  Batch load;
  add_load(load, "l1", "m1", "bupyeong", 1'000'000);
  ASSERT_EQ(run(load), 1u);
  ASSERT_EQ(load.seen[0]->result.answer.status, 201);

  Batch b;
  add_payment(b, "g-1", "c1", "bp-cafe", 450'000);
  add_payment(b, "g-2", "c1", "bp-cafe", 100'000);  // crosses the 500,000 bracket the first one nearly filled
  add_payment(b, "g-3", "c1", "bp-cafe", 450'001);  // 450,000 of cash is left after the first two
  EXPECT_EQ(run(b), 1u);

  const auto& first = b.seen[0]->payment->approved;
  const auto& second = b.seen[1]->payment->approved;
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->quote.paid_cash, Won(450'000));
  EXPECT_EQ(first->quote.earned.eligible, Won(450'000));
  EXPECT_EQ(first->quote.earned.cashback.city, Won(45'000));
  EXPECT_EQ(second->quote.eligible_before, Won(450'000));
  EXPECT_EQ(second->quote.earned.cashback.city, Won(5'000 + 500));  // 10 % of 50,000 + 1 % of 50,000
  EXPECT_EQ(second->quote.paid_cash, Won(100'000));
  ASSERT_TRUE(b.seen[2]->payment->declined);
  EXPECT_EQ(*b.seen[2]->payment->declined, engine::Decline::insufficient_funds);

  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE key = 'member:m1:cash'"), 450'000);
  EXPECT_EQ(scalar("SELECT eligible_spent FROM member_months WHERE member_id = 'm1' AND month = '2020-03-01'"), 550'000);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 2);
  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE district = 'bupyeong' AND key = 'merchant:bp-cafe:payable'"),
            550'000);
}

TEST_F(GroupCommit, DeclineRefusalReplayAndReusedKeyEachGetTheirOwnAnswerAndTheRestCommit) {
  Batch setup;
  add_load(setup, "l1", "m1", "bupyeong", 100'000);
  add_payment(setup, "first", "c1", "bp-cafe", 10'000);
  run(setup);
  const auto first_answer = setup.seen[1]->result.answer;
  ASSERT_EQ(first_answer.body.rfind("approved pay-bupyeong-", 0), 0u) << first_answer.body;

  Batch b;
  add_payment(b, "broke", "c2", "bp-cafe", 5'000);            // m2 has no cash: declined
  add_load(b, "too-much", "m3", "yeonsu", 1'000'001);          // over the monthly load limit: 422
  add_payment(b, "first", "c1", "bp-cafe", 10'000);           // a replay
  add_payment(b, "first", "c1", "bp-cafe", 20'000);           // the same key with another request
  add_payment(b, "fresh", "c1", "bp-cafe", 20'000);           // approved
  add_load(b, "fine", "m3", "yeonsu", 50'000);                 // approved
  EXPECT_EQ(run(b), 1u);

  EXPECT_EQ(b.seen[0]->result.answer.status, 200);
  EXPECT_EQ(b.seen[0]->result.answer.body, "declined insufficient_funds");
  EXPECT_EQ(b.seen[1]->result.answer.status, 422);
  EXPECT_EQ(b.seen[1]->result.answer.body,
            "monthly_load_limit: 0 loaded this month + 1000001 exceeds 1000000");
  EXPECT_EQ(b.seen[2]->result.answer.body, first_answer.body);
  EXPECT_FALSE(b.seen[2]->payment.has_value());  // a replay is not judged again
  EXPECT_TRUE(b.seen[3]->result.key_reused);
  ASSERT_TRUE(b.seen[4]->payment->approved);
  EXPECT_EQ(b.seen[4]->payment->approved->quote.paid_cash, Won(20'000));
  EXPECT_EQ(b.seen[5]->result.answer.status, 201);

  EXPECT_EQ(scalar("SELECT count(*) FROM payments"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM payments WHERE event_id = 'first'"), 1);
  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE key = 'member:m1:cash'"), 70'000);
  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE key = 'member:m3:cash'"), 50'000);
  // The decline and the refusal are answers, each stored under its key.
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'payment' AND event_id = 'broke' AND "
                   "decision = 'declined' AND reason = 'insufficient_funds' AND district = 'bupyeong' AND "
                   "member_id = 'm2' AND amount = 5000"),
            1);
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys WHERE key = 'too-much' AND status = 422"), 1);
}

// A group's rows travel as PostgreSQL array literals: quotes, backslashes, commas, braces, the
// word NULL and non-ASCII text must arrive as they were sent.
TEST_F(GroupCommit, TextWithArrayLiteralCharactersIsStoredExactly) {
  const std::string odd = R"(a"b\c,{d} NULL \" 부평 e음)";
  Batch b;
  add_load(b, odd, "m1", "bupyeong", 10'000);
  add_payment(b, odd, "c1", "bp-cafe", 1'000);
  auto& payment = std::get<ops::PaymentCommand>(b.commands[1].first);
  payment.render = [](const ops::PaymentOutcome&) { return ops::Answer{200, R"({"detail":"q\"uote\\ NULL {}"})"}; };
  EXPECT_EQ(run(b), 1u);
  ASSERT_EQ(b.seen[0]->result.answer.status, 201);

  EXPECT_EQ(text("SELECT bank_ref FROM loads"), "bank-" + odd);
  EXPECT_EQ(text("SELECT key FROM idempotency_keys"), odd);
  EXPECT_EQ(text("SELECT event_id FROM payments"), odd);
  EXPECT_EQ(text("SELECT answer FROM processor_events WHERE endpoint = 'payment'"), R"({"detail":"q\"uote\\ NULL {}"})");
  EXPECT_EQ(text("SELECT coalesce(reason, 'none') FROM processor_events WHERE endpoint = 'payment'"), "none");
  EXPECT_EQ(scalar("SELECT balance FROM accounts WHERE key = 'member:m1:cash'"), 9'000);
}

// A group that runs past the statement timeout waits for a lock one of its commands needs: the
// others commit, and only that one answers 503 (before, all of the group's callers did).
TEST_F(GroupCommit, AStatementTimeoutFailsOnlyTheCommandThatWaits) {
  writer->stop();
  store::ConnectionOptions quick;
  quick.statement_timeout_ms = 400;
  writer = std::make_unique<ops::GroupWriter>(url, quick, ops::GroupWriterOptions{1, 64, 4096}, policies);
  pqxx::connection holder(url);
  pqxx::work held(holder);
  held.exec("SELECT pg_advisory_xact_lock(member_lock_key('m1'))");  // m1's money held, as the money path holds it
  Batch b;
  add_load(b, "t-m2", "m2", "bupyeong", 10'000);
  add_load(b, "t-m1", "m1", "bupyeong", 20'000);
  add_load(b, "t-m3", "m3", "yeonsu", 30'000);
  EXPECT_EQ(run(b), 2u);  // the group timed out; m2's and m3's loads committed alone
  EXPECT_EQ(b.seen[0]->result.answer.status, 201);
  EXPECT_EQ(b.seen[1]->result.trouble, ops::Trouble::unavailable);
  EXPECT_EQ(b.seen[2]->result.answer.status, 201);
  held.abort();
  EXPECT_EQ(scalar("SELECT count(*) FROM loads"), 2);
  EXPECT_EQ(scalar("SELECT count(*) FROM idempotency_keys"), 2);  // nothing stored under m1's key
  EXPECT_EQ(scalar("SELECT coalesce(sum(amount), 0) FROM loads WHERE member_id = 'm1'"), 0);
  // Its retry, once the lock is gone, is judged afresh.
  Batch retry;
  add_load(retry, "t-m1", "m1", "bupyeong", 20'000);
  EXPECT_EQ(run(retry), 1u);
  EXPECT_EQ(retry.seen[0]->result.answer.status, 201);
}

}  // namespace
}  // namespace evoucher::testing
