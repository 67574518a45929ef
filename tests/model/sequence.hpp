// The randomized model test's run: a seeded random sequence of operations sent to the real
// service, each answer compared with what the reference model (reference_model.hpp) expects.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "model/reference_model.hpp"
#include "support/http_client.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing::model {

inline constexpr const char* kAdminToken = "model-admin-token";
inline constexpr const char* kSecret = "model-processor-secret";

struct Call {
  std::string method, path, body, key;  // key: Idempotency-Key for admin calls; "" for signed ones
  int status = 0;
  std::string answer;
  Call(std::string m, std::string p, std::string b, std::string k)
      : method(std::move(m)), path(std::move(p)), body(std::move(b)), key(std::move(k)) {}
};

class Sequence {
 public:
  Sequence(unsigned seed, int operations) : seed_(seed), operations_(operations), rng_(seed) {}

  // The first mismatch ("op N: ..."), or nothing when the service agreed with the model throughout.
  std::optional<std::string> go() {
    url_ = PgHarness::instance().fresh_database();
    server_ = std::make_unique<ServeProcess>(
        url_, std::map<std::string, std::string>{{"EVOUCHER_ADMIN_TOKEN", kAdminToken},
                                                 {"EVOUCHER_PROCESSOR_SECRET", kSecret}});
    if (auto bad = set_up()) return "set-up: " + *bad;
    for (op_ = 0; op_ < operations_; ++op_) {
      clock_ += pick(30, 240);  // seconds
      if (auto bad = step()) return "op " + std::to_string(op_) + ": " + *bad;
    }
    if (auto bad = final_state()) return "final state after " + std::to_string(operations_) + " ops: " + *bad;
    return std::nullopt;
  }
  int counts(const std::string& what) const { return counts_.count(what) ? counts_.at(what) : 0; }

 private:
  i64 pick(i64 lo, i64 hi) { return std::uniform_int_distribution<i64>(lo, hi)(rng_); }
  template <typename T>
  T& any(std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick(0, static_cast<i64>(v.size()) - 1))];
  }

  Call send(Call c) {
    std::map<std::string, std::string> headers;
    if (c.path.rfind("/v1/processor/", 0) == 0) {
      headers["X-Evoucher-Signature"] = processor_signature(kSecret, c.body);
    } else {
      headers["Authorization"] = std::string("Bearer ") + kAdminToken;
      if (!c.key.empty()) headers["Idempotency-Key"] = c.key;
    }
    const auto r = http_request(server_->port(), c.method, c.path, c.body, headers);
    c.status = r.status;
    c.answer = r.body;
    return c;
  }
  json admin(const std::string& method, const std::string& path, const json& body, int want,
             std::optional<std::string>& bad, const std::string& key = "") {
    const auto c = send({method, path, body.is_null() ? "" : body.dump(), key});
    if (c.status != want && !bad) bad = method + " " + path + " " + body.dump() + " -> " + std::to_string(c.status) + " " + c.answer;
    return json::parse(c.answer, nullptr, false);
  }
  // The answer must have this status and these fields (and any others).
  std::optional<std::string> expect(const Call& c, int status, const json& fields) {
    const auto body = json::parse(c.answer, nullptr, false);
    bool same = c.status == status && body.is_object();
    for (const auto& [k, v] : fields.items()) same = same && body.contains(k) && body[k] == v;
    if (same) return std::nullopt;
    return c.method + " " + c.path + " " + c.body + "\n  service: " + std::to_string(c.status) + " " + c.answer +
           "\n  model:   " + std::to_string(status) + " " + fields.dump();
  }

  std::optional<std::string> set_up();
  std::optional<std::string> step();
  std::optional<std::string> load(Member& m);
  std::optional<std::string> pay(Member& m);
  std::optional<std::string> cancel();
  std::optional<std::string> refund(Member& m);
  std::optional<std::string> batch();
  std::optional<std::string> replay();
  std::optional<std::string> final_state();

  const CityVersion& city_at(i64 t) const {
    const CityVersion* best = nullptr;
    for (const auto& v : city_) if (v.from <= t && (!best || v.from > best->from)) best = &v;
    return *best;
  }
  const DistrictVersion* district_at(const std::string& d, i64 t) const {
    const DistrictVersion* best = nullptr;
    for (const auto& v : districts_) if (v.district == d && v.from <= t && (!best || v.from > best->from)) best = &v;
    return best;
  }
  Pool* pool(const std::string& source) {
    for (auto& p : pools_) if (p.source == source) return &p;
    return nullptr;
  }
  void remember(Call c) {
    if (c.status != 400) history_.push_back(std::move(c));
  }

  unsigned seed_;
  int operations_;
  std::mt19937_64 rng_;
  int op_ = 0;
  std::string url_;
  std::unique_ptr<ServeProcess> server_;
  // 2026-03-30 18:00 in Seoul: the month turns (in Seoul) about 6 hours in.
  i64 clock_ = 1'774'861'200;
  std::vector<CityVersion> city_;
  std::vector<DistrictVersion> districts_;
  std::vector<Merchant> merchants_;
  std::vector<Member> members_;
  std::vector<Payment> payments_;
  std::vector<Pool> pools_;
  std::map<std::string, std::string> batched_;  // district -> the last business date batched
  std::vector<Call> history_;
  std::map<std::string, int> counts_;
  int next_key_ = 0;
};

}  // namespace evoucher::testing::model
