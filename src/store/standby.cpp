// SQL for reads from the standby.
#include "evoucher/store/standby.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kReadPosition{
    "read_position",
    "SELECT pg_is_in_recovery() AS standby, "
    "       coalesce((SELECT status = 'streaming' FROM pg_stat_wal_receiver), false) AS streaming, "
    "       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 1e9) "
    "       END::float8 AS stale_s"};

const Statement kStandbyView{
    "standby_view",
    "SELECT count(*) FILTER (WHERE sync_state IN ('sync', 'quorum') AND state = 'streaming')::int AS sync, "
    "       coalesce(extract(epoch FROM max(replay_lag)), 0)::float8 AS lag_s "
    "  FROM pg_stat_replication"};

std::string replaced(std::string url, const std::string& from, const std::string& to) {
  if (const auto at = url.find(from); at != std::string::npos) url.replace(at, from.size(), to);
  return url;
}

}  // namespace

std::string prefer_standby_url(const std::string& url) {
  for (const char* from : {"target_session_attrs=read-write", "target_session_attrs=primary"})
    if (url.find(from) != std::string::npos) return replaced(url, from, "target_session_attrs=prefer-standby");
  return url;
}

ReadPosition read_position(Tx& tx) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kReadPosition)[0];
    return ReadPosition{r["standby"].as<bool>(), r["streaming"].as<bool>(), r["stale_s"].as<double>()};
  });
}

StandbyView standby_view(Tx& tx) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kStandbyView)[0];
    return StandbyView{r["sync"].as<int>(), r["lag_s"].as<double>()};
  });
}

}  // namespace evoucher::store
