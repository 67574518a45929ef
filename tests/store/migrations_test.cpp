// `migrate`: in order, once each, and a changed applied file is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <pqxx/pqxx>

#include <unistd.h>

#include "evoucher/store/connection.hpp"
#include "evoucher/store/embedded_cluster.hpp"
#include "evoucher/store/migrations.hpp"
#include "support/pg_harness.hpp"
#include "support/process.hpp"

namespace evoucher::testing {
namespace {

namespace fs = std::filesystem;

std::string empty_database(const std::string& name) {
  auto& h = PgHarness::instance();
  store::Connection admin(h.cluster().url("postgres"));
  admin.execute("CREATE DATABASE " + name);
  return h.cluster().url(name);
}

// The migration files of the source tree, in order.
std::vector<std::string> migration_files() {
  std::vector<std::string> names;
  for (const auto& f : fs::directory_iterator(std::string(EVOUCHER_SOURCE_DIR) + "/migrations"))
    names.push_back(f.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Migrations, TheTreeHoldsTheExpectedFiles) {
  EXPECT_EQ(migration_files(), (std::vector<std::string>{"0001_ledger.sql", "0002_parties.sql", "0003_vouchers.sql",
                                                      "0004_batches.sql", "0005_money_path.sql",
                                                      "0006_money_rules.sql", "0007_cashback_postings.sql",
                                                      "0008_partition_names.sql", "0009_service_role.sql", "0010_audit.sql",
                                                      "0011_guard_when.sql", "0012_fraud_flags.sql",
                                                      "0013_policy_money.sql", "0014_least_privilege.sql",
                                                      "0015_replication_watch.sql", "0016_backups.sql",
                                                      "0017_rule_functions.sql", "0018_leaner_writes.sql"}));
}

TEST(Migrations, SecondRunIsANoOp) {
  const auto url = empty_database("mig_twice");
  const std::string dir = std::string(EVOUCHER_SOURCE_DIR) + "/migrations";
  store::Connection c(url);
  const auto first = store::migrate(c, dir);
  EXPECT_EQ(first.applied, migration_files());
  EXPECT_TRUE(first.already_applied.empty());
  const auto second = store::migrate(c, dir);
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.already_applied, migration_files());
}

TEST(Migrations, CommandLineReportsWhatItApplied) {
  const auto url = empty_database("mig_cli");
  const std::map<std::string, std::string> env{{"EVOUCHER_DATABASE_URL", url},
                                               {"EVOUCHER_MIGRATIONS_DIR", std::string(EVOUCHER_SOURCE_DIR) + "/migrations"}};
  auto first = run_evoucher({"migrate"}, env);
  EXPECT_EQ(first.exit_code, 0) << first.output;
  std::string expected;
  for (const auto& name : migration_files()) expected += "applied " + name + "\n";
  expected += std::to_string(migration_files().size()) + " applied, 0 already applied";
  EXPECT_EQ(first.output.rfind(expected, 0), 0u) << first.output;
  auto second = run_evoucher({"migrate"}, env);
  EXPECT_EQ(second.exit_code, 0);
  EXPECT_EQ(second.output.rfind("0 applied, " + std::to_string(migration_files().size()) + " already applied", 0), 0u)
      << second.output;
}

TEST(ConnectionUrl, BothLibpqFormsTakeTheServiceParameters) {
  EXPECT_EQ(store::with_connection_parameters("host=/run/pg dbname=ev", 5),
            "host=/run/pg dbname=ev connect_timeout=5 application_name=evoucher keepalives_idle=5 "
            "keepalives_interval=2 keepalives_count=3 tcp_user_timeout=10000");
  EXPECT_EQ(store::with_connection_parameters("postgresql://ev@db.example/ev", 5),
            "postgresql://ev@db.example/ev?connect_timeout=5&application_name=evoucher&keepalives_idle=5&"
            "keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000");
  EXPECT_EQ(store::with_connection_parameters("postgres://ev@db/ev?sslmode=require", 3),
            "postgres://ev@db/ev?sslmode=require&connect_timeout=3&application_name=evoucher&keepalives_idle=5&"
            "keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000");
}

// A URI-form EVOUCHER_DATABASE_URL works for every command, like the keyword form.
TEST(ConnectionUrl, UriFormWorksEndToEnd) {
  empty_database("uri_form");
  const auto keyword = PgHarness::instance().cluster().url("uri_form");  // host=<dir> user=<u> dbname=<db>
  auto value = [&](const std::string& name) {
    const auto at = keyword.find(name + "=") + name.size() + 1;
    return keyword.substr(at, keyword.find(' ', at) - at);
  };
  const auto uri = "postgresql://" + value("user") + "@/" + value("dbname") + "?host=" + value("host");
  const std::map<std::string, std::string> env{{"EVOUCHER_DATABASE_URL", uri},
                                               {"EVOUCHER_MIGRATIONS_DIR", std::string(EVOUCHER_SOURCE_DIR) + "/migrations"}};
  auto migrated = run_evoucher({"migrate"}, env);
  EXPECT_EQ(migrated.exit_code, 0) << uri << "\n" << migrated.output;
  auto seeded = run_evoucher({"seed", "demo"}, env);
  EXPECT_EQ(seeded.exit_code, 0) << seeded.output;
  auto verified = run_evoucher({"verify"}, env);
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("\n66 checks passed, 0 failed"), std::string::npos) << verified.output;
}

// A data path too long for a socket gets a private, unguessable socket directory, and the
// cluster's own configuration keeps a start by hand off TCP.
TEST(EmbeddedClusterTest, LongPathsGetAPrivateSocketAndHandStartsStayOffTcp) {
  const auto root = fs::temp_directory_path() / ("evoucher-long-" + std::string(80, 'x'));
  fs::create_directories(root);
  fs::permissions(root, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  store::EmbeddedCluster cluster({(root / "pg").string(), "", false});
  cluster.ensure_running("probe");
  const auto socket = cluster.socket_dir();
  EXPECT_EQ(socket.rfind((fs::temp_directory_path() / "evoucher-").string(), 0), 0u) << socket;
  EXPECT_EQ(socket.size(), (fs::temp_directory_path() / "evoucher-XXXXXX").string().size()) << socket;
  EXPECT_EQ(fs::status(socket).permissions() & fs::perms::all, fs::perms::owner_all);
  // Stopped, then started by hand with no options at all.
  cluster.stop();
  std::vector<std::string> argv;
  if (geteuid() == 0) argv = {"runuser", "-u", "postgres", "--"};
  argv.insert(argv.end(), {"/usr/lib/postgresql/15/bin/pg_ctl", "start", "-w", "-D", cluster.data_dir(), "-l",
                           cluster.data_dir() + "/manual.log"});
  std::string command;
  for (const auto& a : argv) command += a + " ";
  ASSERT_EQ(std::system((command + "> /dev/null").c_str()), 0);
  {
    pqxx::connection c(cluster.url("probe"));
    pqxx::nontransaction n(c);
    EXPECT_EQ(n.exec("SHOW listen_addresses")[0][0].as<std::string>(), "");
    EXPECT_EQ(n.exec("SHOW unix_socket_permissions")[0][0].as<std::string>(), "0700");
  }
  // Another process finds the same socket.
  store::EmbeddedCluster again({(root / "pg").string(), "", false});
  EXPECT_EQ(again.url("probe"), cluster.url("probe"));
  cluster.destroy();
  fs::remove_all(root);
}

TEST(Migrations, ChangedAppliedMigrationIsRefused) {
  const auto url = empty_database("mig_changed");
  const fs::path dir = fs::path(PgHarness::instance().root()) / "changed-migrations";
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(std::string(EVOUCHER_SOURCE_DIR) + "/migrations"))
    fs::copy_file(f.path(), dir / f.path().filename(), fs::copy_options::overwrite_existing);
  store::Connection c(url);
  store::migrate(c, dir.string());
  std::ofstream(dir / "0002_parties.sql", std::ios::app) << "\n-- an edit after the fact\n";
  try {
    store::migrate(c, dir.string());
    FAIL() << "a changed migration was accepted";
  } catch (const store::MigrationError& e) {
    EXPECT_NE(std::string(e.what()).find("migration 0002_parties.sql was changed after it was applied"),
              std::string::npos)
        << e.what();
  }
  // A new file after the refusal is not applied either: the run stops at the changed one.
  std::ofstream(dir / "0003_extra.sql") << "CREATE TABLE extra (id int);";
  EXPECT_THROW(store::migrate(c, dir.string()), store::MigrationError);
  store::Connection check(url);
  store::Tx tx(check);
  EXPECT_THROW(tx.execute("SELECT 1 FROM extra"), std::exception);
}

// Migration 0014 takes the endpoint prefixes off stored keys, once: a key used on two endpoints
// before keeps one plain form (the other keeps its prefix, so that a retry of it meets the plain
// key with another request and gets 409 instead of running again).
TEST(Migrations, StoredKeysLoseTheirEndpointPrefix) {
  const auto url = empty_database("mig_keys");
  const fs::path dir = fs::path(PgHarness::instance().root()) / "keys-migrations";
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(std::string(EVOUCHER_SOURCE_DIR) + "/migrations"))
    if (f.path().filename().string() < "0014")
      fs::copy_file(f.path(), dir / f.path().filename(), fs::copy_options::overwrite_existing);
  store::Connection c(url);
  store::migrate(c, dir.string());
  c.execute("INSERT INTO districts (code, name, brand) VALUES ('bupyeong', '부평구', '부평e음')");
  c.execute("INSERT INTO idempotency_keys (district, key, request_hash, status, answer) VALUES "
            "('bupyeong', 'load:a', 'h1', 201, '{}'), ('bupyeong', 'refund:a', 'h2', 422, '{}'), "
            "('bupyeong', 'pool-top-up:b', 'h3', 201, '{}'), ('bupyeong', 'grant:relief:c', 'h4', 200, '{}'), "
            "('bupyeong', 'batch:d', 'h5', 200, '{}'), ('bupyeong', 'e', 'h6', 201, '{}'), "
            "('bupyeong', 'load:e', 'h7', 201, '{}'), ('bupyeong', 'other:f', 'h8', 201, '{}')");
  store::migrate(c, std::string(EVOUCHER_SOURCE_DIR) + "/migrations");
  pqxx::connection raw(url);
  pqxx::nontransaction n(raw);
  std::vector<std::string> keys;
  for (const auto& r : n.exec("SELECT key || '=' || request_hash FROM idempotency_keys ORDER BY key"))
    keys.push_back(r[0].as<std::string>());
  EXPECT_EQ(keys, (std::vector<std::string>{"a=h1", "b=h3", "c=h4", "d=h5", "e=h6", "load:e=h7", "other:f=h8",
                                            "refund:a=h2"}));
}

