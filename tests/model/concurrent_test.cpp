// The concurrent model test, the randomized model test's sibling: what production runs at the
// same moment, run at the same moment. Client threads send loads, payments, cancellations and
// refunds for members of their own; an admin thread grants policy money and reviews fraud flags;
// a batch thread runs the cashback and expiry batches for the same dates, over and over, and the
// flag batch. Each member's operations are sequential, so its thread knows its cash exactly; what
// the batch and the reviews do in between is read from the answers. At the end, after a last
// batch of every date, every member's cash, points, pending cashback and program money, every
// pool's draw and every merchant's payable must equal what the answers imply, and `evoucher
// verify` must pass.
//
// The short version runs in the suite. The long one (scripts/concurrent-test.sh) also kills the
// service with SIGKILL; every call is retried under its key until it is judged:
//   EVOUCHER_CONCURRENT_SECONDS=120 EVOUCHER_CONCURRENT_KILLS=10 build/tests/model_tests --gtest_filter='Concurrent.*'
#include <gtest/gtest.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "support/http_client.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using i64 = long long;

constexpr const char* kAdminToken = "concurrent-admin-token";
constexpr const char* kSecret = "concurrent-processor-secret";
const std::vector<std::string> kDates = {"2020-03-02", "2020-03-03", "2020-03-04"};
const std::vector<std::string> kMerchants = {"bp-bakery", "bp-cafe", "bp-market", "ys-books", "ys-diner",
                                             "ys-clinic", "bp-mart"};
constexpr i64 kGrant = 30'000;

using Service = RestartingServe;

