// SQL for loads, payments, cancellations, refunds and member months.
#include "evoucher/store/operations.hpp"

#include "pq.hpp"

namespace evoucher::store {

// Defined before the statements below that are built from it.
const std::string kPaymentColumns =
    "district, id, event_id, card_token, member_id, merchant_id, merchant_district, merchant_category, "
    "merchant_revenue, benefit_kind, benefit_rate_bp, channel, price, discount, charged, paid_points, paid_cash, "
    "eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, fee_support, cancelled, "
    "refunded_cash, city_policy_id, district_policy_id, "
    "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), business_date::text, journal_id";

namespace {

const Statement kNextId{"op_next_id", "SELECT nextval('operation_id_seq')"};
const Statement kMonth{
    "op_month",
    "SELECT loaded, eligible_spent FROM member_months WHERE district = $1 AND member_id = $2 AND month = $3::date"};
const Statement kAddMonth{
    "op_add_month",
    "INSERT INTO member_months (district, member_id, month, loaded, eligible_spent) VALUES ($1, $2, $3::date, $4, $5) "
    "ON CONFLICT (district, member_id, month) DO UPDATE SET loaded = member_months.loaded + EXCLUDED.loaded, "
    "eligible_spent = member_months.eligible_spent + EXCLUDED.eligible_spent"};
// A cancellation lowers a month that its payment already raised, so the row is there.
const Statement kLowerMonth{
    "op_lower_month",
    "UPDATE member_months SET loaded = loaded + $4, eligible_spent = eligible_spent + $5 "
    "WHERE district = $1 AND member_id = $2 AND month = $3::date"};
const Statement kTotals{
    "op_member_totals",
    "SELECT (SELECT coalesce(sum(amount), 0) FROM loads WHERE district = $1 AND member_id = $2)::bigint, "
    "       (SELECT coalesce(sum(amount), 0) FROM refunds WHERE district = $1 AND member_id = $2)::bigint, "
    "       (SELECT coalesce(sum(city_cashback + district_cashback + merchant_cashback), 0) FROM payments "
    "         WHERE district = $1 AND member_id = $2 AND cashback_posted_at IS NULL)::bigint"};
const Statement kInsertLoad{
    "op_insert_load",
    "INSERT INTO loads (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
    "VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7)"};
const Statement kInsertRefund{
    "op_insert_refund",
    "INSERT INTO refunds (district, id, member_id, amount, bank_ref, occurred_at, journal_id) "
    "VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7)"};
const Statement kInsertPayment{
    "op_insert_payment",
    "INSERT INTO payments (district, id, event_id, card_token, member_id, merchant_id, merchant_district, "
    "merchant_category, merchant_revenue, benefit_kind, benefit_rate_bp, channel, price, discount, charged, "
    "paid_points, paid_cash, eligible_before, eligible, city_cashback, district_cashback, merchant_cashback, "
    "fee_support, city_policy_id, district_policy_id, occurred_at, business_date, journal_id) VALUES "
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, "
    "$24, $25, $26::timestamptz, $27::date, $28)"};
const std::string kSelectPayment = "SELECT " + kPaymentColumns + " FROM payments WHERE district = $1 AND id = $2";
const Statement kFindPayment{"op_find_payment", kSelectPayment};
const Statement kLockPayment{"op_lock_payment", kSelectPayment + " FOR UPDATE"};
const Statement kInsertCancellation{
    "op_insert_cancellation",
    "WITH c AS (INSERT INTO cancellations (district, id, event_id, payment_id, amount, refund_cash, refund_points, "
    "  reversed_city, reversed_district, reversed_merchant, reversed_fee_support, eligible_reduction, occurred_at, "
    "  business_date, journal_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::timestamptz, "
    "  $14::date, $15)) "
    "UPDATE payments SET cancelled = cancelled + $5, refunded_cash = refunded_cash + $6, "
    "  city_cashback = city_cashback - $8, district_cashback = district_cashback - $9, "
    "  merchant_cashback = merchant_cashback - $10, fee_support = fee_support - $11, eligible = eligible - $12 "
    "WHERE district = $1 AND id = $4"};

}  // namespace

PaymentRecord payment_from_row(const pqxx::row& r) {
  PaymentRecord p;
  p.district = r[0].as<std::string>();
  p.id = r[1].as<std::int64_t>();
  p.event_id = r[2].as<std::string>();
  p.card_token = r[3].as<std::string>();
  p.member = r[4].as<std::string>();
  p.merchant = r[5].as<std::string>();
  p.merchant_district = r[6].as<std::string>();
  p.merchant_category = r[7].as<std::string>();
  p.merchant_revenue = won(r[8]);
  if (!r[9].is_null()) p.benefit_kind = r[9].as<std::string>();
  if (!r[10].is_null()) p.benefit_rate_bp = r[10].as<int>();
  p.channel = r[11].as<std::string>();
  p.price = won(r[12]);
  p.discount = won(r[13]);
  p.charged = won(r[14]);
  p.paid_points = won(r[15]);
  p.paid_cash = won(r[16]);
  p.eligible_before = won(r[17]);
  p.eligible = won(r[18]);
  p.city_cashback = won(r[19]);
  p.district_cashback = won(r[20]);
  p.merchant_cashback = won(r[21]);
  p.fee_support = won(r[22]);
  p.cancelled = won(r[23]);
  p.refunded_cash = won(r[24]);
  if (!r[25].is_null()) p.city_policy_id = r[25].as<std::int64_t>();
  if (!r[26].is_null()) p.district_policy_id = r[26].as<std::int64_t>();
  p.occurred_at = parse_rfc3339(r[27].as<std::string>()).value();
  p.business_date = r[28].as<std::string>();
  p.journal_id = r[29].as<std::int64_t>();
  return p;
}

std::int64_t next_operation_id(Tx& tx) {
  return with_unavailable_mapped([&] { return run(tx, kNextId)[0][0].as<std::int64_t>(); });
}

MonthTotals member_month(Tx& tx, const std::string& district, const std::string& member, const std::string& month) {
  return with_unavailable_mapped([&] {
    const auto rows = run(tx, kMonth, district, member, month);
    if (rows.empty()) return MonthTotals{};
    return MonthTotals{won(rows[0][0]), won(rows[0][1])};
  });
}

void add_to_month(Tx& tx, const std::string& district, const std::string& member, const std::string& month,
                  Won loaded, Won eligible_spent) {
  with_unavailable_mapped([&] {
    const bool lowers = loaded < Won(0) || eligible_spent < Won(0);
    run(tx, lowers ? kLowerMonth : kAddMonth, district, member, month, loaded.value(), eligible_spent.value());
    return 0;
  });
}

MemberTotals member_totals(Tx& tx, const std::string& district, const std::string& member) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kTotals, district, member)[0];
    return MemberTotals{won(r[0]), won(r[1]), won(r[2])};
  });
}

