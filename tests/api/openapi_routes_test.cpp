// docs/openapi.yaml describes exactly the routes the service serves, no more and no fewer.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "support/routes.hpp"

namespace evoucher::api {
namespace {

// The {method, path} pairs of an OpenAPI document, read from its layout: paths at two spaces,
// operations at four.
std::set<std::pair<std::string, std::string>> documented() {
  std::ifstream in(std::string(EVOUCHER_SOURCE_DIR) + "/docs/openapi.yaml");
  std::set<std::pair<std::string, std::string>> out;
  std::string line, path;
  bool in_paths = false;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      in_paths = true;
      continue;
    }
    if (!line.empty() && line[0] != ' ') in_paths = false;
    if (!in_paths) continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.size() > 5 && line.rfind("    ", 0) == 0 && line[4] != ' ' && line.back() == ':') {
      std::string method = line.substr(4, line.size() - 5);
      if (method == "parameters") continue;
      for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      out.emplace(method, path);
    }
  }
  return out;
}

TEST(OpenApi, DocumentsEveryRouteAndNothingElse) {
  const auto served = evoucher::testing::served_routes();
  EXPECT_EQ(served.size(), 43u);
  EXPECT_EQ(documented(), served);
}

}  // namespace
}  // namespace evoucher::api
