// CSV answers: content negotiation, and exports streamed from an export worker inside one
// read-only snapshot, a chunk at a time.
#include <spdlog/spdlog.h>

#include "endpoints.hpp"
#include "evoucher/store/reports.hpp"

namespace evoucher::api {
namespace {

// A chunk is sent once it holds this much; at most BodyStream's window of them wait.
constexpr std::size_t kChunkBytes = 64 * 1024;

Response csv_head(const std::string& filename) {
  Response r;
  r.content_type = "text/csv; charset=utf-8";
  r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + filename + "\"");
  return r;
}

bool names_csv(const std::string& accept) {
  std::string lower = accept;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("text/csv") != std::string::npos;
}

}  // namespace

std::optional<bool> wants_csv(const Request& request, const std::map<std::string, std::string>& query,
                              std::string& problem_detail) {
  if (const auto f = query.find("format"); f != query.end()) {
    if (f->second == "csv") return true;
    if (f->second == "json") return false;
    problem_detail = "query parameter 'format' must be csv or json";
    return std::nullopt;
  }
  const auto* accept = request.header("accept");
  return accept && names_csv(*accept);
}

bool CsvExport::send() {
  start_();
  const bool open = body_->write(std::move(buffer_));
  buffer_.clear();
  buffer_.reserve(kChunkBytes + 1024);
  return open;
}

bool CsvExport::more() { return buffer_.size() < kChunkBytes || send(); }

bool CsvExport::close() { return buffer_.empty() || send(); }

void stream_csv(Service& service, std::string filename, std::initializer_list<std::string_view> header,
                std::function<void(store::Connection&, CsvExport&)> rows, Reply reply) {
  std::string first(kUtf8Bom);
  append_csv_header(first, header);
  service.run_read(
      service.exports(),
      [&service, filename = std::move(filename), first = std::move(first), rows = std::move(rows)](
          store::Connection& c, const store::ReadPosition&, Reply answer) {
        auto body = std::make_shared<BodyStream>();
        service.track(body);
        bool started = false;
        CsvExport out(body, [&] {
          if (started) return;
          started = true;
          auto head = csv_head(filename);
          head.stream = body;
          answer(std::move(head));
        });
        out.buffer() = first;
        try {
          rows(c, out);
          out.close();
          body->finish(true);
        } catch (const std::exception& e) {
          if (!started) throw;  // answered 503 or 500 by run_on
          spdlog::error("export {} broke off: {}", filename, store::redacted(e.what()));
          body->finish(false);
        }
      },
      std::move(reply), {"too many exports are running; try again shortly", "the export failed"});
}

Response csv_answer(std::string filename, std::string body) {
  auto r = csv_head(filename);
  r.body = std::string(kUtf8Bom) + body;
  return r;
}

}  // namespace evoucher::api
