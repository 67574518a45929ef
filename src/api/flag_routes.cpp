// Fraud flags (부정유통): the review queue, GET /v1/flags, for the city admin, an auditor, and a
// district admin of the flag's district; and POST /v1/flags/{id}/review, which the group writer
// records with its clawback, in one commit.
#include "endpoints.hpp"
#include "evoucher/ops/reports.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

json flag_json(const store::Flag& f) {
  const auto& n = f.raised;
  auto optional_text = [](const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); };
  return {{"id", operation_ref("flag", n.district, f.id)},
          {"rule", engine::to_string(n.rule)},
          {"status", engine::to_string(f.status)},
          {"payment_id", n.payment_id ? json(operation_ref("pay", n.district, *n.payment_id)) : json(nullptr)},
          {"district", n.district},
          {"member", optional_text(n.member)},
          {"merchant", n.merchant},
          {"card", optional_text(n.card)},
          {"at", format_rfc3339(n.occurred_at)},
          {"business_date", n.business_date},
          {"month", n.month ? json(n.month->substr(0, 7)) : json(nullptr)},
          {"detail", n.detail},
          {"raised_at", format_rfc3339(f.raised_at)},
          {"review", f.reviewed_at ? json{{"at", format_rfc3339(*f.reviewed_at)},
                                          {"by", f.reviewed_by.value_or("")},
                                          {"note", f.review_note.value_or("")},
                                          {"merchant_suspended", f.merchant_suspended},
                                          {"cashback_forfeited", f.forfeited.value()},
                                          {"clawed_back", f.clawed_back.value()}}
                                   : json(nullptr)}};
}

void flag_csv(CsvRow& row, const store::Flag& f) {
  const auto& n = f.raised;
  row.text(operation_ref("flag", n.district, f.id))
      .text(engine::to_string(n.rule))
      .text(engine::to_string(f.status))
      .text(n.payment_id ? operation_ref("pay", n.district, *n.payment_id) : "")
      .text(n.district)
      .text(n.member.value_or(""))
      .text(n.merchant)
      .text(n.card.value_or(""))
      .text(format_seoul(n.occurred_at))
      .text(n.business_date)
      .text(n.month ? n.month->substr(0, 7) : "")
      .text(n.detail)
      .text(format_seoul(f.raised_at))
      .text(f.reviewed_at ? format_seoul(*f.reviewed_at) : "")
      .text(f.reviewed_by.value_or(""))
      .text(f.review_note.value_or(""))
      .boolean(f.merchant_suspended)
      .number(f.forfeited.value())
      .number(f.clawed_back.value());
}

void get_flags(Service& service, store::Connection& c, const Request& request, const PathParams&, const Principal& who,
               Reply reply) {
  std::string bad;
  const auto query = read_query(request, {"district", "from", "to", "rule", "status", "after", "limit", "format"}, bad);
  if (!query) return reply(invalid(bad));
  const auto csv = wants_csv(request, *query, bad);
  if (!csv) return reply(invalid(bad));
  store::FlagQuery q;
  const auto days = read_date_range(*query, bad);
  if (!days) return reply(invalid(bad));
  q.from = format_date(days->first);
  q.to = format_date(days->second);
  auto listing = read_listing(*query, who);
  if (auto* refusal = std::get_if<Response>(&listing)) return reply(std::move(*refusal));
  const auto& page = std::get<Listing>(listing);
  q.district = page.district;
  q.limit = page.limit;
  if (page.after > 0) q.after = page.after;
  if (query->count("rule")) {
    q.rule = engine::flag_rule_from(query->at("rule"));
    if (!q.rule)
      return reply(invalid("query parameter 'rule' must be one of repeat, large, burst, own_shop, sales_over_revenue"));
  }
  if (query->count("status")) {
    q.status = engine::flag_status_from(query->at("status"));
    if (!q.status) return reply(invalid("query parameter 'status' must be one of open, cleared, confirmed"));
  }
  if (*csv) {
    return stream_csv(
        service, "flags-" + q.from + "-" + q.to + ".csv",
        {"id", "rule", "status", "payment_id", "district", "member", "merchant", "card", "at_seoul", "business_date",
         "month", "detail", "raised_at_seoul", "reviewed_at_seoul", "reviewed_by", "review_note", "merchant_suspended",
         "cashback_forfeited", "clawed_back"},
        [q](store::Connection& c, CsvExport& out) { ops::export_flags(c, q, csv_rows<store::Flag>(out, flag_csv)); },
        std::move(reply));
  }
  const auto [flags, next] = json_page(ops::flags(c, q), q.limit, flag_json,
                                       [](const store::Flag& last) { return std::to_string(last.id); });
  reply(json_answer(200, {{"flags", flags}, {"next", next}}));
}

ops::Answer render_review(const ops::FlagReviewOutcome& o) {
  if (o.not_found) return to_answer(problem(ErrorCode::not_found, *o.not_found));
  if (o.conflict) return to_answer(problem(ErrorCode::already_exists, *o.conflict));
  if (o.forbidden) return to_answer(problem(ErrorCode::forbidden, *o.forbidden));
  return to_answer(json_answer(200, flag_json(*o.done)));
}

void post_review(ops::GroupWriter& writer, store::Connection& c, const Request& request, const PathParams& params,
                 const Principal& who, Reply reply) {
  const auto& ref_text = params.at("id");
  const auto ref = parse_operation_ref("flag", ref_text);
  // Another district's flag is as absent as one that never was.
  if (!ref || !may_write(who, ref->district)) return reply(problem(ErrorCode::not_found, "no flag " + ref_text));
  json doc;
  auto f = Fields::parse(request.body, doc);
  ops::FlagReviewCommand command;
  const auto outcome = f.one_of("outcome", {"cleared", "confirmed"});
  command.note = f.text("note", 2000);
  if (f.has("suspend_merchant")) command.suspend_merchant = f.boolean("suspend_merchant");
  if (auto p = f.problem()) return reply(invalid(*p));
  command.outcome = *engine::flag_status_from(outcome);
  if (command.suspend_merchant && command.outcome != engine::FlagStatus::confirmed)
    return reply(invalid("field 'suspend_merchant': only a confirmed flag may suspend the merchant"));
  const auto flag = ops::find_flag(c, ref->district, ref->id);
  if (!flag) return reply(problem(ErrorCode::not_found, "no flag " + ref_text));
  command.payment_id = flag->raised.payment_id;
  command.district = ref->district;
  command.flag_id = ref->id;
  command.flag_ref = ref_text;
  if (who.role != Role::city_admin) command.merchants_of = who.district.value_or("");
  command.reviewer = who.name;
  command.audit = audit_entry(request, who, ref->district);
  command.render = render_review;
  submit_command(writer, std::move(command), std::move(reply));
}

}  // namespace

void add_flag_routes(Service& service) {
  service.admin_command("GET", "/v1/flags", std::bind_front(get_flags, std::ref(service)));
  service.admin_command("POST", "/v1/flags/{id}/review", std::bind_front(post_review, std::ref(service.writer())));
}

}  // namespace evoucher::api
