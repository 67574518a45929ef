// The `evoucher` command line: serve, migrate, verify, seed and the embedded database.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <csignal>

#include "evoucher/ops/batch.hpp"
#include "evoucher/ops/expiry.hpp"
#include "evoucher/ops/flag_batch.hpp"
#include "evoucher/api/service.hpp"
#include "evoucher/crypto.hpp"
#include "evoucher/ops/parties.hpp"
#include "evoucher/ops/platform.hpp"
#include "evoucher/ops/reports.hpp"
#include "evoucher/config.hpp"
#include "evoucher/store/demo_seed.hpp"
#include "evoucher/store/embedded_cluster.hpp"
#include "evoucher/store/migrations.hpp"
#include "evoucher/store/standby.hpp"
#include "evoucher/store/verify.hpp"
#include "evoucher/store/worker_pool.hpp"
#include "evoucher/transport/server.hpp"

namespace {

using namespace evoucher;

constexpr const char* kUsage = R"(usage: evoucher COMMAND [options]

commands:
  serve [--config FILE]            run the HTTP service
  migrate                          apply migrations/ in order, once each
  verify [--district C]            check every ledger invariant; non-zero exit on any failure
  batch cashback --date D [--district C]
                                   post the business date's cashback (all districts unless --district);
                                   --date pending: yesterday and every earlier date still pending
  batch flags --date D             judge the nightly fraud rule (sales over revenue) for D's month
  batch expire --date D            return the unspent money of programs expired by D to their pools
  seed demo                        load the Incheon March 2020 demo (once)
  db stop | db status | db url     the embedded PostgreSQL under var/pg
  token create --role R [--district C] [--name N]
                                   print a new admin token (stored hashed); R is city_admin,
                                   district_admin (with --district) or auditor

D is YYYY-MM-DD, or yesterday: the Seoul date before today's (for nightly timers). The cashback
timer runs --date pending: yesterday, and every earlier date that still has pending cashback.
every command takes --config FILE (default config/evoucher.json when present)
environment: EVOUCHER_DATABASE_URL, EVOUCHER_LISTEN, EVOUCHER_LOG_LEVEL, EVOUCHER_<SETTING>,
             EVOUCHER_PROCESSOR_SECRET, EVOUCHER_ADMIN_TOKEN, EVOUCHER_MIGRATIONS_DIR
)";

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Args {
  std::vector<std::string> words;
  std::optional<std::string> config;
  std::optional<std::string> district;
  std::optional<std::string> role;
  std::optional<std::string> date;
  std::optional<std::string> name;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) {
      if (i + 1 >= argc) throw UsageError(std::string(name) + " needs a value");
      return std::string(argv[++i]);
    };
    if (arg == "--config") a.config = value("--config");
    else if (arg == "--district") a.district = value("--district");
    else if (arg == "--role") a.role = value("--role");
    else if (arg == "--date") a.date = value("--date");
    else if (arg == "--name") a.name = value("--name");
    else if (arg == "-h" || arg == "--help") throw UsageError("");
    else if (arg.rfind("--", 0) == 0) throw UsageError("unknown option " + arg);
    else a.words.push_back(arg);
  }
  return a;
}

void setup_logging(const Config& config) {
  auto logger = spdlog::stderr_color_mt("evoucher");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
  const auto level = spdlog::level::from_str(config.log_level);
  if (level == spdlog::level::off && config.log_level != "off")
    throw ConfigError("log_level must be one of trace, debug, info, warn, error, critical, off");
  spdlog::set_level(level);
}

store::EmbeddedCluster embedded(const Config& config) {
  return store::EmbeddedCluster({config.embedded_pg_dir, config.pg_bindir, true});
}

// The configured database, or the embedded cluster started on demand.
std::string database_url(const Config& config) {
  if (!config.database_url.empty()) return config.database_url;
  auto cluster = embedded(config);
  cluster.ensure_running();
  return cluster.url();
}

// The service's connections run as its restricted role.
store::ConnectionOptions connection_options(const Config& config) {
  store::ConnectionOptions o{config.statement_timeout_ms, config.connect_timeout_s};
  o.as_service = true;
  return o;
}

// The command line's own commands (migrate, verify, batch) scan or write whole tables: they take
// cli_statement_timeout_ms (default 0, none), never the service's per-request timeout.
store::ConnectionOptions cli_connection_options(const Config& config) {
  return {config.cli_statement_timeout_ms, config.connect_timeout_s};
}

// batch and verify run as the service's restricted role too; migrate, seed and token run as the owner.
store::ConnectionOptions cli_service_options(const Config& config) {
  auto o = cli_connection_options(config);
  o.as_service = true;
  return o;
}

