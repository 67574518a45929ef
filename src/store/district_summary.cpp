// The district summary in one statement: each total is a subquery over its own table's index
// range, with the date's payments and their postings as the outer rows.
#include "evoucher/store/district_summary.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kSummary{
    "district_summary",
    "SELECT "
    " (SELECT coalesce(sum(amount), 0) FROM loads WHERE district = $1 "
    "    AND seoul_date(occurred_at) BETWEEN $2::date AND $3::date)::bigint "
    "   AS loaded, "
    " (SELECT coalesce(sum(amount), 0) FROM refunds WHERE district = $1 "
    "    AND seoul_date(occurred_at) BETWEEN $2::date AND $3::date)::bigint "
    "   AS refunded, "
    " count(p.id) AS payment_count, coalesce(sum(p.price), 0)::bigint AS price, "
    " coalesce(sum(p.discount), 0)::bigint AS discount, coalesce(sum(p.charged), 0)::bigint AS charged, "
    " (SELECT coalesce(sum(amount), 0) FROM cancellations WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint AS cancelled, "
    " coalesce(sum(p.city_cashback + p.district_cashback + p.merchant_cashback) "
    "          FILTER (WHERE k.payment_id IS NULL), 0)::bigint AS pending, "
    " coalesce(sum(k.posted_national + k.posted_city), 0)::bigint AS posted_city, "
    " coalesce(sum(k.posted_district), 0)::bigint AS posted_district, "
    " coalesce(sum(k.posted_merchant), 0)::bigint AS posted_merchant, "
    " coalesce(sum(k.unfunded_national + k.unfunded_city + k.unfunded_district), 0)::bigint AS unfunded, "
    " ((SELECT coalesce(sum(clawed_back), 0) FROM cancellations WHERE district = $1 "
    "     AND business_date BETWEEN $2::date AND $3::date) + "
    "  (SELECT coalesce(sum(clawed_back), 0) FROM flags WHERE district = $1 AND status = 'confirmed' "
    "     AND seoul_date(reviewed_at) BETWEEN $2::date AND $3::date))::bigint "
    "   AS clawed_back, "
    " coalesce(sum(p.fee_support), 0)::bigint AS fee_support, "
    " (SELECT coalesce(sum(amount), 0) FROM settlements WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint AS settled, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND is_member_cash(key))::bigint "
    "   AS cash, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND is_member_points(key))::bigint "
    "   AS points, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND is_merchant_payable(key))::bigint "
    "   AS payable, "
    " (SELECT coalesce(sum(g.amount), 0) FROM grants g JOIN journals j ON j.district = g.district AND j.id = g.journal_id "
    "   WHERE g.district = $1 "
    "     AND seoul_date(j.occurred_at) BETWEEN $2::date AND $3::date)::bigint "
    "   AS program_granted, "
    " coalesce(sum(p.paid_program), 0)::bigint AS program_spent, "
    " (SELECT coalesce(sum(refund_program), 0) FROM cancellations WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint AS program_refunded, "
    " (SELECT coalesce(sum(amount), 0) FROM program_expiries WHERE district = $1 "
    "    AND business_date BETWEEN $2::date AND $3::date)::bigint AS program_expired, "
    " (SELECT coalesce(sum(balance), 0) FROM accounts WHERE district = $1 AND is_member_program(key))::bigint "
    "   AS program_held, "
    " (SELECT count(*) FROM members WHERE district = $1) AS members "
    "FROM payments p LEFT JOIN cashback_postings k ON k.district = p.district AND k.business_date = p.business_date "
    "  AND k.payment_id = p.id "
    "WHERE p.district = $1 AND p.business_date BETWEEN $2::date AND $3::date"};

}  // namespace

DistrictSummary district_summary(Tx& tx, const std::string& district, const std::string& from, const std::string& to) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kSummary, district, from, to)[0];
    DistrictSummary s;
    s.loaded = won(r["loaded"]);
    s.refunded = won(r["refunded"]);
    s.payment_count = r["payment_count"].as<std::int64_t>();
    s.price = won(r["price"]);
    s.discount = won(r["discount"]);
    s.charged = won(r["charged"]);
    s.cancelled = won(r["cancelled"]);
    s.pending = won(r["pending"]);
    s.posted_city = won(r["posted_city"]);
    s.posted_district = won(r["posted_district"]);
    s.posted_merchant = won(r["posted_merchant"]);
    s.unfunded = won(r["unfunded"]);
    s.clawed_back = won(r["clawed_back"]);
    s.fee_support = won(r["fee_support"]);
    s.settled = won(r["settled"]);
    s.cash = won(r["cash"]);
    s.points = won(r["points"]);
    s.payable = won(r["payable"]);
    s.program_granted = won(r["program_granted"]);
    s.program_spent = won(r["program_spent"]);
    s.program_refunded = won(r["program_refunded"]);
    s.program_expired = won(r["program_expired"]);
    s.program_held = won(r["program_held"]);
    s.members = r["members"].as<std::int64_t>();
    return s;
  });
}

}  // namespace evoucher::store
