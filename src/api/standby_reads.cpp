// Reads on the standby: where a read ran, and the way to the primary.
#include "standby_reads.hpp"

#include "evoucher/ops/platform.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace evoucher::api {
namespace {

// A read connection that landed on the primary (no standby answered when it connected) tries the
// standby again after this long.
constexpr auto kBackToStandby = std::chrono::seconds(30);

void on_primary(const std::shared_ptr<const ReadGate>& gate, const std::shared_ptr<Service::ReadWork>& work,
                Reply reply, JobAnswers answers, Fallback fallback) {
  const store::ReadPosition primary;
  if (fallback == Fallback::own_connection) {
    store::Connection own(gate->primary.url(), gate->primary.options());
    return (*work)(own, primary, with_read_headers(std::move(reply), primary));
  }
  read_on(gate->primary, primary, *work, std::move(reply), answers);
}

}  // namespace

void read_on(store::WorkerPool& pool, const store::ReadPosition& at, Service::ReadWork work, Reply reply,
             JobAnswers answers) {
  auto shared_work = std::make_shared<Service::ReadWork>(std::move(work));
  run_on(
      pool, [shared_work, at](store::Connection& c, Reply a) { (*shared_work)(c, at, with_read_headers(std::move(a), at)); },
      std::move(reply), answers);
}

Reply with_read_headers(Reply reply, const store::ReadPosition& at) {
  return [reply = std::move(reply), at](Response r) {
    const auto set = [&](const char* name, std::string value) {
      for (const auto& [n, v] : r.headers)
        if (n == name) return;
      r.headers.emplace_back(name, std::move(value));
    };
    char stale[32];
    std::snprintf(stale, sizeof stale, "%.3f", at.stale_s);
    set("X-Evoucher-Read-From", at.standby ? "standby" : "primary");
    set("X-Evoucher-Stale-Seconds", stale);
    reply(std::move(r));
  };
}

void read_after(const std::shared_ptr<const ReadGate>& gate, store::WorkerPool& pool, std::string primary_lsn,
                Service::ReadWork work, Reply reply, JobAnswers answers, Fallback fallback) {
  auto shared_work = std::make_shared<Service::ReadWork>(std::move(work));
  run_on(
      pool,
      [gate, lsn = std::move(primary_lsn), shared_work, answers, fallback](store::Connection& c, Reply answer) {
        std::optional<store::ReadPosition> at;
        try {
          at = ops::read_position(c, lsn);
        } catch (const std::exception& e) {
          spdlog::warn("a read connection could not say where it is; reading on the primary: {}",
                       store::redacted(e.what()));
          c.retire();
        }
        if (at && !at->standby && c.age() > kBackToStandby) c.retire();
        if (!at || at->stale_s > gate->max_stale_s)
          return on_primary(gate, shared_work, std::move(answer), answers, fallback);
        try {
          (*shared_work)(c, *at, with_read_headers(std::move(answer), *at));
        } catch (...) {
          if (at->standby && store::is_recovery_conflict(std::current_exception()))
            throw store::Unavailable("the standby cancelled this read (a recovery conflict)");
          throw;
        }
      },
      std::move(reply), answers);
}

}  // namespace evoucher::api
