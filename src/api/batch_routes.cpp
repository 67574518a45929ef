// Pools, the cashback batch, and the ledger reports.
#include <algorithm>
#include <limits>

#include "endpoints.hpp"
#include "evoucher/engine/forecast.hpp"
#include "evoucher/ops/batch.hpp"
#include "evoucher/ops/expiry.hpp"
#include "evoucher/ops/parties.hpp"
#include "evoucher/ops/pools.hpp"
#include "evoucher/ops/reports.hpp"

namespace evoucher::api {
namespace {

// A report object as one CSV row: nested fields are named by their path ("cashback.posted.city").
void flatten(const nlohmann::json& value, const std::string& path, std::vector<std::pair<std::string, const nlohmann::json*>>& out) {
  if (value.is_object()) {
    for (const auto& [key, inner] : value.items()) flatten(inner, path.empty() ? key : path + "." + key, out);
  } else {
    out.emplace_back(path, &value);
  }
}

std::string flat_csv(const nlohmann::json& report) {
  std::vector<std::pair<std::string, const nlohmann::json*>> fields;
  flatten(report, "", fields);
  // The report's subject first, then its figures by name.
  std::stable_partition(fields.begin(), fields.end(), [](const auto& f) {
    return f.first == "district" || f.first == "from" || f.first == "to";
  });
  std::string out;
  CsvRow names(out);
  for (const auto& [name, value] : fields) names.text(name);
  names.end();
  CsvRow values(out);
  for (const auto& [name, value] : fields) {
    if (value->is_number_integer()) values.number(value->get<std::int64_t>());
    else if (value->is_string()) values.text(value->get<std::string>());
    else values.text(value->dump());
  }
  values.end();
  return out;
}

}  // namespace

namespace {

using json = nlohmann::json;

std::string pool_district(const std::string& source) {
  return source.rfind("district:", 0) == 0 ? source.substr(9) : "";
}

json pool_json(const store::Pool& p) {
  return {{"id", p.id},
          {"source", p.source},
          {"period_start", p.period_start},
          {"period_end", p.period_end},
          {"budget", p.budget.value()},
          {"drawn", p.drawn.value()},
          {"remaining", p.remaining().value()}};
}

// A district admin sees the city-wide pools and its own district's (its district pool and its
// programs' pools), never another district's.
bool may_see_pool(const Principal& who, const store::Pool& pool) {
  return pool.owner == "city" || may_read(who, pool.owner);
}

// National and city pools are the city's; a district pool is its district's.
bool may_write_pool(const Principal& who, const std::string& source) {
  const auto district = pool_district(source);
  return district.empty() ? who.role == Role::city_admin : may_write(who, district);
}

Response post_pool(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto source = f.text("source", 64);
  const auto start = f.date("period_start");
  const auto end = f.date("period_end");
  const auto budget = f.amount("budget");
  const auto district = pool_district(source);
  if (!source.empty() && source != "national" && source != "city" && !is_district_code(district))
    f.fail("source", "must be national, city or district:<code>");
  if (!start.empty() && !end.empty() && end < start) f.fail("period_end", "must not be before period_start");
  if (auto p = f.problem()) return invalid(*p);
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) return invalid(detail);
  if (!may_write_pool(who, source)) return forbidden("create " + source + " pools");
  const auto key_district = ops::pool_key_district(source);
  ops::AdminWrite write{audit_entry(request, who, key_district), ops::AdminKey{key_district, *key, request_hash(request)}};
  return from_result(ops::create_pool(c, {source, start, end, budget, write, [&](const ops::PoolCreation& p) {
                                            if (p.unknown_source) return to_answer(invalid(*p.unknown_source));
                                            const auto& made = p.made;
                                            if (made.created) return to_answer(json_answer(201, pool_json(*made.created)));
                                            return to_answer(problem(
                                                ErrorCode::already_exists,
                                                "pool " + std::to_string(made.overlapping->id) + " of " + source +
                                                    " already covers " + made.overlapping->period_start + " to " +
                                                    made.overlapping->period_end + ", which overlaps " + start +
                                                    " to " + end));
                                          }}));
}

Response post_top_up(store::Connection& c, const Request& request, const PathParams& params, const Principal& who) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto amount = f.amount("amount");
  if (auto p = f.problem()) return invalid(*p);
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) return invalid(detail);
  const auto& text = params.at("id");
  const auto parsed = positive_integer(text, std::numeric_limits<std::int64_t>::max());
  if (!parsed) return problem(ErrorCode::not_found, "no pool " + text);
  const std::int64_t id = *parsed;
  ops::TopUpPool command;
  command.pool = id;
  command.pool_ref = text;
  command.amount = amount;
  command.may_see = [&who](const store::Pool& p) { return may_see_pool(who, p); };
  command.may_write = [&who](const store::Pool& p) { return may_write_pool(who, p.source); };
  command.write = {audit_entry(request, who, ""), ops::AdminKey{"", *key, request_hash(request)}};
  command.render = [](const ops::TopUp& t) {
    if (t.not_found) return to_answer(problem(ErrorCode::not_found, *t.not_found));
    if (t.forbidden) return to_answer(forbidden(*t.forbidden));
    return to_answer(json_answer(201, pool_json(*t.pool)));
  };
  return from_result(ops::top_up_pool(c, command));
}

