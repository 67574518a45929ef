// One group of money movements: read the facts under the group's locks, decide each command in
// arrival order with its pure decider, and write the group in a few set-based statements.
#include "group_run.hpp"

#include "deciders.hpp"
#include "evoucher/store/operations.hpp"
#include "group_facts.hpp"
#include "group_write.hpp"

namespace evoucher::ops {
namespace {

// Late facts from the group's transaction: policy versions decoded through the cache, and a
// month no one asked for read under the member's lock, and the clock.
class TxLateFacts final : public LateFacts {
 public:
  TxLateFacts(store::Tx& tx, PolicyCache& policies) : tx_(tx), policies_(policies) {}
  PoliciesInForce policies_at(const std::vector<store::PolicyVersion>& versions, const std::string& district,
                              Timestamp at) override {
    return policies_.at(tx_, versions, district, at);
  }
  PoliciesInForce policies_by_id(std::optional<std::int64_t> city_id,
                                 std::optional<std::int64_t> district_id) override {
    return policies_.by_id(tx_, city_id, district_id);
  }
  store::MonthTotals month(const store::MonthKey& key) override {
    return store::member_month(tx_, key.district, key.member, key.month);
  }
  Timestamp now() override { return now_utc(); }

 private:
  store::Tx& tx_;
  PolicyCache& policies_;
};

}  // namespace

GroupOutcome run_group(store::Tx& tx, const std::vector<const Command*>& commands, PolicyCache& policies,
                       const PayableIds& payable_ids) {
  std::vector<std::pair<DistrictKey, std::int64_t>> learned_payables;
  GroupState group{read_group_facts(tx, commands, payable_ids, learned_payables), {}, 0};
  TxLateFacts late(tx, policies);
  GroupOutcome out;
  out.results.reserve(commands.size());
  for (const auto* c : commands)
    out.results.push_back(std::visit([&](const auto& command) { return decide(command, group, late); }, *c));
  write_group_changes(tx, group, std::move(learned_payables), out);
  return out;
}

}  // namespace evoucher::ops
