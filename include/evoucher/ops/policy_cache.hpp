// Policy versions decoded once into typed rules and kept by id: a stored version never changes.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/policy.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/money_path_reads.hpp"

namespace evoucher::ops {

// The versions an operation is judged under. With no city policy in force the defaults of
// PRODUCT.md apply and no cashback is earned.
struct PoliciesInForce {
  std::optional<std::int64_t> city_id;
  std::shared_ptr<const engine::CityRules> city;  // never null: the defaults when no version is in force
  std::optional<std::int64_t> district_id;
  std::shared_ptr<const engine::DistrictRules> district;  // null when the district has none
  engine::PolicyInForce view() const { return {*city, district.get()}; }
};

class PolicyCache {
 public:
  // Decoders turn a stored rules document into typed rules, or throw: a stored version was
  // validated when it was posted, so a failure here is a bug.
  using CityDecoder = std::function<engine::CityRules(const std::string& rules_json)>;
  using DistrictDecoder = std::function<engine::DistrictRules(const std::string& rules_json)>;
  PolicyCache(CityDecoder city, DistrictDecoder district);

  // The versions of scope "city" and of the card's district in force at `at`, from a list of
  // version headers read in the same transaction.
  PoliciesInForce at(store::Tx& tx, const std::vector<store::PolicyVersion>& versions,
                     const std::string& card_district, Timestamp at);
  PoliciesInForce by_id(store::Tx& tx, std::optional<std::int64_t> city_id, std::optional<std::int64_t> district_id);

 private:
  std::shared_ptr<const engine::CityRules> city_rules(store::Tx& tx, std::int64_t id);
  std::shared_ptr<const engine::DistrictRules> district_rules(store::Tx& tx, std::int64_t id);

  CityDecoder decode_city_;
  DistrictDecoder decode_district_;
  std::mutex mutex_;
  std::map<std::int64_t, std::shared_ptr<const engine::CityRules>> city_;
  std::map<std::int64_t, std::shared_ptr<const engine::DistrictRules>> district_;
};

}  // namespace evoucher::ops