// Issue 27 reshapes a ledger that already holds money. A ledger made at migration 0017 by the
// model test's sequence (tests/store/fixtures/ledger_0017.sql) is migrated to the tree's last
// migration: every row of every table is still there, unchanged, and verify passes.
TEST(Migrations, ALedgerWithMoneyMigratesWhole) {
  const auto url = empty_database("mig_money");
  const fs::path dir = fs::path(PgHarness::instance().root()) / "money-migrations";
  fs::create_directories(dir);
  for (const auto& f : fs::directory_iterator(std::string(EVOUCHER_SOURCE_DIR) + "/migrations"))
    if (f.path().filename().string() < "0018")
      fs::copy_file(f.path(), dir / f.path().filename(), fs::copy_options::overwrite_existing);
  store::Connection c(url);
  store::migrate(c, dir.string());
  pqxx::connection raw(url);
  pqxx::nontransaction n(raw);
  std::ifstream fixture(std::string(EVOUCHER_SOURCE_DIR) + "/tests/store/fixtures/ledger_0017.sql");
  n.exec(std::string(std::istreambuf_iterator<char>(fixture), {}));
  // Each table's rows as one digest, and their count.
  const std::vector<std::pair<std::string, long long>> tables{
      {"accounts", 143},       {"journals", 265},        {"entries", 538},         {"payments", 71},
      {"cancellations", 40},   {"loads", 147},           {"refunds", 6},           {"processor_events", 293},
      {"idempotency_keys", 173}, {"member_months", 56},  {"payment_counters", 45}, {"cashback_postings", 5},
      {"batch_runs", 2},       {"flags", 1},             {"pools", 3},             {"policies", 5},
      {"members", 60},         {"cards", 60},            {"merchants", 7},         {"audit_log", 338}};
  auto digest = [&](const std::string& table) {
    return n.exec("SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM " + table + " t")[0];
  };
  std::map<std::string, std::string> before;
  for (const auto& [table, count] : tables) {
    const auto row = digest(table);
    EXPECT_EQ(row[0].as<long long>(), count) << table;
    before[table] = row[1].as<std::string>();
  }
  store::migrate(c, std::string(EVOUCHER_SOURCE_DIR) + "/migrations");
  for (const auto& [table, count] : tables) {
    const auto row = digest(table);
    EXPECT_EQ(row[0].as<long long>(), count) << table;
    EXPECT_EQ(row[1].as<std::string>(), before[table]) << table << ": a row changed";
  }
  const auto verified = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url}});
  EXPECT_EQ(verified.exit_code, 0) << verified.output;
  EXPECT_NE(verified.output.find("\n66 checks passed, 0 failed"), std::string::npos) << verified.output;
}

}  // namespace
}  // namespace evoucher::testing
