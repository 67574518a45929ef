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

}  // namespace evoucher::api
