// Policy money (정책발행): programs and their grants. A program belongs to the city (city_admin
// only) or to one district; its pool is created with it. Grants go through the group writer,
// which judges every line and never stops half-way.
#include <charconv>

#include "endpoints.hpp"
#include "evoucher/ops/pools.hpp"
#include "evoucher/ops/reports.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

bool is_program_id(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

// The city's programs are the city admin's alone; a district's, its admins' too.
bool may_write_program(const Principal& who, const std::string& district) {
  return district == "city" ? who.role == Role::city_admin : may_write(who, district);
}

json program_json(const store::Program& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"district", p.district},
          {"funder", p.funder},
          {"pool_id", p.pool_id},
          {"grant_from", p.grant_from},
          {"grant_to", p.grant_to},
          {"expires_on", p.expires_on},
          {"scope",
           {{"categories", p.categories ? json(*p.categories) : json(nullptr)},
            {"over_ceiling_allowed", p.over_ceiling_allowed}}}};
}

Response post_program(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  store::Program p;
  p.id = f.text("id", 64);
  if (!p.id.empty() && !is_program_id(p.id)) f.fail("id", "must be 1-64 characters from [A-Za-z0-9_.-]");
  p.name = f.text("name", 200);
  p.district = f.district_code("district");
  p.funder = f.one_of("funder", {"national", "city", "district"});
  const auto budget = f.amount("budget");
  p.grant_from = f.date("grant_from");
  p.grant_to = f.date("grant_to");
  p.expires_on = f.date("expires_on");
  if (const json* scope = f.raw("scope"); !scope || !scope->is_object()) {
    f.fail("scope", "is required: {categories: [...] or null, over_ceiling_allowed}");
  } else {
    Fields s(*scope, "scope.");
    if (const json* cats = s.raw("categories"); cats && !cats->is_null()) {
      std::vector<std::string> list;
      if (!cats->is_array() || cats->empty()) s.fail("categories", "must be a non-empty array of category names, or null");
      else
        for (const auto& cat : *cats) {
          if (!cat.is_string() || cat.get<std::string>().empty() || cat.get<std::string>().size() > 64) {
            s.fail("categories", "must hold strings of 1-64 bytes");
            break;
          }
          list.push_back(cat.get<std::string>());
        }
      p.categories = list;
    }
    p.over_ceiling_allowed = s.boolean("over_ceiling_allowed");
    if (auto problem = s.problem()) f.fail("scope", "is invalid: " + *problem);
  }
  if (!p.grant_from.empty() && !p.grant_to.empty() && p.grant_to < p.grant_from)
    f.fail("grant_to", "must not be before grant_from");
  if (!p.grant_to.empty() && !p.expires_on.empty() && p.expires_on < p.grant_to)
    f.fail("expires_on", "must not be before grant_to");
  if (p.district == "city" && p.funder == "district") f.fail("funder", "a city program is funded nationally or by the city");
  if (auto problem = f.problem()) return invalid(*problem);
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) return invalid(detail);
  if (!may_write_program(who, p.district)) return forbidden("create programs of " + p.district);
  ops::AdminWrite write{audit_entry(request, who, p.district), ops::AdminKey{p.district, *key, request_hash(request)}};
  return from_result(ops::create_program(c, {p, budget, write, [&](const ops::ProgramCreation& made) {
                                               if (made.unknown_district) return to_answer(invalid(*made.unknown_district));
                                               if (made.outcome == store::CreateOutcome::conflict)
                                                 return to_answer(problem(ErrorCode::already_exists,
                                                                          "program " + p.id +
                                                                              " already exists with different data, "
                                                                              "or its pool overlaps one"));
                                               return to_answer(json_answer(
                                                   made.outcome == store::CreateOutcome::created ? 201 : 200,
                                                   program_json(made.program)));
                                             }}));
}

Response get_program(store::Connection& c, const Request&, const PathParams& params, const Principal& who) {
  const auto view = ops::program_view(c, params.at("id"));
  if (!view || !may_read(who, view->program.district))
    return problem(ErrorCode::not_found, "no program " + params.at("id"));
  auto body = program_json(view->program);
  store::ProgramTotals all;
  json by_district = json::array();
  for (const auto& [district, t] : view->by_district) {
    all.granted += t.granted;
    all.spent += t.spent;
    all.expired += t.expired;
    all.returned += t.returned;
    all.balance += t.balance;
    all.grants += t.grants;
    by_district.push_back({{"district", district},
                           {"grants", t.grants},
                           {"granted", t.granted.value()},
                           {"spent", t.spent.value()},
                           {"expired", t.expired.value()},
                           {"returned", t.returned.value()},
                           {"balance", t.balance.value()}});
  }
  body["grants"] = all.grants;
  body["granted"] = all.granted.value();
  body["spent"] = all.spent.value();
  body["expired"] = all.expired.value();
  body["returned"] = all.returned.value();
  body["balance"] = all.balance.value();
  body["by_district"] = by_district;
  if (const auto& pool = view->pool)
    body["pool"] = {{"budget", pool->budget.value()}, {"remaining", pool->remaining().value()}};
  return json_answer(200, body);
}

