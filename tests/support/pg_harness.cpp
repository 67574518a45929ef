// Starts the throwaway cluster in a fresh directory under /tmp, and deletes it at exit.
#include "support/pg_harness.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>

#include "evoucher/crypto.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/demo_seed.hpp"
#include "evoucher/store/migrations.hpp"

namespace evoucher::testing {
namespace {

constexpr const char* kTemplate = "evoucher_template";

void remove_at_exit() {
  auto& h = PgHarness::instance();
  h.cluster().destroy();
  std::error_code ignored;
  std::filesystem::remove_all(h.root(), ignored);
}

}  // namespace

PgHarness& PgHarness::instance() {
  static PgHarness* harness = [] {
    auto* h = new PgHarness();
    std::atexit(remove_at_exit);
    return h;
  }();
  return *harness;
}

PgHarness::PgHarness() {
  namespace fs = std::filesystem;
  root_ = (fs::temp_directory_path() / ("evoucher-test-" + std::to_string(getpid()) + "-" + random_hex(4))).string();
  fs::create_directories(root_);
  // The postgres user (tests run as root in CI) must be able to enter it.
  fs::permissions(root_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  cluster_ = std::make_unique<store::EmbeddedCluster>(store::ClusterOptions{root_ + "/pg", "", false});
  cluster_->ensure_running(kTemplate);
  store::Connection c(cluster_->url(kTemplate));
  store::migrate(c, std::string(EVOUCHER_SOURCE_DIR) + "/migrations");
}

std::string PgHarness::fresh_database() {
  const std::string name = "t" + std::to_string(next_++);
  pqxx::connection admin(cluster_->url("postgres"));
  pqxx::nontransaction n(admin);
  n.exec("CREATE DATABASE " + name + " TEMPLATE " + kTemplate);
  return cluster_->url(name);
}

std::string PgHarness::demo_database() {
  const std::string url = fresh_database();
  store::Connection c(url);
  store::seed_demo(c);
  return url;
}

}  // namespace evoucher::testing
