// Business metrics in Prometheus text format. Every label set is bounded: districts, decline
// reasons, cashback components, pool sources and batch names are each a handful.
#include "evoucher/api/business_metrics.hpp"

#include <cstdio>

namespace evoucher::api {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  char number[64];
  std::snprintf(number, sizeof number, "%.17g", value);
  out += std::string(name) + (labels.empty() ? "" : "{" + labels + "}") + " " + number + "\n";
}

std::string district_label(const std::string& district) { return "district=\"" + label_value(district) + "\""; }

// Replication's figures, read on the primary, whether or not the business figures were read yet.
void render_replication(std::string& out, const store::BusinessFigures::Replication& r) {
  const auto gauge = [&](const char* name, const char* help, double value) {
    family(out, name, "gauge", help);
    sample(out, name, "", value);
  };
  gauge("evoucher_db_standbys", "Standbys streaming from the primary now.", r.standbys);
  gauge("evoucher_db_sync_standbys", "Of those, the synchronous ones: a commit is acknowledged once one of them has it.",
        r.sync_standbys);
  gauge("evoucher_db_replication_slots",
        "Physical replication slots on the primary: the standbys of a formation, attached or not (0: a single node).",
        r.slots);
  gauge("evoucher_db_commits_alone",
        "1 when a formation's primary commits without waiting for any standby (pg_auto_failover's wait_primary): "
        "an acknowledged payment is then on one machine only.",
        r.commits_alone ? 1.0 : 0.0);
  gauge("evoucher_db_replication_lag_seconds", "How far the furthest standby's replay is behind the primary.",
        r.lag_seconds);
  gauge("evoucher_db_replication_lag_bytes", "WAL the furthest standby has yet to replay.", r.lag_bytes);
  gauge("evoucher_wal_archive_last_success_timestamp_seconds", "When WAL was last archived (0: never).",
        r.archived_at);
  gauge("evoucher_wal_archive_last_failure_timestamp_seconds", "When archiving WAL last failed (0: never).",
        r.archive_failed_at);
  gauge("evoucher_backup_last_success_timestamp_seconds",
        "When the last base backup recorded by evoucher-backup finished (0: none).", r.backed_up_at);
  family(out, "evoucher_wal_archive_failures_total", "counter", "Failed attempts to archive WAL since statistics reset.");
  sample(out, "evoucher_wal_archive_failures_total", "", static_cast<double>(r.archive_failures));
}

}  // namespace

