// The business side of /metrics: what the money path did since the service started (payments,
// declines, cancellations, loads), and figures read from the database every few seconds
// (cashback posted and unfunded, pools, the nightly batch), in Prometheus text format.
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "evoucher/ops/group_writer.hpp"
#include "evoucher/store/figures.hpp"
#include "evoucher/store/standby.hpp"
#include "evoucher/time.hpp"

namespace evoucher::api {

// The figures last read, shared by the refresh job (a database worker) and /metrics.
// The business figures may come from a standby (`at` says where, and how stale they may be);
// replication's always come from the primary.
class FiguresCache {
 public:
  void store(store::BusinessFigures figures, Timestamp at, store::ReadPosition from);
  void store_replication(store::BusinessFigures::Replication replication);
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::optional<store::BusinessFigures> figures_;
  Timestamp at_;
  store::ReadPosition from_;
  std::optional<store::BusinessFigures::Replication> replication_;
};

std::string render_tally(const ops::BusinessTally& tally);

// A label value with \, " and newlines escaped.
std::string label_value(const std::string& text);

}  // namespace evoucher::api
