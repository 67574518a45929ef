// Instants on the wire are RFC 3339; business dates and months are Asia/Seoul (UTC+9, no DST).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace evoucher {

using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// The wall clock, as a Timestamp.
Timestamp now_utc();

// Parses RFC 3339 ("2020-03-02T10:00:00+09:00", "...Z", optional fraction up to microseconds).
std::optional<Timestamp> parse_rfc3339(std::string_view text);
// Formats in UTC with microseconds trimmed when zero: "2020-03-02T01:00:00Z".
std::string format_rfc3339(Timestamp t);

// A calendar date, YYYY-MM-DD.
std::optional<std::chrono::year_month_day> parse_date(std::string_view text);
std::string format_date(std::chrono::year_month_day d);

// The service's era: every time and date it accepts lies from 2000-01-01 to 2099-12-31 (UTC), so
// that whatever was accepted reads back.
bool in_service_era(Timestamp t);
bool in_service_era(std::chrono::year_month_day d);
inline constexpr const char* kServiceEra = "from 2000-01-01 to 2099-12-31 (UTC)";

inline constexpr std::chrono::hours kSeoulOffset{9};
std::chrono::year_month_day seoul_business_date(Timestamp t);
// The Seoul date before t's: the latest business date that has closed.
std::chrono::year_month_day seoul_yesterday(Timestamp t);
// Seoul wall time to the second, as spreadsheets read it: "2020-03-02 10:00:00".
std::string format_seoul(Timestamp t);
// The first instant of a Seoul date: 15:00 UTC of the day before.
Timestamp seoul_day_start(std::chrono::year_month_day d);
// The instant a Seoul date ends, when the next one starts: 15:00 UTC of the same day.
Timestamp seoul_day_end(std::chrono::year_month_day d);
// "YYYY-MM-01": the first day of t's Seoul month, the key of a member's monthly totals.
std::string seoul_month_start(Timestamp t);

}  // namespace evoucher
