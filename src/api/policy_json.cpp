// Decoding policy rules: every field typed and ranged, defaults from PRODUCT.md, then the
// engine's own validation.
#include "evoucher/api/policy_json.hpp"

#include "evoucher/api/json_input.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

std::set<std::string> category_list(const json* v, Fields& f, const char* name) {
  std::set<std::string> out;
  if (!v) return out;
  if (!v->is_array()) {
    f.fail(name, "must be an array of category names");
    return out;
  }
  for (const auto& c : *v) {
    if (!c.is_string() || c.get<std::string>().empty() || c.get<std::string>().size() > 64) {
      f.fail(name, "must hold strings of 1-64 bytes");
      return out;
    }
    out.insert(c.get<std::string>());
  }
  return out;
}

// Reads an array of objects, each through `one`.
template <typename T, typename Fn>
std::vector<T> objects(const json* v, Fields& f, const char* name, Fn&& one) {
  std::vector<T> out;
  if (!v) return out;
  if (!v->is_array()) {
    f.fail(name, "must be an array");
    return out;
  }
  for (std::size_t i = 0; i < v->size(); ++i) {
    Fields item((*v)[i], std::string(name) + "[" + std::to_string(i) + "].");
    T value = one(item);
    if (auto p = item.problem()) {
      f.fail(name, "is invalid: " + *p);
      return out;
    }
    out.push_back(value);
  }
  return out;
}

template <typename T>
std::optional<T> finish(Fields& f, T value, std::string& problem) {
  if (auto p = f.problem()) {
    problem = *p;
    return std::nullopt;
  }
  const auto errors = engine::validate(value);
  if (!errors.empty()) {
    problem = "rules." + errors.front();
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::optional<engine::CityRules> city_rules_from_json(const json& rules, std::string& problem) {
  Fields f(rules, "rules.");
  engine::CityRules r;
  const json* brackets = f.raw("brackets");
  if (!brackets) f.fail("brackets", "is required");
  r.brackets = objects<engine::Bracket>(brackets, f, "brackets", [](Fields& b) {
    return engine::Bracket{b.amount("up_to"), static_cast<int>(b.integer("rate_bp", 0, 10'000))};
  });
  if (f.has("revenue_ceiling")) r.revenue_ceiling = Won(f.integer("revenue_ceiling", 0, kMaxAmount));
  r.revenue_tiers = objects<engine::RevenueTier>(f.raw("revenue_tiers"), f, "revenue_tiers", [](Fields& t) {
    return engine::RevenueTier{Won(t.integer("over", 0, kMaxAmount)), static_cast<int>(t.integer("percent_of_rate", 0, 100))};
  });
  if (const json* ex = f.raw("excluded_categories")) {
    Fields e(*ex, "rules.excluded_categories.");
    r.excluded_voucher = category_list(e.raw("voucher"), e, "voucher");
    r.excluded_cashback = category_list(e.raw("cashback"), e, "cashback");
    if (auto p = e.problem()) f.fail("excluded_categories", "is invalid: " + *p);
  }
  if (const json* split = f.raw("funding_split")) {
    Fields s(*split, "rules.funding_split.");
    r.split_national = static_cast<int>(s.integer("national", 0, 1'000'000));
    r.split_city = static_cast<int>(s.integer("city", 0, 1'000'000));
    if (auto p = s.problem()) f.fail("funding_split", "is invalid: " + *p);
  } else {
    f.fail("funding_split", "is required");
  }
  if (f.has("monthly_load_limit")) r.monthly_load_limit = f.amount("monthly_load_limit");
  if (f.has("balance_cap")) r.balance_cap = f.amount("balance_cap");
  if (f.has("refund_min_used_pct")) r.refund_min_used_pct = static_cast<int>(f.integer("refund_min_used_pct", 0, 100));
  if (const json* fraud = f.raw("fraud"); fraud && !fraud->is_null()) {
    if (!fraud->is_object()) {
      f.fail("fraud", "must be an object");
    } else {
      Fields x(*fraud, "rules.fraud.");
      auto& d = r.fraud;
      if (x.has("repeat_per_day")) d.repeat_per_day = static_cast<int>(x.integer("repeat_per_day", 0, 1000));
      if (x.has("large_price")) d.large_price = Won(x.integer("large_price", 0, kMaxAmount));
      if (x.has("burst_count")) d.burst_count = static_cast<int>(x.integer("burst_count", 0, 1000));
      if (x.has("burst_minutes")) d.burst_minutes = static_cast<int>(x.integer("burst_minutes", 1, 1000));
      if (x.has("own_shop")) d.own_shop = x.boolean("own_shop");
      if (x.has("sales_over_revenue")) d.sales_over_revenue = x.boolean("sales_over_revenue");
      if (auto p = x.problem()) f.fail("fraud", "is invalid: " + *p);
    }
  }
  return finish(f, r, problem);
}

std::optional<engine::DistrictRules> district_rules_from_json(const json& rules, std::string& problem) {
  Fields f(rules, "rules.");
  engine::DistrictRules r;
  r.topup_bp = static_cast<int>(f.integer("topup_bp", 0, 10'000));
  r.fee_support_bp = static_cast<int>(f.integer("fee_support_bp", 0, 10'000));
  return finish(f, r, problem);
}

engine::CityRules decode_stored_city_rules(const std::string& rules_json) {
  std::string problem;
  auto rules = city_rules_from_json(json::parse(rules_json), problem);
  if (!rules) throw std::runtime_error("a stored city policy is invalid: " + problem);
  return *rules;
}

engine::DistrictRules decode_stored_district_rules(const std::string& rules_json) {
  std::string problem;
  auto rules = district_rules_from_json(json::parse(rules_json), problem);
  if (!rules) throw std::runtime_error("a stored district policy is invalid: " + problem);
  return *rules;
}

}  // namespace evoucher::api
