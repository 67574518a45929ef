// Point-in-time recovery on the failover tests' formation (failover_fixture.hpp): pgBackRest's
// backup and WAL archive restore the ledger to a moment in the middle of a stream, into a new
// cluster: everything answered before it is there, nothing sent after.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "failover/failover_fixture.hpp"

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using Clock = StreamClock;
using std::chrono::milliseconds;

// "2026-12-07 16:35:59.461711+00": a moment for pgBackRest's --target.
std::string utc_text(std::chrono::system_clock::time_point at) {
  const auto t = std::chrono::system_clock::to_time_t(at);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count() % 1'000'000;
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros));
  return text;
}

// The ledger's id in an answer that moved money ("pay-bupyeong-12"), or "" (a decline, a refusal).
std::string money_id(const Call& call) {
  if (call.status < 200 || call.status >= 300) return "";
  const auto body = json::parse(call.answer, nullptr, false);
  for (const char* key : {"load_id", "payment_id", "cancellation_id"})
    if (body.contains(key) && (std::string(key) != "payment_id" || body["decision"] == "approved"))
      return body[key].get<std::string>();
  return "";
}

// Point-in-time recovery. pgBackRest archives the formation's WAL and takes a base backup; signing
// clients stream on; the ledger is restored to a moment T in the middle of the stream, into a new
// cluster. Every call answered before T is there (its replay answers the same bytes, the members'
// cash agrees), nothing sent after T is, a call in flight at T is there or not as a whole, and
// `evoucher verify` passes.
TEST(Failover, RestoreToATimeHoldsWhatWasAnsweredBeforeItAndNothingAfter) {
  const auto url = demo_database("restored");
  RestartingServe service(url, service_env());
  auto members = make_members(service, 16);
  const auto deadline = Clock::now() + std::chrono::minutes(5);

  // The base backup, recorded where /metrics reads it.
  formation().backup("take full", url);
  double stopped = 0;
  {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    const auto r = n.exec("SELECT count(*), min(kind), extract(epoch FROM max(stopped_at))::float8 FROM backups")[0];
    EXPECT_EQ(r[0].as<int>(), 1);
    EXPECT_EQ(r[1].as<std::string>(), "full");
    stopped = r[2].as<double>();
  }
  EXPECT_NEAR(stopped, static_cast<double>(std::time(nullptr)), 60.0);
  EXPECT_TRUE(gauge_reaches(service, "evoucher_backup_last_success_timestamp_seconds", stopped));

  // Four clients stream; T falls in the middle, with calls in flight.
  StreamClients clients(service, members, 4, 1 << 30, 4242u, deadline, milliseconds(5));
  auto& tally = clients.tally;
  const auto& calls = clients.calls;
  while (tally.judged.load() < 200 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  const auto t_steady = Clock::now();
  const std::string target = utc_text(std::chrono::system_clock::now());
  const int at_target = tally.judged.load();
  while (tally.judged.load() < at_target + 200 && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(10));
  clients.stop();
  for (const auto& p : tally.problems) ADD_FAILURE() << p;

  // WAL past T reaches the repository (a switch, waited for), then the restore.
  formation().backup("check");
  std::string copy = formation().restore(target, "restored-copy");
  copy.replace(copy.find("dbname=evoucher"), 15, "dbname=restored");

  std::set<std::string> before, in_flight, after, in_copy;
  for (const auto& list : calls)
    for (const auto& call : list) {
      const auto id = money_id(call);
      if (id.empty()) continue;
      (call.answered_at < t_steady ? before : call.sent_at > t_steady ? after : in_flight).insert(id);
    }
  {
    pqxx::connection c(copy);
    pqxx::nontransaction n(c);
    for (const auto& r : n.exec("SELECT 'pay-' || district || '-' || id FROM payments UNION ALL "
                                "SELECT 'load-' || district || '-' || id FROM loads UNION ALL "
                                "SELECT 'cxl-' || district || '-' || id FROM cancellations"))
      in_copy.insert(r[0].as<std::string>());
  }
  std::cout << "failover test: restored to " << target << ": " << before.size() << " answered before it, "
            << in_flight.size() << " in flight, " << after.size() << " sent after; the copy holds " << in_copy.size()
            << "\n";
  EXPECT_GT(before.size(), 50u);
  EXPECT_GT(after.size(), 50u);
  for (const auto& id : before) EXPECT_TRUE(in_copy.count(id)) << id << " was answered before " << target;
  for (const auto& id : after) EXPECT_FALSE(in_copy.count(id)) << id << " was sent after " << target;
  for (const auto& id : in_copy)
    EXPECT_TRUE(before.count(id) || in_flight.count(id)) << id << " is in the copy, but not in an answer before "
                                                         << target;

  // On the copy, each call answered before T replays its answer, and each member's cash is what
  // those answers (and the in-flight calls the copy holds) made it.
  RestartingServe restored(copy, service_env());
  std::map<std::string, std::string> member_of_card, member_of_payment;
  std::map<std::string, long long> cash;
  for (const auto& m : members) member_of_card[m.card] = m.id;
  std::vector<const Call*> ordered;
  for (const auto& list : calls)
    for (const auto& call : list) ordered.push_back(&call);
  std::sort(ordered.begin(), ordered.end(), [](const Call* a, const Call* b) { return a->answered_at < b->answered_at; });
  for (const Call* call : ordered) {
    const auto id = money_id(*call);
    if (call->answered_at < t_steady) {
      const auto again = judged(restored, *call, deadline);
      ASSERT_TRUE(again);
      EXPECT_EQ(again->status, call->status) << call->body;
      EXPECT_EQ(again->body, call->answer) << call->body;
    }
    if (id.empty() || !in_copy.count(id)) continue;
    const auto body = json::parse(call->body);
    const auto answer = json::parse(call->answer);
    if (call->path == "/v1/loads") {
      cash[body["member"].get<std::string>()] += answer["amount"].get<long long>();
    } else if (call->path == "/v1/processor/payments") {
      const auto member = member_of_card[body["card"].get<std::string>()];
      member_of_payment[id] = member;
      cash[member] -= answer["paid"]["cash"].get<long long>();
    } else {
      cash[member_of_payment[body["payment_id"].get<std::string>()]] += answer["refunded"]["cash"].get<long long>();
    }
  }
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kStreamAdminToken}};
  for (const auto& m : members) {
    const auto r = http_get(restored.port(), "/v1/members/" + m.id, auth);
    EXPECT_EQ(json::parse(r.body)["cash"], cash[m.id]) << m.id << ": " << r.body;
  }
  const auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", copy}});
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace evoucher::testing
