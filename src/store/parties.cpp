// SQL for the registries: members, cards, merchants, policies and tokens.
#include "evoucher/store/parties.hpp"

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/ledger.hpp"
#include "pq.hpp"

namespace evoucher::store {
namespace {

const Statement kInsertMember{
    "member_insert", "INSERT INTO members (id, district) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING 1"};
const std::string kSelectMember = "SELECT id, district FROM members WHERE id = $1";
const Statement kFindMember{"member_find", kSelectMember};
const Statement kLockMember{"member_lock", kSelectMember + " FOR UPDATE"};

const Statement kInsertCard{
    "card_insert",
    "INSERT INTO cards (token, member_id) VALUES ($1, $2) ON CONFLICT (token) DO NOTHING RETURNING 1"};
const Statement kFindCard{
    "card_find",
    "SELECT c.token, c.member_id, c.status, m.district FROM cards c JOIN members m ON m.id = c.member_id "
    "WHERE c.token = $1"};
const Statement kCardStatus{
    "card_status", "UPDATE cards SET status = $2, updated_at = now() WHERE token = $1"};

const Statement kInsertMerchant{
    "merchant_insert",
    "INSERT INTO merchants (id, business_no, name, district, category, annual_revenue, status, benefit_kind, "
    "benefit_rate_bp, owner_member) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING "
    "RETURNING 1"};
const std::string kSelectMerchant =
    "SELECT id, business_no, name, district, category, annual_revenue, status, benefit_kind, benefit_rate_bp, "
    "owner_member FROM merchants WHERE id = $1";
const Statement kFindMerchant{"merchant_find", kSelectMerchant};
const Statement kLockMerchant{"merchant_lock", kSelectMerchant + " FOR UPDATE"};
const Statement kUpdateMerchant{
    "merchant_update",
    "UPDATE merchants SET category = $2, annual_revenue = $3, status = $4, benefit_kind = $5, benefit_rate_bp = $6, "
    "owner_member = $7, updated_at = now() WHERE id = $1"};
const Statement kMerchantPayable{
    "merchant_payable", "SELECT coalesce(sum(balance), 0)::bigint AS payable FROM accounts WHERE key = $1"};

const Statement kInsertPolicy{
    "policy_insert",
    "INSERT INTO policies (scope, effective_from, rules) VALUES ($1, $2::timestamptz, $3::jsonb) "
    "ON CONFLICT (scope, effective_from) DO NOTHING RETURNING id"};
const Statement kPolicySame{
    "policy_same",
    "SELECT id, rules = $3::jsonb AS same_rules FROM policies WHERE scope = $1 AND effective_from = $2::timestamptz"};
// effective_from_utc is not named effective_from: kPolicyAt orders by the timestamptz column, and
// ORDER BY takes a bare name for an output column first.
const std::string kSelectPolicy =
    "SELECT id, scope, "
    "       to_char(effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS effective_from_utc, "
    "       rules::text AS rules "
    "FROM policies ";
const Statement kPolicyAt{
    "policy_at",
    kSelectPolicy + "WHERE scope = $1 AND effective_from <= $2::timestamptz ORDER BY effective_from DESC LIMIT 1"};
const Statement kPolicyById{"policy_by_id", kSelectPolicy + "WHERE id = $1"};

const Statement kInsertToken{
    "token_insert", "INSERT INTO api_tokens (token_hash, role, district, name) VALUES ($1, $2, $3, $4)"};
const Statement kAllTokens{"token_all", "SELECT token_hash, role, district, name FROM api_tokens"};
const Statement kFindToken{
    "token_find", "SELECT role, district, name FROM api_tokens WHERE token_hash = $1"};

Merchant merchant_from(const pqxx::row& r) {
  Merchant m;
  m.id = r["id"].as<std::string>();
  m.business_no = r["business_no"].as<std::string>();
  m.name = r["name"].as<std::string>();
  m.district = r["district"].as<std::string>();
  m.category = r["category"].as<std::string>();
  m.annual_revenue = won(r["annual_revenue"]);
  m.status = stored_merchant_status(r["status"].c_str());
  m.benefit_kind = opt<std::string>(r["benefit_kind"]);
  m.benefit_rate_bp = opt<int>(r["benefit_rate_bp"]);
  m.owner_member = opt<std::string>(r["owner_member"]);
  return m;
}

PolicyRow policy_from(const pqxx::row& r) {
  return PolicyRow{r["id"].as<std::int64_t>(), r["scope"].as<std::string>(), timestamp(r["effective_from_utc"]),
                   r["rules"].as<std::string>()};
}

TokenRow token_from(const pqxx::row& r) {
  return TokenRow{r["role"].as<std::string>(), opt<std::string>(r["district"]), r["name"].as<std::string>()};
}

}  // namespace

const char* to_string(CardStatus status) {
  switch (status) {
    case CardStatus::active: return "active";
    case CardStatus::suspended: return "suspended";
    case CardStatus::closed: return "closed";
  }
  return "closed";
}

const char* to_string(MerchantStatus status) {
  return status == MerchantStatus::active ? "active" : "suspended";
}

std::optional<CardStatus> parse_card_status(std::string_view text) {
  if (text == "active") return CardStatus::active;
  if (text == "suspended") return CardStatus::suspended;
  if (text == "closed") return CardStatus::closed;
  return std::nullopt;
}

std::optional<MerchantStatus> parse_merchant_status(std::string_view text) {
  if (text == "active") return MerchantStatus::active;
  if (text == "suspended") return MerchantStatus::suspended;
  return std::nullopt;
}

CardStatus stored_card_status(std::string_view text) {
  if (const auto status = parse_card_status(text)) return *status;
  throw std::logic_error("a card with status '" + std::string(text) + "'");
}

MerchantStatus stored_merchant_status(std::string_view text) {
  if (const auto status = parse_merchant_status(text)) return *status;
  throw std::logic_error("a merchant with status '" + std::string(text) + "'");
}

CreateOutcome create_member(Tx& tx, const Member& member) {
  const bool inserted = with_unavailable_mapped([&] { return !run(tx, kInsertMember, member.id, member.district).empty(); });
  if (!inserted) return find_member(tx, member.id) == member ? CreateOutcome::existing : CreateOutcome::conflict;
  open_account(tx, member.district, {accounts::member_cash(member.id), Normal::credit, Won(0)});
  open_account(tx, member.district, {accounts::member_points(member.id), Normal::credit, std::nullopt});
  return CreateOutcome::created;
}

std::optional<Member> find_member(Tx& tx, const std::string& id, bool lock) {
  return with_unavailable_mapped([&]() -> std::optional<Member> {
    const auto rows = run(tx, lock ? kLockMember : kFindMember, id);
    if (rows.empty()) return std::nullopt;
    return Member{rows[0]["id"].as<std::string>(), rows[0]["district"].as<std::string>()};
  });
}

CreateOutcome create_card(Tx& tx, const std::string& token, const std::string& member_id) {
  const bool inserted = with_unavailable_mapped([&] { return !run(tx, kInsertCard, token, member_id).empty(); });
  if (inserted) return CreateOutcome::created;
  const auto existing = find_card(tx, token);
  return existing && existing->member_id == member_id ? CreateOutcome::existing : CreateOutcome::conflict;
}

std::optional<Card> find_card(Tx& tx, const std::string& token) {
  return with_unavailable_mapped([&]() -> std::optional<Card> {
    const auto rows = run(tx, kFindCard, token);
    if (rows.empty()) return std::nullopt;
    const auto& r = rows[0];
    return Card{r["token"].as<std::string>(), r["member_id"].as<std::string>(), stored_card_status(r["status"].c_str()),
                r["district"].as<std::string>()};
  });
}

void set_card_status(Tx& tx, const std::string& token, CardStatus status) {
  with_unavailable_mapped([&] {
    run(tx, kCardStatus, token, std::string(to_string(status)));
    return 0;
  });
}

CreateOutcome create_merchant(Tx& tx, const Merchant& m) {
  const bool inserted = with_unavailable_mapped([&] {
    return !run(tx, kInsertMerchant, m.id, m.business_no, m.name, m.district, m.category, m.annual_revenue.value(),
                std::string(to_string(m.status)), m.benefit_kind, m.benefit_rate_bp, m.owner_member)
                .empty();
  });
  if (inserted) return CreateOutcome::created;
  return find_merchant(tx, m.id) == m ? CreateOutcome::existing : CreateOutcome::conflict;
}

std::optional<Merchant> find_merchant(Tx& tx, const std::string& id, bool lock) {
  return with_unavailable_mapped([&]() -> std::optional<Merchant> {
    const auto rows = run(tx, lock ? kLockMerchant : kFindMerchant, id);
    if (rows.empty()) return std::nullopt;
    return merchant_from(rows[0]);
  });
}

void update_merchant(Tx& tx, const Merchant& m) {
  with_unavailable_mapped([&] {
    run(tx, kUpdateMerchant, m.id, m.category, m.annual_revenue.value(), std::string(to_string(m.status)), m.benefit_kind, m.benefit_rate_bp,
        m.owner_member);
    return 0;
  });
}

Won merchant_payable(Tx& tx, const std::string& id) {
  return with_unavailable_mapped(
      [&] { return won(run(tx, kMerchantPayable, accounts::merchant_payable(id))[0]["payable"]); });
}

std::pair<CreateOutcome, PolicyRow> create_policy(Tx& tx, const std::string& scope, Timestamp effective_from,
                                                  const std::string& rules_json) {
  return with_unavailable_mapped([&]() -> std::pair<CreateOutcome, PolicyRow> {
    const auto at = format_rfc3339(effective_from);
    const auto inserted = run(tx, kInsertPolicy, scope, at, rules_json);
    if (!inserted.empty()) return {CreateOutcome::created, *policy_by_id(tx, inserted[0]["id"].as<std::int64_t>())};
    const auto same = run(tx, kPolicySame, scope, at, rules_json);
    const auto row = *policy_by_id(tx, same.at(0)["id"].as<std::int64_t>());
    return {same[0]["same_rules"].as<bool>() ? CreateOutcome::existing : CreateOutcome::conflict, row};
  });
}

std::optional<PolicyRow> policy_at(Tx& tx, const std::string& scope, Timestamp at) {
  return with_unavailable_mapped([&]() -> std::optional<PolicyRow> {
    const auto rows = run(tx, kPolicyAt, scope, format_rfc3339(at));
    if (rows.empty()) return std::nullopt;
    return policy_from(rows[0]);
  });
}

std::optional<PolicyRow> policy_by_id(Tx& tx, std::int64_t id) {
  return with_unavailable_mapped([&]() -> std::optional<PolicyRow> {
    const auto rows = run(tx, kPolicyById, id);
    if (rows.empty()) return std::nullopt;
    return policy_from(rows[0]);
  });
}

void create_token(Tx& tx, const std::string& token_hash, const TokenRow& token) {
  with_unavailable_mapped([&] {
    run(tx, kInsertToken, token_hash, token.role, token.district, token.name);
    return 0;
  });
}

std::optional<TokenRow> find_token(Tx& tx, const std::string& token_hash) {
  return with_unavailable_mapped([&]() -> std::optional<TokenRow> {
    const auto rows = run(tx, kFindToken, token_hash);
    if (rows.empty()) return std::nullopt;
    return token_from(rows[0]);
  });
}

std::map<std::string, TokenRow> all_tokens(Tx& tx) {
  return with_unavailable_mapped([&] {
    std::map<std::string, TokenRow> out;
    for (const auto& r : run(tx, kAllTokens)) out[r["token_hash"].as<std::string>()] = token_from(r);
    return out;
  });
}

}  // namespace evoucher::store
