// Reads from the standby: where a read connection landed, how far behind the primary it may be,
// and the primary's own view of its standbys.
#pragma once

#include <string>

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// The URL for reads: the service's URL with target_session_attrs=prefer-standby in place of
// read-write (or primary), so that libpq connects to a standby when one answers and to the
// primary otherwise. A URL without target_session_attrs (a single node) is returned as it is.
std::string prefer_standby_url(const std::string& url);

// Where a read connection is. On a standby: whether its WAL receiver streams from a primary, and
// how stale its data may be: 0 once it has replayed all it received (a synchronous standby has
// received every acknowledged commit), else the time since the last transaction it replayed.
struct ReadPosition {
  bool standby = false;
  bool streaming = false;
  double stale_s = 0;
};
ReadPosition read_position(Tx& tx);

// The primary's view (pg_stat_replication): its synchronous standbys, and the furthest one's
// replay lag.
struct StandbyView {
  int sync_standbys = 0;
  double lag_s = 0;
};
StandbyView standby_view(Tx& tx);

}  // namespace evoucher::store
