// Hashes, MACs and random tokens, from OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace evoucher {

std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
// Compares without an early exit, so the time taken says nothing about where two secrets differ.
bool constant_time_equal(std::string_view a, std::string_view b);
// `bytes` random bytes from the OS CSPRNG, as lowercase hex.
std::string random_hex(std::size_t bytes);

}  // namespace evoucher
