// Districts, members, cards and merchants: creation is idempotent by identifier, and every
// read or write is scoped to the caller's district.
#include <nlohmann/json.hpp>

#include "endpoints.hpp"
#include "evoucher/ops/parties.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

json district_json(const store::District& d) { return {{"code", d.code}, {"name", d.name}, {"brand", d.brand}}; }

json merchant_json(const store::Merchant& m) {
  json benefit = nullptr;
  if (m.benefit_kind) benefit = {{"kind", *m.benefit_kind}, {"rate_bp", m.benefit_rate_bp.value_or(0)}};
  return {{"id", m.id},         {"business_no", m.business_no}, {"name", m.name},
          {"district", m.district}, {"category", m.category},  {"annual_revenue", m.annual_revenue.value()},
          {"status", store::to_string(m.status)}, {"benefit", benefit},
          {"owner_member", m.owner_member ? json(*m.owner_member) : json(nullptr)}};
}

// Reads owner_member: null or absent for none, else a member's id.
void read_owner(Fields& f, store::Merchant& m) {
  const json* o = f.raw("owner_member");
  m.owner_member.reset();
  if (!o || o->is_null()) return;
  m.owner_member = f.client_id("owner_member");
}

json card_json(const store::Card& c) {
  return {{"token", c.token}, {"member", c.member_id}, {"status", store::to_string(c.status)}};
}

// 201 for a new resource, 200 for the same data again (both audited), 409 for other data under
// the same id (nothing written), 400 for a reference to what is not.
ops::Answer creation_answer(const ops::Creation& c, const std::string& what, const std::function<json()>& body) {
  if (c.unknown) return to_answer(invalid(*c.unknown));
  if (c.outcome == store::CreateOutcome::conflict)
    return to_answer(problem(ErrorCode::already_exists, what + " already exists with different data"));
  return to_answer(json_answer(c.outcome == store::CreateOutcome::created ? 201 : 200, body()));
}

ops::MayWrite writes_for(const Principal& who) {
  return [who](const std::string& district) { return may_write(who, district); };
}

// Reads a merchant benefit: null, or {kind, rate_bp} with rate_bp from 100 to 700.
void read_benefit(Fields& f, store::Merchant& m) {
  const json* b = f.raw("benefit");
  m.benefit_kind.reset();
  m.benefit_rate_bp.reset();
  if (!b || b->is_null()) return;
  Fields inner(*b, "benefit.");
  const auto kind = inner.one_of("kind", {"pre_discount", "merchant_cashback"});
  const auto rate = inner.integer("rate_bp", 100, 700);
  if (auto p = inner.problem()) {
    f.fail("benefit", "is invalid: " + *p);
    return;
  }
  m.benefit_kind = kind;
  m.benefit_rate_bp = static_cast<int>(rate);
}

std::string category(Fields& f) { return f.text("category", 64); }

Response get_member(store::Connection& c, const Request& request, const PathParams& params, const Principal& who) {
  std::string bad;
  const auto query = read_query(request, {"month"}, bad);
  if (!query) return invalid(bad);
  const auto& id = params.at("id");
  std::optional<std::string> month;
  if (query->count("month")) {
    const auto d = parse_date(query->at("month") + "-01");
    if (d && query->at("month").size() == 7 && in_service_era(*d)) month = query->at("month");
  } else {
    month = format_date(seoul_business_date(std::chrono::time_point_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now())))
                .substr(0, 7);
  }
  // Another district's member is as absent as one that never was: a district admin cannot tell.
  const auto not_found = [&] { return problem(ErrorCode::not_found, "no member " + id); };
  if (!month) {
    const auto member = ops::find_member(c, id);
    if (!member || !may_read(who, member->district)) return not_found();
    return invalid(std::string("query parameter 'month' must be YYYY-MM, ") + kServiceEra);
  }
  const auto v = ops::member_view(c, id, *month + "-01");
  if (!v || !may_read(who, v->member.district)) return not_found();
  json programs = json::array();
  for (const auto& w : v->wallets)
    programs.push_back({{"program", w.program}, {"balance", w.balance.value()}, {"expires_on", w.expires_on}});
  return json_answer(200, {{"id", v->member.id},
                           {"programs", programs},
                           {"district", v->member.district},
                           {"cash", v->balances.cash.value()},
                           {"points", v->balances.points.value()},
                           {"pending_cashback", v->totals.pending_cashback.value()},
                           {"month",
                            {{"month", *month},
                             {"loaded", v->month.loaded.value()},
                             {"eligible_spent", v->month.eligible_spent.value()}}}});
}