// "member,amount" lines; a header line of those two words is skipped. A bad line is refused on
// its own, and the rest go on.
std::vector<ops::GrantLine> csv_lines(const std::string& body) {
  std::vector<ops::GrantLine> out;
  std::size_t at = 0;
  int number = 0;
  while (at < body.size()) {
    auto end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    std::string line = body.substr(at, end - at);
    at = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line = line.substr(3);  // a BOM
    if (line.empty()) continue;
    if (number == 1 && line == "member,amount") continue;
    ops::GrantLine g;
    g.line = number;
    const auto comma = line.find(',');
    g.member = line.substr(0, comma);
    if (comma == std::string::npos || line.find(',', comma + 1) != std::string::npos) {
      g.refused = "a line is member,amount";
    } else if (!is_client_id(g.member)) {
      g.refused = "member must be 1-64 characters from [A-Za-z0-9_.:-]";
    } else {
      const auto text = line.substr(comma + 1);
      std::int64_t amount = 0;
      const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
      if (ec != std::errc() || ptr != text.data() + text.size() || amount < 1 || amount > kMaxAmount)
        g.refused = "amount must be an integer from 1 to " + std::to_string(kMaxAmount);
      else
        g.amount = Won(amount);
    }
    if (g.member.size() > 64) g.member = g.member.substr(0, 64);
    if (!is_utf8(g.member)) g.member = "";
    out.push_back(std::move(g));
  }
  return out;
}

ops::Answer render_grants(const ops::GrantOutcome& o) {
  json refused = json::array();
  for (const auto& r : o.refused) refused.push_back({{"line", r.line}, {"member", r.member}, {"reason", r.reason}});
  return to_answer(json_answer(200, {{"accepted", o.accepted}, {"amount", o.amount.value()}, {"refused", refused}}));
}

void post_grants(ops::GroupWriter& writer, store::Connection& c, const Request& request, const PathParams& params,
                 const Principal& who, Reply reply) {
  ops::GrantCommand command;
  const auto* type = request.header("content-type");
  const bool csv = type && type->rfind("text/csv", 0) == 0;
  std::optional<Timestamp> at;
  std::string bad;
  const auto query = read_query(request, {"occurred_at"}, bad);
  if (!query) return reply(invalid(bad));
  if (query->count("occurred_at")) {
    at = parse_rfc3339(query->at("occurred_at"));
    if (!at || !in_service_era(*at))
      return reply(invalid("query parameter 'occurred_at' must be an RFC 3339 time, " + std::string(kServiceEra)));
  }
  if (csv) {
    command.lines = csv_lines(request.body);
  } else {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const json* grants = f.raw("grants");
    if (!grants || !grants->is_array()) f.fail("grants", "must be an array of {member, amount}");
    if (auto problem = f.problem()) return reply(invalid(*problem));
    int number = 0;
    for (const auto& item : *grants) {
      ops::GrantLine g;
      g.line = ++number;
      if (!item.is_object()) {
        g.refused = "a grant is {member, amount}";
      } else {
        Fields line(item);
        g.member = line.client_id("member");
        g.amount = line.amount("amount");
        if (auto problem = line.problem()) g.refused = *problem;
      }
      command.lines.push_back(std::move(g));
    }
  }
  if (command.lines.empty()) return reply(invalid("the body holds no grant"));
  const auto now = now_utc();
  if (at && *at > now + kClockTolerance)
    return reply(invalid("query parameter 'occurred_at' is more than 5 minutes after the server's clock"));
  command.occurred_at = at.value_or(now);
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) return reply(invalid(detail));
  const auto program = ops::find_program(c, params.at("id"));
  if (!program || !may_read(who, program->district))
    return reply(problem(ErrorCode::not_found, "no program " + params.at("id")));
  if (!may_write_program(who, program->district)) return reply(forbidden("grant money of " + program->district));
  command.program = program->id;
  command.district = program->district;
  command.key = *key;
  command.request_hash = request_hash(request);
  command.audit = audit_entry(request, who, command.district);
  command.render = render_grants;
  submit_command(writer, std::move(command), std::move(reply));
}

}  // namespace

void add_program_routes(Service& service) {
  service.admin_route("POST", "/v1/programs", post_program);
  service.admin_route("GET", "/v1/programs/{id}", get_program);
  service.admin_command("POST", "/v1/programs/{id}/grants", std::bind_front(post_grants, std::ref(service.writer())));
}

}  // namespace evoucher::api
