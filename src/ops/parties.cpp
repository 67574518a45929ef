// Districts, members, cards and merchants: each write in its own audited transaction, each read
// in one snapshot.
#include "evoucher/ops/parties.hpp"

#include <map>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/districts.hpp"

namespace evoucher::ops {
namespace {

// A creation's answer: committed with its audit row unless it conflicts or names what is not.
Result finish_creation(store::Tx& tx, const AdminWrite& write, const std::string& resource, const Creation& creation,
                       Answer answer) {
  if (creation.unknown || creation.outcome == store::CreateOutcome::conflict) return answered(std::move(answer));
  return commit_write(tx, write, resource, std::move(answer));
}

std::optional<std::string> unknown_owner(store::Tx& tx, const std::optional<std::string>& owner) {
  if (!owner || store::find_member(tx, *owner)) return std::nullopt;
  return "field 'owner_member': no member " + *owner;
}

}  // namespace

Result create_district(store::Connection& connection, const Create<store::District>& c) {
  store::Tx tx(connection);
  const Creation creation{store::create_district(tx, c.party), std::nullopt};
  return finish_creation(tx, c.write, "district:" + c.party.code, creation, c.render(creation));
}

Result create_member(store::Connection& connection, const Create<store::Member>& c) {
  store::Tx tx(connection);
  Creation creation;
  if (!store::find_district(tx, c.party.district)) creation.unknown = "field 'district': no district " + c.party.district;
  else creation.outcome = store::create_member(tx, c.party);
  return finish_creation(tx, c.write, "member:" + c.party.id, creation, c.render(creation));
}

Result create_card(store::Connection& connection, const CreateCard& c) {
  store::Tx tx(connection);
  Creation creation;
  const auto member = store::find_member(tx, c.member);
  store::Card card{c.token, c.member, store::CardStatus::active, member ? member->district : std::string()};
  if (!member || !c.may_write(member->district)) creation.unknown = "field 'member': no member " + c.member;
  else creation.outcome = store::create_card(tx, c.token, c.member);
  auto write = c.write;
  write.audit.district = card.district;
  return finish_creation(tx, write, "card:" + c.token, creation, c.render(creation, card));
}

Result set_card_status(store::Connection& connection, const SetCardStatus& c) {
  store::Tx tx(connection);
  CardChange change;
  auto card = store::find_card(tx, c.token);
  if (!card || !c.may_write(card->district)) {
    change.not_found = "no such card";
    return answered(c.render(change));
  }
  if (card->status == store::CardStatus::closed && c.status != store::CardStatus::closed) {
    change.not_allowed = "field 'status': a closed card cannot be reopened";
    return answered(c.render(change));
  }
  store::set_card_status(tx, card->token, c.status);
  card->status = c.status;
  change.card = card;
  auto write = c.write;
  write.audit.district = card->district;
  return commit_write(tx, write, "card:" + card->token, c.render(change));
}

Result create_merchant(store::Connection& connection, const Create<store::Merchant>& c) {
  store::Tx tx(connection);
  Creation creation;
  if (!store::find_district(tx, c.party.district))
    creation.unknown = "field 'district': no district " + c.party.district;
  else if (auto bad = unknown_owner(tx, c.party.owner_member))
    creation.unknown = std::move(bad);
  else
    creation.outcome = store::create_merchant(tx, c.party);
  return finish_creation(tx, c.write, "merchant:" + c.party.id, creation, c.render(creation));
}

Result update_merchant(store::Connection& connection, const UpdateMerchant& c) {
  store::Tx tx(connection);
  MerchantChange change;
  auto m = store::find_merchant(tx, c.id, /*lock=*/true);
  if (!m || !c.may_write(m->district)) {
    change.not_found = "no merchant " + c.id;
    return answered(c.render(change));
  }
  const auto& p = c.patch;
  if (p.status) m->status = *p.status;
  if (p.annual_revenue) m->annual_revenue = *p.annual_revenue;
  if (p.category) m->category = *p.category;
  if (p.sets_benefit) m->benefit_kind = p.benefit_kind, m->benefit_rate_bp = p.benefit_rate_bp;
  if (p.sets_owner) m->owner_member = p.owner_member;
  if ((change.unknown_owner = unknown_owner(tx, m->owner_member))) return answered(c.render(change));
  store::update_merchant(tx, *m);
  change.merchant = m;
  auto write = c.write;
  write.audit.district = m->district;
  return commit_write(tx, write, "merchant:" + m->id, c.render(change));
}

std::vector<store::District> districts(store::Connection& connection) {
  return reading(connection, [](store::Tx& tx) { return store::list_districts(tx); });
}

std::optional<store::District> find_district(store::Connection& connection, const std::string& code) {
  return reading(connection, [&](store::Tx& tx) { return store::find_district(tx, code); });
}

std::optional<store::Member> find_member(store::Connection& connection, const std::string& id) {
  return reading(connection, [&](store::Tx& tx) { return store::find_member(tx, id); });
}

std::optional<store::Merchant> find_merchant(store::Connection& connection, const std::string& id) {
  return reading(connection, [&](store::Tx& tx) { return store::find_merchant(tx, id); });
}

std::optional<MerchantView> merchant_view(store::Connection& connection, const std::string& id) {
  store::Tx tx(connection);
  auto m = store::find_merchant(tx, id);
  if (!m) return std::nullopt;
  const auto payable = store::merchant_payable(tx, m->id);
  return MerchantView{std::move(*m), payable};
}

std::optional<MemberView> member_view(store::Connection& connection, const std::string& id, const std::string& month) {
  store::Tx tx(connection);
  auto member = store::find_member(tx, id);
  if (!member) return std::nullopt;
  MemberView v;
  v.balances = {store::balance(tx, member->district, accounts::member_cash(member->id)).value_or(Won(0)),
                store::balance(tx, member->district, accounts::member_points(member->id)).value_or(Won(0))};
  v.totals = store::member_totals(tx, member->district, member->id);
  v.month = store::member_month(tx, member->district, member->id, month);
  v.wallets = store::member_wallets(tx, member->district, member->id);
  v.member = std::move(*member);
  return v;
}

std::optional<MemberStatement> member_statement(store::Connection& connection, const std::string& id, int limit,
                                                const std::optional<std::string>& after) {
  store::Tx tx(connection);
  auto member = store::find_member(tx, id);
  if (!member) return std::nullopt;
  // Cash, points, and each program wallet, named "program:<id>" with its expiry.
  std::map<std::string, std::pair<std::string, std::optional<std::string>>> names{
      {accounts::member_cash(member->id), {"cash", std::nullopt}},
      {accounts::member_points(member->id), {"points", std::nullopt}}};
  for (const auto& w : store::member_wallets(tx, member->district, member->id))
    names[accounts::member_program(w.program, member->id)] = {"program:" + w.program, w.expires_on};
  std::vector<std::string> keys;
  for (const auto& [key, name] : names) keys.push_back(key);
  MemberStatement out;
  auto page = store::statement(tx, member->district, keys, limit, after);
  out.member = std::move(*member);
  if (!page) return out;
  out.entries.emplace();
  for (auto& line : page->lines) {
    const auto& [name, expires_on] = names.at(line.account);
    out.entries->push_back({std::move(line), name, expires_on});
  }
  out.next = std::move(page->next);
  return out;
}

}  // namespace evoucher::ops
