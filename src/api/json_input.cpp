// Field-by-field validation with messages that name the field and the reason.
#include "evoucher/api/json_input.hpp"

#include <cstdint>
#include <vector>


namespace evoucher::api {
namespace {

using json = nlohmann::json;
const json kEmptyObject = json::object();

bool all_of_class(const std::string& s, std::size_t min, std::size_t max, bool (*ok)(char, std::size_t)) {
  if (s.size() < min || s.size() > max) return false;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!ok(s[i], i)) return false;
  return true;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return std::nullopt;
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

bool is_client_id(const std::string& s) {
  return all_of_class(s, 1, 64, [](char c, std::size_t) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

bool is_district_code(const std::string& s) {
  return all_of_class(s, 2, 32, [](char c, std::size_t i) {
    if (i == 0) return c >= 'a' && c <= 'z';
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

Fields::Fields(const json& object, std::string where) : object_(&object), where_(std::move(where)) {
  if (!object.is_object()) {
    object_ = &kEmptyObject;
    problem_ = where_.empty() ? "the body must be a JSON object"
                              : "field '" + where_.substr(0, where_.size() - 1) + "' must be an object";
  }
}

bool is_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int extra = 0;
    std::uint32_t code = 0, least = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1F, least = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0F, least = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07, least = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto n = static_cast<unsigned char>(s[i + k]);
      if ((n & 0xC0) != 0x80) return false;
      code = (code << 6) | (n & 0x3F);
    }
    if (code < least || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

Fields Fields::parse(const std::string& body, json& storage) {
  std::optional<std::string> repeated;
  std::vector<std::set<std::string>> keys;  // of each object being read, innermost last
  const json::parser_callback_t note_keys = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) {
      keys.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      keys.pop_back();
    } else if (event == json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second &&
               !repeated) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  storage = json::parse(body, note_keys, false);
  if (storage.is_discarded()) {
    Fields f(kEmptyObject);
    f.problem_ = "the body is not valid JSON";
    return f;
  }
  if (repeated) {
    Fields f(kEmptyObject);
    f.problem_ = "the body repeats the key '" + *repeated + "' in one object; each key may appear once";
    return f;
  }
  return Fields(storage);
}

const json* Fields::take(const char* name, bool required) {
  read_.insert(name);
  auto it = object_->find(name);
  if (it == object_->end() || it->is_null()) {
    if (required) fail(name, "is required");
    return nullptr;
  }
  return &*it;
}

void Fields::fail(const std::string& field, const std::string& reason) {
  if (!problem_) problem_ = "field '" + where_ + field + "' " + reason;
}

bool Fields::has(const char* name) const {
  auto it = object_->find(name);
  return it != object_->end() && !it->is_null();
}

const json* Fields::raw(const char* name) {
  read_.insert(name);
  auto it = object_->find(name);
  return it == object_->end() ? nullptr : &*it;
}

std::string Fields::text(const char* name, std::size_t max_length) {
  const json* v = take(name, true);
  if (!v) return {};
  if (!v->is_string()) {
    fail(name, "must be a string");
    return {};
  }
  const auto s = v->get<std::string>();
  if (s.empty() || s.size() > max_length) {
    fail(name, "must be from 1 to " + std::to_string(max_length) + " bytes long");
    return {};
  }
  // JSON may carry \u0000; PostgreSQL's text cannot hold it.
  if (s.find('\0') != std::string::npos) {
    fail(name, "must not contain the NUL character (\\u0000)");
    return {};
  }
  return s;
}

std::string Fields::client_id(const char* name) {
  const auto s = text(name, 64);
  if (!s.empty() && !is_client_id(s)) fail(name, "must be 1-64 characters from [A-Za-z0-9_.:-]");
  return s;
}

std::string Fields::district_code(const char* name) {
  const auto s = text(name, 32);
  if (!s.empty() && !is_district_code(s)) fail(name, "must match [a-z][a-z0-9_]{1,31}");
  return s;
}

std::string Fields::one_of(const char* name, std::initializer_list<const char*> allowed) {
  const auto s = text(name, 64);
  if (s.empty()) return s;
  std::string list;
  for (const char* a : allowed) {
    if (s == a) return s;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  fail(name, "must be one of " + list);
  return {};
}

std::int64_t Fields::integer(const char* name, std::int64_t min, std::int64_t max) {
  const json* v = take(name, true);
  if (!v) return 0;
  const std::string range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v->is_number_integer()) {
    fail(name, range);
    return 0;
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail(name, range);
    return 0;
  }
  const auto n = v->get<std::int64_t>();
  if (n < min || n > max) {
    fail(name, range + ", got " + std::to_string(n));
    return 0;
  }
  return n;
}

Won Fields::amount(const char* name) { return Won(integer(name, 1, kMaxAmount)); }

bool Fields::boolean(const char* name) {
  const json* v = take(name, true);
  if (!v) return false;
  if (!v->is_boolean()) {
    fail(name, "must be true or false");
    return false;
  }
  return v->get<bool>();
}

Timestamp Fields::time(const char* name) {
  const auto t = optional_time(name);
  if (!t && !problem_) fail(name, "is required");
  return t.value_or(Timestamp{});
}

std::optional<Timestamp> Fields::optional_time(const char* name) {
  const json* v = take(name, false);
  if (!v) return std::nullopt;
  std::optional<Timestamp> t;
  if (v->is_string()) t = parse_rfc3339(v->get<std::string>());
  if (!t) {
    fail(name, "must be an RFC 3339 time, e.g. 2020-03-02T10:00:00+09:00");
  } else if (!in_service_era(*t)) {
    fail(name, std::string("must lie ") + kServiceEra);
    t.reset();
  }
  return t;
}

std::string Fields::date(const char* name) {
  const json* v = take(name, true);
  if (!v) return {};
  const auto d = v->is_string() ? parse_date(v->get<std::string>()) : std::nullopt;
  if (!d) {
    fail(name, "must be a date, YYYY-MM-DD");
    return {};
  }
  if (!in_service_era(*d)) {
    fail(name, std::string("must lie ") + kServiceEra);
    return {};
  }
  return v->get<std::string>();
}

std::optional<std::string> Fields::problem() {
  if (problem_) return problem_;
  for (const auto& [key, value] : object_->items()) {
    if (!read_.count(key)) {
      problem_ = "field '" + where_ + key + "' is not known";
      break;
    }
  }
  return problem_;
}

std::optional<std::map<std::string, std::string>> parse_query(const std::string& query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start < query.size()) {
    auto end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const auto pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq));
      auto value = percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1));
      if (!key || !value || out.count(*key)) return std::nullopt;
      out[*key] = *value;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace evoucher::api
