// Checked won arithmetic and the single rounding rule.
#include "evoucher/engine/money.hpp"

namespace evoucher {

__extension__ typedef __int128 Wide;  // g++ and clang both have it; -Wpedantic needs telling

Won Won::operator+(Won other) const {
  std::int64_t out = 0;
  if (__builtin_add_overflow(value_, other.value_, &out)) throw MoneyOverflow("won addition overflows");
  return Won(out);
}

Won Won::operator-(Won other) const {
  std::int64_t out = 0;
  if (__builtin_sub_overflow(value_, other.value_, &out)) throw MoneyOverflow("won subtraction overflows");
  return Won(out);
}

Won Won::operator-() const { return Won(0) - *this; }

Won floor_fraction(Won amount, std::int64_t numerator, std::int64_t denominator) {
  if (denominator <= 0) throw std::invalid_argument("floor_fraction: denominator must be positive");
  const Wide product = static_cast<Wide>(amount.value()) * numerator;
  Wide quotient = product / denominator;
  if (product % denominator != 0 && product < 0) --quotient;  // floor, not truncation
  if (quotient > INT64_MAX || quotient < INT64_MIN) throw MoneyOverflow("floor_fraction overflows");
  return Won(static_cast<std::int64_t>(quotient));
}

}  // namespace evoucher
