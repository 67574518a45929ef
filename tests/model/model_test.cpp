// The randomized model test. A reference model of PRODUCT.md's rules, written here and sharing
// nothing with src/engine, runs beside the real service and PostgreSQL. A seeded random sequence
// of operations (loads, payments, cancellations, refunds, card and merchant suspensions, nightly
// batches with pools running dry, replays and reused keys) crosses a Seoul month boundary and
// two policy changes. Every answer is compared with the model's, and at the end every member's
// cash, points, pending cashback and monthly figures, and every pool's draw.
//
// On a mismatch it prints the seed and the shortest prefix of the sequence that reproduces it.
//   EVOUCHER_MODEL_SEED=N EVOUCHER_MODEL_OPERATIONS=100000 build/tests/model_tests   (a longer run)
// The seed defaults to the clock's; EVOUCHER_MODEL_NO_SHRINK=1 skips the search for the prefix.
#include <gtest/gtest.h>

#include <ctime>
#include <iostream>

#include "model/sequence.hpp"

namespace evoucher::testing {
namespace {

using model::Sequence;

TEST(Model, TheServiceAgreesWithTheModelOfTheRules) {
  const unsigned seed = static_cast<unsigned>(env_int("EVOUCHER_MODEL_SEED", static_cast<int>(std::time(nullptr) % 100000)));
  const int operations = env_int("EVOUCHER_MODEL_OPERATIONS", 10'000);
  Sequence run(seed, operations);
  const auto failure = run.go();
  std::cout << "model test: seed " << seed << ", " << operations << " operations:";
  for (const char* what : {"loads", "loads refused", "payments approved", "declined insufficient_funds",
                           "declined card_inactive", "declined merchant_ineligible", "cancellations",
                           "cancellations refused", "refunds", "refunds refused", "batches", "card changes",
                           "merchant changes", "replays", "reused keys"})
    std::cout << " " << what << " " << run.counts(what) << ";";
  std::cout << "\n";
  if (!failure) return;
  if (env_int("EVOUCHER_MODEL_NO_SHRINK", 0)) {  // scripts/mutants.sh only needs to know that it fails
    ADD_FAILURE() << "seed " << seed << " (EVOUCHER_MODEL_SEED): " << *failure;
    return;
  }
  // The shortest prefix of the same sequence that fails too.
  int lo = 1, hi = operations;
  while (lo < hi) {
    const int mid = lo + (hi - lo) / 2;
    if (Sequence(seed, mid).go()) hi = mid;
    else lo = mid + 1;
  }
  const auto shortest = Sequence(seed, lo).go();
  ADD_FAILURE() << "seed " << seed << " (EVOUCHER_MODEL_SEED): " << *failure << "\nshortest failing prefix: "
                << lo << " operations (EVOUCHER_MODEL_OPERATIONS=" << lo << "): " << shortest.value_or("(passed?)");
}

}  // namespace
}  // namespace evoucher::testing
