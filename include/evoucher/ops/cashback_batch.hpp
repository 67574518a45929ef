// The nightly cashback batch's loop: chunks in payment-time order, each its own transaction, the
// engine drawing the pools and making each chunk's journal, and the store writing what it decided.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "evoucher/store/cashback_batches.hpp"
#include "evoucher/store/connection.hpp"

namespace evoucher::ops {

struct BatchReport {
  std::string district;
  std::string business_date;
  int run = 1;                              // the latest run of the date
  store::BatchComponents components;        // the date's totals over every run
  std::vector<store::BatchComponents> runs;  // what each run posted, run 1 first
  std::vector<std::pair<std::string, Won>> pools;  // source, remaining
};

struct BatchRun {
  bool already_completed = false;  // this call wrote nothing
  std::string report;              // as rendered when the latest run completed
};

// Posts the pending cashback of one district's business date in chunks, each its own
// transaction, in payment-time order; a killed run resumes where its last chunk committed.
// A run never skips a pending payment: after its pass it sweeps the date again for payments that
// committed behind it. A date whose batch completed answers its report and writes nothing, unless
// payments arrived since: then a further run posts them. Each payment's city component is split
// between the national and city pools by its policy version's funding split, from `policies`.
// after_chunk is called after each committed chunk (a fault-injection point for tests).
BatchRun run_cashback_batch(store::Connection& connection, PolicyCache& policies, const std::string& district,
                            const std::string& business_date, int chunk_size,
                            const std::function<std::string(const BatchReport&)>& render,
                            const std::function<void(int chunks_done)>& after_chunk);

}  // namespace evoucher::ops
