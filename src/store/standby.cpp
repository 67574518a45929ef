// SQL for reads from the standby.
#include "evoucher/store/standby.hpp"

#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kFlushedLsn{"flushed_lsn", "SELECT pg_current_wal_flush_lsn()::text AS lsn"};

// A clock behind the primary's would make the age negative: never below 0. A standby that has
// replayed no transaction yet is as stale as can be.
const Statement kReadPosition{
    "read_position",
    "SELECT pg_is_in_recovery() AS standby, "
    "       CASE WHEN NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn THEN 0 "
    "            ELSE greatest(0, coalesce(extract(epoch FROM clock_timestamp() - "
    "                                              pg_last_xact_replay_timestamp()), 1e9)) "
    "       END::float8 AS stale_s"};

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

std::string flushed_lsn(Tx& tx) {
  return with_unavailable_mapped([&] { return run(tx, kFlushedLsn)[0]["lsn"].as<std::string>(); });
}

ReadPosition read_position(Tx& tx, const std::string& primary_lsn) {
  return with_unavailable_mapped([&] {
    const auto r = run(tx, kReadPosition, primary_lsn)[0];
    return ReadPosition{r["standby"].as<bool>(), r["stale_s"].as<double>()};
  });
}

// On a standby, 40001 and 40P01 can only be recovery conflicts: nothing there writes.
bool is_recovery_conflict(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const pqxx::sql_error& e) {
    return e.sqlstate() == "40001" || e.sqlstate() == "40P01";
  } catch (...) {
    return false;
  }
}

}  // namespace evoucher::store
