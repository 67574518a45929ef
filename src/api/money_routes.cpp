// Loads (충전) and balance refunds (잔액환불): admin calls under an Idempotency-Key, each one
// journal in the member's district, serialised per member by the member's row lock.
#include "endpoints.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/member_money.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

// Reads the member and the key, and checks the caller may move this member's money.
struct MoneyCall {
  std::optional<store::Member> member;
  IdempotencyKey key;
  std::optional<Response> refusal;
};

MoneyCall begin_money_call(store::Tx& tx, const Request& request, const Principal& who, const std::string& member_id,
                           const char* scope) {
  MoneyCall call;
  std::string detail;
  const auto key = idempotency_header(request, detail);
  if (!key) {
    call.refusal = invalid(detail);
    return call;
  }
  call.member = store::find_member(tx, member_id);
  if (!call.member) {
    call.refusal = invalid("field 'member': no member " + member_id);
    return call;
  }
  if (!may_write(who, call.member->district)) {
    call.refusal = forbidden("move money of members of " + call.member->district);
    return call;
  }
  call.key = {call.member->district, std::string(scope) + ":" + *key, request_hash(request)};
  return call;
}

Response post_load(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto member_id = f.client_id("member");
  const auto amount = f.amount("amount");
  const auto bank_ref = f.text("bank_ref", 128);
  const auto occurred_at = f.optional_time("occurred_at").value_or(now_utc());
  if (auto p = f.problem()) return invalid(*p);
  store::Tx tx(c);
  auto call = begin_money_call(tx, request, who, member_id, "load");
  if (call.refusal) return *call.refusal;
  const auto& member = *call.member;
  return run_idempotent(tx, call.key, [&]() -> Response {
    store::find_member(tx, member.id, /*lock=*/true);
    const auto policy = policies_at(tx, member.district, occurred_at);
    const auto month = seoul_month(occurred_at);
    const auto totals = store::member_month(tx, member.district, member.id, month);
    const auto balances = member_balances(tx, member.district, member.id);
    const auto check = engine::check_load(policy.city, amount, totals.loaded, balances);
    if (!check.allowed) return problem(ErrorCode::limit_exceeded, check.refusal);
    const auto id = store::next_operation_id(tx);
    const auto ref = operation_ref("load", member.district, id);
    const auto posted = store::post_journal(
        tx, {member.district, "load", occurred_at, ref,
             {{accounts::float_account(), amount}, {accounts::member_cash(member.id), -amount}}});
    if (!posted.journal_id) throw std::runtime_error("load journal refused: " + posted.detail);
    store::insert_load(tx, {id, member.district, member.id, amount, bank_ref, occurred_at, *posted.journal_id});
    store::add_to_month(tx, member.district, member.id, month, amount, Won(0));
    return json_answer(201, {{"load_id", ref},
                             {"member", member.id},
                             {"amount", amount.value()},
                             {"cash", (balances.cash + amount).value()},
                             {"points", balances.points.value()}});
  });
}

Response post_refund(store::Connection& c, const Request& request, const PathParams&, const Principal& who) {
  json doc;
  auto f = Fields::parse(request.body, doc);
  const auto member_id = f.client_id("member");
  const auto bank_ref = f.text("bank_ref", 128);
  if (auto p = f.problem()) return invalid(*p);
  store::Tx tx(c);
  auto call = begin_money_call(tx, request, who, member_id, "refund");
  if (call.refusal) return *call.refusal;
  const auto& member = *call.member;
  return run_idempotent(tx, call.key, [&]() -> Response {
    store::find_member(tx, member.id, /*lock=*/true);
    const auto now = now_utc();
    const auto policy = policies_at(tx, member.district, now);
    const auto totals = store::member_totals(tx, member.district, member.id);
    const auto check = engine::check_refund(policy.city, member_balances(tx, member.district, member.id), totals.loaded, totals.refunded);
    if (!check.amount) return problem(ErrorCode::refund_not_allowed, check.refusal);
    const Won amount = *check.amount;
    const auto id = store::next_operation_id(tx);
    const auto ref = operation_ref("rfd", member.district, id);
    const auto posted = store::post_journal(
        tx, {member.district, "refund", now, ref,
             {{accounts::member_cash(member.id), amount}, {accounts::float_account(), -amount}}});
    if (!posted.journal_id) throw std::runtime_error("refund journal refused: " + posted.detail);
    store::insert_refund(tx, {id, member.district, member.id, amount, bank_ref, now, *posted.journal_id});
    return json_answer(201, {{"refund_id", ref}, {"amount", amount.value()}});
  });
}

}  // namespace

void add_money_routes(Service& service) {
  service.admin_route("POST", "/v1/loads", post_load);
  service.admin_route("POST", "/v1/refunds", post_refund);
}

}  // namespace evoucher::api
