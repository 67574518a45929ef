// SQL for the operation records outside the money path's group statements: ids, member totals
// and months, and cancellations.
#include "evoucher/store/operations.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kNextId{"op_next_id", "SELECT nextval('operation_id_seq') AS id"};
const Statement kMonth{
    "op_month",
    "SELECT loaded, eligible_spent FROM member_months WHERE district = $1 AND member_id = $2 AND month = $3::date"};
const Statement kTotals{
    "op_member_totals",
    "SELECT (SELECT coalesce(sum(amount), 0) FROM loads WHERE district = $1 AND member_id = $2)::bigint AS loaded, "
    "       (SELECT coalesce(sum(amount), 0) FROM refunds WHERE district = $1 AND member_id = $2)::bigint AS refunded, "
    "       (SELECT coalesce(sum(p.city_cashback + p.district_cashback + p.merchant_cashback), 0) FROM payments p " +
        kPostingOfPayment +
        " WHERE p.district = $1 AND p.member_id = $2 AND posting.found IS NULL)::bigint AS pending_cashback"};
const Statement kInsertCancellation{
    "op_insert_cancellation",
    "WITH c AS (INSERT INTO cancellations (district, id, event_id, payment_id, amount, refund_cash, refund_points, "
    "  reversed_city, reversed_district, reversed_merchant, reversed_fee_support, eligible_reduction, occurred_at, "
    "  business_date, journal_id, refund_program) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
    "  $13::timestamptz, $14::date, $15, $16)) "
    "UPDATE payments SET cancelled = cancelled + $5, refunded_cash = refunded_cash + $6, "
    "  refunded_program = refunded_program + $16, "
    "  city_cashback = city_cashback - $8, district_cashback = district_cashback - $9, "
    "  merchant_cashback = merchant_cashback - $10, fee_support = fee_support - $11, eligible = eligible - $12 "
    "WHERE district = $1 AND id = $4"};

}  // namespace

std::int64_t next_operation_id(Tx& tx) {
  return with_unavailable_mapped([&] { return run(tx, kNextId)[0]["id"].as<std::int64_t>(); });
}

MonthTotals member_month(Tx& tx, const std::string& district, const std::string& member, const std::string& month) {
  return with_unavailable_mapped([&] {
    const auto rows = run(tx, kMonth, district, member, month);
    if (rows.empty()) return MonthTotals{};
    return MonthTotals{won(rows[0]["loaded"]), won(rows[0]["eligible_spent"])};
  });
}

MemberTotals member_totals(Tx& tx, const std::string& district, const std::string& member) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kTotals, district, member)[0];
    return MemberTotals{won(r["loaded"]), won(r["refunded"]), won(r["pending_cashback"])};
  });
}

void insert_cancellation(Tx& tx, const CancellationRecord& c) {
  with_unavailable_mapped([&] {
    run(tx, kInsertCancellation, c.district, c.id, c.event_id, c.payment_id, c.amount.value(), c.refund_cash.value(),
        c.refund_points.value(), c.reversed_city.value(), c.reversed_district.value(), c.reversed_merchant.value(),
        c.reversed_fee_support.value(), c.eligible_reduction.value(), format_rfc3339(c.occurred_at), c.business_date,
        c.journal_id, c.refund_program.value());
    return 0;
  });
}

}  // namespace evoucher::store
