// The X-Evoucher-Signature parser. The input's first line is the header, the rest the body. A
// header accepted for one body must be refused for any other body.
#include <cstdint>
#include <string>

#include "evoucher/api/auth.hpp"
#include "evoucher/crypto.hpp"

using namespace evoucher::api;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string header = input.substr(0, newline);
  const std::string body = newline == std::string::npos ? "" : input.substr(newline + 1);
  const std::string secret = "fuzz-secret";
  constexpr std::int64_t now = 1'700'000'000;
  const auto check = check_signature(&header, body, secret, now, 300);
  if (describe(check) == nullptr) __builtin_trap();
  if (check == SignatureCheck::ok && check_signature(&header, body + "x", secret, now, 300) == SignatureCheck::ok)
    __builtin_trap();
  // A header signed properly for this body passes, whatever the body holds.
  const std::string t = std::to_string(now);
  const std::string good = "t=" + t + ",v1=" + evoucher::hmac_sha256_hex(secret, t + "." + body);
  if (check_signature(&good, body, secret, now, 300) != SignatureCheck::ok) __builtin_trap();
  (void)bearer_token(&header);
  return 0;
}
