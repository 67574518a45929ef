// Who is calling: admin bearer tokens with their roles, and the processor's HMAC signature.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace evoucher::api {

enum class Role { city_admin, district_admin, auditor };
std::optional<Role> parse_role(const std::string& text);
const char* to_string(Role role);

struct Principal {
  Role role = Role::auditor;
  std::optional<std::string> district;  // for district_admin
  std::string name;                      // the token's name, for the audit trail
};

// city_admin and auditor read everything; a district admin reads its own district.
bool may_read(const Principal& p, const std::string& district);
// city_admin writes everything; a district admin writes its own district; an auditor nothing.
bool may_write(const Principal& p, const std::string& district);

// The bearer token of an Authorization header, or nullopt.
std::optional<std::string> bearer_token(const std::string* authorization);

// Every admin token the database holds, by hash, so that a request is authenticated on the I/O
// thread before it queues for a database worker: a flood of bad tokens costs (almost) no
// database time. The service refreshes it every few seconds (`evoucher token create` writes
// beside it). A token it does not know yet is looked up in the database, one such lookup at a
// time; while one is under way, another unknown token is refused at once.
class TokenDirectory {
 public:
  struct Token {
    Role role = Role::auditor;
    std::optional<std::string> district;
    std::string name;
  };
  void replace(std::map<std::string, Token> by_hash);
  void add(const std::string& hash, Token token);
  std::optional<Token> find(const std::string& hash) const;
  // Claims the one lookup of an unknown token; false while another is under way.
  bool begin_lookup();
  void end_lookup();

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Token> by_hash_;
  bool looking_up_ = false;
};

enum class SignatureCheck { ok, missing, malformed, expired, mismatch };
const char* describe(SignatureCheck check);

// X-Evoucher-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.
// Refused when the HMAC is wrong (compared in constant time) or |now - t| > window_s.
SignatureCheck check_signature(const std::string* header, const std::string& body, const std::string& secret,
                               std::int64_t now_unix, int window_s);

}  // namespace evoucher::api