// One call, sent until it is judged: a refused connection, a cut answer or a 503 is tried again
// under the same key (an admin's Idempotency-Key, or the processor's event_id in the body).
json judged(Service& service, const std::string& method, const std::string& path, const json& body,
            const std::string& key, int& status) {
  const auto raw = body.is_null() ? std::string() : body.dump();
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    std::map<std::string, std::string> headers;
    if (path.rfind("/v1/processor/", 0) == 0) {
      headers["X-Evoucher-Signature"] = processor_signature(kSecret, raw);
    } else {
      headers["Authorization"] = std::string("Bearer ") + kAdminToken;
      if (!key.empty()) headers["Idempotency-Key"] = key;
    }
    try {
      auto r = http_request(service.port(), method, path, raw, headers);
      const auto length = r.headers.find("content-length");
      const bool whole = r.complete && (length == r.headers.end() || std::to_string(r.body.size()) == length->second);
      if (whole && r.status != 503 && r.status != 0) {
        status = r.status;
        return json::parse(r.body, nullptr, false);
      }
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  status = 0;
  return nullptr;
}

// An approved payment as its answers tell it.
struct PaymentRecord {
  std::string member, merchant;
  i64 charged = 0, remaining = 0;
  i64 city = 0, district = 0, merchant_cashback = 0;  // earned now
  bool forfeited = false;
};

struct MemberModel {
  std::string id, card, district;
  i64 cash = 0;
  i64 paid_points = 0, refunded_points = 0, debts = 0;  // what moved its points besides the batch
  i64 program = 0;  // policy money held (never expires within the test)
  std::vector<std::string> payments;  // approved, newest last
};

class Concurrent : public ::testing::Test {
 protected:
  void SetUp() override {
    url = PgHarness::instance().demo_database();
    service = std::make_unique<Service>(url, std::map<std::string, std::string>{
                                                  {"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                  {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                  {"EVOUCHER_LOG_LEVEL", "off"}});
  }

  json call(const std::string& method, const std::string& path, const json& body = nullptr,
            const std::string& key = "") {
    int status = 0;
    auto answer = judged(*service, method, path, body, key, status);
    last_status = status;
    return answer;
  }

  // The threads' shared record of payments, by id.
  std::mutex payments_mutex;
  std::map<std::string, PaymentRecord> payments;
  std::atomic<int> problems{0};
  std::mutex problems_mutex;
  std::vector<std::string> problem_lines;

  void problem(const std::string& what) {
    std::lock_guard lock(problems_mutex);
    if (problem_lines.size() < 20) problem_lines.push_back(what);
    problems.fetch_add(1);
  }

  // One client: its members' loads, payments, cancellations and refunds, one at a time each.
  void client(int index, std::vector<MemberModel>& members, Clock::time_point until) {
    std::mt19937_64 rng(1000 + index);
    auto pick = [&](i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng); };
    int n = 0;
    while (Clock::now() < until) {
      auto& m = members[pick(0, members.size() - 1)];
      const auto tag = std::to_string(index) + "-" + std::to_string(++n);
      const auto roll = pick(0, 99);
      int status = 0;
      if (roll < 22) {
        const i64 amount = pick(5, 40) * 10'000;
        const auto a = judged(*service, "POST", "/v1/loads", {{"member", m.id}, {"amount", amount}, {"bank_ref", tag}},
                              "load-" + tag, status);
        if (status == 201) m.cash += amount;
        else if (status != 422) problem("load " + tag + ": " + std::to_string(status) + " " + a.dump());
      } else if (roll < 62) {
        const auto& date = kDates[pick(0, kDates.size() - 1)];
        const i64 price = pick(0, 9) == 0 ? pick(50, 120) * 1'000 : pick(2, 40) * 1'000;
        const auto at = date + "T" + std::to_string(10 + pick(0, 9)) + ":" + std::to_string(10 + pick(0, 49)) + ":00+09:00";
        const json body{{"event_id", "pay-" + tag}, {"card", m.card}, {"merchant", kMerchants[pick(0, kMerchants.size() - 1)]},
                        {"price", price}, {"occurred_at", at}, {"channel", pick(0, 1) ? "card" : "qr"}};
        const auto a = judged(*service, "POST", "/v1/processor/payments", body, "", status);
        if (status != 200) {
          problem("payment " + tag + ": " + std::to_string(status) + " " + a.dump());
        } else if (a["decision"] == "approved") {
          m.cash -= a["paid"]["cash"].get<i64>();
          m.paid_points += a["paid"]["points"].get<i64>();
          m.program -= a["paid"].value("program", 0LL);
          PaymentRecord p{m.id, body["merchant"], a["charged"], a["charged"], a["cashback"]["city"],
                          a["cashback"]["district"], a["cashback"]["merchant"], false};
          const std::string id = a["payment_id"];
          m.payments.push_back(id);
          std::lock_guard lock(payments_mutex);
          payments[id] = p;
        }
      } else if (roll < 92) {
        if (m.payments.empty()) continue;
        // Mostly one of the newest: a payment the batch is likely posting at this moment.
        const auto k = m.payments.size() - 1 - std::min<std::size_t>(m.payments.size() - 1, pick(0, 3) == 0 ? pick(0, 50) : pick(0, 1));
        const auto id = m.payments[k];
        i64 remaining;
        {
          std::lock_guard lock(payments_mutex);
          remaining = payments[id].remaining;
        }
        if (remaining == 0) continue;
        const i64 amount = pick(0, 1) ? remaining : pick(1, remaining);
        const json body{{"event_id", "cxl-" + tag}, {"payment_id", id}, {"amount", amount},
                        {"occurred_at", kDates.back() + "T21:00:00+09:00"}};
        const auto a = judged(*service, "POST", "/v1/processor/cancellations", body, "", status);
        if (status != 200) {
          problem("cancellation " + tag + ": " + std::to_string(status) + " " + a.dump());
          continue;
        }
        m.cash += a["refunded"]["cash"].get<i64>();
        m.refunded_points += a["refunded"]["points"].get<i64>();
        m.program += a["refunded"].value("program", 0LL);
        std::lock_guard lock(payments_mutex);
        auto& p = payments[id];
        p.remaining = a["remaining"];
        p.city -= a["cashback_reversed"]["city"].get<i64>();
        p.district -= a["cashback_reversed"]["district"].get<i64>();
        p.merchant_cashback -= a["cashback_reversed"]["merchant"].get<i64>();
      } else {
        const auto a = judged(*service, "POST", "/v1/refunds", {{"member", m.id}, {"bank_ref", tag}}, "refund-" + tag,
                              status);
        if (status == 201) {
          m.debts += m.cash - a["amount"].get<i64>();  // the clawback debt it settled
          m.cash = 0;
        } else if (status != 422) {
          problem("refund " + tag + ": " + std::to_string(status) + " " + a.dump());
        }
      }
    }
  }

  // The admin: reviews every open flag it finds, confirming about half.
  void reviews(Clock::time_point until) {
    std::mt19937_64 rng(7);
    int n = 0;
    do {
      int status = 0;
      const auto open = judged(*service, "GET", "/v1/flags?from=2020-03-01&to=2020-03-31&status=open", nullptr, "", status);
      if (status != 200) {
        problem("flags: " + std::to_string(status));
        continue;
      }
      for (const auto& f : open["flags"]) {
        if (f["payment_id"].is_null()) continue;
        const bool confirm = std::uniform_int_distribution<int>(0, 1)(rng) == 1;
        const auto r = judged(*service, "POST", "/v1/flags/" + std::string(f["id"]) + "/review",
                              {{"outcome", confirm ? "confirmed" : "cleared"}, {"note", "concurrent " + std::to_string(++n)}},
                              "", status);
        if (status != 200) {
          problem("review: " + std::to_string(status) + " " + r.dump());
          continue;
        }
        if (r["status"] == "confirmed") {
          std::lock_guard lock(payments_mutex);
          auto& p = payments[r["payment_id"]];
          p.forfeited = true;
          clawed_by_reviews += r["review"]["clawed_back"].get<i64>();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (Clock::now() < until);
  }

  void grant_one(MemberModel& m) {
    int status = 0;
    const auto a = judged(*service, "POST", "/v1/programs/relief/grants?occurred_at=2020-03-02T00:30:00Z",
                          {{"grants", json::array({{{"member", m.id}, {"amount", kGrant}}})}}, "grant-" + m.id, status);
    if (status != 200 || a["accepted"] != 1) problem("grant " + m.id + ": " + std::to_string(status) + " " + a.dump());
  }

  // The batches, over and over for the same dates, while the clients pay and cancel.
  void batches(Clock::time_point until) {
    int n = 0;
    while (Clock::now() < until) {
      for (const auto& date : kDates)
        for (const auto* district : {"bupyeong", "yeonsu"}) {
          int status = 0;
          const auto r = judged(*service, "POST", "/v1/batches/cashback", {{"district", district}, {"business_date", date}},
                                "batch-" + std::to_string(++n), status);
          if (status != 200) problem("batch: " + std::to_string(status) + " " + r.dump());
        }
      int status = 0;
      judged(*service, "POST", "/v1/batches/expiry", {{"business_date", kDates[n % kDates.size()]}},
             "expiry-" + std::to_string(n), status);
      if (status != 200) problem("expiry batch: " + std::to_string(status));
      if (n % 30 == 0) {
        const auto f = run_evoucher({"batch", "flags", "--date", kDates[0]}, {{"EVOUCHER_DATABASE_URL", url}});
        if (f.exit_code != 0) problem("flag batch: " + f.output);
      }
    }
  }

  std::string url;
  std::unique_ptr<Service> service;
  int last_status = 0;
  i64 clawed_by_reviews = 0;                 // under payments_mutex
};

TEST_F(Concurrent, WhatRunsAtOnceEndsAsTheAnswersSay) {
  const int seconds = env_int("EVOUCHER_CONCURRENT_SECONDS", 25);
  const int kills = env_int("EVOUCHER_CONCURRENT_KILLS", 0);
  const int clients = 4, per_client = 5;
  // Large payments are flagged from 50,000 won, so that reviews meet the batch often.
  auto city = call("GET", "/v1/policies?scope=city&at=2020-03-01T00:00:00%2B09:00");
  ASSERT_EQ(last_status, 200) << city;
  auto rules = city["rules"];
  rules["fraud"] = {{"large_price", 50'000}, {"repeat_per_day", 0}, {"burst_count", 0}};
  const auto published = call("POST", "/v1/policies",
                               {{"scope", "city"}, {"effective_from", "2020-03-01T00:00:01+09:00"}, {"rules", rules}},
                               "policy");
  ASSERT_EQ(last_status, 201) << published;
  call("POST", "/v1/programs",
       {{"id", "relief"}, {"name", "relief"}, {"district", "bupyeong"}, {"funder", "district"}, {"budget", 10'000'000},
        {"grant_from", "2020-03-01"}, {"grant_to", "2020-06-30"}, {"expires_on", "2020-12-31"},
        {"scope", {{"categories", nullptr}, {"over_ceiling_allowed", true}}}},
       "program");
  ASSERT_EQ(last_status, 201);
  std::vector<std::vector<MemberModel>> owned(clients);
  std::vector<MemberModel*> bupyeong;
  for (int c = 0; c < clients; ++c)
    for (int i = 0; i < per_client; ++i) {
      const auto id = "cm" + std::to_string(c) + "x" + std::to_string(i);
      const std::string district = i % 2 == 0 ? "bupyeong" : "yeonsu";
      call("POST", "/v1/members", {{"id", id}, {"district", district}});
      ASSERT_EQ(last_status, 201);
      call("POST", "/v1/cards", {{"token", "card-" + id}, {"member", id}});
      ASSERT_EQ(last_status, 201);
      MemberModel m;
      m.id = id;
      m.card = "card-" + id;
      m.district = district;
      owned[c].push_back(std::move(m));
    }
  for (auto& list : owned)
    for (auto& m : list)
      if (m.district == "bupyeong" && bupyeong.size() < 6) bupyeong.push_back(&m);
  // Grants land before the clients start: a member's program money then moves only by its own
  // payments and cancellations, which its thread sees.
  for (auto* m : bupyeong) grant_one(*m);
  for (auto* m : bupyeong) m->program = kGrant;

  const auto until = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) threads.emplace_back([&, c] { client(c, owned[c], until); });
  threads.emplace_back([&] { reviews(until); });
  threads.emplace_back([&] { batches(until); });
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::seconds(seconds) / (kills + 1));
    service->kill_and_restart();
  }
  for (auto& t : threads) t.join();
  // Flags raised at the very end are reviewed now, then every date is batched once more.
  reviews(Clock::now());
  for (const auto& date : kDates)
    for (const auto* district : {"bupyeong", "yeonsu"}) {
      call("POST", "/v1/batches/cashback", {{"district", district}, {"business_date", date}}, "last-" + std::string(district) + date);
      EXPECT_EQ(last_status, 200);
    }
  {
    std::lock_guard lock(problems_mutex);
    EXPECT_EQ(problems.load(), 0) << ::testing::PrintToString(problem_lines);
  }

  // What the answers imply. A payment earns at the end what its approval said, less what its
  // cancellations reversed; nothing once a review confirmed its flag. The batch has posted all
  // of it, from pools large enough, with the city component split 4:2 (floor for the national).
  std::map<std::string, i64> earned_by_member, owed_by_merchant;
  i64 national = 0, city_pool = 0, district_pool = 0, cancelled_payments = 0, confirmed = 0;
  for (const auto& [id, p] : payments) {
    const i64 c = p.forfeited ? 0 : p.city, d = p.forfeited ? 0 : p.district, mc = p.forfeited ? 0 : p.merchant_cashback;
    earned_by_member[p.member] += c + d + mc;
    owed_by_merchant[p.merchant] += p.remaining - mc;
    national += c * 4 / 6;
    city_pool += c - c * 4 / 6;
    district_pool += d;
    cancelled_payments += p.remaining < p.charged ? 1 : 0;
    confirmed += p.forfeited ? 1 : 0;
  }
  int checked = 0;
  for (const auto& list : owned)
    for (const auto& m : list) {
      const auto view = call("GET", "/v1/members/" + m.id);
      ASSERT_EQ(last_status, 200);
      EXPECT_EQ(view["cash"], m.cash) << m.id;
      EXPECT_EQ(view["points"], earned_by_member[m.id] - m.paid_points + m.refunded_points + m.debts) << m.id;
      EXPECT_EQ(view["pending_cashback"], 0) << m.id;
      i64 program = 0;
      for (const auto& w : view["programs"]) program += w["balance"].get<i64>();
      EXPECT_EQ(program, m.program) << m.id;
      ++checked;
    }
  // The demo's own members and payments are not in the test: the pools start undrawn, and the
  // merchants owe nothing but what the test paid.
  const auto pools = call("GET", "/v1/pools");
  std::map<std::string, i64> drawn;
  for (const auto& p : pools["pools"]) drawn[p["source"]] += p["drawn"].get<i64>();
  EXPECT_EQ(drawn["national"], national);
  EXPECT_EQ(drawn["city"], city_pool);
  EXPECT_EQ(drawn["district:bupyeong"], district_pool);
  EXPECT_EQ(drawn["program:relief"], static_cast<i64>(bupyeong.size()) * kGrant);
  for (const auto& merchant : kMerchants) {
    const auto view = call("GET", "/v1/merchants/" + merchant);
    EXPECT_EQ(view["payable"], owed_by_merchant[merchant]) << merchant;
  }
  const auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(v.exit_code, 0) << v.output;
  std::printf("concurrent: %zu payments approved, %lld cancelled, %lld confirmed by review, %d members checked\n",
              payments.size(), cancelled_payments, confirmed, checked);
  EXPECT_GT(payments.size(), 200u);
  EXPECT_GT(cancelled_payments, 50);
}

}  // namespace
}  // namespace evoucher::testing
