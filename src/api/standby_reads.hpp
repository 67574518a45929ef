// Private to the api layer: reads that may run on a standby, and how they go to the primary when
// the standby is too far behind.
#pragma once

#include <memory>
#include <string>

#include "evoucher/api/service.hpp"
#include "evoucher/store/standby.hpp"

namespace evoucher::api {

struct ReadGate {
  store::WorkerPool& primary;  // the service's own workers, on the primary
  bool standby_possible;       // the read URL is not the primary's: a standby may answer
  double max_stale_s;
};

// How a read that may not stay on its standby goes to the primary. A short one hops to the
// primary's workers. An export, which holds its worker while the client reads, opens a connection
// of its own to the primary, so that export_workers still bounds the exports and no download
// holds a request worker.
enum class Fallback { hop, own_connection };

// The answer, with where it was read and how stale it may be. A header already set stays: an
// export's own read (nearer the rows) wins over the route's.
Reply with_read_headers(Reply reply, const store::ReadPosition& at);

// Runs `work` on one of `pool`'s workers, its answer headed as read at `at`.
void read_on(store::WorkerPool& pool, const store::ReadPosition& at, Service::ReadWork work, Reply reply,
             JobAnswers answers);


// Runs `work` on one of `pool`'s workers, after `primary_lsn` was read on the primary: there if the
// connection is on the primary or on a standby at most gate.max_stale_s behind that LSN, else on
// the primary. A read the standby cancels (a recovery conflict) answers 503.
void read_after(const std::shared_ptr<const ReadGate>& gate, store::WorkerPool& pool, std::string primary_lsn,
                Service::ReadWork work, Reply reply, JobAnswers answers, Fallback fallback);

}  // namespace evoucher::api
