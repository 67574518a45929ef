// Helpers shared by the route groups: answers, identifiers, idempotency.
#include "endpoints.hpp"

#include <charconv>

#include "evoucher/crypto.hpp"
#include "evoucher/store/ledger.hpp"

namespace evoucher::api {

Response json_answer(int status, const nlohmann::json& body) {
  return json_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response invalid(const std::string& detail) { return problem(ErrorCode::invalid_request, detail); }

Response forbidden(const std::string& what) {
  return problem(ErrorCode::forbidden, "this token may not " + what);
}

std::string operation_ref(const char* prefix, const std::string& district, std::int64_t id) {
  return std::string(prefix) + "-" + district + "-" + std::to_string(id);
}

std::optional<OperationRef> parse_operation_ref(const char* prefix, const std::string& text) {
  const std::string head = std::string(prefix) + "-";
  if (text.size() > 128 || text.compare(0, head.size(), head) != 0) return std::nullopt;
  const auto dash = text.rfind('-');
  if (dash <= head.size()) return std::nullopt;
  OperationRef ref;
  ref.district = text.substr(head.size(), dash - head.size());
  if (!is_district_code(ref.district)) return std::nullopt;
  const char* begin = text.data() + dash + 1;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, ref.id);
  if (ec != std::errc() || ptr != end || ref.id <= 0 || begin == end) return std::nullopt;
  return ref;
}

std::optional<std::string> idempotency_header(const Request& request, std::string& problem_detail) {
  const auto* key = request.header("idempotency-key");
  if (!key) {
    problem_detail = "the Idempotency-Key header is required for this call";
    return std::nullopt;
  }
  if (key->empty() || key->size() > 128) {
    problem_detail = "the Idempotency-Key header must be 1-128 characters";
    return std::nullopt;
  }
  return *key;
}

std::string request_hash(const Request& request) {
  return sha256_hex(request.method + " " + request.path + "\n" + request.body);
}

std::optional<Response> earlier_answer(const store::KeyClaim& claim) {
  if (claim.state == store::KeyState::replay) return json_response(claim.status, claim.answer);
  if (claim.state == store::KeyState::reused)
    return problem(ErrorCode::idempotency_key_reused,
                   "this key was already used with a different request; use a new key for a new request");
  return std::nullopt;
}

Response run_idempotent(store::Tx& tx, const IdempotencyKey& key, const std::function<Response()>& work) {
  if (auto earlier = earlier_answer(store::claim_key(tx, key.district, key.key, key.request_hash))) return *earlier;
  Response answer = work();
  if (answer.status >= 200 && answer.status < 300) {
    store::record_answer(tx, key.district, key.key, answer.status, answer.body);
    tx.commit();
  }
  return answer;
}

}  // namespace evoucher::api

#include "evoucher/api/policy_json.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"

namespace evoucher::api {
namespace {

engine::CityRules stored_city_rules(const store::PolicyRow& row) {
  std::string problem;
  auto rules = city_rules_from_json(nlohmann::json::parse(row.rules_json), problem);
  if (!rules) throw std::runtime_error("stored city policy " + std::to_string(row.id) + " is invalid: " + problem);
  return *rules;
}

engine::DistrictRules stored_district_rules(const store::PolicyRow& row) {
  std::string problem;
  auto rules = district_rules_from_json(nlohmann::json::parse(row.rules_json), problem);
  if (!rules) throw std::runtime_error("stored district policy " + std::to_string(row.id) + " is invalid: " + problem);
  return *rules;
}

void fill(PoliciesInForce& out, const std::optional<store::PolicyRow>& city,
          const std::optional<store::PolicyRow>& district) {
  if (city) {
    out.city_id = city->id;
    out.city = stored_city_rules(*city);
  }
  if (district) {
    out.district_id = district->id;
    out.district = stored_district_rules(*district);
  }
}

}  // namespace

PoliciesInForce policies_at(store::Tx& tx, const std::string& card_district, Timestamp at) {
  PoliciesInForce out;
  const auto city = store::policy_at(tx, "city", at);
  std::optional<store::PolicyRow> district;
  if (card_district != "city") district = store::policy_at(tx, card_district, at);
  fill(out, city, district);
  return out;
}

PoliciesInForce policies_by_id(store::Tx& tx, std::optional<std::int64_t> city_id,
                               std::optional<std::int64_t> district_id) {
  PoliciesInForce out;
  fill(out, city_id ? store::policy_by_id(tx, *city_id) : std::nullopt,
       district_id ? store::policy_by_id(tx, *district_id) : std::nullopt);
  return out;
}

engine::Balances member_balances(store::Tx& tx, const std::string& district, const std::string& member) {
  return {store::balance(tx, district, accounts::member_cash(member)).value_or(Won(0)),
          store::balance(tx, district, accounts::member_points(member)).value_or(Won(0))};
}

std::optional<std::map<std::string, std::string>> read_query(const Request& request,
                                                             std::initializer_list<const char*> allowed,
                                                             std::string& problem_detail) {
  auto query = parse_query(request.query);
  if (!query) {
    problem_detail = "the query string is malformed";
    return std::nullopt;
  }
  for (const auto& [key, value] : *query) {
    bool known = false;
    for (const char* a : allowed) known = known || key == a;
    if (!known) {
      problem_detail = "query parameter '" + key + "' is not known";
      return std::nullopt;
    }
  }
  return query;
}

std::string seoul_month(Timestamp t) { return format_date(seoul_business_date(t)).substr(0, 7) + "-01"; }

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace evoucher::api