Response get_statement(store::Connection& c, const Request& request, const PathParams& params, const Principal& who) {
  std::string bad;
  const auto query = read_query(request, {"limit", "after"}, bad);
  if (!query) return invalid(bad);
  int limit = 50;
  std::optional<std::string> after;
  for (const auto& [k, v] : *query) {
    if (k == "limit") {
      const auto n = positive_integer(v, 500);
      if (!n) return invalid("query parameter 'limit' must be an integer from 1 to 500");
      limit = static_cast<int>(*n);
    } else {
      after = v;
    }
  }
  const auto s = ops::member_statement(c, params.at("id"), limit, after);
  // Another district's member is as absent as one that never was: a district admin cannot tell.
  if (!s || !may_read(who, s->member.district)) return problem(ErrorCode::not_found, "no member " + params.at("id"));
  if (!s->entries) return invalid("query parameter 'after' is not a cursor from an earlier page");
  json entries = json::array();
  for (const auto& e : *s->entries) {
    json entry{{"at", format_rfc3339(e.line.at)},
               {"journal_id", e.line.journal_id},
               {"kind", e.line.kind},
               {"balance", e.balance},
               {"amount", e.line.amount.value()},
               {"balance_after", e.line.balance_after.value()}};
    if (e.expires_on) entry["expires_on"] = *e.expires_on;
    entries.push_back(std::move(entry));
  }
  return json_answer(200, {{"entries", entries}, {"next", s->next ? json(*s->next) : json(nullptr)}});
}

}  // namespace

