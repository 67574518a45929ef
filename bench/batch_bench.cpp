// Times the nightly cashback batch on one district's business date (1,000,000 payments over
// 200,000 members by default) against a plain COPY of what it writes (a posting row per payment
// and as many ledger entry rows) into the same partitions, on the same private PostgreSQL, in the
// same run.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pqxx/pqxx>
#include <string>

#include "bench_cluster.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/crypto.hpp"
#include "evoucher/api/policy_json.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/embedded_cluster.hpp"
#include "evoucher/store/migrations.hpp"

namespace {

using namespace evoucher;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

long long scalar(pqxx::connection& c, const std::string& sql) {
  pqxx::nontransaction n(c);
  return n.exec(sql)[0][0].as<long long>();
}

void seed(pqxx::connection& c, long long payments, long long members) {
  pqxx::nontransaction n(c);
  const std::string P = std::to_string(payments), M = std::to_string(members);
  n.exec("INSERT INTO districts (code, name, brand) VALUES ('city', '인천광역시', '인천e음'), ('bench', '벤치구', '벤치e음')");
  n.exec("INSERT INTO accounts (district, key, normal) VALUES ('bench', 'float', 1), ('bench', 'fee_support', 1)");
  n.exec(R"(INSERT INTO policies (scope, effective_from, rules) VALUES ('city', '2020-01-01T00:00:00+09:00',
    '{"brackets":[{"up_to":500000,"rate_bp":1000},{"up_to":1000000,"rate_bp":100}],"funding_split":{"national":4,"city":2}}'))");
  n.exec("INSERT INTO pools (source, period_start, period_end, budget) VALUES "
         "('national', '2020-01-01', '2020-12-31', 40000000000), ('city', '2020-01-01', '2020-12-31', 20000000000), "
         "('district:bench', '2020-01-01', '2020-12-31', 1000000000)");
  n.exec("INSERT INTO members (id, district) SELECT 'm' || g, 'bench' FROM generate_series(1, " + M + ") g");
  n.exec("INSERT INTO accounts (district, key, normal, min_balance) SELECT 'bench', 'member:m' || g || ':cash', -1, 0 "
         "FROM generate_series(1, " + M + ") g");
  n.exec("INSERT INTO accounts (district, key, normal) SELECT 'bench', 'member:m' || g || ':points', -1 "
         "FROM generate_series(1, " + M + ") g");
  n.exec("INSERT INTO merchants (id, business_no, name, district, category, annual_revenue) "
         "SELECT 'x' || g, 'b' || g, 'shop ' || g, 'bench', 'cafe', 100000000 FROM generate_series(1, 2000) g");
  n.exec("INSERT INTO accounts (district, key, normal) SELECT 'bench', 'merchant:x' || g || ':payable', -1 "
         "FROM generate_series(1, 2000) g");
  // The payments' own journals are not what is measured: one balanced journal stands for them,
  // and the merchants' payables are funded so that the merchant component can be drawn.
  n.exec("BEGIN");
  n.exec("INSERT INTO journals (district, id, kind, occurred_at) VALUES ('bench', 1, 'seed', now())");
  n.exec("INSERT INTO entries (district, journal_id, seq, account_id, amount) "
         "SELECT 'bench', 1, row_number() OVER (), a.id, CASE WHEN a.key = 'float' THEN 2000 * 1000000 ELSE -1000000 END "
         "FROM accounts a WHERE a.district = 'bench' AND (a.key = 'float' OR a.key LIKE 'merchant:%:payable')");
  n.exec("COMMIT");
  n.exec("INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district, "
         "merchant_category, merchant_revenue, benefit_kind, benefit_rate_bp, channel, price, discount, charged, "
         "paid_points, paid_cash, eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, "
         "fee_support, city_policy_id, occurred_at, business_date, journal_id) "
         "SELECT 'bench', g, 'ev' || g, 'card', 'm' || (g % " + M + " + 1), 'x' || (g % 2000 + 1), 'bench', 'cafe', "
         "100000000, CASE WHEN g % 4 = 0 THEN 'merchant_cashback' END, CASE WHEN g % 4 = 0 THEN 300 END, 'card', "
         "10000, 0, 10000, 0, 10000, 0, 10000, 1000, 200, CASE WHEN g % 4 = 0 THEN 300 ELSE 0 END, 0, "
         "(SELECT id FROM policies LIMIT 1), timestamptz '2020-03-02T00:00:00+09:00' + g * interval '80 ms', "
         "'2020-03-02', 1 FROM generate_series(1, " + P + ") g");
  n.exec("SELECT setval('operation_id_seq', " + P + ")");
  n.exec("SELECT setval('journal_id_seq', 1)");
  n.exec("VACUUM ANALYZE");
  n.exec("CHECKPOINT");  // each timed phase starts with no dirty pages of another
}

}  // namespace

