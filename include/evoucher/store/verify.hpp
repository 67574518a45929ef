// `evoucher verify`: every invariant of PRODUCT.md's last section, checked against the database.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct CheckResult {
  std::string district;
  std::string name;
  bool ok = true;
  std::string summary;               // what was checked, e.g. "42 journals"
  std::vector<std::string> failures; // one line per offending journal or account
  double seconds = 0;                 // how long its two queries took
};

// Checks one district, or every district; each in one consistent snapshot.
std::vector<CheckResult> verify_ledger(Connection& connection, const std::optional<std::string>& district);

}  // namespace evoucher::store
