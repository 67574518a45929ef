// The admin console (/console/): plain HTML, CSS and JavaScript read once from console_dir at
// start, and Chart.js from Debian's libjs-chart.js. The page signs in with an admin token and
// calls the same API as everyone else; GET /v1/me tells it whose token it holds.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "endpoints.hpp"

namespace evoucher::api {
namespace {

using json = nlohmann::json;

struct Asset {
  std::string content_type, body;
};

const char* media_type(const std::filesystem::path& file) {
  const auto ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  return nullptr;
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string console_dir(const Config& config) {
  if (!config.console_dir.empty()) return config.console_dir;
  if (std::filesystem::is_directory("src/console")) return "src/console";
  if (std::filesystem::is_directory("/usr/share/evoucher/console")) return "/usr/share/evoucher/console";
  return std::string(EVOUCHER_SOURCE_DIR) + "/src/console";
}

std::map<std::string, Asset> load_console(const Config& config) {
  std::map<std::string, Asset> assets;
  std::error_code ec;
  const auto dir = console_dir(config);
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const auto* type = entry.is_regular_file() ? media_type(entry.path()) : nullptr;
    if (!type) continue;
    if (auto body = read_file(entry.path())) assets[entry.path().filename().string()] = {type, std::move(*body)};
  }
  if (!assets.count("index.html")) {
    spdlog::warn("the console is not served: no index.html in {}", dir);
    return {};
  }
  if (auto chart = read_file(config.chartjs_path)) {
    assets["chart.js"] = {"text/javascript; charset=utf-8", std::move(*chart)};
  } else {
    spdlog::warn("the console draws no charts: cannot read chartjs_path {}", config.chartjs_path);
  }
  return assets;
}

// The page runs only its own scripts and talks only to this origin; no one may frame it.
void console_headers(Response& r) {
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                         "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Cache-Control", "no-cache");
}

}  // namespace

void add_console_routes(Service& service) {
  auto assets = std::make_shared<const std::map<std::string, Asset>>(load_console(service.config()));
  auto serve = [assets](const std::string& name, Reply& reply) {
    const auto found = assets->find(name);
    if (found == assets->end()) {
      reply(problem(ErrorCode::not_found, assets->empty() ? "the console is not installed on this server"
                                                          : "no console file " + name));
      return;
    }
    Response r;
    r.content_type = found->second.content_type;
    r.body = found->second.body;
    console_headers(r);
    reply(std::move(r));
  };
  service.router().add("GET", "/console", [](const Request&, const PathParams&, Reply reply) {
    Response r;
    r.status = 308;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "/console/\n";
    r.headers.emplace_back("Location", "/console/");
    reply(std::move(r));
  });
  service.router().add("GET", "/console/",
                       [serve](const Request&, const PathParams&, Reply reply) { serve("index.html", reply); });
  service.router().add("GET", "/console/{file}", [serve](const Request&, const PathParams& params, Reply reply) {
    serve(params.at("file"), reply);
  });
  service.admin_route("GET", "/v1/me", [](store::Connection&, const Request&, const PathParams&, const Principal& who) {
    return json_answer(200, {{"name", who.name},
                             {"role", to_string(who.role)},
                             {"district", who.district ? json(*who.district) : json(nullptr)}});
  });
}

}  // namespace evoucher::api
