// Schema migrations, serialised across processes by an advisory lock.
#include "evoucher/store/migrations.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "evoucher/crypto.hpp"
#include "pq.hpp"

namespace evoucher::store {
namespace {

constexpr long long kMigrationLock = 0x65766f7563686572;  // "evoucher"

struct MigrationFile {
  int version;
  std::string name;
  std::string sql;
  std::string checksum;
};

std::vector<MigrationFile> read_directory(const std::string& directory) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(directory)) throw MigrationError("migrations directory " + directory + " does not exist");
  static const std::regex kName(R"((\d{4})_[a-z0-9_]+\.sql)");
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const std::string name = entry.path().filename().string();
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    files.push_back({std::stoi(m[1]), name, text.str(), sha256_hex(text.str())});
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < files.size(); ++i)
    if (files[i].version == files[i - 1].version)
      throw MigrationError("two migrations share version " + std::to_string(files[i].version) + ": " +
                           files[i - 1].name + " and " + files[i].name);
  return files;
}

}  // namespace

std::string default_migrations_dir() {
  if (const char* dir = std::getenv("EVOUCHER_MIGRATIONS_DIR")) return dir;
  if (std::filesystem::is_directory("migrations")) return "migrations";
  if (std::filesystem::is_directory("/usr/share/evoucher/migrations")) return "/usr/share/evoucher/migrations";
  return std::string(EVOUCHER_SOURCE_DIR) + "/migrations";
}

MigrationReport migrate(Connection& connection, const std::string& directory) {
  const auto files = read_directory(directory);
  MigrationReport report;
  auto& conn = connection.impl().conn;
  with_unavailable_mapped([&] {
    pqxx::nontransaction setup(conn);
    setup.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")");
    setup.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
        "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    return 0;
  });
  struct Unlock {
    pqxx::connection& conn;
    ~Unlock() {
      try {
        pqxx::nontransaction n(conn);
        n.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
      } catch (...) {
      }
    }
  } unlock{conn};

  with_unavailable_mapped([&] {
    for (const auto& file : files) {
      pqxx::work tx(conn);
      const auto rows = tx.exec_params("SELECT name, checksum FROM schema_migrations WHERE version = $1", file.version);
      if (!rows.empty()) {
        if (rows[0]["checksum"].as<std::string>() != file.checksum)
          throw MigrationError("migration " + file.name + " was changed after it was applied (applied checksum " +
                               rows[0]["checksum"].as<std::string>() + ", file now " + file.checksum +
                               "); restore it and put the change in a new migration");
        report.already_applied.push_back(file.name);
        continue;
      }
      tx.exec(file.sql);
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", file.version,
                     file.name, file.checksum);
      tx.commit();
      report.applied.push_back(file.name);
    }
    return 0;
  });
  return report;
}

}  // namespace evoucher::store
