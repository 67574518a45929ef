// The ledger's reports as reads: each in one snapshot, and each export a page at a time inside
// one read-only snapshot, so that a file of a million rows agrees with itself.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/store/audit.hpp"
#include "evoucher/store/cashback_batches.hpp"
#include "evoucher/store/district_summary.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/store/programs.hpp"
#include "evoucher/store/reports.hpp"

namespace evoucher::ops {

// Rows an export reads per page.
inline constexpr int kExportPage = 1000;

// A list's page: at most limit + 1 rows (the extra one tells that more follow).
std::vector<store::PaymentLine> payments(store::Connection& connection, const std::string& district,
                                         const std::string& business_date,
                                         const std::optional<store::PaymentPageKey>& after, int limit);
std::vector<store::SettlementLine> settlements(store::Connection& connection, const std::string& district,
                                               const std::string& business_date, const std::optional<std::string>& after,
                                               int limit);
std::vector<store::GrantLine> grants(store::Connection& connection, const std::string& program,
                                     const std::optional<std::string>& district,
                                     const std::optional<std::pair<std::string, std::int64_t>>& after, int limit);
std::vector<store::Flag> flags(store::Connection& connection, const store::FlagQuery& query);
std::vector<store::AuditRow> audit_entries(store::Connection& connection, const store::AuditQuery& query);

// Exports: every row after `after`, in the list's order; `take` answers false to stop (the
// client has gone).
template <typename Row>
using Take = std::function<bool(const Row&)>;
void export_payments(store::Connection& connection, const std::string& district, const std::string& business_date,
                     std::optional<store::PaymentPageKey> after, const Take<store::PaymentLine>& take);
void export_settlements(store::Connection& connection, const std::string& district, const std::string& business_date,
                        std::optional<std::string> after, const Take<store::SettlementLine>& take);
void export_grants(store::Connection& connection, const std::string& program, const std::optional<std::string>& district,
                   std::optional<std::pair<std::string, std::int64_t>> after, const Take<store::GrantLine>& take);
void export_flags(store::Connection& connection, store::FlagQuery query, const Take<store::Flag>& take);

std::optional<store::Program> find_program(store::Connection& connection, const std::string& id);
std::optional<store::Flag> find_flag(store::Connection& connection, const std::string& district, std::int64_t id);

std::vector<store::BatchDay> batch_days(store::Connection& connection, const std::optional<std::string>& district,
                                        const std::string& from, const std::string& to, const std::string& last_closed);
// The business dates up to `through` on which the district still has pending cashback, in order.
std::vector<std::string> pending_dates(store::Connection& connection, const std::string& district,
                                       const std::string& through);
std::optional<std::string> batch_report(store::Connection& connection, const std::string& district,
                                        const std::string& business_date);
// None when there is no such district.
std::optional<store::TrialBalance> trial_balance(store::Connection& connection, const std::string& district);
std::optional<store::DistrictSummary> district_summary(store::Connection& connection, const std::string& district,
                                                       const std::string& from, const std::string& to);

}  // namespace evoucher::ops
