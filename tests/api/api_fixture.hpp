// A served, seeded database for end-to-end tests: the real binary, real HTTP, real PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <signal.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "evoucher/crypto.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/demo_seed.hpp"
#include "support/http_client.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing {

using json = nlohmann::json;

inline constexpr const char* kAdminToken = "test-admin-token";
inline constexpr const char* kSecret = "test-processor-secret";

struct Answer {
  int status = 0;
  json body;
  std::map<std::string, std::string> headers;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url = PgHarness::instance().demo_database();
    server = std::make_unique<ServeProcess>(
        url, std::map<std::string, std::string>{{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                {"EVOUCHER_PROCESSOR_SECRET", kSecret},
                                                {"EVOUCHER_DB_WORKERS", "8"}});
  }

  static Answer answer(const HttpResult& r) {
    Answer a{r.status, json::parse(r.body, nullptr, false), r.headers};
    return a;
  }

  Answer admin(const std::string& method, const std::string& path, const json& body = nullptr,
               const std::string& token = kAdminToken, const std::string& key = "") {
    std::map<std::string, std::string> headers{{"Authorization", "Bearer " + token}};
    if (!key.empty()) headers["Idempotency-Key"] = key;
    return answer(http_request(server->port(), method, path, body.is_null() ? "" : body.dump(), headers));
  }

  Answer processor(const std::string& path, const json& body, long skew_seconds = 0,
                   const std::string& secret = kSecret) {
    const std::string raw = body.dump();
    return answer(http_request(server->port(), "POST", path, raw,
                               {{"X-Evoucher-Signature", processor_signature(secret, raw, skew_seconds)}}));
  }

  Answer load(const std::string& member, long long amount, const std::string& key,
              const std::string& at = "2020-03-02T09:00:00+09:00") {
    return admin("POST", "/v1/loads", {{"member", member}, {"amount", amount}, {"bank_ref", "bank-" + key},
                                       {"occurred_at", at}},
                 kAdminToken, key);
  }

  Answer pay(const std::string& event, const std::string& card, const std::string& merchant, long long price,
             const std::string& at) {
    return processor("/v1/processor/payments", {{"event_id", event}, {"card", card}, {"merchant", merchant},
                                                {"price", price}, {"occurred_at", at}, {"channel", "card"}});
  }

  Answer cancel(const std::string& event, const std::string& payment, long long amount, const std::string& at) {
    return processor("/v1/processor/cancellations",
                     {{"event_id", event}, {"payment_id", payment}, {"amount", amount}, {"occurred_at", at}});
  }

  // A new admin token, from the command line.
  std::string token(const std::string& role, const std::string& district = "", const std::string& name = "") {
    std::vector<std::string> args{"token", "create", "--role", role};
    if (!district.empty()) args.insert(args.end(), {"--district", district});
    if (!name.empty()) args.insert(args.end(), {"--name", name});
    auto r = run_evoucher(args, {{"EVOUCHER_DATABASE_URL", url}});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(0, r.output.find('\n'));
  }

  // `evoucher verify` passes every check.
  void expect_verified() {
    auto v = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
    EXPECT_EQ(v.exit_code, 0) << v.output;
    EXPECT_EQ(v.output.find("FAIL"), std::string::npos) << v.output;
  }

  // One number from raw SQL.
  long long scalar(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    return n.exec(sql)[0][0].as<long long>();
  }

  std::string url;
  std::unique_ptr<ServeProcess> server;
};

}  // namespace evoucher::testing
