// The demo data: Incheon in March 2020, with Bupyeong's 부평e음 launch as the reference case.
#pragma once

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// Idempotent: a second call finds everything in place and writes nothing.
// Returns true when it wrote the demo, false when it was already there.
bool seed_demo(Connection& connection);

// Bupyeong's "2020 재난지원금" (policy money): 100,000 won to each Bupyeong member of the demo,
// granted 2020-05-11, valid through 2020-08-31, at every merchant, larger ones too. After
// seed_demo; idempotent like it. The tests that follow the engine issue's worked example in
// March seed without it.
bool seed_demo_relief(Connection& connection);

}  // namespace evoucher::store
