// The demo data: Incheon in March 2020, with Bupyeong's 부평e음 launch as the reference case.
#pragma once

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// Idempotent: a second call finds everything in place and writes nothing.
// Returns true when it wrote the demo, false when it was already there.
bool seed_demo(Connection& connection);

}  // namespace evoucher::store
