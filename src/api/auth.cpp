// Roles, bearer tokens and processor signatures.
#include "evoucher/api/auth.hpp"

#include <charconv>

#include "evoucher/crypto.hpp"

namespace evoucher::api {

std::optional<Role> parse_role(const std::string& text) {
  if (text == "city_admin") return Role::city_admin;
  if (text == "district_admin") return Role::district_admin;
  if (text == "auditor") return Role::auditor;
  return std::nullopt;
}

const char* to_string(Role role) {
  switch (role) {
    case Role::city_admin: return "city_admin";
    case Role::district_admin: return "district_admin";
    case Role::auditor: return "auditor";
  }
  return "auditor";
}

void TokenDirectory::replace(std::map<std::string, Token> by_hash) {
  std::lock_guard lock(mutex_);
  by_hash_ = std::move(by_hash);
}

std::optional<TokenDirectory::Token> TokenDirectory::find(const std::string& hash) const {
  std::lock_guard lock(mutex_);
  const auto found = by_hash_.find(hash);
  if (found == by_hash_.end()) return std::nullopt;
  return found->second;
}

void TokenDirectory::add(const std::string& hash, Token token) {
  std::lock_guard lock(mutex_);
  by_hash_[hash] = std::move(token);
}

bool TokenDirectory::begin_lookup() {
  std::lock_guard lock(mutex_);
  if (looking_up_) return false;
  looking_up_ = true;
  return true;
}

void TokenDirectory::end_lookup() {
  std::lock_guard lock(mutex_);
  looking_up_ = false;
}

bool may_read(const Principal& p, const std::string& district) {
  return p.role != Role::district_admin || p.district == district;
}

bool may_write(const Principal& p, const std::string& district) {
  return p.role == Role::city_admin || (p.role == Role::district_admin && p.district == district);
}

std::optional<std::string> bearer_token(const std::string* authorization) {
  if (!authorization) return std::nullopt;
  constexpr std::string_view kPrefix = "Bearer ";
  if (authorization->size() <= kPrefix.size() || authorization->compare(0, kPrefix.size(), kPrefix) != 0)
    return std::nullopt;
  return authorization->substr(kPrefix.size());
}

const char* describe(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::ok: return "the signature is valid";
    case SignatureCheck::missing: return "the X-Evoucher-Signature header is missing";
    case SignatureCheck::malformed: return "the X-Evoucher-Signature header must be t=<unix seconds>,v1=<hex>";
    case SignatureCheck::expired: return "the signature's timestamp is more than 300 s from now";
    case SignatureCheck::mismatch: return "the signature does not match the body";
  }
  return "the signature is invalid";
}

SignatureCheck check_signature(const std::string* header, const std::string& body, const std::string& secret,
                               std::int64_t now_unix, int window_s) {
  if (!header) return SignatureCheck::missing;
  std::optional<std::string> t_text;
  std::optional<std::string> v1;
  std::size_t start = 0;
  while (start <= header->size()) {
    auto end = header->find(',', start);
    if (end == std::string::npos) end = header->size();
    const auto part = header->substr(start, end - start);
    const auto eq = part.find('=');
    if (eq == std::string::npos) return SignatureCheck::malformed;
    const auto key = part.substr(0, eq);
    if (key == "t") t_text = part.substr(eq + 1);
    else if (key == "v1") v1 = part.substr(eq + 1);
    start = end + 1;
  }
  if (!t_text || !v1 || t_text->empty() || t_text->size() > 12) return SignatureCheck::malformed;
  std::int64_t t = 0;
  auto [ptr, ec] = std::from_chars(t_text->data(), t_text->data() + t_text->size(), t);
  if (ec != std::errc() || ptr != t_text->data() + t_text->size()) return SignatureCheck::malformed;
  if (secret.empty()) return SignatureCheck::mismatch;  // no secret configured: nothing verifies
  const auto expected = hmac_sha256_hex(secret, *t_text + "." + body);
  if (!constant_time_equal(expected, *v1)) return SignatureCheck::mismatch;
  if (now_unix - t > window_s || t - now_unix > window_s) return SignatureCheck::expired;
  return SignatureCheck::ok;
}

}  // namespace evoucher::api