int serve(const Config& config) {
  const std::string url = database_url(config);
  store::WorkerPool pool(url, connection_options(config), config.db_workers,
                         static_cast<std::size_t>(config.db_queue_limit));
  const auto policies = api::make_policy_cache();
  // EVOUCHER_FAULT_KILL_AFTER_COMMIT=1: the crash tests' fault point (see GroupWriterOptions).
  const char* kill_after_commit = std::getenv("EVOUCHER_FAULT_KILL_AFTER_COMMIT");
  ops::GroupWriter writer(url, connection_options(config),
                          {config.group_writers, static_cast<std::size_t>(config.group_max),
                           static_cast<std::size_t>(config.group_queue_limit),
                           kill_after_commit != nullptr && std::string(kill_after_commit) == "1",
                           config.commit_wait_ms},
                          *policies);
  // One batch at a time runs; a few more may wait their turn.
  store::WorkerPool batches(url, cli_service_options(config), 1, 16);
  // Reports and exports read where config.read_database_url points: a standby when one answers.
  const std::string read_url = config.read_database_url.empty() ? store::prefer_standby_url(url) : config.read_database_url;
  store::WorkerPool reads(read_url, connection_options(config), config.read_workers,
                          static_cast<std::size_t>(config.read_queue_limit));
  store::WorkerPool exports(read_url, connection_options(config), config.export_workers,
                            static_cast<std::size_t>(config.export_queue_limit));
  api::Service service(config, pool, reads, writer, batches, exports);
  transport::Server server(config, service);
  server.run();
  service.abandon_streams();  // an export still writing stops, so that its worker can be joined
  writer.stop();
  pool.stop();
  reads.stop();
  batches.stop();
  exports.stop();
  return 0;
}

int migrate(const Config& config) {
  store::Connection connection(database_url(config), cli_connection_options(config));
  const auto dir = store::default_migrations_dir();
  const auto report = store::migrate(connection, dir);
  for (const auto& name : report.applied) std::cout << "applied " << name << "\n";
  std::cout << report.applied.size() << " applied, " << report.already_applied.size() << " already applied ("
            << dir << ")\n";
  return 0;
}