Response get_pools(store::Connection& c, const Request&, const PathParams&, const Principal& who) {
  json list = json::array();
  for (const auto& p : ops::pools(c)) {
    if (may_see_pool(who, p)) list.push_back(pool_json(p));
  }
  return json_answer(200, {{"pools", list}});
}

// The burn-down: what the pool had left after each business date's batch, and when it runs out
// at the pace of the last 7 days' draw.
Response get_burn_down(store::Connection& c, const Request&, const PathParams& params, const Principal& who) {
  const auto id = positive_integer(params.at("id"), std::numeric_limits<std::int64_t>::max());
  if (!id) return problem(ErrorCode::not_found, "no pool " + params.at("id"));
  const auto burn = ops::burn_down(c, *id);
  if (!burn || !may_see_pool(who, burn->pool)) return problem(ErrorCode::not_found, "no pool " + params.at("id"));
  const auto* pool = &burn->pool;
  std::vector<engine::PoolDay> days;
  json history = json::array();
  for (const auto& d : burn->days) {
    days.push_back({parse_date(d.business_date).value(), d.remaining});
    history.push_back({{"business_date", d.business_date}, {"remaining", d.remaining.value()}});
  }
  const auto f = engine::forecast_run_out(days, pool->budget);
  // A run-out after the pool's period is no run-out: the period ends first.
  const auto period_end = parse_date(pool->period_end).value();
  const bool within = f.runs_out_on && std::chrono::sys_days(*f.runs_out_on) <= std::chrono::sys_days(period_end);
  return json_answer(200, {{"pool", pool_json(*pool)},
                           {"days", history},
                           {"forecast",
                            {{"window_days", 7},
                             {"daily_draw", f.daily_draw.value()},
                             {"runs_out_on", within ? json(format_date(*f.runs_out_on)) : json(nullptr)},
                             {"outlasts_period", !within}}}});
}

// The cashback batch by district and date: runs, and closed dates with payments still waiting.
Response get_batch_days(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  std::string bad;
  const auto query = read_query(request, {"district", "from", "to"}, bad);
  if (!query) return invalid(bad);
  const auto days = read_date_range(*query, bad);
  if (!days) return invalid(bad);
  if (std::chrono::sys_days(days->second) - std::chrono::sys_days(days->first) >= std::chrono::days(92))
    return invalid("query parameter 'to' must be within 92 days of 'from'");
  auto listing = read_listing(*query, who);
  if (auto* refusal = std::get_if<Response>(&listing)) return std::move(*refusal);
  const auto district = std::get<Listing>(listing).district;
  const auto last_closed = format_date(seoul_yesterday(now_utc()));
  json list = json::array();
  for (const auto& d : ops::batch_days(c, district, format_date(days->first), format_date(days->second), last_closed)) {
    json day = {{"district", d.district},
                {"business_date", d.business_date},
                {"status", store::to_string(d.status)},
                {"run", d.run},
                {"started_at", d.started_at ? json(format_rfc3339(*d.started_at)) : json(nullptr)},
                {"completed_at", d.completed_at ? json(format_rfc3339(*d.completed_at)) : json(nullptr)},
                {"components", nullptr}};
    if (d.report) day["components"] = json::parse(*d.report)["components"];
    list.push_back(std::move(day));
  }
  return json_answer(200, {{"days", list}});
}