void add_party_routes(Service& service) {
  service.admin_route("POST", "/v1/districts", [](store::Connection& c, const Request& request, const PathParams&,
                                                  const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    store::District d{f.district_code("code"), f.text("name"), f.text("brand")};
    if (auto p = f.problem()) return invalid(*p);
    if (who.role != Role::city_admin) return forbidden("create districts");
    return from_result(ops::create_district(
        c, {d, {audit_entry(request, who, "city"), std::nullopt}, [&](const ops::Creation& made) {
              return creation_answer(made, "district " + d.code, [&] { return district_json(d); });
            }}));
  });

  service.admin_route("GET", "/v1/districts", [](store::Connection& c, const Request&, const PathParams&,
                                                 const Principal& who) {
    json list = json::array();
    for (const auto& d : ops::districts(c))
      if (may_read(who, d.code)) list.push_back(district_json(d));
    return json_answer(200, {{"districts", list}});
  });

  service.admin_route("POST", "/v1/members", [](store::Connection& c, const Request& request, const PathParams&,
                                                const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    store::Member m{f.client_id("id"), f.district_code("district")};
    if (auto p = f.problem()) return invalid(*p);
    if (!may_write(who, m.district)) return forbidden("create members in " + m.district);
    return from_result(ops::create_member(
        c, {m, {audit_entry(request, who, m.district), std::nullopt}, [&](const ops::Creation& made) {
              return creation_answer(made, "member " + m.id, [&] { return json{{"id", m.id}, {"district", m.district}}; });
            }}));
  });

  service.admin_route("GET", "/v1/members/{id}", get_member);
  service.admin_route("GET", "/v1/members/{id}/statement", get_statement);

  service.admin_route("POST", "/v1/cards", [](store::Connection& c, const Request& request, const PathParams&,
                                              const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto token = f.client_id("token");
    const auto member_id = f.client_id("member");
    if (auto p = f.problem()) return invalid(*p);
    return from_result(ops::create_card(
        c, {token, member_id, writes_for(who), {audit_entry(request, who, ""), std::nullopt},
            [](const ops::Creation& made, const store::Card& card) {
              return creation_answer(made, "card", [&] { return card_json(card); });
            }}));
  });

  service.admin_route("PATCH", "/v1/cards/{token}", [](store::Connection& c, const Request& request,
                                                       const PathParams& params, const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto status = store::parse_card_status(f.one_of("status", {"active", "suspended", "closed"}));
    if (auto p = f.problem()) return invalid(*p);
    return from_result(ops::set_card_status(
        c, {params.at("token"), *status, writes_for(who), {audit_entry(request, who, ""), std::nullopt},
            [](const ops::CardChange& change) {
              if (change.not_found) return to_answer(problem(ErrorCode::not_found, *change.not_found));
              if (change.not_allowed) return to_answer(invalid(*change.not_allowed));
              return to_answer(json_answer(200, card_json(*change.card)));
            }}));
  });

  service.admin_route("POST", "/v1/merchants", [](store::Connection& c, const Request& request, const PathParams&,
                                                  const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    store::Merchant m;
    m.id = f.client_id("id");
    m.business_no = f.text("business_no", 32);
    m.name = f.text("name");
    m.district = f.district_code("district");
    m.category = category(f);
    m.annual_revenue = Won(f.integer("annual_revenue", 0, kMaxAmount));
    read_benefit(f, m);
    read_owner(f, m);
    if (auto p = f.problem()) return invalid(*p);
    if (!may_write(who, m.district)) return forbidden("create merchants in " + m.district);
    return from_result(ops::create_merchant(
        c, {m, {audit_entry(request, who, m.district), std::nullopt}, [&](const ops::Creation& made) {
              return creation_answer(made, "merchant " + m.id, [&] { return merchant_json(m); });
            }}));
  });

  service.admin_route("PATCH", "/v1/merchants/{id}", [](store::Connection& c, const Request& request,
                                                        const PathParams& params, const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto& id = params.at("id");
    const auto found = ops::find_merchant(c, id);
    if (!found || !may_write(who, found->district)) return problem(ErrorCode::not_found, "no merchant " + id);
    // The fields are read into a copy of the merchant, so that a benefit or owner reads as it would
    // on the stored row; only the fields present are sent on.
    auto m = *found;
    ops::MerchantPatch patch;
    if (f.has("status")) {
      if (const auto status = store::parse_merchant_status(f.one_of("status", {"active", "suspended"})))
        patch.status = m.status = *status;
      else
        patch.status = m.status;  // refused with the field's problem below
    }
    if (f.has("annual_revenue")) patch.annual_revenue = m.annual_revenue = Won(f.integer("annual_revenue", 0, kMaxAmount));
    if (f.has("category")) patch.category = m.category = category(f);
    if (f.raw("benefit")) {
      read_benefit(f, m);
      patch.sets_benefit = true, patch.benefit_kind = m.benefit_kind, patch.benefit_rate_bp = m.benefit_rate_bp;
    }
    if (f.raw("owner_member")) read_owner(f, m), patch.sets_owner = true, patch.owner_member = m.owner_member;
    if (auto p = f.problem()) return invalid(*p);
    if (!patch.status && !patch.annual_revenue && !patch.category && !patch.sets_benefit && !patch.sets_owner)
      return invalid("the body must set at least one of status, annual_revenue, benefit, category, owner_member");
    return from_result(ops::update_merchant(
        c, {id, patch, writes_for(who), {audit_entry(request, who, ""), std::nullopt}, [](const ops::MerchantChange& change) {
              if (change.not_found) return to_answer(problem(ErrorCode::not_found, *change.not_found));
              if (change.unknown_owner) return to_answer(invalid(*change.unknown_owner));
              return to_answer(json_answer(200, merchant_json(*change.merchant)));
            }}));
  });

  service.admin_route("GET", "/v1/merchants/{id}", [](store::Connection& c, const Request&, const PathParams& params,
                                                      const Principal& who) {
    const auto v = ops::merchant_view(c, params.at("id"));
    if (!v || !may_read(who, v->merchant.district)) return problem(ErrorCode::not_found, "no merchant " + params.at("id"));
    auto body = merchant_json(v->merchant);
    body["payable"] = v->payable.value();
    return json_answer(200, body);
  });
}

}  // namespace evoucher::api
