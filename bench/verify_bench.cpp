// Times `evoucher verify` on a ledger made by the money path itself: members load, then pay
// (1,000,000 payments over 100,000 members and 2,000 merchants in two districts by default, over
// ten business dates), 10 % of the payments are cancelled (half of them after their date's batch,
// so that they claw back), and 1 % are flagged large and reviewed (half confirmed). Every command
// goes through the group writer, as the HTTP service would send it. The reference is one read of
// every table verify reads (count and sum over each district's partitions), in the same run.
#include <algorithm>
#include <atomic>
#include <map>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <string>

#include "bench_cluster.hpp"
#include "evoucher/api/policy_json.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/ops/group_writer.hpp"
#include "evoucher/store/districts.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/store/pools.hpp"
#include "evoucher/store/verify.hpp"
#include "evoucher/time.hpp"

namespace {

using namespace evoucher;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

const char* kDistricts[] = {"bupyeong", "yeonsu"};

// Commands in waves, each answered before the next is sent: the queue stays bounded.
class Sender {
 public:
  explicit Sender(ops::GroupWriter& writer) : writer_(writer) {}

  void send(ops::Command command, std::function<void(const ops::Result&)> seen = {}) {
    long long in_flight = 0;
    {
      std::lock_guard lock(mutex_);
      in_flight = ++pending_;
    }
    const bool queued = writer_.submit(std::move(command), [this, seen](ops::Result r) {
      if (r.trouble != ops::Trouble::none) failures_.fetch_add(1);
      if (seen) seen(r);
      std::lock_guard lock(mutex_);
      if (--pending_ == 0) idle_.notify_all();
    });
    if (!queued) throw std::runtime_error("the writer's queue is full");
    if (in_flight >= 20'000) wait();
  }

  void wait() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return pending_ == 0; });
  }

  long long failures() const { return failures_.load(); }

 private:
  ops::GroupWriter& writer_;
  std::mutex mutex_;
  std::condition_variable idle_;
  long long pending_ = 0;
  std::atomic<long long> failures_{0};
};

std::string date_of(int day) { return "2020-03-" + std::string(day < 10 ? "0" : "") + std::to_string(day); }

