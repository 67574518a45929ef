// SQL for programs, grants and wallets. A program's pool is an ordinary pool: its drawn amount
// is kept by the ledger, and the database refuses to draw it past its budget.
#include "evoucher/store/programs.hpp"

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/pools.hpp"
#include "evoucher/store/ledger.hpp"
#include "pq.hpp"

namespace evoucher::store {
namespace {

const std::string kProgramColumns =
    "SELECT id, name, district, funder, pool_id, grant_from::text AS grant_from, grant_to::text AS grant_to, "
    "       expires_on::text AS expires_on, categories, over_ceiling_allowed FROM programs ";
const Statement kFindProgram{"program_find", kProgramColumns + "WHERE id = $1"};
const Statement kInsertProgram{
    "program_insert",
    "INSERT INTO programs (id, name, district, funder, pool_id, grant_from, grant_to, expires_on, categories, "
    "  over_ceiling_allowed) VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, $8::date, $9::text[], $10) "
    "ON CONFLICT (id) DO NOTHING RETURNING 1"};
const Statement kMemberDistricts{
    "program_member_districts", "SELECT id, district FROM members WHERE id = ANY($1::text[])"};
const Statement kGranted{
    "program_granted",
    "SELECT member_id, amount FROM grants g JOIN members m ON m.id = g.member_id AND m.district = g.district "
    " WHERE g.program_id = $1 AND g.member_id = ANY($2::text[])"};
const Statement kOpenWallets{
    "program_open_wallets",
    "WITH a AS (INSERT INTO accounts (district, key, normal, min_balance) "
    "  SELECT x.d, member_program_key($1, x.mid), -1, 0 FROM unnest($2::text[], $3::text[]) AS x(d, mid) "
    "  ON CONFLICT (district, key) DO NOTHING RETURNING district, id, key) "
    "INSERT INTO program_wallets (district, member_id, program_id, account_id) "
    "SELECT a.district, substr(a.key, length('program:' || $1 || ':') + 1), $1, a.id FROM a"};
const Statement kInsertGrants{
    "program_insert_grants",
    "INSERT INTO grants (district, program_id, member_id, amount, journal_id) "
    "SELECT x.d, $1, x.mid, x.amount, x.journal FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[]) "
    "  AS x(d, mid, amount, journal)"};
const Statement kTotals{
    "program_totals",
    "SELECT d.code AS district, "
    "  (SELECT coalesce(sum(amount), 0) FROM grants WHERE district = d.code AND program_id = $1)::bigint AS granted, "
    "  (SELECT count(*) FROM grants WHERE district = d.code AND program_id = $1) AS grants, "
    "  (SELECT coalesce(sum(amount - refunded), 0) FROM payment_programs WHERE district = d.code "
    "     AND program_id = $1)::bigint AS spent, "
    "  (SELECT coalesce(sum(a.balance), 0) FROM program_wallets w JOIN accounts a ON a.district = w.district "
    "     AND a.id = w.account_id WHERE w.district = d.code AND w.program_id = $1)::bigint AS balance, "
    "  (SELECT coalesce(sum(amount), 0) FROM program_expiries WHERE district = d.code AND program_id = $1)::bigint "
    "     AS expired "
    "  FROM districts d ORDER BY d.code"};
const Statement kMemberWallets{
    "program_member_wallets",
    "SELECT w.program_id, a.balance, g.expires_on::text AS expires_on FROM program_wallets w "
    "  JOIN accounts a ON a.district = w.district AND a.id = w.account_id JOIN programs g ON g.id = w.program_id "
    " WHERE w.district = $1 AND w.member_id = $2 ORDER BY g.expires_on, w.program_id"};

const Statement kExpiring{
    "program_expiring",
    "SELECT w.district, w.member_id, w.program_id, g.pool_id, a.balance FROM programs g "
    "  JOIN program_wallets w ON w.program_id = g.id "
    "  JOIN accounts a ON a.district = w.district AND a.id = w.account_id "
    " WHERE g.expires_on <= $1::date AND a.balance > 0 ORDER BY w.district, w.member_id, w.program_id LIMIT $2"};
const Statement kRecordExpiry{
    "program_record_expiry",
    "INSERT INTO program_expiries (district, program_id, member_id, amount, business_date, journal_id) "
    "VALUES ($1, $2, $3, $4, $5::date, $6)"};
const Statement kExpiryTotals{
    "program_expiry_totals",
    "SELECT g.id AS program, p.source, "
    "       (SELECT count(*) FROM program_expiries e WHERE e.program_id = g.id) AS expiries, "
    "       (SELECT coalesce(sum(amount), 0) FROM program_expiries e WHERE e.program_id = g.id)::bigint AS returned, "
    "       p.budget - p.drawn AS remaining "
    "  FROM programs g JOIN pools p ON p.id = g.pool_id WHERE g.expires_on <= $1::date ORDER BY g.id"};

Program program_from(const pqxx::row& r) {
  Program p;
  p.id = r["id"].as<std::string>();
  p.name = r["name"].as<std::string>();
  p.district = r["district"].as<std::string>();
  p.funder = r["funder"].as<std::string>();
  p.pool_id = r["pool_id"].as<std::int64_t>();
  p.grant_from = r["grant_from"].as<std::string>();
  p.grant_to = r["grant_to"].as<std::string>();
  p.expires_on = r["expires_on"].as<std::string>();
  p.over_ceiling_allowed = r["over_ceiling_allowed"].as<bool>();
  if (!r["categories"].is_null()) {
    std::vector<std::string> categories;
    auto parser = r["categories"].as_array();
    for (auto item = parser.get_next(); item.first != pqxx::array_parser::done; item = parser.get_next())
      if (item.first == pqxx::array_parser::string_value) categories.push_back(item.second);
    p.categories = categories;
  }
  return p;
}

}  // namespace

std::pair<CreateOutcome, Program> create_program(Tx& tx, Program program, Won budget) {
  if (const auto existing = find_program(tx, program.id)) {
    program.pool_id = existing->pool_id;
    return {*existing == program ? CreateOutcome::existing : CreateOutcome::conflict, *existing};
  }
  const auto pool = create_pool(tx, "program:" + program.id, program.grant_from, program.expires_on, budget);
  if (!pool.created) return {CreateOutcome::conflict, program};
  program.pool_id = pool.created->id;
  with_unavailable_mapped([&] {
    std::optional<std::string> categories;
    if (program.categories) categories = text_array(*program.categories);
    run(tx, kInsertProgram, program.id, program.name, program.district, program.funder, program.pool_id,
        program.grant_from, program.grant_to, program.expires_on, categories, program.over_ceiling_allowed);
    return 0;
  });
  return {CreateOutcome::created, program};
}

std::optional<Program> find_program(Tx& tx, const std::string& id) {
  return with_unavailable_mapped([&]() -> std::optional<Program> {
    const auto rows = run(tx, kFindProgram, id);
    if (rows.empty()) return std::nullopt;
    return program_from(rows[0]);
  });
}

std::map<std::string, std::string> member_districts(Tx& tx, const std::vector<std::string>& members) {
  return with_unavailable_mapped([&] {
    std::map<std::string, std::string> out;
    for (const auto& r : run(tx, kMemberDistricts, text_array(members)))
      out[r["id"].as<std::string>()] = r["district"].as<std::string>();
    return out;
  });
}

std::map<std::string, Won> granted(Tx& tx, const std::string& program, const std::vector<std::string>& members) {
  return with_unavailable_mapped([&] {
    std::map<std::string, Won> out;
    for (const auto& r : run(tx, kGranted, program, text_array(members)))
      out[r["member_id"].as<std::string>()] = won(r["amount"]);
    return out;
  });
}

void open_wallets(Tx& tx, const std::string& program, const std::vector<std::pair<std::string, std::string>>& members) {
  if (members.empty()) return;
  std::vector<std::string> districts, ids;
  for (const auto& [district, member] : members) {
    districts.push_back(district);
    ids.push_back(member);
  }
  with_unavailable_mapped([&] {
    run(tx, kOpenWallets, program, text_array(districts), text_array(ids));
    return 0;
  });
}

void insert_grants(Tx& tx, const std::string& program, const std::vector<GrantRow>& grants) {
  if (grants.empty()) return;
  std::vector<std::string> districts, members;
  std::vector<long long> amounts, journals;
  for (const auto& g : grants) {
    districts.push_back(g.district);
    members.push_back(g.member);
    amounts.push_back(g.amount.value());
    journals.push_back(g.journal_id);
  }
  with_unavailable_mapped([&] {
    run(tx, kInsertGrants, program, text_array(districts), text_array(members), bigint_array(amounts),
        bigint_array(journals));
    return 0;
  });
}

std::map<std::string, ProgramTotals> program_totals(Tx& tx, const std::string& program) {
  return with_unavailable_mapped([&] {
    std::map<std::string, ProgramTotals> out;
    for (const auto& r : run(tx, kTotals, program)) {
      ProgramTotals t;
      t.granted = won(r["granted"]);
      t.grants = r["grants"].as<std::int64_t>();
      t.spent = won(r["spent"]);
      t.balance = won(r["balance"]);
      t.expired = won(r["expired"]);
      t.returned = t.granted - t.spent - t.balance - t.expired;
      if (t.grants > 0) out[r["district"].as<std::string>()] = t;
    }
    return out;
  });
}

std::vector<WalletView> member_wallets(Tx& tx, const std::string& district, const std::string& member) {
  return with_unavailable_mapped([&] {
    std::vector<WalletView> out;
    for (const auto& r : run(tx, kMemberWallets, district, member))
      out.push_back({r["program_id"].as<std::string>(), won(r["balance"]), r["expires_on"].as<std::string>()});
    return out;
  });
}

std::vector<ExpiringWallet> expiring_wallets(Tx& tx, const std::string& business_date, int limit) {
  return with_unavailable_mapped([&] {
    std::vector<ExpiringWallet> out;
    for (const auto& r : run(tx, kExpiring, business_date, limit))
      out.push_back({r["district"].as<std::string>(), r["member_id"].as<std::string>(),
                     r["program_id"].as<std::string>(), r["pool_id"].as<std::int64_t>(), won(r["balance"])});
    return out;
  });
}

void record_expiry(Tx& tx, const ExpiringWallet& w, const std::string& business_date, std::int64_t journal_id) {
  with_unavailable_mapped([&] {
    run(tx, kRecordExpiry, w.district, w.program, w.member, w.balance.value(), business_date, journal_id);
    return 0;
  });
}

std::vector<ExpiryTotals> expiry_totals(Tx& tx, const std::string& business_date) {
  return with_unavailable_mapped([&] {
    std::vector<ExpiryTotals> out;
    for (const auto& r : run(tx, kExpiryTotals, business_date))
      out.push_back({r["program"].as<std::string>(), r["source"].as<std::string>(), r["expiries"].as<std::int64_t>(),
                     won(r["returned"]), won(r["remaining"])});
    return out;
  });
}

}  // namespace evoucher::store
