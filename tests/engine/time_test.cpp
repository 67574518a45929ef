// RFC 3339 and Seoul business dates.
#include <gtest/gtest.h>

#include "evoucher/time.hpp"

namespace evoucher {
namespace {

TEST(Time, ParsesOffsetsToUtc) {
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2020-03-02T10:00:00+09:00").value()), "2020-03-02T01:00:00Z");
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2020-03-02T01:00:00Z").value()), "2020-03-02T01:00:00Z");
  EXPECT_EQ(format_rfc3339(parse_rfc3339("2020-03-01T23:30:00.25-01:30").value()), "2020-03-02T01:00:00.250000Z");
}

TEST(Time, RejectsMalformed) {
  for (const char* bad : {"2020-03-02", "2020-03-02T10:00:00", "2020-02-30T10:00:00Z", "2020-03-02T24:00:00Z",
                          "2020-03-02T10:00:00+0900", "2020-03-02 10:00:00Z", "2020-03-02T10:00:00Zjunk",
                          "2020-03-02T10:00:00.Z"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

TEST(Time, SeoulBusinessDate) {
  // 23:59 UTC on 1 March is 08:59 on 2 March in Seoul; 14:59 UTC is still 1 March there.
  EXPECT_EQ(format_date(seoul_business_date(parse_rfc3339("2020-03-01T23:59:00Z").value())), "2020-03-02");
  EXPECT_EQ(format_date(seoul_business_date(parse_rfc3339("2020-03-01T14:59:59Z").value())), "2020-03-01");
  EXPECT_EQ(format_date(seoul_business_date(parse_rfc3339("2020-03-01T15:00:00Z").value())), "2020-03-02");
}

TEST(Time, ASeoulDayRunsFrom15UtcTheDayBeforeTo15UtcTheSameDay) {
  const auto leap_day = parse_date("2020-02-29").value();
  EXPECT_EQ(format_rfc3339(seoul_day_start(leap_day)), "2020-02-28T15:00:00Z");
  EXPECT_EQ(format_rfc3339(seoul_day_end(leap_day)), "2020-02-29T15:00:00Z");
  EXPECT_EQ(format_rfc3339(seoul_day_end(parse_date("2020-12-31").value())), "2020-12-31T15:00:00Z");
}

TEST(Time, ParsesDates) {
  EXPECT_EQ(format_date(parse_date("2020-02-29").value()), "2020-02-29");
  EXPECT_FALSE(parse_date("2021-02-29").has_value());
  EXPECT_FALSE(parse_date("2020-3-01").has_value());
}

}  // namespace
}  // namespace evoucher
