// Report lists and CSV exports end to end: a business date's payments, its settlement list per
// merchant, a program's grants, flags and the district summary, each in JSON and as CSV (UTF-8
// with a BOM, RFC 4180, streamed in chunks), and the 4xx answers for bad input.
#include "api/api_fixture.hpp"
#include "evoucher/api/csv.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

namespace evoucher::testing {
namespace {

const std::string kBom = "\xEF\xBB\xBF";

TEST(Csv, QuotesWhatRfc4180QuotesAndDefusesFormulas) {
  std::string out;
  api::CsvRow row(out);
  row.text("plain").text("a,b").text("say \"hi\"").text("two\nlines").text("=SUM(A1)").text("-3").number(-3).text("").boolean(true);
  row.end();
  EXPECT_EQ(out, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"'=SUM(A1)\",\"'-3\",-3,,true\r\n");
  std::string header;
  api::append_csv_header(header, {"id", "부평 베이커리"});
  EXPECT_EQ(header, "id,부평 베이커리\r\n");
}

class Exports : public ApiTest {
 protected:
  HttpResult get(const std::string& target, const std::map<std::string, std::string>& extra = {},
                 const std::string& tok = kAdminToken) {
    auto headers = extra;
    headers["Authorization"] = "Bearer " + tok;
    return http_get(server->port(), target, headers);
  }

  // A CSV answer's body, after checking its media type, BOM and that it arrived whole.
  std::string csv(const std::string& target, const std::map<std::string, std::string>& extra = {}) {
    const auto r = get(target, extra);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "text/csv; charset=utf-8");
    EXPECT_TRUE(r.complete);
    EXPECT_EQ(r.body.substr(0, 3), kBom);
    return r.body.size() >= 3 ? r.body.substr(3) : "";
  }

