// Districts: the issuers, each with its own ledger partitions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

struct District {
  std::string code;
  std::string name;
  std::string brand;
  bool operator==(const District&) const = default;
};

enum class CreateOutcome { created, existing, conflict };

// Creates the district, its partitions and its own accounts in tx. The same data again is
// `existing`; other data under the same code is `conflict`, and nothing is written.
CreateOutcome create_district(Tx& tx, const District& district);
std::optional<District> find_district(Tx& tx, const std::string& code);
std::vector<District> list_districts(Tx& tx);

}  // namespace evoucher::store
