// Money in whole Korean won, and rates in basis points, with checked arithmetic.
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <stdexcept>

namespace evoucher {

// Thrown when won arithmetic would leave the int64 range: a bug, never bad input
// (inputs are bounded to 10^13 won before they reach the engine).
class MoneyOverflow : public std::overflow_error {
 public:
  using std::overflow_error::overflow_error;
};

class Won {
 public:
  constexpr Won() = default;
  // Only integers convert to won: a double never does.
  template <std::integral T>
  constexpr explicit Won(T value) : value_(static_cast<std::int64_t>(value)) {}

  constexpr std::int64_t value() const { return value_; }

  Won operator+(Won other) const;
  Won operator-(Won other) const;
  Won operator-() const;
  Won& operator+=(Won other) { return *this = *this + other; }
  Won& operator-=(Won other) { return *this = *this - other; }

  constexpr auto operator<=>(const Won&) const = default;

 private:
  std::int64_t value_ = 0;
};

constexpr Won operator""_won(unsigned long long v) { return Won(static_cast<std::int64_t>(v)); }

inline constexpr std::int64_t kMaxAmount = 10'000'000'000'000;  // PRODUCT.md: 1..10^13 won

// The one rounding rule of PRODUCT.md: floor(amount * numerator / denominator).
// Amounts here are never negative; the intermediate product uses 128 bits.
Won floor_fraction(Won amount, std::int64_t numerator, std::int64_t denominator);

// floor(amount * rate_bp / 10000).
inline Won apply_bp(Won amount, std::int64_t rate_bp) { return floor_fraction(amount, rate_bp, 10'000); }

}  // namespace evoucher
