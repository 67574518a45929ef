// The routing table: captures, 404 and 405.
#include <gtest/gtest.h>

#include "evoucher/api/router.hpp"

namespace evoucher::api {
namespace {

Handler noop() {
  return [](const Request&, const PathParams&, Reply) {};
}

TEST(Router, CapturesSegments) {
  Router r;
  r.add("GET", "/v1/members/{id}", noop());
  r.add("GET", "/v1/members/{id}/statement", noop());
  auto m = r.match("GET", "/v1/members/m-1/statement");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/v1/members/{id}/statement");
  EXPECT_EQ(m.params.at("id"), "m-1");
}

TEST(Router, WrongVerbListsTheAllowedOnes) {
  Router r;
  r.add("GET", "/v1/cards/{token}", noop());
  r.add("PATCH", "/v1/cards/{token}", noop());
  auto m = r.match("DELETE", "/v1/cards/c1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "PATCH"}));
}

TEST(Router, NoMatchForEmptySegmentsOrOtherPaths) {
  Router r;
  r.add("GET", "/v1/members/{id}", noop());
  EXPECT_EQ(r.match("GET", "/v1/members/").route, nullptr);
  EXPECT_TRUE(r.match("GET", "/v1/members/").allowed.empty());
  EXPECT_EQ(r.match("GET", "/v1/members/a/b").route, nullptr);
  EXPECT_EQ(r.match("GET", "v1/members/a").route, nullptr);
}

}  // namespace
}  // namespace evoucher::api