int verify(const Config& config, const std::optional<std::string>& district) {
  store::Connection connection(database_url(config), cli_service_options(config));
  const auto results = store::verify_ledger(connection, district);
  int failed = 0;
  for (const auto& r : results) {
    std::cout << (r.ok ? "ok    " : "FAIL  ") << r.district << ": " << r.name;
    if (!r.summary.empty()) std::cout << " (" << r.summary << ")";
    std::cout << "\n";
    for (const auto& f : r.failures) std::cout << "        " << f << "\n";
    if (!r.ok) ++failed;
  }
  std::cout << results.size() - static_cast<std::size_t>(failed) << " checks passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

int seed(const Config& config, const Args& args) {
  if (args.words.size() != 2 || args.words[1] != "demo") throw UsageError("seed takes one argument: demo");
  store::Connection connection(database_url(config), cli_connection_options(config));
  std::cout << (store::seed_demo(connection) ? "seeded the demo\n" : "the demo is already seeded\n");
  std::cout << (store::seed_demo_relief(connection) ? "seeded its 2020 relief program\n"
                                                    : "its 2020 relief program is already seeded\n");
  return 0;
}

int token(const Config& config, const Args& args) {
  if (args.words.size() != 2 || args.words[1] != "create") throw UsageError("token takes one argument: create");
  if (!args.role || !api::parse_role(*args.role)) throw UsageError("--role must be city_admin, district_admin or auditor");
  const bool needs_district = *args.role == "district_admin";
  if (needs_district != args.district.has_value())
    throw UsageError(needs_district ? "a district_admin token needs --district" : "--district goes with district_admin");
  store::Connection connection(database_url(config), cli_connection_options(config));
  const std::string secret = "evt_" + random_hex(24);
  const std::string hash = sha256_hex(secret);
  // The name is what the audit trail shows; without --name it is the role, the district and the
  // first 8 digits of the token's hash (never of the token).
  const std::string name =
      args.name.value_or(*args.role + (args.district ? "-" + *args.district : "") + "-" + hash.substr(0, 8));
  if (!ops::create_token(connection, hash, {*args.role, args.district, name})) {
    std::cerr << "evoucher: no district " << *args.district << "\n";
    return 1;
  }
  std::cout << secret << "\n";
  return 0;
}

// The nightly batch. EVOUCHER_FAULT_KILL_AFTER_CHUNKS=N makes the process kill itself after its
// N-th committed chunk: the restart tests use it to stop a run half-way.
// `pending`: the cashback batch also runs every date before args.date that still has pending
// cashback (a payment that arrived late), oldest first.
int run_batch(const Config& config, const Args& args, bool pending = false);

int batch(const Config& config, const Args& args) {
  if (args.words.size() != 2 || (args.words[1] != "cashback" && args.words[1] != "flags" && args.words[1] != "expire"))
    throw UsageError("batch takes one argument: cashback, flags or expire");
  // "yesterday" is the Seoul date before today's: what a nightly timer runs after midnight.
  // "pending" (cashback only): yesterday, and every earlier date that still has pending cashback.
  const bool pending = args.words[1] == "cashback" && args.date == "pending";
  const auto date = !args.date                  ? std::nullopt
                    : pending                   ? std::optional(seoul_yesterday(now_utc()))
                    : *args.date == "yesterday" ? std::optional(seoul_yesterday(now_utc()))
                                                : parse_date(*args.date);
  if (!date || !in_service_era(*date))
    throw UsageError("batch " + args.words[1] + " needs --date YYYY-MM-DD or --date yesterday" +
                     (args.words[1] == "cashback" ? " or --date pending, " : ", ") + kServiceEra);
  Args dated = args;
  dated.date = format_date(*date);
  return run_batch(config, dated, pending);
}

int run_batch(const Config& config, const Args& args, bool pending) {
  if (args.words[1] == "expire") {
    if (args.district) throw UsageError("batch expire returns every program's money; it takes no --district");
    store::Connection connection(database_url(config), cli_service_options(config));
    const auto outcome = ops::run_expiry(connection, *args.date, now_utc(), config.batch_chunk_size);
    if (outcome.date_not_closed) {
      std::cerr << "evoucher: " << *outcome.date_not_closed << "\n";
      return 1;
    }
    std::cout << outcome.report << "\n";
    return 0;
  }
  if (args.words[1] == "flags") {
    if (args.district) throw UsageError("batch flags judges every merchant; it takes no --district");
    store::Connection connection(database_url(config), cli_service_options(config));
    const auto outcome = ops::run_flag_batch(connection, *api::make_policy_cache(), *args.date, now_utc());
    if (outcome.date_not_closed) {
      std::cerr << "evoucher: " << *outcome.date_not_closed << "\n";
      return 1;
    }
    std::cout << outcome.report << "\n";
    return 0;
  }
  int kill_after = 0;
  if (const char* v = std::getenv("EVOUCHER_FAULT_KILL_AFTER_CHUNKS")) kill_after = std::atoi(v);
  store::Connection connection(database_url(config), cli_service_options(config));
  const auto policies = api::make_policy_cache();
  std::vector<std::string> districts;
  if (args.district) {
    districts.push_back(*args.district);
  } else {
    for (const auto& d : ops::districts(connection)) districts.push_back(d.code);
  }
  const auto now = now_utc();
  for (const auto& district : districts) {
    std::set<std::string> dates{*args.date};
    if (!ops::find_district(connection, district)) {
      std::cerr << "evoucher: no district " << district << "\n";
      return 1;
    }
    if (pending)
      for (auto& d : ops::pending_dates(connection, district, *args.date)) dates.insert(std::move(d));
    for (const auto& date : dates) {
      const auto outcome = ops::run_batch(connection, *policies, district, date, now, config.batch_chunk_size, [&](int chunks) {
        if (kill_after > 0 && chunks >= kill_after) raise(SIGKILL);
      });
      if (outcome.refusal != ops::BatchRefusal::none) {
        std::cerr << "evoucher: " << outcome.detail << "\n";
        return 1;
      }
      std::cout << outcome.run.report << "\n";
    }
  }
  return 0;
}

int db(const Config& config, const Args& args) {
  if (args.words.size() != 2) throw UsageError("db takes one of: stop, status, url");
  if (!config.database_url.empty()) throw UsageError("db manages the embedded cluster; EVOUCHER_DATABASE_URL is set");
  auto cluster = embedded(config);
  const auto& what = args.words[1];
  if (what == "stop") {
    cluster.stop();
    std::cout << "stopped\n";
  } else if (what == "status") {
    const bool up = cluster.running();
    std::cout << (up ? "running " : "stopped ") << cluster.data_dir() << "\n";
    return up ? 0 : 3;
  } else if (what == "url") {
    std::cout << cluster.url() << "\n";
  } else {
    throw UsageError("db takes one of: stop, status, url");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args args = parse_args(argc, argv);
    if (args.words.empty()) throw UsageError("");
    const std::string path = args.config.value_or("config/evoucher.json");
    const Config config = load_config(path, args.config.has_value());
    setup_logging(config);
    const auto& command = args.words[0];
    if (command == "serve") return serve(config);
    if (command == "migrate") return migrate(config);
    if (command == "verify") return verify(config, args.district);
    if (command == "seed") return seed(config, args);
    if (command == "db") return db(config, args);
    if (command == "token") return token(config, args);
    if (command == "batch") return batch(config, args);
    throw UsageError("unknown command " + command);
  } catch (const UsageError& e) {
    if (*e.what()) std::cerr << "evoucher: " << e.what() << "\n\n";
    std::cerr << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "evoucher: " << e.what() << "\n";
    return 1;
  }
}
