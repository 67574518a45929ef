// SQL for the report lists: each page is an index range from its key, so that a page costs the
// same at the end of a million rows as at the start.
#include "evoucher/store/reports.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

#define EV_UTC_TEXT(column) "to_char(" column " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

const Statement kListPayments{
    "report_payments",
    "SELECT p.district, p.id, p.event_id, p.member_id, p.merchant_id, p.merchant_district, p.channel, "
    "       " EV_UTC_TEXT("p.occurred_at") " AS occurred_at, p.price, p.discount, p.charged, p.paid_program, "
    "       p.paid_points, p.paid_cash, p.city_cashback, p.district_cashback, p.merchant_cashback, p.fee_support, "
    "       p.cancelled, p.cashback_forfeited, posting.found IS NOT NULL AS cashback_posted "
    "  FROM payments p " +
        kPostingOfPayment +
        " WHERE p.district = $1 AND p.business_date = $2::date "
        "   AND (p.occurred_at, p.id) > ($3::timestamptz, $4::bigint) "
        " ORDER BY p.occurred_at, p.id LIMIT $5"};

const Statement kListGrants{
    "report_grants",
    "SELECT g.district, g.id, g.member_id, g.amount, " EV_UTC_TEXT("j.occurred_at") " AS granted_at "
    "  FROM grants g JOIN journals j ON j.district = g.district AND j.id = g.journal_id "
    " WHERE g.program_id = $1 AND ($2::text IS NULL OR g.district = $2) AND (g.district, g.id) > ($3::text, $4::bigint) "
    " ORDER BY g.district, g.id LIMIT $5"};

// The date's payments by merchant (the merchant-and-date index gives them in merchant order),
// with the settlements of the same date and issuing district.
const Statement kSettlementList{
    "report_settlement_list",
    "SELECT p.merchant_id, m.name, p.payments, p.charged, p.cancelled, p.merchant_cashback, p.payable, p.fee, "
    "       coalesce(s.settled, 0)::bigint AS settled, "
    "       (p.payable + p.fee - coalesce(s.settled, 0))::bigint AS outstanding "
    "  FROM (SELECT merchant_id, count(*) AS payments, sum(charged)::bigint AS charged, "
    "               sum(cancelled)::bigint AS cancelled, sum(merchant_cashback)::bigint AS merchant_cashback, "
    "               sum(charged - cancelled - merchant_cashback)::bigint AS payable, sum(fee_support)::bigint AS fee "
    "          FROM payments WHERE district = $1 AND business_date = $2::date AND merchant_id > $3 "
    "         GROUP BY merchant_id ORDER BY merchant_id LIMIT $4) p "
    "  JOIN merchants m ON m.id = p.merchant_id "
    "  LEFT JOIN LATERAL (SELECT sum(amount) AS settled FROM settlements "
    "                      WHERE district = $1 AND merchant_id = p.merchant_id AND business_date = $2::date) s ON true "
    " ORDER BY p.merchant_id"};

// Several districts' runs report the same city-wide pool on one date: the last to complete holds
// what was left after all of them.
const Statement kPoolHistory{
    "report_pool_history",
    "SELECT DISTINCT ON (b.business_date) b.business_date::text AS business_date, "
    "       (p ->> 'remaining')::bigint AS remaining "
    "  FROM pools x JOIN batch_runs b ON b.business_date BETWEEN x.period_start AND x.period_end "
    "   AND b.report IS NOT NULL, jsonb_array_elements(b.report::jsonb -> 'pools') p "
    " WHERE x.id = $1 AND p ->> 'source' = x.source "
    " ORDER BY b.business_date, b.completed_at DESC"};

const Statement kBatchDays{
    "report_batch_days",
    "SELECT d.code AS district, g.day::date::text AS business_date, b.status, coalesce(b.run, 0) AS run, "
    "       " EV_UTC_TEXT("b.started_at") " AS started_at, " EV_UTC_TEXT("b.completed_at") " AS completed_at, "
    "       b.report "
    "  FROM districts d CROSS JOIN generate_series($2::date, $3::date, interval '1 day') g(day) "
    "  LEFT JOIN batch_runs b ON b.district = d.code AND b.business_date = g.day::date "
    " WHERE ($1::text IS NULL OR d.code = $1) "
    "   AND (b.district IS NOT NULL OR (g.day::date <= $4::date AND EXISTS "
    "        (SELECT 1 FROM payments p WHERE p.district = d.code AND p.business_date = g.day::date))) "
    " ORDER BY g.day DESC, d.code"};

#undef EV_UTC_TEXT

}  // namespace

void read_only_snapshot(Tx& tx) {
  with_unavailable_mapped([&] {
    tx.impl().work.exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    return 0;
  });
}

