// The money path's reads, set-based: a group's member locks and its facts, each one statement
// whatever the group's size. Lookups take one array per key column and probe the table once per
// element through a LATERAL subquery. Its LIMIT 1 (or its row lock) keeps the planner from
// flattening it into a join, so the plan stays a nested loop of key probes whatever the
// statistics say (a table analyzed while empty was otherwise read whole for every row), pruned to
// one partition per row at run time. Results come back as JSON arrays, one per kind of fact.
#include "evoucher/store/money_path_reads.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <set>

#include "money_sql.hpp"

namespace evoucher::store {
namespace {

using json = nlohmann::json;
using money_sql::Params;
using money_sql::columns;
using money_sql::distinct_array;
using money_sql::run_with;

// Each money-path statement comes in variants: a group of payments alone does not name the
// tables only cancellations, loads and refunds need. With generic plans, PostgreSQL 15 locks and
// opens every partition of every table a statement names, on every execution, even when its
// arrays are empty.

std::string lock_members_sql(bool payments) {
  Params p;
  // Each parameter is numbered in its own statement: the operands of one `+` chain are unsequenced.
  const auto cards = p.add("text[]");
  std::string sql =
      "WITH found_cards AS ( "
      "  SELECT c.* FROM unnest(" + cards + ") AS x(token) CROSS JOIN LATERAL ( "
      "    SELECT c.token, c.member_id, c.status, m.district FROM cards c JOIN members m ON m.id = c.member_id "
      "     WHERE c.token = x.token LIMIT 1) c), ";
  if (payments) {
    const auto districts = p.add("text[]");
    const auto ids = p.add("bigint[]");
    sql += "found_payments AS ( "
           "  SELECT p.* FROM unnest(" + districts + ", " + ids + ") AS x(d, pid) "
           "  CROSS JOIN LATERAL (SELECT district, id, member_id FROM payments WHERE district = x.d AND id = x.pid "
           "                      LIMIT 1) p), ";
  }
  const auto members = p.add("text[]");
  // Each member that exists is locked, one by one in id order, by a transaction advisory lock on
  // its key (migration 0018): it serialises the member's money movements as a row lock did, but
  // writes no WAL and leaves the member's page clean.
  sql += "locked AS ( "
         "  SELECT l.id FROM (SELECT member_id FROM found_cards " +
         std::string(payments ? "UNION SELECT member_id FROM found_payments " : "") +
         "                    UNION SELECT unnest(" + members + ") ORDER BY 1) o(id) "
         "  CROSS JOIN LATERAL (SELECT id, pg_advisory_xact_lock(member_lock_key(id)) FROM members "
         "                      WHERE id = o.id) l) "
         "SELECT (SELECT count(*) FROM locked) AS locked_members, "
         "       (SELECT coalesce(json_agg(json_build_array(token, member_id, status, district)), '[]') "
         "          FROM found_cards) AS cards, ";
  sql += payments ? "(SELECT coalesce(json_agg(json_build_array(district, id, member_id)), '[]') FROM found_payments)"
                  : "'[]'::json";
  return sql + " AS payments";
}

const Statement kLockMembers{"mp_lock_members", lock_members_sql(false)};
const Statement kLockMembersAndPayments{"mp_lock_members_payments", lock_members_sql(true)};

// A fact only loads and refunds read, probed by two text arrays (`before` arrays `after`); a
// group without them reads an empty list and names neither the table nor the parameters.
std::string admin_fact(bool admin, Params& p, const std::string& before, const std::string& after) {
  if (!admin) return " '[]'::json";
  const auto first = p.add("text[]");
  const auto second = p.add("text[]");
  return before + first + ", " + second + after;
}

// The fraud counters of each (district, member, business date) asked for.
std::string days_fact(Params& p) {
  const auto districts = p.add("text[]");
  const auto members = p.add("text[]");
  const auto dates = p.add("date[]");
  return ", (SELECT coalesce(json_agg(json_build_array(c.district, c.member_id, c.business_date::text, c.merchants, "
         "          c.counts, c.cards, c.times_ms)), '[]') "
         "    FROM unnest(" + districts + ", " + members + ", " + dates + ") AS x(d, mid, day) "
         "    CROSS JOIN LATERAL (SELECT * FROM payment_counters WHERE district = x.d AND member_id = x.mid "
         "                        AND business_date = x.day LIMIT 1) c) AS days";
}

// The fields of the facts' two wide JSON arrays, in the order facts_sql builds them.
namespace MerchantField {
enum : std::size_t {
  id, business_no, name, district, category, annual_revenue, status, benefit_kind, benefit_rate_bp, owner_member
};
}
namespace WalletField {
enum : std::size_t {
  district, member, program, balance, account_id, expires_on, categories, over_ceiling_allowed, pool_id, grant_from
};
}

// `admin`: loads and refunds, which also read idempotency keys and each member's latest load or
// refund.
std::string facts_sql(bool admin) {
  Params p;
  const auto merchants = p.add("text[]");
  const auto account_districts = p.add("text[]");
  const auto account_keys = p.add("text[]");
  const auto month_districts = p.add("text[]");
  const auto month_members = p.add("text[]");
  const auto month_firsts = p.add("date[]");
  std::string sql =
      "SELECT "
      " (SELECT coalesce(json_agg(json_build_array(id, business_no, name, district, category, annual_revenue, "
      "          status, benefit_kind, benefit_rate_bp, owner_member)), '[]') "
      "    FROM unnest(" + merchants + ") AS x(mid) "
      "    CROSS JOIN LATERAL (SELECT * FROM merchants WHERE id = x.mid LIMIT 1) m) AS merchants, "
      " (SELECT coalesce(json_agg(json_build_array(id, scope, "
      "          to_char(effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') "
      "    FROM policies) AS versions, "
      " (SELECT coalesce(json_agg(json_build_array(a.district, a.key, a.balance, a.id)), '[]') "
      "    FROM unnest(" + account_districts + ", " + account_keys + ") AS x(d, k) "
      "    CROSS JOIN LATERAL (SELECT district, key, balance, id FROM accounts WHERE district = x.d AND key = x.k "
      "                        LIMIT 1) a) AS accounts, "
      " (SELECT coalesce(json_agg(json_build_array(m.district, m.member_id, m.month::text, m.loaded, "
      "          m.eligible_spent)), '[]') "
      "    FROM unnest(" + month_districts + ", " + month_members + ", " + month_firsts + ") AS x(d, mid, mo) "
      "    CROSS JOIN LATERAL (SELECT * FROM member_months WHERE district = x.d AND member_id = x.mid "
      "                        AND month = x.mo LIMIT 1) m) AS months, ";
  sql += admin_fact(admin, p,
                    " (SELECT coalesce(json_agg(json_build_array(ik.district, ik.key, ik.request_hash, ik.status, "
                    "          ik.answer)), '[]') "
                    "    FROM unnest(",
                    ") AS x(d, k) "
                    "    CROSS JOIN LATERAL (SELECT * FROM idempotency_keys WHERE district = x.d AND key = x.k "
                    "                        LIMIT 1) ik)") +
         " AS keys, ";
  const auto ids = p.add("integer");
  const auto endpoints = p.add("text[]");
  const auto events = p.add("text[]");
  sql += " (SELECT coalesce(json_agg(json_build_array(nextval('operation_id_seq'), nextval('journal_id_seq'))), '[]') "
         "    FROM generate_series(1, " + ids + ")) AS ids, "
         " (SELECT coalesce(json_agg(json_build_array(pe.endpoint, pe.event_id, pe.request_hash, pe.status, "
         "          pe.answer)), '[]') "
         "    FROM unnest(" + endpoints + ", " + events + ") AS x(ep, ev) "
         "    CROSS JOIN LATERAL (SELECT * FROM processor_events WHERE endpoint = x.ep AND event_id = x.ev "
         "                        LIMIT 1) pe) AS events, ";
  sql += admin_fact(admin, p,
                          " (SELECT coalesce(json_agg(json_build_array(x.d, x.mid, "
                          "          to_char(greatest(l.at, r.at) AT TIME ZONE 'UTC', "
                          "                  'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))), '[]') "
                          "    FROM unnest(",
                          ") AS x(d, mid) "
                          "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM loads WHERE district = x.d "
                          "                        AND member_id = x.mid) l "
                          "    CROSS JOIN LATERAL (SELECT max(occurred_at) AS at FROM refunds WHERE district = x.d "
                          "                        AND member_id = x.mid) r "
                          "   WHERE greatest(l.at, r.at) IS NOT NULL)") +
         " AS latest_money";
  sql += days_fact(p);  // numbered after every parameter above
  const auto wallet_districts = p.add("text[]");
  const auto wallet_members = p.add("text[]");
  return sql + ", (SELECT coalesce(json_agg(json_build_array(w.district, w.member_id, w.program_id, a.balance, a.id, "
               "          g.expires_on::text, g.categories, g.over_ceiling_allowed, g.pool_id, g.grant_from::text)), '[]') "
               "    FROM unnest(" + wallet_districts + ", " + wallet_members + ") AS x(d, mid) "
               "    CROSS JOIN LATERAL (SELECT * FROM program_wallets WHERE district = x.d AND member_id = x.mid) w "
               "    CROSS JOIN LATERAL (SELECT balance, id FROM accounts WHERE district = w.district "
               "                        AND id = w.account_id LIMIT 1) a "
               "    CROSS JOIN LATERAL (SELECT * FROM programs WHERE id = w.program_id LIMIT 1) g) AS wallets";
}

const Statement kFacts{"mp_facts", facts_sql(false)};
const Statement kFactsAdmin{"mp_facts_admin", facts_sql(true)};

json parsed(const pqxx::field& f) { return json::parse(f.c_str()); }

// Each distinct (district, member, date) key once, as three parallel text array literals; `date`
// names the key's third field (a month's first day, a business date).
template <typename Key>
std::array<std::string, 3> member_date_columns(const std::vector<Key>& keys, std::string Key::*date) {
  const std::set<Key> unique(keys.begin(), keys.end());
  std::vector<std::string> districts, members, dates;
  for (const auto& k : unique) {
    districts.push_back(k.district);
    members.push_back(k.member);
    dates.push_back(k.*date);
  }
  return {text_array(districts), text_array(members), text_array(dates)};
}

std::optional<std::string> text_or_null(const json& v) {
  if (v.is_null()) return std::nullopt;
  return v.get<std::string>();
}

}  // namespace

Locked lock_members(Tx& tx, const LockRequest& request) {
  std::vector<std::string> params{distinct_array(request.card_tokens)};
  if (!request.payments.empty()) {
    const auto [districts, ids] = columns(request.payments);
    params.push_back(districts);
    params.push_back(ids);
  }
  params.push_back(distinct_array(request.members));
  const auto row =
      run_with(tx, request.payments.empty() ? kLockMembers : kLockMembersAndPayments, params).at(0);
  Locked out;
  for (const auto& c : parsed(row["cards"]))
    out.cards.push_back({c[0].get<std::string>(), c[1].get<std::string>(),
                         stored_card_status(c[2].get_ref<const std::string&>()), c[3].get<std::string>()});
  for (const auto& p : parsed(row["payments"]))
    out.payment_members[{p[0].get<std::string>(), p[1].get<std::int64_t>()}] = p[2].get<std::string>();
  return out;
}

Facts read_facts(Tx& tx, const FactsRequest& request) {
  const auto [account_districts, account_keys] = columns(request.accounts);
  const auto [month_districts, month_members, month_firsts] = member_date_columns(request.months, &MonthKey::month);
  const auto [key_districts, key_names] = columns(request.keys);
  const auto [event_endpoints, event_ids] = columns(request.events);
  const auto [member_districts, member_ids] = columns(request.members);
  const bool admin = !request.keys.empty() || !request.members.empty();
  std::vector<std::string> params{distinct_array(request.merchants), account_districts, account_keys,
                                  month_districts, month_members, month_firsts};
  if (admin) {
    params.push_back(key_districts);
    params.push_back(key_names);
  }
  params.insert(params.end(), {std::to_string(request.ids), event_endpoints, event_ids});
  if (admin) {
    params.push_back(member_districts);
    params.push_back(member_ids);
  }
  const auto [day_districts, day_members, day_dates] = member_date_columns(request.days, &DayKey::date);
  params.insert(params.end(), {day_districts, day_members, day_dates});
  const auto [wallet_districts, wallet_members] = columns(request.wallets);
  params.insert(params.end(), {wallet_districts, wallet_members});
  const auto row = run_with(tx, admin ? kFactsAdmin : kFacts, params).at(0);
  Facts out;
  for (const auto& m : parsed(row["merchants"])) {
    namespace F = MerchantField;
    Merchant merchant;
    merchant.id = m[F::id].get<std::string>();
    merchant.business_no = m[F::business_no].get<std::string>();
    merchant.name = m[F::name].get<std::string>();
    merchant.district = m[F::district].get<std::string>();
    merchant.category = m[F::category].get<std::string>();
    merchant.annual_revenue = Won(m[F::annual_revenue].get<std::int64_t>());
    merchant.status = stored_merchant_status(m[F::status].get_ref<const std::string&>());
    merchant.benefit_kind = text_or_null(m[F::benefit_kind]);
    if (!m[F::benefit_rate_bp].is_null()) merchant.benefit_rate_bp = m[F::benefit_rate_bp].get<int>();
    merchant.owner_member = text_or_null(m[F::owner_member]);
    out.merchants.push_back(std::move(merchant));
  }
  for (const auto& v : parsed(row["versions"]))
    out.versions.push_back(
        {v[0].get<std::int64_t>(), v[1].get<std::string>(), parse_rfc3339(v[2].get<std::string>()).value()});
  for (const auto& a : parsed(row["accounts"])) {
    DistrictKey key{a[0].get<std::string>(), a[1].get<std::string>()};
    out.balances[key] = Won(a[2].get<std::int64_t>());
    out.account_ids[std::move(key)] = a[3].get<std::int64_t>();
  }
  for (const auto& m : parsed(row["months"]))
    out.months[{m[0].get<std::string>(), m[1].get<std::string>(), m[2].get<std::string>()}] = {
        Won(m[3].get<std::int64_t>()), Won(m[4].get<std::int64_t>())};
  for (const auto& k : parsed(row["keys"]))
    out.keys[{k[0].get<std::string>(), k[1].get<std::string>()}] = {
        k[2].get<std::string>(), k[3].is_null() ? 0 : k[3].get<int>(), k[4].is_null() ? "" : k[4].get<std::string>()};
  for (const auto& i : parsed(row["ids"])) out.ids.emplace_back(i[0].get<std::int64_t>(), i[1].get<std::int64_t>());
  for (const auto& e : parsed(row["events"]))
    out.events[{e[0].get<std::string>(), e[1].get<std::string>()}] = {e[2].get<std::string>(), e[3].get<int>(),
                                                                      e[4].get<std::string>()};
  for (const auto& m : parsed(row["latest_money"]))
    out.latest_money[{m[0].get<std::string>(), m[1].get<std::string>()}] = parse_rfc3339(m[2].get<std::string>()).value();
  for (const auto& d : parsed(row["days"])) {
    auto& day = out.days[{d[0].get<std::string>(), d[1].get<std::string>(), d[2].get<std::string>()}];
    for (std::size_t i = 0; i < d[3].size(); ++i) day.by_merchant[d[3][i].get<std::string>()] = d[4][i].get<int>();
    for (std::size_t i = 0; i < d[5].size(); ++i)
      day.recent.push_back({d[5][i].get<std::string>(), d[6][i].get<std::int64_t>()});
  }
  for (const auto& w : parsed(row["wallets"])) {
    namespace F = WalletField;
    WalletFact f;
    f.program = w[F::program].get<std::string>();
    f.balance = Won(w[F::balance].get<std::int64_t>());
    f.account_id = w[F::account_id].get<std::int64_t>();
    f.expires_on = w[F::expires_on].get<std::string>();
    if (!w[F::categories].is_null()) f.categories = w[F::categories].get<std::vector<std::string>>();
    f.over_ceiling_allowed = w[F::over_ceiling_allowed].get<bool>();
    f.pool_id = w[F::pool_id].get<std::int64_t>();
    f.grant_from = w[F::grant_from].get<std::string>();
    out.wallets[{w[F::district].get<std::string>(), w[F::member].get<std::string>()}].push_back(std::move(f));
  }
  return out;
}

}  // namespace evoucher::store