int main(int argc, char** argv) {
  const long long payments = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const long long members = argc > 2 ? std::stoll(argv[2]) : 200'000;
  int status = 0;
  try {
    bench::BenchCluster cluster("bench");
    const auto& root = cluster.root();
    pqxx::connection raw(cluster.url());
    auto t = Clock::now();
    seed(raw, payments, members);
    std::printf("seeded %lld payments over %lld members in %.1f s\n", payments, members, seconds_since(t));

    if (std::getenv("BENCH_SEED_ONLY")) throw std::runtime_error("seeded only");
    store::Connection conn(cluster.url(), {600'000, 5});
    t = Clock::now();
    ops::PolicyCache policies(api::decode_stored_city_rules, api::decode_stored_district_rules);
    const auto run = ops::run_cashback_batch(conn, policies, "bench", "2020-03-02", 10'000, ops::render_batch_report,
                                             [](int) {});
    const double batch_s = seconds_since(t);
    const long long batch_entries = scalar(raw,
        "SELECT count(*) FROM entries e JOIN journals j ON j.district = e.district AND j.id = e.journal_id "
        "WHERE e.district = 'bench' AND j.kind = 'cashback'");
    std::printf("batch: %.2f s, %lld entries written; %s\n", batch_s, batch_entries, run.report.c_str());

    // The reference writes what the batch writes, with COPY, into the same partitions, committed
    // once: one posting row per payment (under another date, so that the keys are new), and as
    // many ledger entry rows, in balanced journals of 10,000 entries like the batch's chunks.
    const long long postings = scalar(raw, "SELECT count(*) FROM cashback_postings WHERE district = 'bench'");
    const std::string postings_file = root + "/postings.csv";
    {
      std::ofstream out(postings_file);
      for (long long i = 1; i <= postings; ++i)
        out << "bench,2020-03-03," << i << ",1,1,2,3,1000,0,200,0,0,0,0\n";
    }
    const long long rows = batch_entries - batch_entries % 2;
    const long long per_journal = 10'000;
    const long long points0 = scalar(raw, "SELECT min(id) FROM accounts WHERE key LIKE 'member:%:points'");
    const long long payable = scalar(raw, "SELECT min(id) FROM accounts WHERE key LIKE 'merchant:%:payable'");
    const std::string entries_file = root + "/entries.csv";
    {
      std::ofstream out(entries_file);
      for (long long i = 0; i < rows; ++i) {
        const long long journal = 1'000'000'000 + i / per_journal;
        const long long seq = i % per_journal + 1;
        if (i % 2 == 0) out << "bench," << journal << "," << seq << "," << payable << ",1\n";
        else out << "bench," << journal << "," << seq << "," << points0 + (i / 2) % members << ",-1\n";
      }
    }
    chmod(postings_file.c_str(), 0644);
    chmod(entries_file.c_str(), 0644);
    pqxx::nontransaction n(raw);
    n.exec("CHECKPOINT");
    n.exec("BEGIN");
    n.exec("INSERT INTO journals (district, id, kind, occurred_at) SELECT 'bench', 1000000000 + g, 'copy', now() "
           "FROM generate_series(0, " + std::to_string((rows - 1) / per_journal) + ") g");
    t = Clock::now();
    n.exec("COPY cashback_postings__bench__p (district, business_date, payment_id, run, national_pool_id, city_pool_id, "
           "district_pool_id, posted_national, posted_city, posted_district, posted_merchant, unfunded_national, "
           "unfunded_city, unfunded_district) FROM '" + postings_file + "' WITH (FORMAT csv)");
    const double postings_s = seconds_since(t);
    t = Clock::now();
    n.exec("COPY entries__bench__p (district, journal_id, seq, account_id, amount) FROM '" + entries_file +
           "' WITH (FORMAT csv)");
    n.exec("COMMIT");
    const double entries_s = seconds_since(t);
    const double copy_s = postings_s + entries_s;
    std::printf("copy: %.2f s for %lld postings and %lld entries (%.2f s for the postings, %.2f s for the entries)\n",
                copy_s, postings, rows, postings_s, entries_s);
    std::printf("RESULT payments=%lld members=%lld batch_s=%.2f copy_s=%.2f ratio=%.2f entries_only_ratio=%.2f\n",
                payments, members, batch_s, copy_s, batch_s / copy_s, batch_s / entries_s);
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    status = 1;
  }
  return status;
}
