// GoogleTest printers, so that a failed comparison of won shows numbers.
#pragma once

#include <ostream>

#include "evoucher/engine/money.hpp"

namespace evoucher {
inline void PrintTo(Won w, std::ostream* os) { *os << w.value() << " won"; }
}  // namespace evoucher
