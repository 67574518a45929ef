// Who is calling: admin bearer tokens with their roles, and the processor's HMAC signature.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace evoucher::api {

enum class Role { city_admin, district_admin, auditor };
std::optional<Role> parse_role(const std::string& text);
const char* to_string(Role role);

struct Principal {
  Role role = Role::auditor;
  std::optional<std::string> district;  // for district_admin
};

// city_admin and auditor read everything; a district admin reads its own district.
bool may_read(const Principal& p, const std::string& district);
// city_admin writes everything; a district admin writes its own district; an auditor nothing.
bool may_write(const Principal& p, const std::string& district);

// The bearer token of an Authorization header, or nullopt.
std::optional<std::string> bearer_token(const std::string* authorization);

enum class SignatureCheck { ok, missing, malformed, expired, mismatch };
const char* describe(SignatureCheck check);

// X-Evoucher-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.
// Refused when the HMAC is wrong (compared in constant time) or |now - t| > window_s.
SignatureCheck check_signature(const std::string* header, const std::string& body, const std::string& secret,
                               std::int64_t now_unix, int window_s);

}  // namespace evoucher::api