std::string label_value(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string render_tally(const ops::BusinessTally& t) {
  std::string out;
  family(out, "evoucher_payments_approved_total", "counter", "Payments approved since the service started, by issuing district.");
  for (const auto& [district, n] : t.approved) sample(out, "evoucher_payments_approved_total", district_label(district), static_cast<double>(n));
  family(out, "evoucher_payments_approved_won_total", "counter", "Won charged by approved payments since the service started.");
  for (const auto& [district, won] : t.approved_won)
    sample(out, "evoucher_payments_approved_won_total", district_label(district), static_cast<double>(won));
  family(out, "evoucher_payments_declined_total", "counter",
         "Payments declined since the service started, by issuing district (unknown for an unknown card) and reason.");
  for (const auto& [key, n] : t.declined)
    sample(out, "evoucher_payments_declined_total", district_label(key.first) + ",reason=\"" + label_value(key.second) + "\"",
           static_cast<double>(n));
  family(out, "evoucher_cancellations_total", "counter", "Cancellations done since the service started.");
  for (const auto& [district, n] : t.cancellations) sample(out, "evoucher_cancellations_total", district_label(district), static_cast<double>(n));
  family(out, "evoucher_loads_total", "counter", "Loads (충전) done since the service started.");
  for (const auto& [district, n] : t.loads) sample(out, "evoucher_loads_total", district_label(district), static_cast<double>(n));
  family(out, "evoucher_loaded_won_total", "counter", "Won loaded since the service started.");
  for (const auto& [district, won] : t.loaded_won) sample(out, "evoucher_loaded_won_total", district_label(district), static_cast<double>(won));
  return out;
}

void FiguresCache::store(store::BusinessFigures figures, Timestamp at, store::ReadPosition from) {
  std::lock_guard lock(mutex_);
  figures_ = std::move(figures);
  at_ = at;
  from_ = from;
}

void FiguresCache::store_replication(store::BusinessFigures::Replication replication) {
  std::lock_guard lock(mutex_);
  replication_ = replication;
}

std::string FiguresCache::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  family(out, "evoucher_business_figures_timestamp_seconds", "gauge",
         "When the figures below were read from the database (0: not yet).");
  sample(out, "evoucher_business_figures_timestamp_seconds", "",
         figures_ ? static_cast<double>(at_.time_since_epoch().count()) / 1e6 : 0.0);
  if (replication_) render_replication(out, *replication_);
  if (!figures_) return out;
  family(out, "evoucher_business_figures_from_standby", "gauge",
         "1 when the figures below were read on a standby, 0 on the primary.");
  sample(out, "evoucher_business_figures_from_standby", "", from_.standby ? 1.0 : 0.0);
  family(out, "evoucher_business_figures_stale_seconds", "gauge",
         "How far behind the primary the figures below may have been when read (0 on the primary).");
  sample(out, "evoucher_business_figures_stale_seconds", "", from_.stale_s);
  const auto& f = *figures_;
  family(out, "evoucher_cashback_posted_won", "gauge",
         "Cashback posted by the nightly batch over every completed date, by issuing district and component.");
  for (const auto& c : f.cashback)
    sample(out, "evoucher_cashback_posted_won", district_label(c.district) + ",component=\"" + label_value(c.component) + "\"",
           static_cast<double>(c.posted.value()));
  family(out, "evoucher_cashback_unfunded_won", "gauge",
         "Cashback no pool could fund, over every completed date, by issuing district and component.");
  for (const auto& c : f.cashback)
    sample(out, "evoucher_cashback_unfunded_won", district_label(c.district) + ",component=\"" + label_value(c.component) + "\"",
           static_cast<double>(c.unfunded.value()));
  const auto pool = [](const store::BusinessFigures::Pool& p) {
    return "source=\"" + label_value(p.source) + "\",period_start=\"" + p.period_start + "\"";
  };
  family(out, "evoucher_pool_budget_won", "gauge", "The budget of each pool of the last year, by source and period.");
  for (const auto& p : f.pools) sample(out, "evoucher_pool_budget_won", pool(p), static_cast<double>(p.budget.value()));
  family(out, "evoucher_pool_remaining_won", "gauge", "What each pool of the last year has left, by source and period.");
  for (const auto& p : f.pools) sample(out, "evoucher_pool_remaining_won", pool(p), static_cast<double>(p.remaining.value()));
  family(out, "evoucher_pool_in_force", "gauge", "1 for a pool whose period holds today's Seoul date, else 0.");
  for (const auto& p : f.pools) sample(out, "evoucher_pool_in_force", pool(p), p.in_force ? 1.0 : 0.0);
  family(out, "evoucher_batch_last_success_timestamp_seconds", "gauge",
         "When the latest run of a nightly batch completed, by district.");
  for (const auto& b : f.batches)
    sample(out, "evoucher_batch_last_success_timestamp_seconds", district_label(b.district) + ",batch=\"cashback\"",
           static_cast<double>(b.completed_at.time_since_epoch().count()) / 1e6);
  family(out, "evoucher_batch_duration_seconds", "gauge", "How long the latest completed run of a nightly batch took, by district.");
  for (const auto& b : f.batches)
    sample(out, "evoucher_batch_duration_seconds", district_label(b.district) + ",batch=\"cashback\"", b.seconds);
  return out;
}

}  // namespace evoucher::api
