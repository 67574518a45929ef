// Districts, members, cards and merchants: creation is idempotent by identifier, and every
// read or write is scoped to the caller's district.
#include <nlohmann/json.hpp>

#include "endpoints.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/districts.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/store/programs.hpp"

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

// The owner must be a member; the 400 problem's detail when it is not.
std::optional<std::string> unknown_owner(store::Tx& tx, const store::Merchant& m) {
  if (!m.owner_member || store::find_member(tx, *m.owner_member)) return std::nullopt;
  return "field 'owner_member': no member " + *m.owner_member;
}

json card_json(const store::Card& c) { return {{"token", c.token}, {"member", c.member_id}, {"status", store::to_string(c.status)}}; }

// 201 for a new resource, 200 for the same data again (both audited), 409 for other data under
// the same id (nothing written).
Response created_or_existing(store::CreateOutcome outcome, store::Tx& tx, store::AuditEntry audit,
                             const std::string& what, const std::function<json()>& body) {
  if (outcome == store::CreateOutcome::conflict)
    return problem(ErrorCode::already_exists, what + " already exists with different data");
  return commit_audited(tx, std::move(audit), json_answer(outcome == store::CreateOutcome::created ? 201 : 200, body()));
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
  store::Tx tx(c);
  const auto member = store::find_member(tx, params.at("id"));
  // Another district's member is as absent as one that never was: a district admin cannot tell.
  if (!member || !may_read(who, member->district)) return problem(ErrorCode::not_found, "no member " + params.at("id"));
  std::string month;
  if (query->count("month")) {
    const auto d = parse_date(query->at("month") + "-01");
    if (!d || query->at("month").size() != 7 || !in_service_era(*d))
      return invalid(std::string("query parameter 'month' must be YYYY-MM, ") + kServiceEra);
    month = query->at("month");
  } else {
    month = format_date(seoul_business_date(std::chrono::time_point_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now())))
                .substr(0, 7);
  }
  const auto [cash, points] = member_balances(tx, member->district, member->id);
  const auto totals = store::member_totals(tx, member->district, member->id);
  const auto m = store::member_month(tx, member->district, member->id, month + "-01");
  json programs = json::array();
  for (const auto& w : store::member_wallets(tx, member->district, member->id))
    programs.push_back({{"program", w.program}, {"balance", w.balance.value()}, {"expires_on", w.expires_on}});
  return json_answer(200, {{"id", member->id},
                           {"programs", programs},
                           {"district", member->district},
                           {"cash", cash.value()},
                           {"points", points.value()},
                           {"pending_cashback", totals.pending_cashback.value()},
                           {"month",
                            {{"month", month}, {"loaded", m.loaded.value()}, {"eligible_spent", m.eligible_spent.value()}}}});
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
  store::Tx tx(c);
  const auto member = store::find_member(tx, params.at("id"));
  // Another district's member is as absent as one that never was: a district admin cannot tell.
  if (!member || !may_read(who, member->district)) return problem(ErrorCode::not_found, "no member " + params.at("id"));
  // Cash, points, and each program wallet, named "program:<id>" with its expiry.
  std::map<std::string, std::pair<std::string, std::optional<std::string>>> names{
      {accounts::member_cash(member->id), {"cash", std::nullopt}},
      {accounts::member_points(member->id), {"points", std::nullopt}}};
  for (const auto& w : store::member_wallets(tx, member->district, member->id))
    names[accounts::member_program(w.program, member->id)] = {"program:" + w.program, w.expires_on};
  std::vector<std::string> keys;
  for (const auto& [key, name] : names) keys.push_back(key);
  const auto page = store::statement(tx, member->district, keys, limit, after);
  if (!page) return invalid("query parameter 'after' is not a cursor from an earlier page");
  json entries = json::array();
  for (const auto& line : page->lines) {
    const auto& [name, expires_on] = names.at(line.account);
    json entry{{"at", format_rfc3339(line.at)},
               {"journal_id", line.journal_id},
               {"kind", line.kind},
               {"balance", name},
               {"amount", line.amount.value()},
               {"balance_after", line.balance_after.value()}};
    if (expires_on) entry["expires_on"] = *expires_on;
    entries.push_back(std::move(entry));
  }
  return json_answer(200, {{"entries", entries}, {"next", page->next ? json(*page->next) : json(nullptr)}});
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
    store::Tx tx(c);
    const auto outcome = store::create_district(tx, d);
    return created_or_existing(outcome, tx, audit_entry(request, who, "city", "district:" + d.code),
                               "district " + d.code, [&] { return district_json(d); });
  });

  service.admin_route("GET", "/v1/districts", [](store::Connection& c, const Request&, const PathParams&,
                                                 const Principal& who) {
    store::Tx tx(c);
    json list = json::array();
    for (const auto& d : store::list_districts(tx))
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
    store::Tx tx(c);
    if (!store::find_district(tx, m.district)) return invalid("field 'district': no district " + m.district);
    const auto outcome = store::create_member(tx, m);
    return created_or_existing(outcome, tx, audit_entry(request, who, m.district, "member:" + m.id), "member " + m.id, [&] {
      return json{{"id", m.id}, {"district", m.district}};
    });
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
    store::Tx tx(c);
    const auto member = store::find_member(tx, member_id);
    if (!member || !may_write(who, member->district)) return invalid("field 'member': no member " + member_id);
    const auto outcome = store::create_card(tx, token, member_id);
    return created_or_existing(outcome, tx, audit_entry(request, who, member->district, "card:" + token), "card", [&] {
      return card_json(store::Card{token, member_id, store::CardStatus::active, member->district});
    });
  });

  service.admin_route("PATCH", "/v1/cards/{token}", [](store::Connection& c, const Request& request,
                                                       const PathParams& params, const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto status = store::parse_card_status(f.one_of("status", {"active", "suspended", "closed"}));
    if (auto p = f.problem()) return invalid(*p);
    store::Tx tx(c);
    auto card = store::find_card(tx, params.at("token"));
    if (!card || !may_write(who, card->district)) return problem(ErrorCode::not_found, "no such card");
    if (card->status == store::CardStatus::closed && *status != store::CardStatus::closed)
      return invalid("field 'status': a closed card cannot be reopened");
    store::set_card_status(tx, card->token, *status);
    card->status = *status;
    return commit_audited(tx, audit_entry(request, who, card->district, "card:" + card->token),
                          json_answer(200, card_json(*card)));
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
    store::Tx tx(c);
    if (!store::find_district(tx, m.district)) return invalid("field 'district': no district " + m.district);
    if (auto bad = unknown_owner(tx, m)) return invalid(*bad);
    const auto outcome = store::create_merchant(tx, m);
    return created_or_existing(outcome, tx, audit_entry(request, who, m.district, "merchant:" + m.id),
                               "merchant " + m.id, [&] { return merchant_json(m); });
  });

  service.admin_route("PATCH", "/v1/merchants/{id}", [](store::Connection& c, const Request& request,
                                                        const PathParams& params, const Principal& who) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    store::Tx tx(c);
    auto m = store::find_merchant(tx, params.at("id"), /*lock=*/true);
    if (!m || !may_write(who, m->district)) return problem(ErrorCode::not_found, "no merchant " + params.at("id"));
    bool any = false;
    if (f.has("status")) {
      if (const auto status = store::parse_merchant_status(f.one_of("status", {"active", "suspended"})))
        m->status = *status;
      any = true;
    }
    if (f.has("annual_revenue")) m->annual_revenue = Won(f.integer("annual_revenue", 0, kMaxAmount)), any = true;
    if (f.has("category")) m->category = category(f), any = true;
    if (f.raw("benefit")) read_benefit(f, *m), any = true;
    if (f.raw("owner_member")) read_owner(f, *m), any = true;
    if (auto p = f.problem()) return invalid(*p);
    if (!any) return invalid("the body must set at least one of status, annual_revenue, benefit, category, owner_member");
    if (auto bad = unknown_owner(tx, *m)) return invalid(*bad);
    store::update_merchant(tx, *m);
    return commit_audited(tx, audit_entry(request, who, m->district, "merchant:" + m->id),
                          json_answer(200, merchant_json(*m)));
  });

  service.admin_route("GET", "/v1/merchants/{id}", [](store::Connection& c, const Request&, const PathParams& params,
                                                      const Principal& who) {
    store::Tx tx(c);
    const auto m = store::find_merchant(tx, params.at("id"));
    if (!m || !may_read(who, m->district)) return problem(ErrorCode::not_found, "no merchant " + params.at("id"));
    auto body = merchant_json(*m);
    body["payable"] = store::merchant_payable(tx, m->id).value();
    return json_answer(200, body);
  });
}

}  // namespace evoucher::api
