// Applies migrations/NNNN_name.sql in order, each once, in a transaction, recorded with a checksum.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "evoucher/store/connection.hpp"

namespace evoucher::store {

// A migration directory problem, or an applied file that has since changed.
class MigrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MigrationReport {
  std::vector<std::string> applied;         // file names applied by this call
  std::vector<std::string> already_applied;
};

MigrationReport migrate(Connection& connection, const std::string& directory);

// The migrations directory: $EVOUCHER_MIGRATIONS_DIR, ./migrations, or the source tree's.
std::string default_migrations_dir();

}  // namespace evoucher::store
