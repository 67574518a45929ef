// The deciders of a member's money from outside: loads and refunds, which are never backdated
// before the member's latest one, and a program's grants.
#include <variant>

#include "deciders.hpp"
#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/engine/journal_recipes.hpp"
#include "evoucher/engine/member_money.hpp"

namespace evoucher::ops {
namespace {

// A load or refund stamped before the member's latest one; the problem's detail when it is.
std::optional<std::string> backdated(const GroupFacts& facts, const std::string& district, const std::string& member,
                                     Timestamp at) {
  const auto latest = facts.latest_money.find({district, member});
  if (latest == facts.latest_money.end() || at >= latest->second) return std::nullopt;
  return "field 'occurred_at' " + format_rfc3339(at) + " is before member " + member + "'s latest load or refund, at " +
         format_rfc3339(latest->second) + "; loads and refunds cannot be backdated";
}

// The time of a load or refund: as sent, or, for one that named none, now, but never before the
// member's latest load or refund, so that it is never refused as backdated.
Timestamp money_time(const GroupFacts& facts, const std::optional<Timestamp>& sent, const std::string& district,
                     const std::string& member, LateFacts& late) {
  if (sent) return *sent;
  const Timestamp now = late.now();
  const auto latest = facts.latest_money.find({district, member});
  return latest == facts.latest_money.end() ? now : std::max(now, latest->second);
}

// How a load or refund starts: with the key's earlier answer, with a 400 when its time is backdated
// (bad input: judged nothing, stored nothing), or else with the time its money moves at.
template <typename Outcome, typename Command>
std::variant<Result, Timestamp> start(const Command& c, GroupState& group, LateFacts& late) {
  if (auto e = earlier(group.facts.keys, DistrictKey{c.district, c.key}, c.request_hash)) return *e;
  const auto at = money_time(group.facts, c.occurred_at, c.district, c.member, late);
  if (auto detail = backdated(group.facts, c.district, c.member, at)) {
    Outcome outcome;
    outcome.backdated = std::move(detail);
    return answered(c.render(outcome));
  }
  return at;
}

}  // namespace

Result decide(const LoadCommand& c, GroupState& group, LateFacts& late) {
  const auto started = start<LoadOutcome>(c, group, late);
  if (const auto* answer = std::get_if<Result>(&started)) return *answer;
  const Timestamp at = std::get<Timestamp>(started);
  const DistrictKey key{c.district, c.key};
  LoadOutcome outcome;
  const auto policies = late.policies_at(group.facts.versions, c.district, at);
  const auto month_key = seoul_month_start(at);
  // A stamped load's month was read with the group's facts, unless the clock crossed into a month
  // no one asked for: then it is read now, under the member's lock.
  if (const store::MonthKey read{c.district, c.member, month_key}; !group.facts.months_read.count(read)) {
    if (!group.facts.months.count(read)) group.facts.months[read] = late.month(read);
    group.facts.months_read.insert(read);
  }
  const auto& totals = month(group, c.district, c.member, month_key);
  Won& cash = balance(group, c.district, accounts::member_cash(c.member));
  const Won points = balance(group, c.district, accounts::member_points(c.member));
  const auto check = engine::check_load(*policies.city, c.amount, totals.loaded, {cash, points});
  if (!check.allowed) {
    outcome.limit_exceeded = check.refusal;
    return keep_audited(group, c, key, "member:" + c.member, c.render(outcome));
  }
  const auto [id, journal_id] = next_ids(group);
  const auto ref = operation_ref("load", c.district, id);
  group.changes.rows.journals.push_back(
      {c.district, journal_id, "load", at, ref, engine::load_postings(c.member, c.amount)});
  group.changes.rows.loads.push_back({id, c.district, c.member, c.amount, c.bank_ref, at, journal_id});
  cash += c.amount;
  group.facts.latest_money[{c.district, c.member}] = at;
  add_to_month(group, c.district, c.member, month_key, c.amount, Won(0));
  if (auto t = group.facts.totals.find({c.district, c.member}); t != group.facts.totals.end())
    t->second.loaded += c.amount;
  outcome.done = LoadDone{ref, c.member, c.amount, cash, points};
  return keep_audited(group, c, key, "load:" + ref, c.render(outcome));
}

Result decide(const RefundCommand& c, GroupState& group, LateFacts& late) {
  const auto started = start<RefundOutcome>(c, group, late);
  if (const auto* answer = std::get_if<Result>(&started)) return *answer;
  const Timestamp at = std::get<Timestamp>(started);
  const DistrictKey key{c.district, c.key};
  RefundOutcome outcome;
  const auto policies = late.policies_at(group.facts.versions, c.district, at);
  auto& totals = group.facts.totals[{c.district, c.member}];
  Won& cash = balance(group, c.district, accounts::member_cash(c.member));
  Won& points = balance(group, c.district, accounts::member_points(c.member));
  const auto check = engine::check_refund(*policies.city, {cash, points}, totals.loaded, totals.refunded);
  if (!check.amount) {
    outcome.not_allowed = check.refusal;
    return keep_audited(group, c, key, "member:" + c.member, c.render(outcome));
  }
  const Won amount = *check.amount;
  const auto [id, journal_id] = next_ids(group);
  const auto ref = operation_ref("rfd", c.district, id);
  group.changes.rows.journals.push_back(
      {c.district, journal_id, "refund", at, ref, engine::refund_postings(c.member, check.cash, check.debt)});
  group.changes.rows.refunds.push_back({id, c.district, c.member, amount, c.bank_ref, at, journal_id});
  cash -= check.cash;
  points += check.debt;
  totals.refunded += amount;
  group.facts.latest_money[{c.district, c.member}] = at;
  outcome.done = RefundDone{ref, amount};
  return keep_audited(group, c, key, "refund:" + ref, c.render(outcome));
}

Result decide(const GrantCommand& c, GroupState& group, LateFacts&) {
  const DistrictKey key{c.district, c.key};
  if (auto e = earlier(group.facts.keys, key, c.request_hash)) return *e;
  GrantOutcome outcome;
  const auto& program = group.facts.programs.at(c.program);
  const auto date = format_date(seoul_business_date(c.occurred_at));
  const bool in_period = date >= program.grant_from && date <= program.grant_to;
  auto& already = group.facts.granted[c.program];
  Won& left = group.facts.pools_left[program.pool_id];
  for (const auto& l : c.lines) {
    auto refuse = [&](std::string reason) { outcome.refused.push_back({l.line, l.member, std::move(reason)}); };
    if (l.refused) {
      refuse(*l.refused);
      continue;
    }
    if (!in_period) {
      refuse("the grant period is " + program.grant_from + " to " + program.grant_to + "; this grant is dated " + date);
      continue;
    }
    const auto district = group.facts.member_districts.find(l.member);
    if (district == group.facts.member_districts.end() ||
        (program.district != "city" && district->second != program.district)) {
      refuse(program.district == "city" ? "no member " + l.member
                                        : "no member " + l.member + " in " + program.district);
      continue;
    }
    if (const auto had = already.find(l.member); had != already.end()) {
      refuse("already granted " + won_text(had->second) + " won by this program");
      continue;
    }
    if (l.amount > left) {
      refuse("the program's pool has " + won_text(left) + " won left");
      continue;
    }
    const auto& d = district->second;
    const auto journal_id = next_ids(group).second;
    group.changes.rows.journals.push_back({d, journal_id, "grant", c.occurred_at, "grant " + c.program,
                                           engine::grant_postings(c.program, program.pool_id, l.member, l.amount)});
    group.changes.pool_accounts.push_back(
        {d, {accounts::pool_drawn(program.pool_id), store::Normal::debit, std::nullopt}});
    const DistrictKey wallet{d, accounts::member_program(c.program, l.member)};
    if (!group.facts.account_ids.count(wallet)) {
      if (group.changes.wallets_to_open.empty() || group.changes.wallets_to_open.back().first != c.program)
        group.changes.wallets_to_open.push_back({c.program, {}});
      group.changes.wallets_to_open.back().second.emplace_back(d, l.member);
    }
    balance(group, d, wallet.second) += l.amount;
    group.changes.grant_rows.push_back({c.program, {d, l.member, l.amount, journal_id}});
    already[l.member] = l.amount;
    left -= l.amount;
    ++outcome.accepted;
    outcome.amount += l.amount;
  }
  return keep_audited(group, c, key, "program:" + c.program, c.render(outcome));
}

}  // namespace evoucher::ops
