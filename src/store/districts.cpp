// District rows; the partitions come from the districts trigger in migrations/0001_ledger.sql.
#include "evoucher/store/districts.hpp"

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/ledger.hpp"
#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kInsert{
    "district_insert",
    "INSERT INTO districts (code, name, brand) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING RETURNING 1"};
const Statement kFind{"district_find", "SELECT code, name, brand FROM districts WHERE code = $1"};
const Statement kList{"district_list", "SELECT code, name, brand FROM districts ORDER BY code"};

District from_row(const pqxx::row& row) {
  return District{row["code"].as<std::string>(), row["name"].as<std::string>(), row["brand"].as<std::string>()};
}

}  // namespace

CreateOutcome create_district(Tx& tx, const District& district) {
  const bool inserted = with_unavailable_mapped(
      [&] { return !run(tx, kInsert, district.code, district.name, district.brand).empty(); });
  if (!inserted) return find_district(tx, district.code) == district ? CreateOutcome::existing : CreateOutcome::conflict;
  open_account(tx, district.code, {accounts::float_account(), Normal::debit, std::nullopt});
  open_account(tx, district.code, {accounts::fee_support_expense(), Normal::debit, std::nullopt});
  return CreateOutcome::created;
}

std::optional<District> find_district(Tx& tx, const std::string& code) {
  return with_unavailable_mapped([&]() -> std::optional<District> {
    const auto rows = run(tx, kFind, code);
    if (rows.empty()) return std::nullopt;
    return from_row(rows[0]);
  });
}

std::vector<District> list_districts(Tx& tx) {
  return with_unavailable_mapped([&] {
    std::vector<District> out;
    for (const auto& row : run(tx, kList)) out.push_back(from_row(row));
    return out;
  });
}

}  // namespace evoucher::store
