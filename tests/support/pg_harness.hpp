// The test suite's own PostgreSQL: a throwaway cluster started on first use and removed at exit,
// with the migrations applied once to a template that each test clones.
#pragma once

#include <memory>
#include <string>

#include "evoucher/store/embedded_cluster.hpp"

namespace evoucher::testing {

class PgHarness {
 public:
  static PgHarness& instance();

  // A new database with every migration applied; returns its connection string.
  std::string fresh_database();
  // A new database as fresh_database() makes it, seeded with the demo (store::seed_demo).
  std::string demo_database();
  store::EmbeddedCluster& cluster() { return *cluster_; }
  const std::string& root() const { return root_; }

 private:
  PgHarness();
  std::string root_;
  std::unique_ptr<store::EmbeddedCluster> cluster_;
  int next_ = 0;
};

}  // namespace evoucher::testing