std::vector<PaymentLine> list_payments(Tx& tx, const std::string& district, const std::string& business_date,
                                       const std::optional<PaymentPageKey>& after, int limit) {
  return with_unavailable_mapped([&] {
    // Before the service's era, so the first page starts at the day's first payment.
    const std::string from_at = after ? format_rfc3339(after->occurred_at) : "1970-01-01T00:00:00Z";
    const std::int64_t from_id = after ? after->id : 0;
    std::vector<PaymentLine> out;
    for (const auto& r : run(tx, kListPayments, district, business_date, from_at, from_id, limit + 1)) {
      PaymentLine p;
      p.district = r["district"].as<std::string>();
      p.id = r["id"].as<std::int64_t>();
      p.event_id = r["event_id"].as<std::string>();
      p.member = r["member_id"].as<std::string>();
      p.merchant = r["merchant_id"].as<std::string>();
      p.merchant_district = r["merchant_district"].as<std::string>();
      p.channel = r["channel"].as<std::string>();
      p.occurred_at = timestamp(r["occurred_at"]);
      p.price = won(r["price"]);
      p.discount = won(r["discount"]);
      p.charged = won(r["charged"]);
      p.paid_program = won(r["paid_program"]);
      p.paid_points = won(r["paid_points"]);
      p.paid_cash = won(r["paid_cash"]);
      p.city_cashback = won(r["city_cashback"]);
      p.district_cashback = won(r["district_cashback"]);
      p.merchant_cashback = won(r["merchant_cashback"]);
      p.fee_support = won(r["fee_support"]);
      p.cancelled = won(r["cancelled"]);
      p.cashback_forfeited = r["cashback_forfeited"].as<bool>();
      p.cashback_posted = r["cashback_posted"].as<bool>();
      out.push_back(std::move(p));
    }
    return out;
  });
}

std::vector<GrantLine> list_grants(Tx& tx, const std::string& program, const std::optional<std::string>& district,
                                   const std::optional<std::pair<std::string, std::int64_t>>& after, int limit) {
  return with_unavailable_mapped([&] {
    const std::string from_district = after ? after->first : "";
    const std::int64_t from_id = after ? after->second : 0;
    std::vector<GrantLine> out;
    for (const auto& r : run(tx, kListGrants, program, district, from_district, from_id, limit + 1))
      out.push_back({r["district"].as<std::string>(), r["id"].as<std::int64_t>(), r["member_id"].as<std::string>(),
                     won(r["amount"]), timestamp(r["granted_at"])});
    return out;
  });
}

std::vector<SettlementLine> settlement_list(Tx& tx, const std::string& district, const std::string& business_date,
                                            const std::optional<std::string>& after, int limit) {
  return with_unavailable_mapped([&] {
    std::vector<SettlementLine> out;
    for (const auto& r : run(tx, kSettlementList, district, business_date, after.value_or(""), limit + 1)) {
      SettlementLine s;
      s.merchant = r["merchant_id"].as<std::string>();
      s.name = r["name"].as<std::string>();
      s.payments = r["payments"].as<std::int64_t>();
      s.charged = won(r["charged"]);
      s.cancelled = won(r["cancelled"]);
      s.merchant_cashback = won(r["merchant_cashback"]);
      s.payable = won(r["payable"]);
      s.fee_support = won(r["fee"]);
      s.settled = won(r["settled"]);
      s.outstanding = won(r["outstanding"]);
      out.push_back(std::move(s));
    }
    return out;
  });
}

std::vector<PoolHistoryDay> pool_history(Tx& tx, std::int64_t pool_id) {
  return with_unavailable_mapped([&] {
    std::vector<PoolHistoryDay> out;
    for (const auto& r : run(tx, kPoolHistory, pool_id))
      out.push_back({r["business_date"].as<std::string>(), won(r["remaining"])});
    return out;
  });
}

const char* to_string(BatchDayStatus status) {
  switch (status) {
    case BatchDayStatus::completed:
      return "completed";
    case BatchDayStatus::running:
      return "running";
    case BatchDayStatus::pending:
      return "pending";
  }
  return "pending";
}

std::vector<BatchDay> batch_days(Tx& tx, const std::optional<std::string>& district, const std::string& from,
                                 const std::string& to, const std::string& last_closed) {
  return with_unavailable_mapped([&] {
    std::vector<BatchDay> out;
    for (const auto& r : run(tx, kBatchDays, district, from, to, last_closed)) {
      BatchDay d;
      d.district = r["district"].as<std::string>();
      d.business_date = r["business_date"].as<std::string>();
      const auto status = opt<std::string>(r["status"]);
      d.status = !status ? BatchDayStatus::pending
                         : *status == "completed" ? BatchDayStatus::completed : BatchDayStatus::running;
      d.run = r["run"].as<int>();
      if (!r["started_at"].is_null()) d.started_at = timestamp(r["started_at"]);
      if (!r["completed_at"].is_null()) d.completed_at = timestamp(r["completed_at"]);
      if (d.status == BatchDayStatus::completed) d.report = opt<std::string>(r["report"]);
      out.push_back(std::move(d));
    }
    return out;
  });
}

}  // namespace evoucher::store
