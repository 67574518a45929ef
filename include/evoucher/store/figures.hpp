// The business figures /metrics shows from the database: cashback posted and unfunded by
// component, the pools in force, and the nightly batch's last success. Each comes from a small
// table (batch reports, pools), never from a scan of payments.
#pragma once

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
};

// today: a Seoul business date, YYYY-MM-DD.
BusinessFigures business_figures(Tx& tx, const std::string& today);

}  // namespace evoucher::store
