// A private, durable PostgreSQL 15 for one benchmark run, in a new temporary directory: started,
// with the migrations applied to database `bench`. Removed at the end of the run unless
// BENCH_KEEP is set, when its address is printed instead.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "evoucher/crypto.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/embedded_cluster.hpp"
#include "evoucher/store/migrations.hpp"

namespace evoucher::bench {

class BenchCluster {
 public:
  explicit BenchCluster(const std::string& name)
      : root_((std::filesystem::temp_directory_path() / ("evoucher-" + name + "-" + random_hex(4))).string()),
        cluster_(make(root_)) {
    cluster_.ensure_running("bench");
    store::Connection c(url(), {600'000, 5});
    store::migrate(c, std::string(EVOUCHER_SOURCE_DIR) + "/migrations");
  }
  ~BenchCluster() {
    if (std::getenv("BENCH_KEEP")) {
      std::printf("kept: psql '%s'\n", url().c_str());
      return;
    }
    try {
      cluster_.destroy();
    } catch (...) {
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  BenchCluster(const BenchCluster&) = delete;
  BenchCluster& operator=(const BenchCluster&) = delete;

  std::string url() const { return cluster_.url("bench"); }
  const std::string& root() const { return root_; }

 private:
  static store::EmbeddedCluster make(const std::string& root) {
    namespace fs = std::filesystem;
    fs::create_directories(root);
    fs::permissions(root, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec |
                              fs::perms::group_read | fs::perms::others_read);
    return store::EmbeddedCluster({root + "/pg", "", /*durable=*/true});
  }

  std::string root_;
  store::EmbeddedCluster cluster_;
};

}  // namespace evoucher::bench
