// The report lists, in JSON pages or as CSV files: a business date's payments
// (GET /v1/payments), its settlement list per merchant (GET /v1/settlements), and a program's
// grants (GET /v1/programs/{id}/grants).
#include "endpoints.hpp"
#include "evoucher/ops/parties.hpp"
#include "evoucher/ops/reports.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

// What every list here reads first: the query, CSV or not, and the paging.
struct ListRequest {
  std::map<std::string, std::string> query;
  bool csv = false;
  Listing page;
};
std::variant<ListRequest, Response> read_list(const Request& request, std::initializer_list<const char*> allowed,
                                              const Principal& who) {
  std::string bad;
  auto query = read_query(request, allowed, bad);
  if (!query) return invalid(bad);
  const auto csv = wants_csv(request, *query, bad);
  if (!csv) return invalid(bad);
  auto listing = read_listing(*query, who, /*ids_after=*/false);
  if (auto* refusal = std::get_if<Response>(&listing)) return std::move(*refusal);
  return ListRequest{std::move(*query), *csv, std::get<Listing>(listing)};
}

// `district` and `business_date`, both required, for a list of one district's date.
std::optional<Response> read_district_date(store::Connection& c, const ListRequest& list, std::string& district,
                                           std::string& date) {
  if (!list.page.district) return invalid("query parameter 'district' is required");
  district = *list.page.district;
  const auto it = list.query.find("business_date");
  const auto d = it == list.query.end() ? std::nullopt : parse_date(it->second);
  if (!d || !in_service_era(*d))
    return invalid(std::string("query parameter 'business_date' must be a date, YYYY-MM-DD, ") + kServiceEra);
  date = format_date(*d);
  if (!ops::find_district(c, district)) return problem(ErrorCode::not_found, "no district " + district);
  return std::nullopt;
}

// A page's cursor: "micros.id" for payments, by time then id.
std::string payment_cursor(const store::PaymentLine& p) {
  return std::to_string(p.occurred_at.time_since_epoch().count()) + "." + std::to_string(p.id);
}
std::optional<store::PaymentPageKey> parse_payment_cursor(const std::string& text) {
  const auto dot = text.find('.');
  if (dot == std::string::npos) return std::nullopt;
  const auto micros = positive_integer(text.substr(0, dot), std::numeric_limits<std::int64_t>::max());
  const auto id = positive_integer(text.substr(dot + 1), std::numeric_limits<std::int64_t>::max());
  if (!micros || !id) return std::nullopt;
  return store::PaymentPageKey{Timestamp(std::chrono::microseconds(*micros)), *id};
}

const char* cashback_status(const store::PaymentLine& p) {
  if (p.cashback_forfeited) return "forfeited";
  return p.cashback_posted ? "posted" : "pending";
}

json payment_json(const store::PaymentLine& p) {
  json paid = {{"points", p.paid_points.value()}, {"cash", p.paid_cash.value()}};
  if (p.paid_program.value() != 0) paid["program"] = p.paid_program.value();
  return {{"payment_id", operation_ref("pay", p.district, p.id)},
          {"event_id", p.event_id},
          {"at", format_rfc3339(p.occurred_at)},
          {"member", p.member},
          {"merchant", p.merchant},
          {"merchant_district", p.merchant_district},
          {"channel", p.channel},
          {"price", p.price.value()},
          {"discount", p.discount.value()},
          {"charged", p.charged.value()},
          {"paid", paid},
          {"cashback",
           {{"city", p.city_cashback.value()},
            {"district", p.district_cashback.value()},
            {"merchant", p.merchant_cashback.value()}}},
          {"cashback_status", cashback_status(p)},
          {"fee_support", p.fee_support.value()},
          {"cancelled", p.cancelled.value()}};
}

void payment_csv(CsvRow& row, const store::PaymentLine& p) {
  row.text(operation_ref("pay", p.district, p.id))
      .text(p.event_id)
      .text(format_seoul(p.occurred_at))
      .text(p.member)
      .text(p.merchant)
      .text(p.merchant_district)
      .text(p.channel)
      .number(p.price.value())
      .number(p.discount.value())
      .number(p.charged.value())
      .number(p.paid_program.value())
      .number(p.paid_points.value())
      .number(p.paid_cash.value())
      .number(p.city_cashback.value())
      .number(p.district_cashback.value())
      .number(p.merchant_cashback.value())
      .text(cashback_status(p))
      .number(p.fee_support.value())
      .number(p.cancelled.value());
}

void get_payments(Service& service, store::Connection& c, const Request& request, const PathParams&,
                  const Principal& who, Reply reply) {
  auto read = read_list(request, {"district", "business_date", "after", "limit", "format"}, who);
  if (auto* refusal = std::get_if<Response>(&read)) return reply(std::move(*refusal));
  const auto& list = std::get<ListRequest>(read);
  std::optional<store::PaymentPageKey> after;
  if (list.page.after_text) {
    after = parse_payment_cursor(*list.page.after_text);
    if (!after) return reply(invalid("query parameter 'after' is not a cursor from an earlier page"));
  }
  std::string district, date;
  if (auto refusal = read_district_date(c, list, district, date)) return reply(std::move(*refusal));
  if (!list.csv) {
    const auto [payments, next] = json_page(ops::payments(c, district, date, after, list.page.limit), list.page.limit,
                                            payment_json, payment_cursor);
    return reply(
        json_answer(200, {{"district", district}, {"business_date", date}, {"payments", payments}, {"next", next}}));
  }
  stream_csv(service, "payments-" + district + "-" + date + ".csv",
             {"payment_id", "event_id", "at_seoul", "member", "merchant", "merchant_district", "channel", "price",
              "discount", "charged", "paid_program", "paid_points", "paid_cash", "cashback_city", "cashback_district",
              "cashback_merchant", "cashback_status", "fee_support", "cancelled"},
             [district, date, after](store::Connection& c, CsvExport& out) {
               ops::export_payments(c, district, date, after, csv_rows<store::PaymentLine>(out, payment_csv));
             },
             std::move(reply));
}

