// Districts, members, cards and merchants as operations: each write is idempotent by its
// identifier and audited in its own transaction; each read is one snapshot.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "evoucher/engine/member_money.hpp"
#include "evoucher/ops/admin.hpp"
#include "evoucher/store/ledger.hpp"
#include "evoucher/store/operations.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/store/programs.hpp"

namespace evoucher::ops {

// A creation under a client's identifier: new (201), the same data again (200, both audited), or
// other data under the same identifier (409, nothing written). unknown: a reference it makes (a
// district, a member, an owner) does not exist; its detail says which.
struct Creation {
  store::CreateOutcome outcome = store::CreateOutcome::created;
  std::optional<std::string> unknown;
};

// A district, member or merchant to create.
template <typename Party>
struct Create {
  Party party;
  AdminWrite write;
  std::function<Answer(const Creation&)> render;
};
Result create_district(store::Connection& connection, const Create<store::District>& command);
Result create_member(store::Connection& connection, const Create<store::Member>& command);
Result create_merchant(store::Connection& connection, const Create<store::Merchant>& command);

// A card of a member the caller may write; otherwise `unknown`.
struct CreateCard {
  std::string token;
  std::string member;
  MayWrite may_write;
  AdminWrite write;  // its district is the member's, filled in here
  std::function<Answer(const Creation&, const store::Card&)> render;
};
Result create_card(store::Connection& connection, const CreateCard& command);

struct CardChange {
  std::optional<store::Card> card;         // as it now stands
  std::optional<std::string> not_found;    // the detail of a 404
  std::optional<std::string> not_allowed;  // the detail of a 400: a closed card stays closed
};
struct SetCardStatus {
  std::string token;
  store::CardStatus status = store::CardStatus::active;
  MayWrite may_write;
  AdminWrite write;
  std::function<Answer(const CardChange&)> render;
};
Result set_card_status(store::Connection& connection, const SetCardStatus& command);

// The fields a PATCH sets; the rest stay as they are.
struct MerchantPatch {
  std::optional<store::MerchantStatus> status;
  std::optional<Won> annual_revenue;
  std::optional<std::string> category;
  bool sets_benefit = false;
  std::optional<std::string> benefit_kind;
  std::optional<int> benefit_rate_bp;
  bool sets_owner = false;
  std::optional<std::string> owner_member;
};
struct MerchantChange {
  std::optional<store::Merchant> merchant;  // as it now stands
  std::optional<std::string> not_found;
  std::optional<std::string> unknown_owner;  // the detail of a 400
};
struct UpdateMerchant {
  std::string id;
  MerchantPatch patch;
  MayWrite may_write;
  AdminWrite write;
  std::function<Answer(const MerchantChange&)> render;
};
Result update_merchant(store::Connection& connection, const UpdateMerchant& command);

// Reads.
std::vector<store::District> districts(store::Connection& connection);
std::optional<store::District> find_district(store::Connection& connection, const std::string& code);
std::optional<store::Member> find_member(store::Connection& connection, const std::string& id);
std::optional<store::Merchant> find_merchant(store::Connection& connection, const std::string& id);

struct MerchantView {
  store::Merchant merchant;
  Won payable;
};
std::optional<MerchantView> merchant_view(store::Connection& connection, const std::string& id);

struct MemberView {
  store::Member member;
  engine::Balances balances;
  store::MemberTotals totals;
  store::MonthTotals month;
  std::vector<store::WalletView> wallets;
};
// month: the first day of a Seoul month, "YYYY-MM-01".
std::optional<MemberView> member_view(store::Connection& connection, const std::string& id, const std::string& month);

// A member's statement: every entry of its cash, points and program wallets, newest first.
struct StatementEntry {
  store::StatementLine line;
  std::string balance;                    // cash, points, or program:<id>
  std::optional<std::string> expires_on;  // a program wallet's
};
struct MemberStatement {
  store::Member member;
  std::optional<std::vector<StatementEntry>> entries;  // none when `after` is no cursor of ours
  std::optional<std::string> next;
};
std::optional<MemberStatement> member_statement(store::Connection& connection, const std::string& id, int limit,
                                                const std::optional<std::string>& after);

}  // namespace evoucher::ops
