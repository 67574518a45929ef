// Approved payments as a group's cancellations and reviews find them: locked, then read with
// what the batch posted and the program money they took. Rows are read by column name.
#include "evoucher/store/money_path_payments.hpp"

#include "money_sql.hpp"

namespace evoucher::store {
namespace {

using money_sql::columns;
using money_sql::run_mapped;

// The columns of a payment row, named as payment_from_row reads them.
const std::string kPaymentColumns =
    "p.district, p.id, p.event_id, p.card_token, p.member_id, p.merchant_id, p.merchant_district, "
    "p.merchant_category, p.merchant_revenue, p.benefit_kind, p.benefit_rate_bp, p.channel, p.price, p.discount, "
    "p.charged, p.paid_points, p.paid_cash, p.eligible_before, p.eligible, p.city_cashback, p.district_cashback, "
    "p.merchant_cashback, p.fee_support, p.cancelled, p.refunded_cash, p.city_policy_id, p.district_policy_id, "
    "to_char(p.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS occurred_at, "
    "p.business_date::text AS business_date, p.journal_id, p.cashback_forfeited, p.paid_program, p.refunded_program";

// The payments a group cancels or reviews are locked by one statement and read by the next. A
// statement that waited for a lock held by the batch re-reads the locked row, but reads every
// other table with the snapshot it took before the wait: a posting the batch committed meanwhile
// would look absent, and the cancellation would keep the cashback it posted. The read after the
// lock takes a snapshot that includes the batch's commit.
const Statement kLockPayments{
    "mp_lock_payments",
    "SELECT count(*) FROM (SELECT * FROM unnest($1::text[], $2::bigint[]) ORDER BY 1, 2) AS x(d, pid) "
    "CROSS JOIN LATERAL (SELECT 1 FROM payments WHERE district = x.d AND id = x.pid FOR UPDATE) p"};
const Statement kReadLockedPayments{
    "mp_read_locked_payments",
    "SELECT " + kPaymentColumns +
        ", k.payment_id IS NOT NULL AS posted, k.national_pool_id, k.city_pool_id, k.district_pool_id, "
        "coalesce(k.posted_national, 0) AS posted_national, coalesce(k.posted_city, 0) AS posted_city, "
        "coalesce(k.posted_district, 0) AS posted_district, coalesce(k.posted_merchant, 0) AS posted_merchant "
        "FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) "
        "CROSS JOIN LATERAL (SELECT * FROM payments WHERE district = x.d AND id = x.pid LIMIT 1) p "
        "LEFT JOIN LATERAL (SELECT * FROM cashback_postings WHERE district = p.district "
        "                   AND business_date = p.business_date AND payment_id = p.id LIMIT 1) k ON true"};

const Statement kPaymentPrograms{
    "mp_payment_programs",
    "SELECT pp.district, pp.payment_id, pp.program_id, pp.seq, pp.amount, pp.refunded, g.expires_on::text AS expires_on, "
    "g.pool_id "
    "  FROM unnest($1::text[], $2::bigint[]) AS x(d, pid) "
    "  CROSS JOIN LATERAL (SELECT * FROM payment_programs WHERE district = x.d AND payment_id = x.pid) pp "
    "  CROSS JOIN LATERAL (SELECT * FROM programs WHERE id = pp.program_id LIMIT 1) g "
    " ORDER BY pp.district, pp.payment_id, pp.seq"};
const Statement kLockPools{
    "mp_lock_pools", "SELECT id FROM pools WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"};

PaymentRecord payment_from_row(const pqxx::row& r) {
  PaymentRecord p;
  p.district = r["district"].as<std::string>();
  p.id = r["id"].as<std::int64_t>();
  p.event_id = r["event_id"].as<std::string>();
  p.card_token = r["card_token"].as<std::string>();
  p.member = r["member_id"].as<std::string>();
  p.merchant = r["merchant_id"].as<std::string>();
  p.merchant_district = r["merchant_district"].as<std::string>();
  p.merchant_category = r["merchant_category"].as<std::string>();
  p.merchant_revenue = won(r["merchant_revenue"]);
  if (!r["benefit_kind"].is_null()) p.benefit_kind = r["benefit_kind"].as<std::string>();
  if (!r["benefit_rate_bp"].is_null()) p.benefit_rate_bp = r["benefit_rate_bp"].as<int>();
  p.channel = r["channel"].as<std::string>();
  p.price = won(r["price"]);
  p.discount = won(r["discount"]);
  p.charged = won(r["charged"]);
  p.paid_points = won(r["paid_points"]);
  p.paid_cash = won(r["paid_cash"]);
  p.eligible_before = won(r["eligible_before"]);
  p.eligible = won(r["eligible"]);
  p.city_cashback = won(r["city_cashback"]);
  p.district_cashback = won(r["district_cashback"]);
  p.merchant_cashback = won(r["merchant_cashback"]);
  p.fee_support = won(r["fee_support"]);
  p.cancelled = won(r["cancelled"]);
  p.refunded_cash = won(r["refunded_cash"]);
  if (!r["city_policy_id"].is_null()) p.city_policy_id = r["city_policy_id"].as<std::int64_t>();
  if (!r["district_policy_id"].is_null()) p.district_policy_id = r["district_policy_id"].as<std::int64_t>();
  p.occurred_at = timestamp(r["occurred_at"]);
  p.business_date = r["business_date"].as<std::string>();
  p.journal_id = r["journal_id"].as<std::int64_t>();
  p.cashback_forfeited = r["cashback_forfeited"].as<bool>();
  p.paid_program = won(r["paid_program"]);
  p.refunded_program = won(r["refunded_program"]);
  return p;
}


}  // namespace

std::vector<PaymentRow> lock_payments(Tx& tx, const std::vector<PaymentKey>& payments) {
  std::vector<PaymentRow> out;
  if (payments.empty()) return out;
  const auto [districts, ids] = columns(payments);
  run_mapped(tx, kLockPayments, districts, ids);
  for (const auto& r : run_mapped(tx, kReadLockedPayments, districts, ids)) {
    PaymentRow row;
    row.record = payment_from_row(r);
    row.posted.posted = r["posted"].as<bool>();
    row.posted.pools = {opt<std::int64_t>(r["national_pool_id"]), opt<std::int64_t>(r["city_pool_id"]),
                        opt<std::int64_t>(r["district_pool_id"])};
    row.posted.amounts = {won(r["posted_national"]), won(r["posted_city"]), won(r["posted_district"]),
                          won(r["posted_merchant"])};
    out.push_back(std::move(row));
  }
  // Program money, for the payments that took any.
  std::vector<PaymentKey> with_programs;
  for (const auto& row : out)
    if (row.record.paid_program > Won(0)) with_programs.emplace_back(row.record.district, row.record.id);
  if (with_programs.empty()) return out;
  const auto [pd, pids] = columns(with_programs);
  std::map<PaymentKey, std::vector<PaymentProgram>> parts;
  for (const auto& r : run_mapped(tx, kPaymentPrograms, pd, pids))
    parts[{r["district"].as<std::string>(), r["payment_id"].as<std::int64_t>()}].push_back(
        {r["program_id"].as<std::string>(), r["seq"].as<int>(), won(r["amount"]), won(r["refunded"]),
         r["expires_on"].as<std::string>(), r["pool_id"].as<std::int64_t>()});
  for (auto& row : out) row.programs = parts[{row.record.district, row.record.id}];
  return out;
}

void lock_pools(Tx& tx, const std::vector<std::int64_t>& pool_ids) {
  if (pool_ids.empty()) return;
  run_mapped(tx, kLockPools, bigint_array({pool_ids.begin(), pool_ids.end()}));
}

}  // namespace evoucher::store
