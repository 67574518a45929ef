// SQL for fraud flags outside the payment path: the review queue, reviews, and the nightly
// sales-over-revenue rule.
#include "evoucher/store/flags.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

const std::string kFlagColumns =
    "SELECT district, id, rule, status, payment_id, member_id, merchant_id, card_token, "
    "       to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS occurred_at, "
    "       business_date::text AS business_date, month::text AS month, detail, "
    "       to_char(raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS raised_at, "
    "       to_char(reviewed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS reviewed_at, "
    "       reviewed_by, review_note, merchant_suspended, clawed_back, forfeited "
    "  FROM flags ";

const Statement kListFlags{
    "flag_list",
    kFlagColumns +
        " WHERE ($1::text IS NULL OR district = $1) AND business_date BETWEEN $2::date AND $3::date "
        "   AND ($4::text IS NULL OR rule = $4) AND ($5::text IS NULL OR status = $5) AND id > $6 "
        " ORDER BY id LIMIT $7"};
const Statement kFindFlag{"flag_find", kFlagColumns + " WHERE district = $1 AND id = $2"};
const Statement kLockFlag{"flag_lock", kFlagColumns + " WHERE district = $1 AND id = $2 FOR UPDATE"};

const Statement kRecordReview{
    "flag_record_review",
    "UPDATE flags SET status = $3, reviewed_at = now(), reviewed_by = $4, review_note = $5, merchant_suspended = $6, "
    "  clawed_back = $7, forfeited = $8, journal_id = $9 WHERE district = $1 AND id = $2 AND status = 'open'"};
const Statement kForfeit{
    "flag_forfeit_payment",
    "UPDATE payments SET city_cashback = 0, district_cashback = 0, merchant_cashback = 0, eligible = 0, "
    "  cashback_forfeited = true WHERE district = $1 AND id = $2"};
const Statement kSuspendMerchant{
    "flag_suspend_merchant", "UPDATE merchants SET status = 'suspended', updated_at = now() WHERE id = $1"};

const Statement kMerchantSales{
    "flag_merchant_sales",
    "SELECT m.id, m.district, m.annual_revenue, s.sales FROM "
    "  (SELECT merchant_id, sum(charged - cancelled)::bigint AS sales FROM payments "
    "    WHERE business_date BETWEEN $1::date AND $2::date GROUP BY merchant_id) s "
    "  JOIN merchants m ON m.id = s.merchant_id ORDER BY m.id"};
const Statement kInsertFlag{
    "flag_insert",
    "INSERT INTO flags (district, rule, payment_id, member_id, merchant_id, card_token, occurred_at, business_date, "
    "  month, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz, $8::date, $9::date, $10) "
    "ON CONFLICT DO NOTHING RETURNING id"};

Flag flag_from(const pqxx::row& r) {
  Flag f;
  auto& n = f.raised;
  n.district = r["district"].as<std::string>();
  f.id = r["id"].as<std::int64_t>();
  n.rule = engine::flag_rule_from(r["rule"].as<std::string>()).value();
  f.status = engine::flag_status_from(r["status"].as<std::string>()).value();
  n.payment_id = opt<std::int64_t>(r["payment_id"]);
  n.member = opt<std::string>(r["member_id"]);
  n.merchant = r["merchant_id"].as<std::string>();
  n.card = opt<std::string>(r["card_token"]);
  n.occurred_at = timestamp(r["occurred_at"]);
  n.business_date = r["business_date"].as<std::string>();
  n.month = opt<std::string>(r["month"]);
  n.detail = r["detail"].as<std::string>();
  f.raised_at = timestamp(r["raised_at"]);
  if (!r["reviewed_at"].is_null()) f.reviewed_at = timestamp(r["reviewed_at"]);
  f.reviewed_by = opt<std::string>(r["reviewed_by"]);
  f.review_note = opt<std::string>(r["review_note"]);
  f.merchant_suspended = r["merchant_suspended"].as<bool>();
  f.clawed_back = won(r["clawed_back"]);
  f.forfeited = won(r["forfeited"]);
  return f;
}

}  // namespace

std::vector<Flag> list_flags(Tx& tx, const FlagQuery& q) {
  return with_unavailable_mapped([&] {
    std::optional<std::string> rule, status;
    if (q.rule) rule = engine::to_string(*q.rule);
    if (q.status) status = engine::to_string(*q.status);
    std::vector<Flag> out;
    for (const auto& r : run(tx, kListFlags, q.district, q.from, q.to, rule, status, q.after.value_or(0), q.limit + 1))
      out.push_back(flag_from(r));
    return out;
  });
}

std::optional<Flag> find_flag(Tx& tx, const std::string& district, std::int64_t id, bool lock) {
  return with_unavailable_mapped([&]() -> std::optional<Flag> {
    const auto rows = run(tx, lock ? kLockFlag : kFindFlag, district, id);
    if (rows.empty()) return std::nullopt;
    return flag_from(rows[0]);
  });
}

void record_review(Tx& tx, const FlagReview& r) {
  with_unavailable_mapped([&] {
    const auto done = run(tx, kRecordReview, r.district, r.id, engine::to_string(r.outcome), r.reviewed_by, r.note,
                          r.merchant_suspended, r.clawed_back.value(), r.forfeited.value(), r.journal_id);
    if (done.affected_rows() != 1) throw std::logic_error("a review of a flag that is not open");
    return 0;
  });
}

void forfeit_payment_cashback(Tx& tx, const std::string& district, std::int64_t payment_id) {
  with_unavailable_mapped([&] {
    run(tx, kForfeit, district, payment_id);
    return 0;
  });
}

void suspend_merchant(Tx& tx, const std::string& merchant) {
  with_unavailable_mapped([&] {
    run(tx, kSuspendMerchant, merchant);
    return 0;
  });
}

std::vector<MerchantSales> merchant_sales(Tx& tx, const std::string& from, const std::string& through) {
  return with_unavailable_mapped([&] {
    std::vector<MerchantSales> out;
    for (const auto& r : run(tx, kMerchantSales, from, through))
      out.push_back(
          {r["id"].as<std::string>(), r["district"].as<std::string>(), won(r["annual_revenue"]), won(r["sales"])});
    return out;
  });
}

std::vector<NewFlag> insert_flags(Tx& tx, const std::vector<NewFlag>& flags) {
  return with_unavailable_mapped([&] {
    std::vector<NewFlag> inserted;
    for (const auto& f : flags)
      if (!run(tx, kInsertFlag, f.district, engine::to_string(f.rule), f.payment_id, f.member, f.merchant, f.card,
               format_rfc3339(f.occurred_at), f.business_date, f.month, f.detail)
               .empty())
        inserted.push_back(f);
    return inserted;
  });
}

}  // namespace evoucher::store
