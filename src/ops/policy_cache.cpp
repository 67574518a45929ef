// Decoding a version costs a JSON parse and a validation; doing it once per id keeps both off
// the money path.
#include "evoucher/ops/policy_cache.hpp"

#include "evoucher/store/parties.hpp"

namespace evoucher::ops {
namespace {

const store::PolicyVersion* in_force(const std::vector<store::PolicyVersion>& versions, const std::string& scope,
                                     Timestamp at) {
  const store::PolicyVersion* best = nullptr;
  for (const auto& v : versions)
    if (v.scope == scope && v.effective_from <= at && (!best || v.effective_from > best->effective_from)) best = &v;
  return best;
}

std::string stored_rules(store::Tx& tx, std::int64_t id) {
  const auto row = store::policy_by_id(tx, id);
  if (!row) throw std::runtime_error("policy " + std::to_string(id) + " does not exist");
  return row->rules_json;
}

}  // namespace

PolicyCache::PolicyCache(CityDecoder city, DistrictDecoder district)
    : decode_city_(std::move(city)), decode_district_(std::move(district)) {}

std::shared_ptr<const engine::CityRules> PolicyCache::city_rules(store::Tx& tx, std::int64_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = city_.find(id); it != city_.end()) return it->second;
  }
  auto rules = std::make_shared<const engine::CityRules>(decode_city_(stored_rules(tx, id)));
  std::lock_guard lock(mutex_);
  return city_.emplace(id, std::move(rules)).first->second;
}

std::shared_ptr<const engine::DistrictRules> PolicyCache::district_rules(store::Tx& tx, std::int64_t id) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = district_.find(id); it != district_.end()) return it->second;
  }
  auto rules = std::make_shared<const engine::DistrictRules>(decode_district_(stored_rules(tx, id)));
  std::lock_guard lock(mutex_);
  return district_.emplace(id, std::move(rules)).first->second;
}

PoliciesInForce PolicyCache::by_id(store::Tx& tx, std::optional<std::int64_t> city_id,
                                   std::optional<std::int64_t> district_id) {
  static const auto defaults = std::make_shared<const engine::CityRules>();
  PoliciesInForce out;
  out.city = defaults;
  if (city_id) {
    out.city_id = city_id;
    out.city = city_rules(tx, *city_id);
  }
  if (district_id) {
    out.district_id = district_id;
    out.district = district_rules(tx, *district_id);
  }
  return out;
}

PoliciesInForce PolicyCache::at(store::Tx& tx, const std::vector<store::PolicyVersion>& versions,
                                const std::string& card_district, Timestamp at) {
  std::optional<std::int64_t> city_id, district_id;
  if (const auto* v = in_force(versions, "city", at)) city_id = v->id;
  if (card_district != "city")
    if (const auto* v = in_force(versions, card_district, at)) district_id = v->id;
  return by_id(tx, city_id, district_id);
}

}  // namespace evoucher::ops
