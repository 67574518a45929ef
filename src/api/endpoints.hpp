// Private to the api layer: the route groups, and the helpers their handlers share.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "evoucher/api/json_input.hpp"
#include "evoucher/api/problem.hpp"
#include "evoucher/api/service.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/ledger.hpp"

namespace evoucher::api {

void add_party_routes(Service& service);
void add_policy_routes(Service& service);
void add_money_routes(Service& service);
void add_processor_routes(Service& service);
void add_batch_routes(Service& service);

Response json_answer(int status, const nlohmann::json& body);
Response invalid(const std::string& detail);
Response forbidden(const std::string& what);

// Server-generated identifiers carry their district: "pay-bupyeong-42".
std::string operation_ref(const char* prefix, const std::string& district, std::int64_t id);
struct OperationRef {
  std::string district;
  std::int64_t id = 0;
};
std::optional<OperationRef> parse_operation_ref(const char* prefix, const std::string& text);

// A mutating call under its key, in tx: a replay answers the stored response, a reused key
// answers 409, and otherwise work() runs; a 2xx answer is stored with the work and committed,
// anything else is rolled back, key and all.
struct IdempotencyKey {
  std::string district;
  std::string key;
  std::string request_hash;
};
Response run_idempotent(store::Tx& tx, const IdempotencyKey& key, const std::function<Response()>& work);
// The answer a claimed key already has: the stored one on a replay, 409 on reuse; none when fresh.
std::optional<Response> earlier_answer(const store::KeyClaim& claim);
// The Idempotency-Key header as a key for `scope`, or the 400 problem for a bad or missing one.
std::optional<std::string> idempotency_header(const Request& request, std::string& problem_detail);
std::string request_hash(const Request& request);

}  // namespace evoucher::api

#include "evoucher/engine/payment.hpp"
#include "evoucher/engine/policy.hpp"
#include "evoucher/store/parties.hpp"

namespace evoucher::api {

// The policy versions a member's operation is judged under. With no city policy in force the
// defaults of PRODUCT.md apply and no cashback is earned.
struct PoliciesInForce {
  std::optional<std::int64_t> city_id;
  engine::CityRules city;
  std::optional<std::int64_t> district_id;
  std::optional<engine::DistrictRules> district;
};
PoliciesInForce policies_at(store::Tx& tx, const std::string& card_district, Timestamp at);
PoliciesInForce policies_by_id(store::Tx& tx, std::optional<std::int64_t> city_id,
                               std::optional<std::int64_t> district_id);

// A member's cash and points, from the ledger.
engine::Balances member_balances(store::Tx& tx, const std::string& district, const std::string& member);

// The query string, with only the allowed parameters; otherwise the 400 problem's detail.
std::optional<std::map<std::string, std::string>> read_query(const Request& request,
                                                             std::initializer_list<const char*> allowed,
                                                             std::string& problem_detail);

// "YYYY-MM-01" of the Seoul month of t.
std::string seoul_month(Timestamp t);
Timestamp now_utc();

}  // namespace evoucher::api
