// Reads from the standby: the primary's flushed WAL, and how far a read connection's node is
// behind it.
#pragma once

#include <exception>
#include <string>

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// The URL for reads: the service's URL with target_session_attrs=prefer-standby in place of
// read-write (or primary), so that libpq connects to a standby when one answers and to the
// primary otherwise. A URL without target_session_attrs (a single node) is returned as it is.
std::string prefer_standby_url(const std::string& url);

// On the primary: the WAL flushed so far. Every commit acknowledged before this call ends at or
// before it (a commit is flushed locally before it is acknowledged, whatever the standby did).
std::string flushed_lsn(Tx& tx);

// Where a read connection is, against the primary's flushed LSN taken just before. stale_s: 0
// once the node has replayed up to that LSN (the primary, or a standby that has every commit
// acknowledged before the read); else the time since the last transaction it replayed, which
// bounds how old any commit it lacks can be.
struct ReadPosition {
  bool standby = false;
  double stale_s = 0;
};
ReadPosition read_position(Tx& tx, const std::string& primary_lsn);

// A read the standby cancelled because replay needed what it held (a recovery conflict).
bool is_recovery_conflict(std::exception_ptr error);

}  // namespace evoucher::store
