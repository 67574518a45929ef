// initdb, pg_ctl and CREATE DATABASE for the private cluster, run without a shell.
#include "evoucher/store/embedded_cluster.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "evoucher/crypto.hpp"

namespace evoucher::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSystemUser = "postgres";
constexpr std::size_t kMaxSocketDir = 90;  // a Unix socket path holds 107 bytes with ".s.PGSQL.5432"
constexpr const char* kSocketRecord = "evoucher.socket_dir";
constexpr const char* kSettingsFile = "evoucher.conf";

// Runs argv, returning its exit status; its output goes to *output when given, else to ours.
int run_program(const std::vector<std::string>& argv, std::string* output) {
  int pipe_fds[2] = {-1, -1};
  if (output && pipe(pipe_fds) != 0) throw ClusterError("pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw ClusterError("fork failed");
  if (pid == 0) {
    if (output) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      dup2(pipe_fds[1], STDERR_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (output) {
    close(pipe_fds[1]);
    std::array<char, 4096> buf;
    ssize_t n;
    while ((n = read(pipe_fds[0], buf.data(), buf.size())) > 0) output->append(buf.data(), static_cast<std::size_t>(n));
    close(pipe_fds[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void chown_to(const std::string& path, const passwd& user) {
  if (chown(path.c_str(), user.pw_uid, user.pw_gid) != 0)
    throw ClusterError("cannot give " + path + " to user " + user.pw_name);
}

bool user_can_enter(const std::string& dir) {
  return run_program({"runuser", "-u", kSystemUser, "--", "test", "-x", dir}, nullptr) == 0;
}

}  // namespace

EmbeddedCluster::EmbeddedCluster(ClusterOptions options) : options_(std::move(options)) { resolve_paths(); }

void EmbeddedCluster::resolve_paths() {
  if (!options_.bindir.empty()) {
    bindir_ = options_.bindir;
  } else if (fs::exists("/usr/lib/postgresql/15/bin/pg_ctl")) {
    bindir_ = "/usr/lib/postgresql/15/bin";
  }
  as_postgres_ = geteuid() == 0;
  const fs::path dir = fs::absolute(options_.dir).lexically_normal();
  fs::create_directories(dir.parent_path());
  data_dir_ = dir.string();
  if (as_postgres_) {
    const passwd* pw = getpwnam(kSystemUser);
    if (!pw) throw ClusterError("running as root needs the 'postgres' user (from the postgresql package)");
    if (fs::is_symlink(dir)) {
      data_dir_ = fs::read_symlink(dir).string();
    } else if (!fs::exists(dir) && !user_can_enter(dir.parent_path().string())) {
      // The postgres user cannot reach this path (a checkout under /root, say): the data lives
      // under /var/lib/evoucher and `dir` is a link to it.
      // A random part, so that a new checkout at the same path never picks up a deleted one's data.
      const std::string real = "/var/lib/evoucher/" + sha256_hex(dir.string()).substr(0, 12) + "-" + random_hex(4);
      fs::create_directories("/var/lib/evoucher");
      fs::permissions("/var/lib/evoucher", fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
      fs::create_symlink(real, dir);
      data_dir_ = real;
    }
  }
  socket_dir_ = data_dir_;
  if (socket_dir_.size() > kMaxSocketDir) {
    // Too long for a socket path: the socket lives in a private directory with an unguessable
    // name, recorded beside the data (see place_socket).
    socket_dir_.clear();
    std::ifstream recorded(data_dir_ + "/" + kSocketRecord);
    std::getline(recorded, socket_dir_);
  }
}

// A socket directory of our own when the data path is too long: made by mkdtemp (0700, a random
// name nobody could have taken first), and recorded for the next process.
void EmbeddedCluster::place_socket() {
  if (socket_dir_ == data_dir_) return;
  struct stat st {};
  const bool usable = !socket_dir_.empty() && lstat(socket_dir_.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
                      (st.st_mode & 077) == 0 &&
                      st.st_uid == (as_postgres_ ? getpwnam(kSystemUser)->pw_uid : geteuid());
  if (usable) return;
  std::string pattern = (fs::temp_directory_path() / "evoucher-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw ClusterError("cannot make a private socket directory under /tmp");
  socket_dir_ = pattern;
  if (as_postgres_) chown_to(socket_dir_, *getpwnam(kSystemUser));
  const std::string record = data_dir_ + "/" + kSocketRecord;
  std::ofstream(record) << socket_dir_ << "\n";
  if (as_postgres_) chown_to(record, *getpwnam(kSystemUser));
}

// The cluster's own settings, so that a start by hand (pg_ctl start -D …) is as private as ours:
// no TCP, the socket only in its directory, readable by its owner only.
void EmbeddedCluster::write_settings() const {
  const std::string conf = data_dir_ + "/" + kSettingsFile;
  {
    std::ofstream out(conf);
    out << "# Written by evoucher on every start; edit the service, not this file.\n"
        << "listen_addresses = ''\n"
        << "unix_socket_directories = '" << socket_dir_ << "'\n"
        << "unix_socket_permissions = 0700\n";
    if (!options_.durable) out << "fsync = off\nfull_page_writes = off\n";
  }
  const std::string main_conf = data_dir_ + "/postgresql.conf";
  std::ifstream in(main_conf);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string include = "include = '";  // built piecewise: GCC 12 misreads a + chain here (-Warray-bounds)
  include.append(kSettingsFile).append("'");
  if (text.find(include) == std::string::npos) std::ofstream(main_conf, std::ios::app) << "\n" << include << "\n";
  if (as_postgres_) chown_to(conf, *getpwnam(kSystemUser));
}

int EmbeddedCluster::pg(const std::string& program, const std::vector<std::string>& args, std::string* output) const {
  std::vector<std::string> argv;
  if (as_postgres_) argv = {"runuser", "-u", kSystemUser, "--"};
  argv.push_back(bindir_.empty() ? program : bindir_ + "/" + program);
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, output);
}

bool EmbeddedCluster::running() const {
  if (!fs::exists(data_dir_ + "/PG_VERSION")) return false;
  std::string out;
  return pg("pg_ctl", {"status", "-D", data_dir_}, &out) == 0;
}

void EmbeddedCluster::start() {
  const std::string log = data_dir_ + "/server.log";
  std::string out;
  place_socket();
  write_settings();
  if (pg("pg_ctl", {"start", "-w", "-t", "60", "-D", data_dir_, "-l", log}, &out) != 0)
    throw ClusterError("pg_ctl start failed for " + data_dir_ + ": " + out + " (see " + log + ")");
}

void EmbeddedCluster::stop(bool immediate) {
  if (!running()) return;
  std::string out;
  if (pg("pg_ctl", {"stop", "-w", "-D", data_dir_, "-m", immediate ? "immediate" : "fast"}, &out) != 0)
    throw ClusterError("pg_ctl stop failed for " + data_dir_ + ": " + out);
}

void EmbeddedCluster::ensure_running(const std::string& database) {
  if (!fs::exists(data_dir_ + "/PG_VERSION")) {
    fs::create_directories(data_dir_);
    fs::permissions(data_dir_, fs::perms::owner_all);
    if (as_postgres_) chown_to(data_dir_, *getpwnam(kSystemUser));
    std::string out;
    if (pg("initdb", {"-D", data_dir_, "-U", "evoucher", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"}, &out) != 0)
      throw ClusterError("initdb failed for " + data_dir_ + ": " + out);
  }
  // Started by an older version, with its socket where this one would not look: start it again.
  if (socket_dir_.empty() && running()) stop();
  if (!running()) start();
  pqxx::connection admin(url("postgres"));
  pqxx::nontransaction n(admin);
  if (n.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", database).empty())
    n.exec("CREATE DATABASE " + n.quote_name(database));
}

void EmbeddedCluster::destroy() {
  try {
    stop(true);
  } catch (const ClusterError&) {
  }
  std::error_code ignored;
  fs::remove_all(data_dir_, ignored);
  if (socket_dir_ != data_dir_) fs::remove_all(socket_dir_, ignored);
  if (fs::is_symlink(options_.dir)) fs::remove(options_.dir, ignored);
}

std::string EmbeddedCluster::url(const std::string& database) const {
  return "host=" + socket_dir_ + " user=evoucher dbname=" + database;
}

}  // namespace evoucher::store
