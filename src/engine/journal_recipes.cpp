// The postings of each operation. Zero lines are left out: an entry never has a zero amount.
#include "evoucher/engine/journal_recipes.hpp"

#include <map>

#include "evoucher/engine/chart_of_accounts.hpp"

namespace evoucher::engine {
namespace {

void add(Postings& out, std::string account, Won amount) {
  if (amount != Won(0)) out.push_back({std::move(account), amount});
}

void add_pool(Postings& out, const std::optional<std::int64_t>& pool, Won amount) {
  if (amount == Won(0)) return;
  // A component drawn from a pool always names it; a missing one is a bug upstream.
  if (!pool) throw std::logic_error("a pool amount without its pool");
  out.push_back({accounts::pool_drawn(*pool), amount});
}

}  // namespace

Won imbalance(const Postings& postings) {
  Won total;
  for (const auto& p : postings) total += p.amount;
  return total;
}

Postings load_postings(const std::string& member, Won amount) {
  return {{accounts::float_account(), amount}, {accounts::member_cash(member), -amount}};
}

Postings refund_postings(const std::string& member, Won cash, Won debt) {
  Postings out{{accounts::member_cash(member), cash}};
  if (debt > Won(0)) out.push_back({accounts::member_points(member), -debt});
  out.push_back({accounts::float_account(), -(cash - debt)});
  return out;
}

Postings payment_postings(const std::string& member, const std::string& merchant, const PaymentQuote& quote) {
  Postings out;
  for (const auto& d : quote.program_draws) add(out, accounts::member_program(d.program, member), d.amount);
  add(out, accounts::member_points(member), quote.paid_points);
  add(out, accounts::member_cash(member), quote.paid_cash);
  add(out, accounts::merchant_payable(merchant), -quote.charged);
  return out;
}

Postings cancellation_postings(const std::string& member, const std::string& merchant, const CancellationQuote& quote,
                               const std::optional<Clawback>& clawback, const DrawnPools& pools,
                               const std::map<std::string, std::int64_t>& program_pools) {
  Postings out;
  add(out, accounts::merchant_payable(merchant), quote.amount);
  add(out, accounts::member_cash(member), -quote.refund_cash);
  add(out, accounts::member_points(member), -quote.refund_points);
  for (const auto& r : quote.program_refunds) {
    if (!r.to_pool) {
      add(out, accounts::member_program(r.program, member), -r.amount);
      continue;
    }
    const auto pool = program_pools.find(r.program);
    add_pool(out, pool == program_pools.end() ? std::nullopt : std::optional(pool->second), -r.amount);
  }
  if (clawback) {
    const auto taken = clawback_postings(member, merchant, clawback->taken, pools);
    out.insert(out.end(), taken.begin(), taken.end());
  }
  return out;
}

Postings clawback_postings(const std::string& member, const std::string& merchant, const PostedCashback& t,
                           const DrawnPools& pools) {
  Postings out;
  add(out, accounts::member_points(member), t.total());
  add_pool(out, pools.national, -t.national);
  add_pool(out, pools.city, -t.city);
  add_pool(out, pools.district, -t.district);
  add(out, accounts::merchant_payable(merchant), -t.merchant);
  return out;
}

Postings cashback_postings(const std::string& member, const std::string& merchant, const PostedCashback& paid,
                           const DrawnPools& pools) {
  Postings out;
  add_pool(out, pools.national, paid.national);
  add_pool(out, pools.city, paid.city);
  add_pool(out, pools.district, paid.district);
  add(out, accounts::merchant_payable(merchant), paid.merchant);
  add(out, accounts::member_points(member), -paid.total());
  return out;
}

Postings merge_postings(const Postings& lines) {
  std::map<std::string, Won> sums;
  for (const auto& l : lines) sums[l.account] += l.amount;
  Postings out;
  for (auto& [account, amount] : sums) add(out, account, amount);
  return out;
}

Postings settlement_postings(const std::string& merchant, Won payable, Won fee_support) {
  Postings out;
  add(out, accounts::merchant_payable(merchant), payable);
  add(out, accounts::fee_support_expense(), fee_support);
  add(out, accounts::float_account(), -(payable + fee_support));
  return out;
}

Postings grant_postings(const std::string& program, std::int64_t pool_id, const std::string& member, Won amount) {
  return {{accounts::pool_drawn(pool_id), amount}, {accounts::member_program(program, member), -amount}};
}

Postings expiry_postings(const std::string& program, std::int64_t pool_id, const std::string& member, Won amount) {
  return {{accounts::member_program(program, member), amount}, {accounts::pool_drawn(pool_id), -amount}};
}

}  // namespace evoucher::engine
