// RFC 3339 parsing and formatting by hand: libstdc++ 12 has no std::chrono::parse.
#include "evoucher/time.hpp"

#include <cstdio>

namespace evoucher {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<std::chrono::year_month_day> parse_date(std::string_view s) {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                                  std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || y < 1900) return std::nullopt;
  return ymd;
}

std::optional<Timestamp> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't')) return std::nullopt;
  auto date = parse_date(s.substr(0, 10));
  int hh = 0, mm = 0, ss = 0;
  if (!date || !digits(s, 11, 2, hh) || s[13] != ':' || !digits(s, 14, 2, mm) || s[16] != ':' ||
      !digits(s, 17, 2, ss) || hh > 23 || mm > 59 || ss > 59)
    return std::nullopt;
  std::size_t pos = 19;
  long micros = 0;
  if (s[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    long scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (n < 6) micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++n;
    }
    if (n == 0 || n > 9) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  minutes offset{0};
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh = 0, om = 0;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, om) ||
        oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  Timestamp t = sys_days{*date} + hours{hh} + minutes{mm} + seconds{ss} + microseconds{micros};
  return t - offset;
}

std::chrono::year_month_day seoul_yesterday(Timestamp t) {
  return std::chrono::year_month_day(std::chrono::sys_days(seoul_business_date(t)) - std::chrono::days(1));
}

std::string format_seoul(Timestamp t) {
  using namespace std::chrono;
  const auto local = floor<seconds>(t) + kSeoulOffset;
  const auto day = floor<days>(local);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> tod{local - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02ld:%02ld:%02lld", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                static_cast<long long>(tod.seconds().count()));
  return buf;
}

std::string format_rfc3339(Timestamp t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<microseconds> tod{t - day};
  char buf[48];
  const long us = static_cast<long>(tod.subseconds().count());
  if (us == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                  static_cast<long long>(tod.seconds().count()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02lld.%06ldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(tod.hours().count()), static_cast<long>(tod.minutes().count()),
                  static_cast<long long>(tod.seconds().count()), us);
  }
  return buf;
}

std::string format_date(std::chrono::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()), static_cast<unsigned>(d.month()),
                static_cast<unsigned>(d.day()));
  return buf;
}

std::chrono::year_month_day seoul_business_date(Timestamp t) {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t + kSeoulOffset)};
}

Timestamp seoul_day_start(std::chrono::year_month_day d) {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::sys_days(d) - kSeoulOffset);
}

Timestamp seoul_day_end(std::chrono::year_month_day d) {
  return seoul_day_start(std::chrono::sys_days(d) + std::chrono::days(1));
}

bool in_service_era(std::chrono::year_month_day d) {
  using namespace std::chrono;
  return d.ok() && d >= year_month_day{year{2000}, January, day{1}} && d <= year_month_day{year{2099}, December, day{31}};
}

bool in_service_era(Timestamp t) {
  return in_service_era(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t)});
}

std::string seoul_month_start(Timestamp t) { return format_date(seoul_business_date(t)).substr(0, 7) + "-01"; }

Timestamp now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

}  // namespace evoucher