  // Three payments on 2020-03-02: two by c1 (Bupyeong), one by c3 (Yeonsu).
  void pay_three() {
    ASSERT_EQ(load("m1", 500'000, "x-1").status, 201);
    ASSERT_EQ(load("m3", 500'000, "x-2").status, 201);
    ASSERT_EQ(pay("x-p1", "c1", "ys-books", 100'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
    ASSERT_EQ(pay("x-p2", "c3", "ys-books", 50'000, "2020-03-02T11:00:00+09:00").body["decision"], "approved");
    ASSERT_EQ(pay("x-p3", "c1", "bp-bakery", 20'000, "2020-03-02T12:00:00+09:00").body["decision"], "approved");
  }
};

TEST_F(Exports, ADatesPaymentsPageInJsonAndExportAsCsv) {
  pay_three();
  auto first = admin("GET", "/v1/payments?district=bupyeong&business_date=2020-03-02&limit=1");
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.body["payments"].size(), 1u);
  const auto& p = first.body["payments"][0];
  EXPECT_EQ(p["event_id"], "x-p1");
  EXPECT_EQ(p["at"], "2020-03-02T01:00:00Z");
  EXPECT_EQ(p["merchant"], "ys-books");
  EXPECT_EQ(p["merchant_district"], "yeonsu");
  EXPECT_EQ(p["price"], 100'000);
  EXPECT_EQ(p["charged"], 100'000);
  EXPECT_EQ(p["cashback"]["merchant"], 3'000);
  EXPECT_EQ(p["cashback_status"], "pending");
  ASSERT_TRUE(first.body["next"].is_string());
  auto second = admin("GET", "/v1/payments?district=bupyeong&business_date=2020-03-02&limit=1&after=" +
                                 first.body["next"].get<std::string>());
  ASSERT_EQ(second.body["payments"].size(), 1u);
  EXPECT_EQ(second.body["payments"][0]["event_id"], "x-p3");
  EXPECT_EQ(second.body["payments"][0]["discount"], 1'000);
  EXPECT_EQ(second.body["payments"][0]["fee_support"], 95);
  EXPECT_TRUE(second.body["next"].is_null());

  const auto id1 = p["payment_id"].get<std::string>();
  const auto id3 = second.body["payments"][0]["payment_id"].get<std::string>();
  const auto paid1 = p["paid"], paid3 = second.body["payments"][0]["paid"];
  const auto cb1 = p["cashback"], cb3 = second.body["payments"][0]["cashback"];
  auto line = [](const std::string& id, const std::string& event, const std::string& at, const std::string& merchant,
                 const std::string& md, long long price, long long discount, const json& paid, const json& cb,
                 long long fee) {
    return id + "," + event + "," + at + ",m1," + merchant + "," + md + ",card," + std::to_string(price) + "," +
           std::to_string(discount) + "," + std::to_string(price - discount) + ",0," +
           std::to_string(paid["points"].get<long long>()) + "," + std::to_string(paid["cash"].get<long long>()) + "," +
           std::to_string(cb["city"].get<long long>()) + "," + std::to_string(cb["district"].get<long long>()) + "," +
           std::to_string(cb["merchant"].get<long long>()) + ",pending," + std::to_string(fee) + ",0\r\n";
  };
  const std::string expected =
      "payment_id,event_id,at_seoul,member,merchant,merchant_district,channel,price,discount,charged,paid_program,"
      "paid_points,paid_cash,cashback_city,cashback_district,cashback_merchant,cashback_status,fee_support,cancelled\r\n" +
      line(id1, "x-p1", "2020-03-02 10:00:00", "ys-books", "yeonsu", 100'000, 0, paid1, cb1, 0) +
      line(id3, "x-p3", "2020-03-02 12:00:00", "bp-bakery", "bupyeong", 20'000, 1'000, paid3, cb3, 95);
  EXPECT_EQ(csv("/v1/payments?district=bupyeong&business_date=2020-03-02&format=csv"), expected);
  // Accept: text/csv asks for the same file; `limit` pages JSON only.
  EXPECT_EQ(csv("/v1/payments?district=bupyeong&business_date=2020-03-02&limit=1", {{"Accept", "text/csv"}}), expected);
  EXPECT_EQ(csv("/v1/payments?district=bupyeong&business_date=2020-03-03&format=csv"),
            expected.substr(0, expected.find("\r\n") + 2));
}

TEST_F(Exports, AnExportLongerThanAPageAndAChunkArrivesWhole) {
  ASSERT_EQ(load("m1", 1'000'000, "big-1").status, 201);
  const int n = 1'205;
  for (int i = 0; i < n; ++i) {
    char at[40];
    std::snprintf(at, sizeof at, "2020-03-02T%02d:%02d:%02d+09:00", 8 + i / 3600, (i / 60) % 60, i % 60);
    ASSERT_EQ(pay("big-p" + std::to_string(i), "c1", "bp-cafe", 100, at).body["decision"], "approved") << i;
  }
  const auto body = csv("/v1/payments?district=bupyeong&business_date=2020-03-02&format=csv");
  std::size_t lines = 0;
  for (std::size_t at = body.find("\r\n"); at != std::string::npos; at = body.find("\r\n", at + 2)) ++lines;
  EXPECT_EQ(lines, static_cast<std::size_t>(n) + 1);
  EXPECT_GT(body.size(), 64u * 1024u);
  // In time order, from the day's first payment to its last.
  const auto second_line = body.find("\r\n") + 2;
  const auto last_line = body.rfind("\r\n", body.size() - 3) + 2;
  EXPECT_NE(body.substr(second_line, body.find("\r\n", second_line) - second_line).find(",big-p0,2020-03-02 08:00:00,"),
            std::string::npos);
  EXPECT_NE(body.substr(last_line).find(",big-p1204,2020-03-02 08:20:04,"), std::string::npos);
}

TEST_F(Exports, TheSettlementListShowsWhatEachMerchantIsOwedAndWasPaid) {
  pay_three();
  ASSERT_EQ(run_evoucher({"batch", "cashback", "--date", "2020-03-02", "--district", "bupyeong"},
                         {{"EVOUCHER_DATABASE_URL", url}})
                .exit_code,
            0);
  auto settled = processor("/v1/processor/settlements", {{"event_id", "x-s1"}, {"merchant", "bp-bakery"},
                                                         {"business_date", "2020-03-02"}, {"amount", 19'095}});
  ASSERT_EQ(settled.status, 200) << settled.body;
  const auto list = admin("GET", "/v1/settlements?district=bupyeong&business_date=2020-03-02");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body["merchants"],
            json::parse(R"([{"merchant":"bp-bakery","name":"부평 베이커리","payments":1,"charged":19000,"cancelled":0,
              "merchant_cashback":0,"payable":19000,"fee_support":95,"settled":19095,"outstanding":0},
             {"merchant":"ys-books","name":"연수 서점","payments":1,"charged":100000,"cancelled":0,
              "merchant_cashback":3000,"payable":97000,"fee_support":0,"settled":0,"outstanding":97000}])"));
  EXPECT_TRUE(list.body["next"].is_null());
  const auto paged = admin("GET", "/v1/settlements?district=bupyeong&business_date=2020-03-02&limit=1&after=bp-bakery");
  ASSERT_EQ(paged.body["merchants"].size(), 1u);
  EXPECT_EQ(paged.body["merchants"][0]["merchant"], "ys-books");
  EXPECT_EQ(csv("/v1/settlements?district=bupyeong&business_date=2020-03-02&format=csv"),
            "merchant,name,payments,charged,cancelled,merchant_cashback,payable,fee_support,settled,outstanding\r\n"
            "bp-bakery,부평 베이커리,1,19000,0,0,19000,95,19095,0\r\n"
            "ys-books,연수 서점,1,100000,0,3000,97000,0,0,97000\r\n");
}

TEST_F(Exports, MerchantNamesAreQuotedAndFormulasDefused) {
  ASSERT_EQ(admin("POST", "/v1/merchants",
                  {{"id", "bp-odd"}, {"business_no", "122-81-00099"}, {"name", "=HYPERLINK(\"x\"), \"Kim's\""},
                   {"district", "bupyeong"}, {"category", "cafe"}, {"annual_revenue", 10'000'000}, {"benefit", nullptr}})
                .status,
            201);
  ASSERT_EQ(load("m1", 100'000, "odd-1").status, 201);
  ASSERT_EQ(pay("odd-p1", "c1", "bp-odd", 5'000, "2020-03-02T10:00:00+09:00").body["decision"], "approved");
  EXPECT_EQ(csv("/v1/settlements?district=bupyeong&business_date=2020-03-02&format=csv"),
            "merchant,name,payments,charged,cancelled,merchant_cashback,payable,fee_support,settled,outstanding\r\n"
            "bp-odd,\"'=HYPERLINK(\"\"x\"\"), \"\"Kim's\"\"\",1,5000,0,0,5000,0,0,5000\r\n");
}

TEST_F(Exports, AProgramsGrantsListAndExport) {
  {
    store::Connection c(url);
    ASSERT_TRUE(store::seed_demo_relief(c));
  }
  const auto list = admin("GET", "/v1/programs/relief-2020/grants?limit=1");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body["grants"], json::parse(R"([{"district":"bupyeong","member":"m1","amount":100000,
                                                  "at":"2020-05-11T00:00:00Z"}])"));
  ASSERT_TRUE(list.body["next"].is_string());
  const auto rest = admin("GET", "/v1/programs/relief-2020/grants?after=" + list.body["next"].get<std::string>());
  EXPECT_EQ(rest.body["grants"], json::parse(R"([{"district":"bupyeong","member":"m2","amount":100000,
                                                  "at":"2020-05-11T00:00:00Z"}])"));
  EXPECT_TRUE(rest.body["next"].is_null());
  EXPECT_EQ(csv("/v1/programs/relief-2020/grants", {{"Accept", "text/csv"}}),
            "district,member,amount,granted_at_seoul\r\n"
            "bupyeong,m1,100000,2020-05-11 09:00:00\r\n"
            "bupyeong,m2,100000,2020-05-11 09:00:00\r\n");
  const auto yeonsu = token("district_admin", "yeonsu", "yeonsu-office");
  EXPECT_EQ(get("/v1/programs/relief-2020/grants", {}, yeonsu).status, 404);
}

TEST_F(Exports, FlagsAndTheSummaryExportAsCsv) {
  ASSERT_EQ(load("m1", 1'000'000, "f-1").status, 201);
  const auto large = pay("f-p1", "c1", "bp-cafe", 1'000'000, "2020-03-02T10:00:00+09:00");
  ASSERT_EQ(large.body["decision"], "approved");
  const auto flags = admin("GET", "/v1/flags?from=2020-03-01&to=2020-03-31");
  ASSERT_EQ(flags.body["flags"].size(), 1u);
  const auto& f = flags.body["flags"][0];
  const auto body = csv("/v1/flags?from=2020-03-01&to=2020-03-31&format=csv");
  const auto header_end = body.find("\r\n") + 2;
  EXPECT_EQ(body.substr(0, header_end),
            "id,rule,status,payment_id,district,member,merchant,card,at_seoul,business_date,month,detail,raised_at_seoul,"
            "reviewed_at_seoul,reviewed_by,review_note,merchant_suspended,cashback_forfeited,clawed_back\r\n");
  const auto row = body.substr(header_end);
  const std::string start = f["id"].get<std::string>() + ",large,open," +
                            large.body["payment_id"].get<std::string>() +
                            ",bupyeong,m1,bp-cafe,c1,2020-03-02 10:00:00,2020-03-02,,price 1000000 won is at or above 1000000,";
  EXPECT_EQ(row.substr(0, start.size()), start);
  EXPECT_EQ(row.substr(row.size() - 15), ",,,,false,0,0\r\n");

  const auto summary = csv("/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-03-31&format=csv");
  EXPECT_EQ(summary.substr(0, summary.find("\r\n")),
            "district,from,to,cancelled,cashback.clawed_back,cashback.pending,cashback.posted.city,"
            "cashback.posted.district,cashback.posted.merchant,cashback.unfunded,fee_support,loaded,members,outstanding.cash,"
            "outstanding.payable,outstanding.points,outstanding.programs,payments.charged,payments.count,"
            "payments.discount,payments.price,programs.expired,programs.granted,programs.refunded,programs.spent,"
            "refunded,settled");
  const auto json_summary = admin("GET", "/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-03-31").body;
  EXPECT_EQ(summary.substr(summary.find("\r\n") + 2),
            "bupyeong,2020-03-01,2020-03-31,0,0," + std::to_string(json_summary["cashback"]["pending"].get<long long>()) +
                ",0,0,0,0,0,1000000,2," + std::to_string(json_summary["outstanding"]["cash"].get<long long>()) +
                ",1000000," + std::to_string(json_summary["outstanding"]["points"].get<long long>()) +
                ",0,1000000,1,0,1000000,0,0,0,0,0,0\r\n");
}

TEST_F(Exports, BadInputIsRefusedWithTheFieldNamed) {
  const auto expect_400 = [&](const std::string& target, const std::string& detail) {
    const auto a = admin("GET", target);
    EXPECT_EQ(a.status, 400) << target;
    EXPECT_EQ(a.body["detail"], detail) << target;
  };
  expect_400("/v1/payments?district=bupyeong&business_date=2020-03-02&format=xml",
             "query parameter 'format' must be csv or json");
  expect_400("/v1/payments?business_date=2020-03-02", "query parameter 'district' is required");
  expect_400("/v1/payments?district=bupyeong&business_date=2020-02-30",
             "query parameter 'business_date' must be a date, YYYY-MM-DD, from 2000-01-01 to 2099-12-31 (UTC)");
  expect_400("/v1/payments?district=bupyeong&business_date=2020-03-02&after=12",
             "query parameter 'after' is not a cursor from an earlier page");
  expect_400("/v1/programs/relief-2020/grants?after=pay-bupyeong-1",
             "query parameter 'after' is not a cursor from an earlier page");
  expect_400("/v1/settlements?district=bupyeong&business_date=2020-03-02&limit=0",
             "query parameter 'limit' must be an integer from 1 to 500");
  expect_400("/v1/districts/bupyeong/summary?from=2020-03-01&to=2020-03-31&format=pdf",
             "query parameter 'format' must be csv or json");
  expect_400("/v1/flags?from=2020-03-01&to=2020-03-31&format=", "query parameter 'format' must be csv or json");
  EXPECT_EQ(admin("GET", "/v1/payments?district=nowhere&business_date=2020-03-02").status, 404);
  const auto yeonsu = token("district_admin", "yeonsu", "yeonsu-office");
  EXPECT_EQ(get("/v1/payments?district=bupyeong&business_date=2020-03-02&format=csv", {}, yeonsu).status, 404);
  EXPECT_EQ(get("/v1/settlements?district=bupyeong&business_date=2020-03-02", {}, yeonsu).status, 404);
  // A district admin's list is its own district's by default.
  const auto own = get("/v1/payments?business_date=2020-03-02", {}, yeonsu);
  EXPECT_EQ(own.status, 200);
  EXPECT_EQ(json::parse(own.body)["district"], "yeonsu");
}

}  // namespace
}  // namespace evoucher::testing

namespace evoucher::testing {
namespace {

// A client that stops reading mid-export holds an export worker; SIGTERM must still end the
// service within its grace period, the export abandoned.
TEST_F(Exports, ShutdownAbandonsAnExportWhoseClientStoppedReading) {
  {
    // 60,000 payments, inserted directly: many megabytes of CSV, more than the socket buffers hold.
    pqxx::connection c(url);
    pqxx::work w(c);
    w.exec(
        "INSERT INTO journals (district, id, kind, occurred_at) SELECT 'bupyeong', 900000000 + i, 'payment', "
        "timestamptz '2020-03-02 00:00:00+09' + i * interval '1 second' FROM generate_series(1, 60000) i");
    w.exec(
        "INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district, "
        "merchant_category, merchant_revenue, channel, price, discount, charged, paid_points, paid_cash, eligible_before, "
        "eligible, city_cashback, district_cashback, merchant_cashback, fee_support, occurred_at, business_date, journal_id) "
        "SELECT 'bupyeong', 900000000 + i, 'bulk-' || i, 'c1', 'm1', 'bp-cafe', 'bupyeong', 'cafe', 80000000, 'card', "
        "1000, 0, 1000, 0, 1000, 0, 1000, 100, 0, 0, 0, timestamptz '2020-03-02 00:00:00+09' + i * interval '1 second', "
        "'2020-03-02', 900000000 + i FROM generate_series(1, 60000) i");
    w.commit();
  }
  server.reset();
  server = std::make_unique<ServeProcess>(url, std::map<std::string, std::string>{{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                                                  {"EVOUCHER_SHUTDOWN_GRACE_MS", "1000"}});
  const int fd = connect_loopback(server->port());
  const std::string request = "GET /v1/payments?district=bupyeong&business_date=2020-03-02&format=csv HTTP/1.1\r\n"
                              "Host: x\r\nAuthorization: Bearer " + std::string(kAdminToken) + "\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  char head[64];
  ASSERT_GT(recv(fd, head, sizeof head, 0), 0);  // the export has started; nothing more is read
  EXPECT_EQ(std::string(head, 12), "HTTP/1.1 200");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const pid_t pid = server->pid();
  auto stopped = std::async(std::launch::async, [&] { return server->stop(); });
  if (stopped.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "the service did not stop within 10 s of SIGTERM";
    kill(pid, SIGKILL);
  }
  EXPECT_EQ(stopped.get(), 0);
  close(fd);
}

}  // namespace
}  // namespace evoucher::testing
