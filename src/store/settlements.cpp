// Settlements: the amounts owed per issuing district, net of what earlier settlements of the date
// paid, and the rows of a settlement's portions.
#include "evoucher/store/settlements.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

// Per issuing district: what the date's payments owe the merchant now, less what settlements of
// that date already paid.
const Statement kOwed{
    "settlement_owed",
    "SELECT p.district, (p.payable - coalesce(s.payable, 0))::bigint AS payable, "
    "       (p.fee - coalesce(s.fee, 0))::bigint AS fee_support "
    "  FROM (SELECT district, sum(charged - cancelled - merchant_cashback) AS payable, sum(fee_support) AS fee "
    "          FROM payments WHERE merchant_id = $1 AND business_date = $2::date GROUP BY district) p "
    "  LEFT JOIN (SELECT district, sum(amount - fee_support) AS payable, sum(fee_support) AS fee "
    "               FROM settlements WHERE merchant_id = $1 AND business_date = $2::date GROUP BY district) s "
    "    ON s.district = p.district "
    " WHERE p.payable <> coalesce(s.payable, 0) OR p.fee <> coalesce(s.fee, 0) "
    " ORDER BY p.district"};
const Statement kInsertSettlement{
    "settlement_insert",
    "INSERT INTO settlements (district, id, event_id, merchant_id, business_date, amount, fee_support, journal_id) "
    "VALUES ($1, $2, $3, $4, $5::date, $6, $7, $8)"};

}  // namespace

std::vector<Owed> owed_to_merchant(Tx& tx, const std::string& merchant, const std::string& business_date) {
  return with_unavailable_mapped([&] {
    std::vector<Owed> out;
    for (const auto& r : run(tx, kOwed, merchant, business_date))
      out.push_back({r["district"].as<std::string>(), won(r["payable"]), won(r["fee_support"])});
    return out;
  });
}

void insert_settlement_portion(Tx& tx, const Owed& owed, std::int64_t id, const std::string& event_id,
                               const std::string& merchant, const std::string& business_date,
                               std::optional<std::int64_t> journal_id) {
  with_unavailable_mapped([&] {
    run(tx, kInsertSettlement, owed.district, id, event_id, merchant, business_date,
        (owed.payable + owed.fee_support).value(), owed.fee_support.value(), journal_id);
    return 0;
  });
}

}  // namespace evoucher::store
