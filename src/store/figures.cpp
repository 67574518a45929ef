// SQL for the business figures of /metrics.
#include "evoucher/store/figures.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

// A batch report holds the date's totals over all its runs; a further run keeps the last report
// until it completes, so every date with a report counts.
const Statement kCashback{
    "figures_cashback",
    "SELECT b.district, c.key AS component, sum((c.value ->> 'posted')::bigint)::bigint AS posted, "
    "       sum((c.value ->> 'unfunded')::bigint)::bigint AS unfunded "
    "  FROM batch_runs b, jsonb_each(b.report::jsonb -> 'components') c "
    " WHERE b.report IS NOT NULL GROUP BY b.district, c.key ORDER BY b.district, c.key"};
// Pools of the last year and those in force: older ones would only add series.
const Statement kPools{
    "figures_pools",
    "SELECT source, period_start::text AS period_start, budget, budget - drawn AS remaining, "
    "       $1::date BETWEEN period_start AND period_end AS in_force "
    "  FROM pools WHERE period_end >= $1::date - 366 ORDER BY source, period_start"};
const Statement kBatches{
    "figures_batches",
    "SELECT DISTINCT ON (district) district, business_date::text AS business_date, "
    "       to_char(completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS completed_at, "
    "       extract(epoch FROM completed_at - started_at)::float8 AS seconds "
    "  FROM batch_runs WHERE completed_at IS NOT NULL ORDER BY district, completed_at DESC"};

// On a single cluster every count is 0. Needs pg_monitor (migration 0015) for the lag columns.
// backed_up_at: the last backup scripts/backup.sh recorded (migration 0016).
const Statement kReplication{
    "figures_replication",
    "SELECT (SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming')::int AS standbys, "
    "       (SELECT count(*) FROM pg_stat_replication WHERE sync_state IN ('sync', 'quorum'))::int AS sync_standbys, "
    "       (SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'physical')::int AS slots, "
    "       current_setting('synchronous_standby_names') = '' AS no_sync_names, "
    "       coalesce((SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication), 0)::float8 AS lag_seconds, "
    "       coalesce((SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) FROM pg_stat_replication), "
    "                0)::float8 AS lag_bytes, "
    "       coalesce(extract(epoch FROM a.last_archived_time), 0)::float8 AS archived_at, "
    "       coalesce(extract(epoch FROM a.last_failed_time), 0)::float8 AS archive_failed_at, "
    "       a.failed_count AS archive_failures, "
    "       coalesce((SELECT extract(epoch FROM max(stopped_at)) FROM backups), 0)::float8 AS backed_up_at "
    "  FROM pg_stat_archiver a"};

}  // namespace

BusinessFigures business_figures(Tx& tx, const std::string& today) {
  return with_unavailable_mapped([&] {
    BusinessFigures f;
    for (const auto& r : run(tx, kCashback))
      f.cashback.push_back({r["district"].as<std::string>(), r["component"].as<std::string>(), won(r["posted"]),
                            won(r["unfunded"])});
    for (const auto& r : run(tx, kPools, today))
      f.pools.push_back({r["source"].as<std::string>(), r["period_start"].as<std::string>(), won(r["budget"]),
                         won(r["remaining"]), r["in_force"].as<bool>()});
    for (const auto& r : run(tx, kBatches))
      f.batches.push_back({r["district"].as<std::string>(), r["business_date"].as<std::string>(),
                           timestamp(r["completed_at"]), r["seconds"].as<double>()});
    return f;
  });
}

BusinessFigures::Replication replication_figures(Tx& tx) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kReplication)[0];
    BusinessFigures::Replication rep;
    rep.standbys = r["standbys"].as<int>();
    rep.sync_standbys = r["sync_standbys"].as<int>();
    rep.slots = r["slots"].as<int>();
    rep.commits_alone = rep.slots > 0 && r["no_sync_names"].as<bool>();
    rep.lag_seconds = r["lag_seconds"].as<double>();
    rep.lag_bytes = r["lag_bytes"].as<double>();
    rep.archived_at = r["archived_at"].as<double>();
    rep.archive_failed_at = r["archive_failed_at"].as<double>();
    rep.archive_failures = r["archive_failures"].as<std::int64_t>();
    rep.backed_up_at = r["backed_up_at"].as<double>();
    return rep;
  });
}

}  // namespace evoucher::store
