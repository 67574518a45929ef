// Pools and settlements through the nightly batch: a pool running dry mid-batch, two districts'
// batches drawing one pool at once, keyed pools and top-ups, and settling a payable.
#include <thread>

#include "api/batch_fixture.hpp"

namespace evoucher::testing {
namespace {

// A city pool of 700 won runs out at the third payment; the district component still pays.
TEST_F(Batch, PoolRunsOutMidBatch) {
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":3000})"), kAdminToken, "np-2021").status, 201);
  auto city_pool = admin("POST", "/v1/pools", json::parse(R"({"source":"city","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":700})"), kAdminToken, "cp-2021");
  ASSERT_EQ(city_pool.status, 201);
  EXPECT_EQ(city_pool.body, json::parse(R"({"id":5,"source":"city","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":700,"drawn":0,"remaining":700})"));
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"district:bupyeong","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":10000})"), kAdminToken, "bp-2021").status, 201);
  ASSERT_EQ(load("m1", 100'000, "pool-load", "2021-01-04T09:00:00+09:00").status, 201);
  // Each: price 10,000, charged 9,500, city 950 = national 633 + city 317, district 190.
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(pay("pool-" + std::to_string(i), "c1", "bp-bakery", 10'000,
                  "2021-01-04T1" + std::to_string(i) + ":00:00+09:00")
                  .body["cashback"],
              json::parse(R"({"city":950,"district":190,"merchant":0})"));
  auto r = batch("2021-01-04", "bupyeong", {{"EVOUCHER_BATCH_CHUNK_SIZE", "3"}});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output),
            one_run("bupyeong", "2021-01-04", json::parse(R"({"city":{"count":4,"posted":3232,"unfunded":568},
    "district":{"count":4,"posted":760,"unfunded":0},"merchant":{"count":0,"posted":0,"unfunded":0}})"),
                    json::parse(R"([{"source":"national","remaining":468},{"source":"city","remaining":0},
             {"source":"district:bupyeong","remaining":9240}])")));
  // Exactly the payments in time order: the third is paid in part, the fourth not at all.
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  const auto rows = n.exec("SELECT k.posted_city, k.unfunded_city, k.posted_national, k.posted_district "
                           "FROM payments p JOIN cashback_postings k ON k.district = p.district AND "
                           "k.business_date = p.business_date AND k.payment_id = p.id "
                           "WHERE p.business_date = '2021-01-04' ORDER BY p.occurred_at");
  ASSERT_EQ(rows.size(), 4u);
  const long long expected[4][4] = {{317, 0, 633, 190}, {317, 0, 633, 190}, {66, 251, 633, 190}, {0, 317, 633, 190}};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(rows[i][j].as<long long>(), expected[i][j]) << "payment " << i << " col " << j;
  EXPECT_EQ(admin("GET", "/v1/members/m1").body["points"], 4 * 633 + 700 + 4 * 190);
  auto pools = admin("GET", "/v1/pools").body["pools"];
  // The 2021 pools: national drew 4 x 633 of 3,000, the district 4 x 190 of 10,000.
  EXPECT_EQ(pools[3]["drawn"], 2'532);
  EXPECT_EQ(pools[3]["remaining"], 468);
  EXPECT_EQ(pools[5]["drawn"], 760);
  EXPECT_EQ(pools[5]["remaining"], 9'240);
  EXPECT_EQ(scalar("SELECT drawn FROM pools WHERE id = 4"), 2'532);
  EXPECT_EQ(pools[4], json::parse(R"({"id":5,"source":"city","period_start":"2021-01-01","period_end":"2021-12-31",
    "budget":700,"drawn":700,"remaining":0})"));
  auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2021-01-04&to=2021-01-04");
  EXPECT_EQ(summary.body["cashback"], json::parse(R"({"pending":0,"posted":{"city":3232,"district":760,"merchant":0},
    "unfunded":568,"clawed_back":0})"));
  expect_verified();
}

// Two districts' batches draw one small national pool at the same time, a chunk of one payment
// at a time. The pool is drawn to its budget and no further; what it could not fund is unfunded.
TEST_F(Batch, ParallelBatchesNeverOverdrawASharedPool) {
  ASSERT_EQ(admin("POST", "/v1/pools", json::parse(R"({"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":5000})"), kAdminToken, "small").status, 201);
  ASSERT_EQ(load("m1", 500'000, "race-1", "2021-01-04T08:00:00+09:00").status, 201);
  ASSERT_EQ(load("m3", 500'000, "race-3", "2021-01-04T08:00:00+09:00").status, 201);
  // Each: city 1,000 at the cafe (no benefit): national 666, city 334 (no city pool in 2021).
  for (int i = 0; i < 20; ++i) {
    const auto at = "2021-01-04T10:" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ":00+09:00";
    for (const char* card : {"c1", "c3"})
      ASSERT_EQ(pay(std::string("race-") + card + "-" + std::to_string(i), card, "bp-cafe", 10'000, at)
                    .body["cashback"]["city"],
                1'000);
  }
  const std::map<std::string, std::string> one_by_one{{"EVOUCHER_BATCH_CHUNK_SIZE", "1"}};
  CommandResult bupyeong, yeonsu;
  std::thread a([&] { bupyeong = batch("2021-01-04", "bupyeong", one_by_one); });
  std::thread b([&] { yeonsu = batch("2021-01-04", "yeonsu", one_by_one); });
  a.join();
  b.join();
  ASSERT_EQ(bupyeong.exit_code, 0) << bupyeong.output;
  ASSERT_EQ(yeonsu.exit_code, 0) << yeonsu.output;
  EXPECT_EQ(scalar("SELECT sum(balance) FROM accounts WHERE key = 'pool:4:drawn'"), 5'000);
  EXPECT_EQ(scalar("SELECT sum(posted_national) FROM cashback_postings WHERE business_date = '2021-01-04'"), 5'000);
  EXPECT_EQ(scalar("SELECT sum(unfunded_national) FROM cashback_postings WHERE business_date = '2021-01-04'"),
            40 * 666 - 5'000);
  const auto reported = json::parse(bupyeong.output)["components"]["city"]["unfunded"].get<long long>() +
                        json::parse(yeonsu.output)["components"]["city"]["unfunded"].get<long long>();
  EXPECT_EQ(reported, 40 * 1'000 - 5'000);  // the city shares are all unfunded: no city pool covers 2021
  EXPECT_EQ(admin("GET", "/v1/pools").body["pools"][3]["drawn"], 5'000);
  EXPECT_EQ(scalar("SELECT drawn FROM pools WHERE id = 4"), 5'000);
  expect_verified();
}

TEST_F(Batch, PoolsAreKeyedNeverOverlapAndGrowByTopUps) {
  const json pool{{"source", "national"}, {"period_start", "2021-01-01"}, {"period_end", "2021-12-31"},
                  {"budget", 1'000}};
  auto keyless = admin("POST", "/v1/pools", pool);
  EXPECT_EQ(keyless.status, 400);
  EXPECT_EQ(keyless.body["detail"], "the Idempotency-Key header is required for this call");
  auto created = admin("POST", "/v1/pools", pool, kAdminToken, "p-2021");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body, json::parse(R"({"id":4,"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":1000,"drawn":0,"remaining":1000})"));
  EXPECT_EQ(admin("POST", "/v1/pools", pool, kAdminToken, "p-2021").body, created.body);
  json overlapping = pool;
  overlapping["period_start"] = "2021-12-31";
  overlapping["period_end"] = "2022-06-30";
  auto clash = admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022");
  EXPECT_EQ(clash.status, 409);
  EXPECT_EQ(clash.body["code"], "already_exists");
  EXPECT_EQ(clash.body["detail"], "pool 4 of national already covers 2021-01-01 to 2021-12-31, which overlaps "
                                  "2021-12-31 to 2022-06-30");
  EXPECT_EQ(admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022").body, clash.body);
  overlapping["period_start"] = "2022-01-01";
  EXPECT_EQ(admin("POST", "/v1/pools", overlapping, kAdminToken, "p-2022b").status, 201);
  EXPECT_EQ(scalar("SELECT count(*) FROM pools"), 3 + 2);

  auto top_up = admin("POST", "/v1/pools/4/top-ups", {{"amount", 500}}, kAdminToken, "t-1");
  ASSERT_EQ(top_up.status, 201) << top_up.body;
  EXPECT_EQ(top_up.body, json::parse(R"({"id":4,"source":"national","period_start":"2021-01-01",
    "period_end":"2021-12-31","budget":1500,"drawn":0,"remaining":1500})"));
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 500}}, kAdminToken, "t-1").body, top_up.body);
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 600}}, kAdminToken, "t-1").status, 409);
  EXPECT_EQ(scalar("SELECT budget FROM pools WHERE id = 4"), 1'500);
  EXPECT_EQ(scalar("SELECT count(*) FROM pool_top_ups"), 1);
  const auto bupyeong = token("district_admin", "bupyeong");
  EXPECT_EQ(admin("POST", "/v1/pools/4/top-ups", {{"amount", 1}}, bupyeong, "t-2").status, 403);
  EXPECT_EQ(admin("POST", "/v1/pools/3/top-ups", {{"amount", 1}}, bupyeong, "t-3").status, 201);
  EXPECT_EQ(admin("POST", "/v1/pools/3/top-ups", {{"amount", 1}}, token("district_admin", "yeonsu"), "t-4").status,
            404);
  EXPECT_EQ(admin("POST", "/v1/pools/99/top-ups", {{"amount", 1}}, kAdminToken, "t-5").status, 404);
  EXPECT_EQ(scalar("SELECT budget FROM pools WHERE id = 3"), 1'000'000'001);
}

TEST_F(Batch, SettlementPaysThePayableAcrossDistricts) {
  // ys-books is paid by a Bupyeong card and a Yeonsu card on one date.
  ASSERT_EQ(load("m1", 500'000, "st-1").status, 201);
  ASSERT_EQ(load("m3", 500'000, "st-2").status, 201);
  ASSERT_EQ(pay("st-p1", "c1", "ys-books", 100'000, "2020-03-02T10:00:00+09:00").status, 200);
  ASSERT_EQ(pay("st-p2", "c3", "ys-books", 50'000, "2020-03-02T11:00:00+09:00").status, 200);
  ASSERT_EQ(pay("st-p3", "c1", "bp-bakery", 20'000, "2020-03-02T12:00:00+09:00").status, 200);
  ASSERT_EQ(batch("2020-03-02", "bupyeong").exit_code, 0);
  ASSERT_EQ(batch("2020-03-02", "yeonsu").exit_code, 0);
  // Net of merchant cashback (3 %): 97,000 + 48,500.
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 145'500);
  const auto entries = scalar("SELECT count(*) FROM entries");
  auto wrong = processor("/v1/processor/settlements",
                         {{"event_id", "stl-1"}, {"merchant", "ys-books"}, {"business_date", "2020-03-02"}, {"amount", 145'000}});
  EXPECT_EQ(wrong.status, 422);
  EXPECT_EQ(wrong.body["code"], "settlement_mismatch");
  EXPECT_EQ(wrong.body["detail"], "expected 145500 won for merchant ys-books on 2020-03-02 (payable 145500 net of "
                                  "merchant cashback, plus fee support 0, less what earlier settlements paid), got "
                                  "145000: a difference of -500");
  EXPECT_EQ(scalar("SELECT count(*) FROM entries"), entries);
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 145'500);
  auto ok = processor("/v1/processor/settlements",
                      {{"event_id", "stl-2"}, {"merchant", "ys-books"}, {"business_date", "2020-03-02"}, {"amount", 145'500}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body["amount"], 145'500);
  EXPECT_EQ(admin("GET", "/v1/merchants/ys-books").body["payable"], 0);
  EXPECT_EQ(scalar("SELECT count(*) FROM settlements"), 2);  // one portion per issuing district
  // The bakery gets its fee support on top: 19,000 charged, 95 fee support from Bupyeong.
  auto bakery = processor("/v1/processor/settlements",
                          {{"event_id", "stl-3"}, {"merchant", "bp-bakery"}, {"business_date", "2020-03-02"}, {"amount", 19'095}});
  ASSERT_EQ(bakery.status, 200) << bakery.body;
  EXPECT_EQ(admin("GET", "/v1/merchants/bp-bakery").body["payable"], 0);
  auto again = processor("/v1/processor/settlements",
                         {{"event_id", "stl-4"}, {"merchant", "bp-bakery"}, {"business_date", "2020-03-02"}, {"amount", 19'095}});
  EXPECT_EQ(again.body["code"], "settlement_mismatch");
  EXPECT_EQ(again.body["detail"], "expected 0 won for merchant bp-bakery on 2020-03-02 (payable 0 net of merchant "
                                  "cashback, plus fee support 0, less what earlier settlements paid), got 19095: a "
                                  "difference of 19095");
  // The refusal is final under its event_id: the same call answers it again; a corrected amount
  // under the same event_id is another request.
  auto wrong_again = processor("/v1/processor/settlements", {{"event_id", "stl-1"}, {"merchant", "ys-books"},
                                                             {"business_date", "2020-03-02"}, {"amount", 145'000}});
  EXPECT_EQ(wrong_again.status, 422);
  EXPECT_EQ(wrong_again.body, wrong.body);
  auto corrected = processor("/v1/processor/settlements", {{"event_id", "stl-1"}, {"merchant", "ys-books"},
                                                           {"business_date", "2020-03-02"}, {"amount", 145'500}});
  EXPECT_EQ(corrected.status, 409);
  EXPECT_EQ(corrected.body["code"], "idempotency_key_reused");
  EXPECT_EQ(scalar("SELECT count(*) FROM processor_events WHERE endpoint = 'settlement' AND decision = 'refused'"), 2);
  auto tb = admin("GET", "/v1/ledger/trial-balance?district=bupyeong");
  EXPECT_EQ(tb.body["balanced"], true);
  EXPECT_EQ(tb.body["debits"], tb.body["credits"]);
  // A report may read on a standby, and says where it read: on a single node, the primary, and
  // nothing behind it. What an admin reads to act on (a member's balance) says nothing.
  EXPECT_EQ(tb.headers["x-evoucher-read-from"], "primary");
  EXPECT_EQ(tb.headers["x-evoucher-stale-seconds"], "0.000");
  const auto member = admin("GET", "/v1/members/m1");
  EXPECT_EQ(member.status, 200);
  EXPECT_EQ(member.headers.count("x-evoucher-read-from"), 0u);
  auto summary = admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-02&to=2020-03-02");
  EXPECT_EQ(summary.body["settled"], 97'000 + 19'095);
  EXPECT_EQ(summary.body["fee_support"], 95);
  // The summary reconciles with the ledger's entries.
  EXPECT_EQ(summary.body["loaded"], scalar("SELECT sum(e.amount) FROM entries e JOIN journals j ON j.district = "
                                           "e.district AND j.id = e.journal_id JOIN accounts a ON a.district = "
                                           "e.district AND a.id = e.account_id WHERE e.district = 'bupyeong' AND "
                                           "j.kind = 'load' AND a.key = 'float'"));
  EXPECT_EQ(summary.body["payments"]["charged"],
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'payment' AND a.key LIKE 'merchant:%:payable'"));
  EXPECT_EQ(summary.body["settled"],
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'settlement' AND a.key = 'float'"));
  const auto posted = summary.body["cashback"]["posted"];
  EXPECT_EQ(posted["city"].get<long long>() + posted["district"].get<long long>() + posted["merchant"].get<long long>(),
            scalar("SELECT -sum(e.amount) FROM entries e JOIN journals j ON j.district = e.district AND j.id = "
                   "e.journal_id JOIN accounts a ON a.district = e.district AND a.id = e.account_id WHERE "
                   "e.district = 'bupyeong' AND j.kind = 'cashback' AND a.key LIKE 'member:%:points'"));
  EXPECT_EQ(summary.body["outstanding"]["payable"], 0);
  expect_verified();
}

}  // namespace
}  // namespace evoucher::testing