// Runs `run` on the batch pool, on a connection with the command line's timeouts, and stores
// its answer (a refusal too) under the key with its audit row, unless another call stored one
// first.
void run_stored(store::WorkerPool& batches, ops::AdminWrite write, std::string resource, Reply reply,
                std::function<Response(store::Connection&)> run) {
  run_on(
      batches,
      [write = std::move(write), resource = std::move(resource), run = std::move(run)](store::Connection& bc,
                                                                                       Reply answer_with) {
        const auto answer = run(bc);
        ops::record_once(bc, write, resource, to_answer(answer));
        answer_with(answer);
      },
      std::move(reply),
      {"too many batches are waiting; try again shortly",
       "the batch failed; run it again: it resumes where it stopped"});
}

}  // namespace

void add_batch_routes(Service& service) {
  service.admin_route("POST", "/v1/pools", post_pool);
  service.admin_route("POST", "/v1/pools/{id}/top-ups", post_top_up);
  service.admin_route("GET", "/v1/pools", get_pools);
  service.admin_route("GET", "/v1/pools/{id}/burn-down", get_burn_down);
  service.admin_route("GET", "/v1/batches/cashback", get_batch_days);

  const int chunk = service.config().batch_chunk_size;
  // The request worker only checks the call; the run itself goes to the batch pool, on a
  // connection with the command line's timeouts, and answers when it is done. A second call for
  // the same date waits for the first (its advisory lock) and answers the report.
  auto& batches = service.batches();
  auto& policies = service.writer().policies();
  service.admin_command("POST", "/v1/batches/cashback", [chunk, &batches, &policies](store::Connection& c, const Request& request,
                                                                                   const PathParams&, const Principal& who,
                                                                                   Reply reply) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto district = f.district_code("district");
    const auto date = f.date("business_date");
    std::string detail;
    const auto key = idempotency_header(request, detail);
    if (auto p = f.problem()) return reply(invalid(*p));
    if (!key) return reply(invalid(detail));
    if (!may_write(who, district)) return reply(forbidden("run the batch of " + district));
    const ops::AdminWrite write{audit_entry(request, who, district), ops::AdminKey{district, *key, request_hash(request)}};
    if (!ops::find_district(c, district)) return reply(problem(ErrorCode::not_found, "no district " + district));
    // A replay answers as before; the batch itself is idempotent by district and date.
    if (auto replay = ops::earlier(c, *write.key)) return reply(from_result(*replay));
    // The run commits in chunks; its audit row is written with its stored answer, when it ends.
    run_stored(batches, write, "batch:" + district + "/" + date, std::move(reply), [chunk, district, date, &policies](store::Connection& bc) {
      const auto outcome = ops::run_batch(bc, policies, district, date, now_utc(), chunk);
      return outcome.refusal == ops::BatchRefusal::date_not_closed ? problem(ErrorCode::date_not_closed, outcome.detail)
                                                                   : json_response(200, outcome.run.report);
    });
  });

  // Expiry is platform-wide: the city admin's; its key lives in the city's partition.
  service.admin_command("POST", "/v1/batches/expiry", [chunk, &batches](store::Connection& c, const Request& request,
                                                                      const PathParams&, const Principal& who,
                                                                      Reply reply) {
    json doc;
    auto f = Fields::parse(request.body, doc);
    const auto date = f.date("business_date");
    std::string detail;
    const auto key = idempotency_header(request, detail);
    if (auto p = f.problem()) return reply(invalid(*p));
    if (!key) return reply(invalid(detail));
    if (who.role != Role::city_admin) return reply(forbidden("run the expiry batch"));
    const ops::AdminWrite write{audit_entry(request, who, "city"), ops::AdminKey{"city", *key, request_hash(request)}};
    if (auto replay = ops::earlier(c, *write.key)) return reply(from_result(*replay));
    run_stored(batches, write, "expiry:" + date, std::move(reply), [chunk, date](store::Connection& bc) {
                 const auto outcome = ops::run_expiry(bc, date, now_utc(), chunk);
                 return outcome.date_not_closed ? problem(ErrorCode::date_not_closed, *outcome.date_not_closed)
                                                : json_response(200, outcome.report);
               });
  });

  service.admin_route("GET", "/v1/batches/cashback/{district}/{date}", [](store::Connection& c, const Request&,
                                                                          const PathParams& params, const Principal& who) {
    const auto& district = params.at("district");
    const auto& date = params.at("date");
    if (!is_district_code(district) || !parse_date(date)) return problem(ErrorCode::not_found, "no such batch");
    const auto report = may_read(who, district) ? ops::batch_report(c, district, date) : std::nullopt;
    if (!report) return problem(ErrorCode::not_found, "no completed batch for " + district + " on " + date);
    // While a further run posts late payments, the last completed run's report stands.
    return json_response(200, *report);
  });

  service.admin_route("GET", "/v1/ledger/trial-balance", [](store::Connection& c, const Request& request,
                                                            const PathParams&, const Principal& who) {
    const auto query = parse_query(request.query);
    if (!query || !query->count("district") || query->size() != 1)
      return invalid("query parameter 'district' is required, and nothing else");
    const auto& district = query->at("district");
    const auto tb = may_read(who, district) ? ops::trial_balance(c, district) : std::nullopt;
    if (!tb) return problem(ErrorCode::not_found, "no district " + district);
    return json_answer(200, {{"district", district},
                             {"debits", tb->debits.value()},
                             {"credits", tb->credits.value()},
                             {"balanced", tb->debits == tb->credits}});
  });

  service.admin_route("GET", "/v1/districts/{code}/summary", [](store::Connection& c, const Request& request,
                                                                const PathParams& params, const Principal& who) {
    std::string bad;
    const auto query = read_query(request, {"from", "to", "format"}, bad);
    if (!query) return invalid(bad);
    const auto csv = wants_csv(request, *query, bad);
    if (!csv) return invalid(bad);
    for (const char* k : {"from", "to"}) {
      const auto d = query->count(k) ? parse_date(query->at(k)) : std::nullopt;
      if (!d || !in_service_era(*d))
        return invalid(std::string("query parameter '") + k + "' must be a date, YYYY-MM-DD, " + kServiceEra);
    }
    const auto& from = query->at("from");
    const auto& to = query->at("to");
    if (to < from) return invalid("query parameter 'to' must not be before 'from'");
    const auto& district = params.at("code");
    const auto found = may_read(who, district) ? ops::district_summary(c, district, from, to) : std::nullopt;
    if (!found) return problem(ErrorCode::not_found, "no district " + district);
    const auto& s = *found;
    const json summary = {{"district", district},
              {"from", from},
              {"to", to},
              {"members", s.members},
              {"loaded", s.loaded.value()},
              {"refunded", s.refunded.value()},
              {"payments",
               {{"count", s.payment_count}, {"price", s.price.value()}, {"discount", s.discount.value()},
                {"charged", s.charged.value()}}},
              {"cancelled", s.cancelled.value()},
              {"cashback",
               {{"pending", s.pending.value()},
                {"posted",
                 {{"city", s.posted_city.value()}, {"district", s.posted_district.value()},
                  {"merchant", s.posted_merchant.value()}}},
                {"unfunded", s.unfunded.value()},
                {"clawed_back", s.clawed_back.value()}}},
              {"fee_support", s.fee_support.value()},
              {"settled", s.settled.value()},
              {"programs",
               {{"granted", s.program_granted.value()}, {"spent", s.program_spent.value()},
                {"refunded", s.program_refunded.value()}, {"expired", s.program_expired.value()}}},
              {"outstanding",
               {{"cash", s.cash.value()}, {"points", s.points.value()}, {"programs", s.program_held.value()},
                {"payable", s.payable.value()}}}};
    if (*csv) return csv_answer("summary-" + district + "-" + from + "-" + to + ".csv", flat_csv(summary));
    return json_answer(200, summary);
  });
}

}  // namespace evoucher::api
