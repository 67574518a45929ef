// The business figures /metrics shows from the database: cashback posted and unfunded by
// component, the pools in force, and the nightly batch's last success. Each comes from a small
// table (batch reports, pools), never from a scan of payments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

struct BusinessFigures {
  // Over every completed batch date: what each component (city, district, merchant) posted, and
  // what no pool could fund.
  struct Cashback {
    std::string district, component;
    Won posted, unfunded;
  };
  std::vector<Cashback> cashback;
  // The pools whose period ended within a year of `today`, or holds it (in force).
  struct Pool {
    std::string source, period_start;
    Won budget, remaining;
    bool in_force = false;
  };
  std::vector<Pool> pools;
  // Per district, the cashback batch run that completed last.
  struct Batch {
    std::string district, business_date;
    Timestamp completed_at;
    double seconds = 0;  // how long that run took
  };
  std::vector<Batch> batches;
  // The primary's view of its standbys (pg_stat_replication) and of WAL archiving (pg_stat_archiver).
  struct Replication {
    int standbys = 0;       // streaming now
    int sync_standbys = 0;  // of those, the ones a commit waits for
    int slots = 0;          // physical replication slots: a formation's standbys, attached or not
    // A formation's primary that commits without waiting for any standby: pg_auto_failover's
    // wait_primary, after it dropped a lost standby (synchronous_standby_names emptied).
    bool commits_alone = false;
    double lag_seconds = 0, lag_bytes = 0;  // the furthest standby's replay lag
    double archived_at = 0, archive_failed_at = 0;  // epoch seconds; 0: never
    std::int64_t archive_failures = 0;
    double backed_up_at = 0;  // when the last recorded backup finished, epoch seconds; 0: none
  };
};

// today: a Seoul business date, YYYY-MM-DD. All but `replication`: these may be read on a standby.
BusinessFigures business_figures(Tx& tx, const std::string& today);
// Read on the primary: a standby has no standbys of its own.
BusinessFigures::Replication replication_figures(Tx& tx);

}  // namespace evoucher::store
