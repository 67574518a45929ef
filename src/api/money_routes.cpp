// Loads (충전) and balance refunds (잔액환불): admin calls under an Idempotency-Key. The route
// authenticates and finds the member on a database worker, then the group writer (ops) decides
// and records the movement, serialised per member by the member's row lock.
#include "endpoints.hpp"

#include <functional>
#include <type_traits>

#include "evoucher/ops/parties.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

// The member and the key, once the caller may move this member's money; otherwise the refusal.
struct MoneyCall {
  std::optional<store::Member> member;
  std::string key;
  std::optional<Response> refusal;
};

MoneyCall begin_money_call(store::Connection& c, const Request& request, const Principal& who,
                           const std::string& member_id) {
  MoneyCall call;
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) {
    call.refusal = invalid(detail);
    return call;
  }
  call.member = ops::find_member(c, member_id);
  // Another district's member is as absent as one that never was.
  if (!call.member || !may_write(who, call.member->district)) {
    call.refusal = invalid("field 'member': no member " + member_id);
    return call;
  }
  call.key = *key;
  return call;
}

// The time of a load or refund as sent, never more than kClockTolerance ahead; none when absent
// (the group stamps it when it decides).
std::optional<Timestamp> money_time(Fields& f, Timestamp now) {
  const auto at = f.optional_time("occurred_at");
  if (at && *at > now + kClockTolerance)
    f.fail("occurred_at", format_rfc3339(*at) + " is more than 5 minutes after the server's clock (" +
                              format_rfc3339(std::chrono::floor<std::chrono::seconds>(now)) + ")");
  return at;
}

ops::Answer render_money(const ops::LoadOutcome& o) {
  if (o.backdated) return to_answer(invalid(*o.backdated));
  if (o.limit_exceeded) return to_answer(problem(ErrorCode::limit_exceeded, *o.limit_exceeded));
  const auto& d = *o.done;
  return to_answer(json_answer(201, {{"load_id", d.load_id},
                                     {"member", d.member},
                                     {"amount", d.amount.value()},
                                     {"cash", d.cash.value()},
                                     {"points", d.points.value()}}));
}

ops::Answer render_money(const ops::RefundOutcome& o) {
  if (o.backdated) return to_answer(invalid(*o.backdated));
  if (o.not_allowed) return to_answer(problem(ErrorCode::refund_not_allowed, *o.not_allowed));
  return to_answer(json_answer(201, {{"refund_id", o.done->refund_id}, {"amount", o.done->amount.value()}}));
}

// A load or a refund (Command): reads the member, a load's amount, the bank's reference and the
// time; then finds the member, checks the caller may move its money, and hands the command over.
template <typename Command>
void post_money(ops::GroupWriter& writer, store::Connection& c, const Request& request, const PathParams&,
                const Principal& who, Reply reply) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  Command command;
  command.member = f.client_id("member");
  if constexpr (std::is_same_v<Command, ops::LoadCommand>) command.amount = f.amount("amount");
  command.bank_ref = f.text("bank_ref", 128);
  command.occurred_at = money_time(f, now_utc());
  if (auto p = f.problem()) return reply(invalid(*p));
  auto call = begin_money_call(c, request, who, command.member);
  if (call.refusal) return reply(std::move(*call.refusal));
  command.district = call.member->district;
  command.key = call.key;
  command.request_hash = request_hash(request);
  command.audit = audit_entry(request, who, command.district);
  command.render = [](const auto& outcome) { return render_money(outcome); };
  submit_command(writer, std::move(command), std::move(reply));
}

}  // namespace

void add_money_routes(Service& service) {
  auto& writer = service.writer();
  service.admin_command("POST", "/v1/loads", std::bind_front(post_money<ops::LoadCommand>, std::ref(writer)));
  service.admin_command("POST", "/v1/refunds", std::bind_front(post_money<ops::RefundCommand>, std::ref(writer)));
}

}  // namespace evoucher::api
