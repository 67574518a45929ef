// The service's route table, read without a database: for tests that hold the table against a
// document or a list (OpenAPI, the role matrix, the audited writes).
#pragma once

#include <set>
#include <string>
#include <utility>

namespace evoucher::testing {

// Every {method, pattern} the service serves.
std::set<std::pair<std::string, std::string>> served_routes();

}  // namespace evoucher::testing
