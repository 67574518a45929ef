// Decoding request bodies and query strings into typed values. The first problem found is kept
// and named (field and reason); later reads return defaults, so a handler reads every field
// and then asks for the problem once.
#pragma once

#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "evoucher/engine/money.hpp"
#include "evoucher/time.hpp"

namespace evoucher::api {

bool is_client_id(const std::string& s);      // [A-Za-z0-9_.:-]{1,64}
// Well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates or code points past
// U+10FFFF.
bool is_utf8(std::string_view s);
bool is_district_code(const std::string& s);  // [a-z][a-z0-9_]{1,31}

class Fields {
 public:
  // A JSON object to read; `where` prefixes field names in messages ("rules.").
  Fields(const nlohmann::json& object, std::string where = "");
  // Parses a request body; a body that is not a JSON object, or whose object repeats a key, is
  // the first problem (the processor signs bytes: two parsers must never read one body differently).
  static Fields parse(const std::string& body, nlohmann::json& storage);

  std::string client_id(const char* name);
  std::string district_code(const char* name);
  std::string text(const char* name, std::size_t max_length = 200);
  std::string one_of(const char* name, std::initializer_list<const char*> allowed);
  Won amount(const char* name);  // an integer from 1 to 10^13
  bool boolean(const char* name);
  std::int64_t integer(const char* name, std::int64_t min, std::int64_t max);
  Timestamp time(const char* name);
  std::optional<Timestamp> optional_time(const char* name);
  std::string date(const char* name);
  bool has(const char* name) const;
  // The raw value (marked as read), or nullptr when absent.
  const nlohmann::json* raw(const char* name);

  // A problem of the caller's own, e.g. a failed cross-field rule.
  void fail(const std::string& field, const std::string& reason);
  // The first problem, counting fields that were never read as unknown.
  std::optional<std::string> problem();

 private:
  const nlohmann::json* take(const char* name, bool required);
  std::string label(const char* name) const { return "field '" + where_ + name + "'"; }

  const nlohmann::json* object_;
  std::string where_;
  std::set<std::string> read_;
  std::optional<std::string> problem_;
};

// key=value pairs of a query string, percent-decoded; nullopt when malformed.
std::optional<std::map<std::string, std::string>> parse_query(const std::string& query);

}  // namespace evoucher::api
