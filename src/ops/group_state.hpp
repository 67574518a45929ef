// The running state of a group as its commands are decided one by one: the facts as the earlier
// commands left them, and everything those commands write. Pure: no database, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "evoucher/ops/commands.hpp"
#include "evoucher/ops/policy_cache.hpp"
#include "group_facts.hpp"

namespace evoucher::ops {

// What the group's decided commands write: the rows of the group's one set-based write, and
// what the writer applies after it, in the order it applies them.
struct GroupChanges {
  store::GroupWrites rows;  // rows.months and rows.days are filled by the writer from the two below
  std::map<store::MonthKey, store::MonthDelta> month_deltas;
  std::set<store::DayKey> days_counted;  // the days this group's payments moved
  std::vector<store::CancellationRecord> cancellations;
  struct Clawback {
    std::string district;
    std::int64_t payment_id = 0;
    std::optional<std::int64_t> cancellation_id;  // none for a confirmed fraud flag
    std::string business_date;
    store::PostedAmounts posted, unfunded;
    Won taken;
  };
  std::vector<Clawback> clawbacks;
  std::vector<PaymentKey> forfeits;
  std::vector<store::FlagReview> reviews;
  std::set<std::string> suspensions;  // merchants
  std::set<DistrictKey> payables;     // (district, merchant) that approved payments credit
  // Program wallets to open, by program in grant order: (district, member).
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> wallets_to_open;
  std::vector<std::pair<std::string, store::GrantRow>> grant_rows;  // (program, grant)
  std::vector<std::pair<std::string, store::AccountSpec>> pool_accounts;
};

struct GroupState {
  GroupFacts facts;
  GroupChanges changes;
  std::size_t next_id = 0;  // into facts.ids
};

// What a decider may need beyond the facts read up front. Policy rules are decoded on first use
// (a version not yet cached is read then), and a load stamped by the clock may fall in a month no
// one asked for, read then under the member's lock. The clock itself is read here too, and only
// by the deciders that stamp a time: a load or refund that named none, and a flag's review.
// Tests answer all three from memory.
class LateFacts {
 public:
  virtual ~LateFacts() = default;
  virtual PoliciesInForce policies_at(const std::vector<store::PolicyVersion>& versions, const std::string& district,
                                      Timestamp at) = 0;
  virtual PoliciesInForce policies_by_id(std::optional<std::int64_t> city_id,
                                         std::optional<std::int64_t> district_id) = 0;
  virtual store::MonthTotals month(const store::MonthKey& key) = 0;
  virtual Timestamp now() = 0;
};

// ---- shared by the deciders ----

std::string won_text(Won w);
// The Seoul date where the longest burst window before `at` starts.
std::string burst_window_day(Timestamp at);
engine::MerchantTerms terms_of(const std::string& district, const std::string& category, Won revenue, bool active,
                               const std::optional<std::string>& kind, const std::optional<int>& rate);
// An approved payment as the engine judges its cancellations and forfeits: what it earns now,
// and the program money it still holds, with each program's pool.
engine::PaymentState payment_state(const store::PaymentRow& row, std::map<std::string, std::int64_t>& program_pools);

// A repeat of a key answers the first answer; the same key with another request is refused.
// Covers keys stored earlier and keys answered earlier in this group.
template <typename Key>
std::optional<Result> earlier(const std::map<Key, store::StoredKey>& stored, const Key& key,
                              const std::string& request_hash) {
  const auto found = stored.find(key);
  if (found == stored.end()) return std::nullopt;
  Result r;
  if (found->second.request_hash != request_hash) {
    r.key_reused = true;
    return r;
  }
  r.answer = {found->second.status, found->second.answer};
  return r;
}
// Stores a judged answer under its admin key, with the group.
Result keep(GroupState& group, const DistrictKey& key, const std::string& request_hash, Answer answer);
// Stores a judged processor answer under its event, with the group.
Result keep(GroupState& group, store::EventRow event, Answer answer);
// Writes the admin command's audit row, when it has one, with the group.
void audit(GroupState& group, const std::optional<store::AuditEntry>& who, std::string resource, const Answer& answer);
// Stores a judged admin answer under its key, with its audit row when the command has one.
template <typename AdminCommand>
Result keep_audited(GroupState& group, const AdminCommand& c, const DistrictKey& key, std::string resource,
                    Answer answer) {
  audit(group, c.audit, std::move(resource), answer);
  return keep(group, key, c.request_hash, std::move(answer));
}

std::pair<std::int64_t, std::int64_t> next_ids(GroupState& group);  // (operation id, journal id)
Won& balance(GroupState& group, const std::string& district, const std::string& account);
store::MonthTotals& month(GroupState& group, const std::string& district, const std::string& member,
                          const std::string& month);
// Moves a member's month, for later commands of the group and for the group's one upsert.
void add_to_month(GroupState& group, const std::string& district, const std::string& member, const std::string& month,
                  Won loaded, Won eligible_spent);

}  // namespace evoucher::ops
