// Policy rules between JSON and the engine's types.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "evoucher/engine/policy.hpp"

namespace evoucher::api {

// The rules, or the first problem (naming the field) in `problem`.
std::optional<engine::CityRules> city_rules_from_json(const nlohmann::json& rules, std::string& problem);
std::optional<engine::DistrictRules> district_rules_from_json(const nlohmann::json& rules, std::string& problem);

// Stored versions were validated when posted: these throw if one no longer decodes.
engine::CityRules decode_stored_city_rules(const std::string& rules_json);
engine::DistrictRules decode_stored_district_rules(const std::string& rules_json);

}  // namespace evoucher::api
