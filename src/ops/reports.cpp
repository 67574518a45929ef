// The reports and exports, each read in a transaction of its own.
#include "evoucher/ops/reports.hpp"

#include "evoucher/ops/admin.hpp"
#include "evoucher/store/districts.hpp"

namespace evoucher::ops {
namespace {

// Reads every page that fetch(tx, kExportPage) gives inside one read-only snapshot, calling
// advance(last row) between pages, until a short page or until `take` answers false.
template <typename Row, typename Fetch, typename Advance>
void export_pages(store::Connection& connection, Fetch fetch, const Take<Row>& take, Advance advance) {
  store::Tx tx(connection);
  store::read_only_snapshot(tx);
  for (;;) {
    auto rows = fetch(tx, kExportPage);
    const bool more = rows.size() > static_cast<std::size_t>(kExportPage);
    if (more) rows.resize(static_cast<std::size_t>(kExportPage));
    for (const auto& r : rows)
      if (!take(r)) return;
    if (!more || rows.empty()) return;
    advance(rows.back());
  }
}

}  // namespace

std::vector<store::PaymentLine> payments(store::Connection& connection, const std::string& district,
                                         const std::string& business_date,
                                         const std::optional<store::PaymentPageKey>& after, int limit) {
  return reading(connection, [&](store::Tx& tx) { return store::list_payments(tx, district, business_date, after, limit); });
}

std::vector<store::SettlementLine> settlements(store::Connection& connection, const std::string& district,
                                               const std::string& business_date, const std::optional<std::string>& after,
                                               int limit) {
  return reading(connection, [&](store::Tx& tx) { return store::settlement_list(tx, district, business_date, after, limit); });
}

std::vector<store::GrantLine> grants(store::Connection& connection, const std::string& program,
                                     const std::optional<std::string>& district,
                                     const std::optional<std::pair<std::string, std::int64_t>>& after, int limit) {
  return reading(connection, [&](store::Tx& tx) { return store::list_grants(tx, program, district, after, limit); });
}

std::vector<store::Flag> flags(store::Connection& connection, const store::FlagQuery& query) {
  return reading(connection, [&](store::Tx& tx) { return store::list_flags(tx, query); });
}

std::vector<store::AuditRow> audit_entries(store::Connection& connection, const store::AuditQuery& query) {
  return reading(connection, [&](store::Tx& tx) { return store::audit_entries(tx, query); });
}

void export_payments(store::Connection& connection, const std::string& district, const std::string& business_date,
                     std::optional<store::PaymentPageKey> after, const Take<store::PaymentLine>& take) {
  export_pages<store::PaymentLine>(
      connection, [&](store::Tx& tx, int limit) { return store::list_payments(tx, district, business_date, after, limit); },
      take, [&](const store::PaymentLine& last) { after = store::PaymentPageKey{last.occurred_at, last.id}; });
}

void export_settlements(store::Connection& connection, const std::string& district, const std::string& business_date,
                        std::optional<std::string> after, const Take<store::SettlementLine>& take) {
  export_pages<store::SettlementLine>(
      connection,
      [&](store::Tx& tx, int limit) { return store::settlement_list(tx, district, business_date, after, limit); }, take,
      [&](const store::SettlementLine& last) { after = last.merchant; });
}

void export_grants(store::Connection& connection, const std::string& program, const std::optional<std::string>& district,
                   std::optional<std::pair<std::string, std::int64_t>> after, const Take<store::GrantLine>& take) {
  export_pages<store::GrantLine>(
      connection, [&](store::Tx& tx, int limit) { return store::list_grants(tx, program, district, after, limit); },
      take, [&](const store::GrantLine& last) { after = std::make_pair(last.district, last.id); });
}

void export_flags(store::Connection& connection, store::FlagQuery query, const Take<store::Flag>& take) {
  export_pages<store::Flag>(
      connection,
      [&](store::Tx& tx, int limit) {
        query.limit = limit;
        return store::list_flags(tx, query);
      },
      take, [&](const store::Flag& last) { query.after = last.id; });
}

std::optional<store::Program> find_program(store::Connection& connection, const std::string& id) {
  return reading(connection, [&](store::Tx& tx) { return store::find_program(tx, id); });
}

std::optional<store::Flag> find_flag(store::Connection& connection, const std::string& district, std::int64_t id) {
  return reading(connection, [&](store::Tx& tx) { return store::find_flag(tx, district, id); });
}

std::vector<store::BatchDay> batch_days(store::Connection& connection, const std::optional<std::string>& district,
                                        const std::string& from, const std::string& to, const std::string& last_closed) {
  return reading(connection, [&](store::Tx& tx) { return store::batch_days(tx, district, from, to, last_closed); });
}

std::vector<std::string> pending_dates(store::Connection& connection, const std::string& district,
                                       const std::string& through) {
  return reading(connection, [&](store::Tx& tx) { return store::pending_dates(tx, district, through); });
}

std::optional<std::string> batch_report(store::Connection& connection, const std::string& district,
                                        const std::string& business_date) {
  return reading(connection, [&](store::Tx& tx) { return store::batch_report(tx, district, business_date); });
}

std::optional<store::TrialBalance> trial_balance(store::Connection& connection, const std::string& district) {
  store::Tx tx(connection);
  if (!store::find_district(tx, district)) return std::nullopt;
  return store::trial_balance(tx, district);
}

std::optional<store::DistrictSummary> district_summary(store::Connection& connection, const std::string& district,
                                                       const std::string& from, const std::string& to) {
  store::Tx tx(connection);
  if (!store::find_district(tx, district)) return std::nullopt;
  return store::district_summary(tx, district, from, to);
}

}  // namespace evoucher::ops
