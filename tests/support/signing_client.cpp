// The signing client of the crash and failover tests (see signing_client.hpp).
#include "support/signing_client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <random>
#include <thread>

namespace evoucher::testing {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

constexpr long long kMonthlyLoadLimit = 1'000'000;  // the demo city policy's

std::set<std::string> ids(pqxx::nontransaction& n, const std::string& sql) {
  std::set<std::string> out;
  for (const auto& row : n.exec(sql)) out.insert(row[0].as<std::string>());
  return out;
}

}  // namespace

// Sends one call until it is judged: a refused connection, a cut answer or a
// 503 is tried again.
std::optional<HttpResult> judged(RestartingServe& service, const Call& call, StreamClock::time_point deadline) {
  while (StreamClock::now() < deadline) {
    std::map<std::string, std::string> headers;
    if (call.key.empty()) {
      headers["X-Evoucher-Signature"] = processor_signature(kStreamSecret, call.body);
    } else {
      headers["Authorization"] = std::string("Bearer ") + kStreamAdminToken;
      headers["Idempotency-Key"] = call.key;
    }
    try {
      auto r = http_request(service.port(), "POST", call.path, call.body, headers);
      const auto length = r.headers.find("content-length");
      const bool whole = length != r.headers.end() && std::to_string(r.body.size()) == length->second;
      if (whole && r.status != 503) return r;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return std::nullopt;
}

void Tally::problem(std::string what) {
  ++unexpected;
  std::lock_guard lock(mutex);
  if (problems.size() < 20) problems.push_back(std::move(what));
}

double Tally::longest_gap_s(StreamClock::time_point from, StreamClock::time_point to) {
  std::lock_guard lock(mutex);
  std::vector<StreamClock::time_point> at;
  for (auto t : judged_at)
    if (t >= from && t <= to) at.push_back(t);
  std::sort(at.begin(), at.end());
  double longest = 0;
  StreamClock::time_point previous = from;
  for (auto t : at) {
    longest = std::max(longest, std::chrono::duration<double>(t - previous).count());
    previous = t;
  }
  return longest;
}

// One client thread: its own members, one call in flight per member, each
// answer checked against the model before the member's next call.
void stream(RestartingServe& service, std::vector<StreamMember*> members, int operations, unsigned seed,
            std::vector<Call>& calls, Tally& tally, StreamClock::time_point deadline, const std::atomic<bool>* stop,
            std::chrono::milliseconds pause) {
  std::mt19937 rng(seed);
  auto pick = [&](long long lo, long long hi) { return std::uniform_int_distribution<long long>(lo, hi)(rng); };
  for (int i = 0; i < operations && !(stop && stop->load()); ++i) {
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
    StreamMember& m = *members[static_cast<std::size_t>(pick(0, static_cast<long long>(members.size()) - 1))];
    const std::string tag = m.id + "-" + std::to_string(i);
    Call call;
    json predicted;
    int predicted_status = 200;
    enum { load, pay, cancel } kind;
    const bool can_cancel = !m.payments.empty() && m.payments.back().remaining > 0;
    if (m.cash < 20'000 || pick(0, 9) < 3) {
      kind = load;
      const long long amount = pick(20, 50) * 1000;
      call = {"/v1/loads", json{{"member", m.id}, {"amount", amount}, {"bank_ref", "bank-" + tag}}.dump(),
              "load-" + tag};
      if (m.loaded + amount > kMonthlyLoadLimit) {
        predicted_status = 422;
      } else {
        predicted_status = 201;
        predicted = {{"member", m.id}, {"amount", amount}, {"cash", m.cash + amount}, {"points", 0}};
      }
    } else if (can_cancel && pick(0, 9) < 3) {
      kind = cancel;
      auto& p = m.payments.back();
      const long long amount = pick(1, p.remaining);
      call = {"/v1/processor/cancellations",
              json{{"event_id", "cxl-" + tag},
                   {"payment_id", p.id},
                   {"amount", amount},
                   {"occurred_at", "2026-03-02T12:30:00+09:00"}}
                  .dump(),
              ""};
      predicted = {{"payment_id", p.id},
                   {"amount", amount},
                   {"refunded", {{"cash", amount}, {"points", 0}}},
                   {"remaining", p.remaining - amount}};
    } else {
      kind = pay;
      const long long price = pick(1, 30) * 1000;
      call = {"/v1/processor/payments",
              json{{"event_id", "pay-" + tag},
                   {"card", m.card},
                   {"merchant", m.merchant},
                   {"price", price},
                   {"occurred_at", "2026-03-02T12:00:00+09:00"},
                   {"channel", "card"}}
                  .dump(),
              ""};
      predicted = price > m.cash ? json{{"decision", "declined"}, {"reason", "insufficient_funds"}}
                                 : json{{"decision", "approved"},
                                        {"price", price},
                                        {"charged", price},
                                        {"paid", {{"points", 0}, {"cash", price}}}};
    }
    call.sent_at = StreamClock::now();
    const auto r = judged(service, call, deadline);
    call.answered_at = StreamClock::now();
    if (!r) {
      ++tally.retried_out;
      tally.problem("never judged: " + call.path + " " + call.body);
      return;
    }
    call.status = r->status;
    call.answer = r->body;
    ++tally.judged;
    {
      std::lock_guard lock(tally.mutex);
      tally.judged_at.push_back(StreamClock::now());
    }
    const auto body = json::parse(r->body, nullptr, false);
    bool as_predicted = r->status == predicted_status && body.is_object();
    for (const auto& [k, v] : predicted.items()) as_predicted = as_predicted && body.contains(k) && body[k] == v;
    if (!as_predicted) {
      tally.problem(call.path + " " + call.body + " -> " + std::to_string(r->status) + " " + r->body +
                    "; the model said " + std::to_string(predicted_status) + " " + predicted.dump());
      calls.push_back(std::move(call));
      continue;
    }
    std::lock_guard lock(tally.mutex);
    if (kind == load && r->status == 201) {
      m.cash += predicted["amount"].get<long long>();
      m.loaded += predicted["amount"].get<long long>();
      ++tally.loads;
      tally.load_ids.insert(body["load_id"].get<std::string>());
    } else if (kind == pay && body["decision"] == "approved") {
      m.cash -= predicted["price"].get<long long>();
      m.payments.push_back(StreamPayment{body["payment_id"], predicted["price"].get<long long>()});
      ++tally.approved;
      tally.payment_ids.insert(body["payment_id"].get<std::string>());
    } else if (kind == pay) {
      ++tally.declined;
    } else if (kind == cancel) {
      m.cash += predicted["amount"].get<long long>();
      m.payments.back().remaining = predicted["remaining"].get<long long>();
      ++tally.cancellations;
      tally.cancellation_ids.insert(body["cancellation_id"].get<std::string>());
    }
    calls.push_back(std::move(call));
  }
}

StreamClients::StreamClients(RestartingServe& service, std::vector<StreamMember>& members, int threads,
                             int operations, unsigned seed, StreamClock::time_point deadline,
                             std::chrono::milliseconds pause)
    : calls(static_cast<std::size_t>(threads)), running_(threads) {
  for (int t = 0; t < threads; ++t) {
    std::vector<StreamMember*> mine;
    for (std::size_t i = static_cast<std::size_t>(t); i < members.size(); i += static_cast<std::size_t>(threads))
      mine.push_back(&members[i]);
    threads_.emplace_back([this, &service, t, mine, operations, seed, deadline, pause] {
      stream(service, mine, operations, seed + static_cast<unsigned>(t), calls[static_cast<std::size_t>(t)], tally,
             deadline, &stop_, pause);
      --running_;
    });
  }
}

void StreamClients::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

std::vector<StreamMember> make_members(RestartingServe& service, int count) {
  // Half in each district, each paying at a merchant of its own district
  // without a benefit on the price.
  std::vector<StreamMember> members(static_cast<std::size_t>(count));
  const std::map<std::string, std::string> auth{{"Authorization", std::string("Bearer ") + kStreamAdminToken}};
  for (int i = 0; i < count; ++i) {
    auto& m = members[static_cast<std::size_t>(i)];
    const bool bupyeong = i % 2 == 0;
    m.id = "cr" + std::to_string(i);
    m.card = "crc" + std::to_string(i);
    m.merchant = bupyeong ? "bp-cafe" : "ys-books";
    const auto member = http_request(service.port(), "POST", "/v1/members",
                                     json{{"id", m.id}, {"district", bupyeong ? "bupyeong" : "yeonsu"}}.dump(), auth);
    const auto card =
        http_request(service.port(), "POST", "/v1/cards", json{{"token", m.card}, {"member", m.id}}.dump(), auth);
    if (member.status != 201 || card.status != 201)
      throw std::runtime_error("making member " + m.id + ": " + member.body + " " + card.body);
  }
  return members;
}

StreamCheck check_stream(RestartingServe& service, const std::string& url, const std::vector<std::vector<Call>>& calls,
                         const std::vector<StreamMember>& members, StreamClock::time_point deadline) {
  StreamCheck out;
  // Every call again, by its key: the same status and the same bytes.
  for (const auto& list : calls)
    for (const auto& call : list) {
      ++out.calls;
      const auto again = judged(service, call, deadline);
      ++out.replays;
      if (!again || again->status != call.status || again->body != call.answer) {
        ++out.replay_mismatches;
        if (out.replay_mismatches <= 5)
          ADD_FAILURE() << "replay of " << call.path << " " << call.body << ": first " << call.status << " "
                        << call.answer << ", now "
                        << (again ? std::to_string(again->status) + " " + again->body : "none");
      }
    }
  // The ledger holds every approved and done answer once, and nothing else.
  pqxx::connection c(url);
  pqxx::nontransaction n(c);
  out.payments = ids(n, "SELECT 'pay-' || district || '-' || id FROM payments");
  out.loads = ids(n, "SELECT 'load-' || district || '-' || id FROM loads");
  out.cancellations = ids(n, "SELECT 'cxl-' || district || '-' || id FROM cancellations");
  for (const auto& m : members) {
    const auto r = http_request(service.port(), "GET", "/v1/members/" + m.id, "",
                                {{"Authorization", std::string("Bearer ") + kStreamAdminToken}});
    const auto body = json::parse(r.body, nullptr, false);
    if (r.status != 200 || body["cash"] != m.cash || body["points"] != 0) {
      ++out.balance_mismatches;
      if (out.balance_mismatches <= 5) ADD_FAILURE() << m.id << ": model cash " << m.cash << ", service " << r.body;
    }
  }
  out.verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  return out;
}

}  // namespace evoucher::testing