void seed(store::Connection& c, pqxx::connection& raw, long long members) {
  store::Tx tx(c);
  store::create_district(tx, {"city", "인천광역시", "인천e음"});
  store::create_district(tx, {"bupyeong", "부평구", "부평e음"});
  store::create_district(tx, {"yeonsu", "연수구", "연수e음"});
  const auto from = parse_rfc3339("2020-03-01T00:00:00+09:00").value();
  store::create_policy(tx, "city", from, R"({
    "brackets": [{"up_to": 500000, "rate_bp": 1000}, {"up_to": 1000000, "rate_bp": 100}],
    "revenue_ceiling": 3000000000, "revenue_tiers": [],
    "excluded_categories": {"voucher": [], "cashback": []}, "funding_split": {"national": 4, "city": 2},
    "monthly_load_limit": 1000000, "balance_cap": 2000000, "refund_min_used_pct": 60,
    "fraud": {"large_price": 50000, "repeat_per_day": 0, "burst_count": 0, "own_shop": false}})");
  store::create_policy(tx, "bupyeong", from, R"({"topup_bp": 200, "fee_support_bp": 50})");
  store::create_pool(tx, "national", "2020-01-01", "2020-12-31", Won(40'000'000'000));
  store::create_pool(tx, "city", "2020-01-01", "2020-12-31", Won(20'000'000'000));
  store::create_pool(tx, "district:bupyeong", "2020-01-01", "2020-12-31", Won(1'000'000'000));
  tx.commit();
  pqxx::nontransaction n(raw);
  const auto M = std::to_string(members);
  n.exec("INSERT INTO members (id, district) SELECT 'b' || g, CASE WHEN g % 2 = 0 THEN 'bupyeong' ELSE 'yeonsu' END "
         "FROM generate_series(1, " + M + ") g");
  n.exec("INSERT INTO cards (token, member_id) SELECT 'bc' || g, 'b' || g FROM generate_series(1, " + M + ") g");
  // Each member's cash (floored at zero) and points, as creating a member opens them.
  n.exec("INSERT INTO accounts (district, key, normal, min_balance) SELECT m.district, 'member:' || m.id || ':cash', -1, 0 "
         "FROM members m WHERE m.id LIKE 'b%'");
  n.exec("INSERT INTO accounts (district, key, normal) SELECT m.district, 'member:' || m.id || ':points', -1 "
         "FROM members m WHERE m.id LIKE 'b%'");
  n.exec("INSERT INTO merchants (id, business_no, name, district, category, annual_revenue, benefit_kind, "
         "benefit_rate_bp) SELECT 'x' || g, 'b' || g, 'shop ' || g, CASE WHEN g % 2 = 0 THEN 'bupyeong' ELSE 'yeonsu' END, "
         "'cafe', 100000000, CASE g % 4 WHEN 1 THEN 'pre_discount' WHEN 2 THEN 'merchant_cashback' END, "
         "CASE WHEN g % 4 IN (1, 2) THEN 300 END FROM generate_series(1, 2000) g");
}

// One read of each table verify reads, per district: what it costs to look at the data once.
double reference_scan(pqxx::connection& raw) {
  const auto t = Clock::now();
  pqxx::work w(raw);
  for (const auto* d : kDistricts) {
    const std::string q = std::string("'") + d + "'";
    for (const auto* table : {"journals", "entries", "accounts", "payments", "cancellations", "cashback_postings",
                              "loads", "refunds", "member_months", "flags", "grants", "idempotency_keys"})
      w.exec(std::string("SELECT count(*), sum(length(t::text)) FROM ") + table + " t WHERE district = " + q);
    w.exec("SELECT count(*), sum(length(t::text)) FROM processor_events t WHERE district = " + q);
  }
  w.commit();
  return seconds_since(t);
}

}  // namespace

int main(int argc, char** argv) {
  const long long payments = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const long long members = argc > 2 ? std::stoll(argv[2]) : 100'000;
  int status = 0;
  try {
    bench::BenchCluster cluster("verify-bench");
    const auto url = cluster.url();
    store::Connection c(url, {600'000, 5});
    pqxx::connection raw(url);
    seed(c, raw, members);

    ops::PolicyCache policies(api::decode_stored_city_rules, api::decode_stored_district_rules);
    ops::GroupWriter writer(url, {60'000, 5}, ops::GroupWriterOptions{2, 64, 1u << 20}, policies);
    Sender sender(writer);
    auto t = Clock::now();
    for (long long m = 1; m <= members; ++m) {
      ops::LoadCommand l;
      l.member = "b" + std::to_string(m);
      l.district = kDistricts[m % 2 == 0 ? 0 : 1];
      l.key = "load-" + l.member;
      l.amount = Won(1'000'000);
      l.bank_ref = "bank";
      l.occurred_at = parse_rfc3339("2020-03-01T09:00:00+09:00").value();
      l.request_hash = l.key;
      l.render = [](const ops::LoadOutcome& o) { return ops::Answer{o.done ? 201 : 422, ""}; };
      sender.send(std::move(l));
    }
    sender.wait();
    std::printf("loads: %lld in %.1f s\n", members, seconds_since(t));

    // Payments over ten business dates, in time order; 1 % large (flagged), the rest small.
    std::vector<std::string> ids(payments);
    const auto day_start = parse_rfc3339("2020-03-02T09:00:00+09:00").value();
    const long long per_day = (payments + 9) / 10;
    auto pay = [&](long long from, long long to) {
      for (long long i = from; i < to; ++i) {
        ops::PaymentCommand p;
        p.event_id = "e" + std::to_string(i);
        p.card = "bc" + std::to_string(i % members + 1);
        p.merchant = "x" + std::to_string(i * 31 % 2000 + 1);
        p.price = Won(i % 100 == 50 ? 50'000 : 5'000 + i * 7919 % 10'000);
        p.occurred_at = day_start + std::chrono::days(i / per_day) +
                        std::chrono::milliseconds((i % per_day) * 36'000'000 / per_day);
        p.channel = "card";
        p.request_hash = p.event_id;
        p.render = [&ids, i](const ops::PaymentOutcome& o) {
          if (o.approved) ids[i] = o.approved->payment_id;
          return ops::Answer{200, ""};
        };
        sender.send(std::move(p));
      }
      sender.wait();
    };
    // Cancels 1,000 or 2,000 won of every tenth payment of [from, to).
    auto cancel = [&](long long from, long long to) {
      for (long long i = from; i < to; ++i) {
        if (i % 10 != 3 || ids[i].empty()) continue;
        const auto dash = ids[i].rfind('-');
        ops::CancellationCommand x;
        x.event_id = "c" + std::to_string(i);
        x.payment_ref = ids[i];
        x.payment = ops::OperationRef{ids[i].substr(4, dash - 4), std::stoll(ids[i].substr(dash + 1))};
        x.amount = Won(i % 20 == 3 ? 1'000 : 2'000);
        x.occurred_at = day_start + std::chrono::days(i / per_day) + std::chrono::hours(11);
        x.request_hash = x.event_id;
        x.render = [](const ops::CancellationOutcome&) { return ops::Answer{200, ""}; };
        sender.send(std::move(x));
      }
      sender.wait();
    };
    t = Clock::now();
    pay(0, payments);
    std::printf("payments: %lld in %.1f s\n", payments, seconds_since(t));
    // The first half of the dates is batched before its cancellations (which then claw back), the
    // second half after.
    t = Clock::now();
    auto batch_days = [&](int first, int last) {
      for (int day = first; day <= last; ++day)
        for (const auto* d : kDistricts)
          ops::run_cashback_batch(c, policies, d, date_of(day), 10'000, ops::render_batch_report, [](int) {});
    };
    batch_days(2, 6);
    cancel(0, payments);
    batch_days(7, 11);
    std::printf("cancellations and batches in %.1f s\n", seconds_since(t));

    t = Clock::now();
    long long reviewed = 0;
    {
      pqxx::nontransaction n(raw);
      for (const auto& r : n.exec("SELECT district, id, payment_id FROM flags WHERE rule = 'large' ORDER BY id")) {
        ops::FlagReviewCommand f;
        f.district = r[0].as<std::string>();
        f.flag_id = r[1].as<std::int64_t>();
        f.flag_ref = "flag-" + f.district + "-" + std::to_string(f.flag_id);
        f.payment_id = r[2].as<std::int64_t>();
        f.outcome = reviewed % 2 == 0 ? engine::FlagStatus::confirmed : engine::FlagStatus::cleared;
        f.note = "bench";
        f.reviewer = "bench";
        f.render = [](const ops::FlagReviewOutcome&) { return ops::Answer{200, ""}; };
        sender.send(std::move(f));
        ++reviewed;
      }
      sender.wait();
    }
    writer.stop();
    std::printf("reviews: %lld in %.1f s; %lld commands failed\n", reviewed, seconds_since(t), sender.failures());
    {
      pqxx::nontransaction n(raw);
      const auto count = [&](const std::string& sql) { return n.exec(sql)[0][0].as<long long>(); };
      std::printf("ledger: %lld payments, %lld cancellations (%lld clawing back), %lld reviews, %lld entries\n",
                  count("SELECT count(*) FROM payments"), count("SELECT count(*) FROM cancellations"),
                  count("SELECT count(*) FROM cancellations WHERE clawed_back > 0"),
                  count("SELECT count(*) FROM flags WHERE status <> 'open'"), count("SELECT count(*) FROM entries"));
      n.exec("CHECKPOINT");
    }

    const double scan_s = reference_scan(raw);
    store::Connection verifier(url, {0, 5});
    t = Clock::now();
    const auto results = store::verify_ledger(verifier, std::nullopt);
    const double verify_s = seconds_since(t);
    int failed = 0;
    for (const auto& r : results)
      if (!r.ok) {
        ++failed;
        std::printf("FAIL %s: %s: %s\n", r.district.c_str(), r.name.c_str(),
                    r.failures.empty() ? "" : r.failures.front().c_str());
      }
    // The slowest checks, summed over the districts.
    std::map<std::string, double> by_check;
    for (const auto& r : results) by_check[r.name] += r.seconds;
    std::vector<std::pair<double, std::string>> slowest;
    for (const auto& [name, seconds] : by_check) slowest.emplace_back(seconds, name);
    std::sort(slowest.rbegin(), slowest.rend());
    for (std::size_t i = 0; i < slowest.size() && i < 6; ++i)
      std::printf("  %5.1f s  %s\n", slowest[i].first, slowest[i].second.c_str());
    const double scan_again_s = reference_scan(raw);
    const double reference_s = (scan_s + scan_again_s) / 2;
    std::printf("verify: %zu checks, %d failed, %.1f s; reference scan %.2f s and %.2f s\n", results.size(), failed,
                verify_s, scan_s, scan_again_s);
    std::printf("RESULT payments=%lld verify_s=%.1f reference_s=%.2f ratio=%.1f\n", payments, verify_s, reference_s,
                verify_s / reference_s);
    if (failed > 0 || sender.failures() > 0) status = 1;
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    status = 1;
  }
  return status;
}
