// The routing table: captures, 404 and 405.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <utility>

#include "evoucher/api/router.hpp"

namespace evoucher::api {
namespace {

Handler noop() {
  return [](const Request&, const PathParams&, Reply) {};
}

// A routing table of these {verb, pattern} rows, each with a handler that does nothing.
Router table(std::initializer_list<std::pair<std::string, std::string>> rows) {
  Router r;
  for (const auto& [verb, pattern] : rows) r.add(verb, pattern, noop());
  return r;
}

TEST(Router, CapturesSegments) {
  const auto r = table({{"GET", "/v1/members/{id}"}, {"GET", "/v1/members/{id}/statement"}});
  auto m = r.match("GET", "/v1/members/m-1/statement");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/v1/members/{id}/statement");
  EXPECT_EQ(m.params.at("id"), "m-1");
}

TEST(Router, WrongVerbListsTheAllowedOnes) {
  const auto r = table({{"GET", "/v1/cards/{token}"}, {"PATCH", "/v1/cards/{token}"}});
  auto m = r.match("DELETE", "/v1/cards/c1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.allowed, (std::vector<std::string>{"GET", "PATCH"}));
}

TEST(Router, NoMatchForEmptySegmentsOrOtherPaths) {
  const auto r = table({{"GET", "/v1/members/{id}"}});
  EXPECT_EQ(r.match("GET", "/v1/members/").route, nullptr);
  EXPECT_TRUE(r.match("GET", "/v1/members/").allowed.empty());
  EXPECT_EQ(r.match("GET", "/v1/members/a/b").route, nullptr);
  EXPECT_EQ(r.match("GET", "v1/members/a").route, nullptr);
}

}  // namespace
}  // namespace evoucher::api
