// The RFC 3339 and date parsers. Whatever parses inside the service era reads back: formatting
// it and parsing again gives the same instant (or day).
#include <cstdint>
#include <string>

#include "evoucher/time.hpp"

using namespace evoucher;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (const auto t = parse_rfc3339(text); t && in_service_era(*t)) {
    const auto again = parse_rfc3339(format_rfc3339(*t));
    if (!again || *again != *t) __builtin_trap();
    (void)seoul_business_date(*t);
  }
  if (const auto d = parse_date(text)) {
    if (!d->ok()) __builtin_trap();
    const auto again = parse_date(format_date(*d));
    if (!again || *again != *d) __builtin_trap();
  }
  return 0;
}
