// Versioned policies: POST a version with its effective time; GET the version in force at T.
#include "endpoints.hpp"
#include "evoucher/api/policy_json.hpp"
#include "evoucher/ops/policies.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

json policy_json(const store::PolicyRow& p) {
  return {{"id", p.id}, {"scope", p.scope}, {"effective_from", format_rfc3339(p.effective_from)},
          {"rules", json::parse(p.rules_json)}};
}

// The city policy is what everyone is under, so every role may read it.
bool may_read_policy(const Principal& who, const std::string& scope) { return scope == "city" || may_read(who, scope); }

}  // namespace

void add_policy_routes(Service& service) {
  service.admin_route("POST", "/v1/policies", [](store::Connection& c, const Request& request, const PathParams&,
                                                 const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto scope = f.district_code("scope");
    const auto effective_from = f.time("effective_from");
    const json* rules = f.raw("rules");
    if (!rules && !f.problem()) f.fail("rules", "is required");
    if (auto p = f.problem()) return invalid(*p);
    // City-wide rules are the city's alone: not even the `city` district's own admin writes them.
    if (scope == "city" ? who.role != Role::city_admin : !may_write(who, scope))
      return forbidden("set the policy of " + scope);
    std::string bad;
    if (scope == "city") {
      if (!city_rules_from_json(*rules, bad)) return problem(ErrorCode::policy_invalid, bad);
    } else if (!district_rules_from_json(*rules, bad)) {
      return problem(ErrorCode::policy_invalid, bad);
    }
    const auto& at = effective_from;
    return from_result(ops::create_policy(
        c, {scope, effective_from, rules->dump(), {audit_entry(request, who, scope), std::nullopt},
            [&](const ops::PolicyCreation& made) {
              if (made.unknown_scope) return to_answer(invalid(*made.unknown_scope));
              if (made.outcome == store::CreateOutcome::conflict)
                return to_answer(problem(ErrorCode::already_exists, "a " + scope + " policy from " + format_rfc3339(at) +
                                                                        " already exists with other rules"));
              return to_answer(json_answer(made.outcome == store::CreateOutcome::created ? 201 : 200, policy_json(made.row)));
            }}));
  });

  service.admin_route("GET", "/v1/policies", [](store::Connection& c, const Request& request, const PathParams&,
                                                const Principal& who) {
    std::string bad;
    const auto query = read_query(request, {"scope", "at"}, bad);
    if (!query) return invalid(bad);
    if (!query->count("scope") || !is_district_code(query->at("scope")))
      return invalid("query parameter 'scope' is required: city or a district code");
    const auto& scope = query->at("scope");
    auto at = std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    if (query->count("at")) {
      const auto t = parse_rfc3339(query->at("at"));
      if (!t || !in_service_era(*t))
        return invalid(std::string("query parameter 'at' must be an RFC 3339 time ") + kServiceEra);
      at = *t;
    }
    const auto row = may_read_policy(who, scope) ? ops::policy_at(c, scope, at) : std::nullopt;
    if (!row) return problem(ErrorCode::not_found, "no " + scope + " policy is in force at " + format_rfc3339(at));
    return json_answer(200, policy_json(*row));
  });
}

}  // namespace evoucher::api
