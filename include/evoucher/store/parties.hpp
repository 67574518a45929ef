// Members, cards, merchants, policy versions and admin tokens.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/store/connection.hpp"
#include "evoucher/store/districts.hpp"
#include "evoucher/time.hpp"

namespace evoucher::store {

struct Member {
  std::string id;
  std::string district;
  bool operator==(const Member&) const = default;
};
// Creates the member and its cash (floor 0) and points accounts in its district.
CreateOutcome create_member(Tx& tx, const Member& member);
// lock: take the member's row lock, which serialises every money movement of one member.
std::optional<Member> find_member(Tx& tx, const std::string& id, bool lock = false);

// Statuses as stored, and as the API shows them (to_string). The readers parse them; a stored
// value outside these is a broken invariant, not input, and throws.
using engine::CardStatus;  // active, suspended, closed
enum class MerchantStatus { active, suspended };
const char* to_string(CardStatus status);
const char* to_string(MerchantStatus status);
std::optional<CardStatus> parse_card_status(std::string_view text);
std::optional<MerchantStatus> parse_merchant_status(std::string_view text);
CardStatus stored_card_status(std::string_view text);
MerchantStatus stored_merchant_status(std::string_view text);

struct Card {
  std::string token;
  std::string member_id;
  CardStatus status = CardStatus::active;
  std::string district;  // the member's issuing district
};
CreateOutcome create_card(Tx& tx, const std::string& token, const std::string& member_id);
std::optional<Card> find_card(Tx& tx, const std::string& token);
void set_card_status(Tx& tx, const std::string& token, CardStatus status);

struct Merchant {
  std::string id;
  std::string business_no;
  std::string name;
  std::string district;
  std::string category;
  Won annual_revenue;
  MerchantStatus status = MerchantStatus::active;
  std::optional<std::string> benefit_kind;  // pre_discount or merchant_cashback
  std::optional<int> benefit_rate_bp;
  std::optional<std::string> owner_member;  // the registered owner, a member, when known
  bool operator==(const Merchant&) const = default;
};
CreateOutcome create_merchant(Tx& tx, const Merchant& merchant);
std::optional<Merchant> find_merchant(Tx& tx, const std::string& id, bool lock = false);
void update_merchant(Tx& tx, const Merchant& merchant);
// What the platform owes the merchant now, over every issuing district's sub-account.
Won merchant_payable(Tx& tx, const std::string& id);

struct PolicyRow {
  std::int64_t id = 0;
  std::string scope;
  Timestamp effective_from;
  std::string rules_json;
};
// The same scope and effective_from again is `existing` with equal rules, else `conflict`.
std::pair<CreateOutcome, PolicyRow> create_policy(Tx& tx, const std::string& scope, Timestamp effective_from,
                                                  const std::string& rules_json);
std::optional<PolicyRow> policy_at(Tx& tx, const std::string& scope, Timestamp at);
std::optional<PolicyRow> policy_by_id(Tx& tx, std::int64_t id);

struct TokenRow {
  std::string role;
  std::optional<std::string> district;
  std::string name;
};
void create_token(Tx& tx, const std::string& token_hash, const TokenRow& token);
std::optional<TokenRow> find_token(Tx& tx, const std::string& token_hash);
// Every token, by its hash.
std::map<std::string, TokenRow> all_tokens(Tx& tx);

}  // namespace evoucher::store