void insert_load(Tx& tx, const MoneyRecord& l) {
  with_unavailable_mapped([&] {
    run(tx, kInsertLoad, l.district, l.id, l.member, l.amount.value(), l.bank_ref, format_rfc3339(l.occurred_at),
        l.journal_id);
    return 0;
  });
}

void insert_refund(Tx& tx, const MoneyRecord& r) {
  with_unavailable_mapped([&] {
    run(tx, kInsertRefund, r.district, r.id, r.member, r.amount.value(), r.bank_ref, format_rfc3339(r.occurred_at),
        r.journal_id);
    return 0;
  });
}

void insert_payment(Tx& tx, const PaymentRecord& p) {
  with_unavailable_mapped([&] {
    run(tx, kInsertPayment, p.district, p.id, p.event_id, p.card_token, p.member, p.merchant, p.merchant_district,
        p.merchant_category, p.merchant_revenue.value(), p.benefit_kind, p.benefit_rate_bp, p.channel, p.price.value(),
        p.discount.value(), p.charged.value(), p.paid_points.value(), p.paid_cash.value(), p.eligible_before.value(),
        p.eligible.value(), p.city_cashback.value(), p.district_cashback.value(), p.merchant_cashback.value(),
        p.fee_support.value(), p.city_policy_id, p.district_policy_id, format_rfc3339(p.occurred_at), p.business_date,
        p.journal_id);
    return 0;
  });
}

std::optional<PaymentRecord> find_payment(Tx& tx, const std::string& district, std::int64_t id, bool lock) {
  return with_unavailable_mapped([&]() -> std::optional<PaymentRecord> {
    const auto rows = run(tx, lock ? kLockPayment : kFindPayment, district, id);
    if (rows.empty()) return std::nullopt;
    return payment_from_row(rows[0]);
  });
}

void insert_cancellation(Tx& tx, const CancellationRecord& c) {
  with_unavailable_mapped([&] {
    run(tx, kInsertCancellation, c.district, c.id, c.event_id, c.payment_id, c.amount.value(), c.refund_cash.value(),
        c.refund_points.value(), c.reversed_city.value(), c.reversed_district.value(), c.reversed_merchant.value(),
        c.reversed_fee_support.value(), c.eligible_reduction.value(), format_rfc3339(c.occurred_at), c.business_date,
        c.journal_id);
    return 0;
  });
}

}  // namespace evoucher::store