json settlement_json(const store::SettlementLine& s) {
  return {{"merchant", s.merchant},
          {"name", s.name},
          {"payments", s.payments},
          {"charged", s.charged.value()},
          {"cancelled", s.cancelled.value()},
          {"merchant_cashback", s.merchant_cashback.value()},
          {"payable", s.payable.value()},
          {"fee_support", s.fee_support.value()},
          {"settled", s.settled.value()},
          {"outstanding", s.outstanding.value()}};
}

void settlement_csv(CsvRow& row, const store::SettlementLine& s) {
  row.text(s.merchant)
      .text(s.name)
      .number(s.payments)
      .number(s.charged.value())
      .number(s.cancelled.value())
      .number(s.merchant_cashback.value())
      .number(s.payable.value())
      .number(s.fee_support.value())
      .number(s.settled.value())
      .number(s.outstanding.value());
}

void get_settlements(Service& service, store::Connection& c, const Request& request, const PathParams&,
                     const Principal& who, Reply reply) {
  auto read = read_list(request, {"district", "business_date", "after", "limit", "format"}, who);
  if (auto* refusal = std::get_if<Response>(&read)) return reply(std::move(*refusal));
  const auto& list = std::get<ListRequest>(read);
  auto after = list.page.after_text;
  std::string district, date;
  if (auto refusal = read_district_date(c, list, district, date)) return reply(std::move(*refusal));
  if (!list.csv) {
    const auto [merchants, next] =
        json_page(ops::settlements(c, district, date, after, list.page.limit), list.page.limit, settlement_json,
                  [](const store::SettlementLine& last) { return last.merchant; });
    return reply(
        json_answer(200, {{"district", district}, {"business_date", date}, {"merchants", merchants}, {"next", next}}));
  }
  stream_csv(service, "settlements-" + district + "-" + date + ".csv",
             {"merchant", "name", "payments", "charged", "cancelled", "merchant_cashback", "payable", "fee_support",
              "settled", "outstanding"},
             [district, date, after](store::Connection& c, CsvExport& out) {
               ops::export_settlements(c, district, date, after, csv_rows<store::SettlementLine>(out, settlement_csv));
             },
             std::move(reply));
}

void grant_csv(CsvRow& row, const store::GrantLine& g) {
  row.text(g.district).text(g.member).number(g.amount.value()).text(format_seoul(g.granted_at));
}

void get_grants(Service& service, store::Connection& c, const Request& request, const PathParams& params,
                const Principal& who, Reply reply) {
  auto read = read_list(request, {"district", "after", "limit", "format"}, who);
  if (auto* refusal = std::get_if<Response>(&read)) return reply(std::move(*refusal));
  const auto& list = std::get<ListRequest>(read);
  std::optional<std::pair<std::string, std::int64_t>> after;
  if (list.page.after_text) {
    const auto ref = parse_operation_ref("grant", *list.page.after_text);
    if (!ref) return reply(invalid("query parameter 'after' is not a cursor from an earlier page"));
    after = std::make_pair(ref->district, ref->id);
  }
  const auto& id = params.at("id");
  const auto district = list.page.district;
  const auto program = ops::find_program(c, id);
  if (!program || !may_read(who, program->district)) return reply(problem(ErrorCode::not_found, "no program " + id));
  if (!list.csv) {
    const auto [grants, next] = json_page(
        ops::grants(c, id, district, after, list.page.limit), list.page.limit,
        [](const store::GrantLine& g) {
          return json{{"district", g.district}, {"member", g.member}, {"amount", g.amount.value()},
                      {"at", format_rfc3339(g.granted_at)}};
        },
        [](const store::GrantLine& last) { return operation_ref("grant", last.district, last.id); });
    return reply(json_answer(200, {{"program", id}, {"grants", grants}, {"next", next}}));
  }
  stream_csv(service, "grants-" + id + ".csv", {"district", "member", "amount", "granted_at_seoul"},
             [id, district, after](store::Connection& c, CsvExport& out) {
               ops::export_grants(c, id, district, after, csv_rows<store::GrantLine>(out, grant_csv));
             },
             std::move(reply));
}

}  // namespace

void add_report_routes(Service& service) {
  service.admin_command("GET", "/v1/payments", std::bind_front(get_payments, std::ref(service)));
  service.admin_command("GET", "/v1/settlements", std::bind_front(get_settlements, std::ref(service)));
  service.admin_command("GET", "/v1/programs/{id}/grants", std::bind_front(get_grants, std::ref(service)));
}

}  // namespace evoucher::api
