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

// The decoded rules of version `id`, decoding them on first use. Two writers may decode the same
// version at once; the first to store it wins, and both results are equal.
template <typename Rules, typename Decoder>
std::shared_ptr<const Rules> cached(std::mutex& mutex, std::map<std::int64_t, std::shared_ptr<const Rules>>& cache,
                                    store::Tx& tx, std::int64_t id, const Decoder& decode) {
  {
    std::lock_guard lock(mutex);
    if (auto it = cache.find(id); it != cache.end()) return it->second;
  }
  auto rules = std::make_shared<const Rules>(decode(stored_rules(tx, id)));
  std::lock_guard lock(mutex);
  return cache.emplace(id, std::move(rules)).first->second;
}

}  // namespace

PolicyCache::PolicyCache(CityDecoder city, DistrictDecoder district)
    : decode_city_(std::move(city)), decode_district_(std::move(district)) {}

std::shared_ptr<const engine::CityRules> PolicyCache::city_rules(store::Tx& tx, std::int64_t id) {
  return cached(mutex_, city_, tx, id, decode_city_);
}

std::shared_ptr<const engine::DistrictRules> PolicyCache::district_rules(store::Tx& tx, std::int64_t id) {
  return cached(mutex_, district_, tx, id, decode_district_);
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
