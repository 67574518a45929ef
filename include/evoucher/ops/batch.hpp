// The nightly batch as an operation: the closed-date rule, the run, and its stored report.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "evoucher/ops/cashback_batch.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/time.hpp"

namespace evoucher::ops {

std::string render_batch_report(const BatchReport& report);

// A business date is closed from midnight in Seoul at its end; before then, the detail of the
// date_not_closed refusal that batches and settlements answer.
std::optional<std::string> date_still_open(const std::string& business_date, Timestamp now);

enum class BatchRefusal { none, date_not_closed };
struct BatchOutcome {
  BatchRefusal refusal = BatchRefusal::none;
  std::string detail;
  BatchRun run;
};

// Refuses a business date that has not yet ended in Seoul; otherwise runs (or replays) it, with
// the funding splits of `policies`.
BatchOutcome run_batch(store::Connection& connection, PolicyCache& policies, const std::string& district,
                       const std::string& business_date, Timestamp now, int chunk_size,
                       const std::function<void(int)>& after_chunk = [](int) {});

}  // namespace evoucher::ops
