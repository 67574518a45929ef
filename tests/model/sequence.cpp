// The randomized model test's operations: each one sent to the service, and the model's answer
// to compare (sequence.hpp).
#include "model/sequence.hpp"

#include <iomanip>
#include <sstream>

namespace evoucher::testing::model {

std::optional<std::string> Sequence::set_up() {
  std::optional<std::string> bad;
  for (const auto& [code, brand] : std::vector<std::pair<std::string, std::string>>{
           {"city", "인천e음"}, {"bupyeong", "부평e음"}, {"yeonsu", "연수e음"}})
    admin("POST", "/v1/districts", {{"code", code}, {"name", code}, {"brand", brand}}, 201, bad);
  // Two city versions: the second from 2026-03-31 12:00 in Seoul, before the month turns.
  City v1{{{300'000, 1'000}, {600'000, 200}}, 1'000'000'000, {{300'000'000, 50}}, {"large_mart"}, {"clinic"}, 4, 2,
          2'000'000, 1'000'000, 60};
  City v2{{{200'000, 700}, {500'000, 300}}, 3'000'000'000, {}, {"large_mart"}, {}, 1, 1, 1'500'000, 800'000, 50};
  city_.push_back({{1'767'193'200}, v1});               // 2026-01-01 00:00 Seoul
  city_.push_back({{1'774'926'000}, v2});               // 2026-03-31 12:00 Seoul
  districts_.push_back({{1'767'193'200}, "bupyeong", {200, 50}});
  districts_.push_back({{1'775'098'800}, "bupyeong", {300, 0}});  // 2026-04-02 12:00 Seoul
  districts_.push_back({{1'767'193'200}, "yeonsu", {100, 30}});
  for (auto& v : city_)
    v.id = admin("POST", "/v1/policies", {{"scope", "city"}, {"effective_from", iso(v.from)}, {"rules", v.rules.to_json()}},
                 201, bad)["id"];
  for (auto& v : districts_)
    v.id = admin("POST", "/v1/policies",
                 {{"scope", v.district}, {"effective_from", iso(v.from)},
                  {"rules", {{"topup_bp", v.rules.topup_bp}, {"fee_support_bp", v.rules.fee_bp}}}},
                 201, bad)["id"];
  // Pools small enough to run dry; yeonsu has none, so its top-up is always unfunded.
  for (auto [source, budget] : std::vector<std::pair<std::string, i64>>{
           {"national", 400'000}, {"city", 150'000}, {"district:bupyeong", 30'000}}) {
    Pool p{source, 0, budget};
    p.id = admin("POST", "/v1/pools",
                 {{"source", source}, {"period_start", "2026-01-01"}, {"period_end", "2026-12-31"}, {"budget", budget}},
                 201, bad, "pool-" + source)["id"];
    pools_.push_back(p);
  }
  merchants_ = {{"bp-bakery", "bupyeong", "bakery", 100'000'000, "pre_discount", 500},
                {"bp-cafe", "bupyeong", "cafe", 80'000'000, "", 0},
                {"bp-market", "bupyeong", "butcher", 400'000'000, "merchant_cashback", 200},
                {"bp-mart", "bupyeong", "large_mart", 90'000'000'000, "", 0},
                {"ys-books", "yeonsu", "bookstore", 500'000'000, "merchant_cashback", 300},
                {"ys-diner", "yeonsu", "restaurant", 50'000'000, "pre_discount", 300},
                {"ys-clinic", "yeonsu", "clinic", 2'000'000'000, "", 0}};
  for (const auto& m : merchants_) {
    json benefit = m.benefit.empty() ? json(nullptr) : json{{"kind", m.benefit}, {"rate_bp", m.rate}};
    admin("POST", "/v1/merchants",
          {{"id", m.id}, {"business_no", "1"}, {"name", m.id}, {"district", m.district}, {"category", m.category},
           {"annual_revenue", m.revenue}, {"benefit", benefit}},
          201, bad);
  }
  for (int i = 0; i < 60; ++i) {
    Member m;
    m.id = "mm" + std::to_string(i);
    m.district = i % 3 == 2 ? "yeonsu" : "bupyeong";
    m.card = "mc" + std::to_string(i);
    admin("POST", "/v1/members", {{"id", m.id}, {"district", m.district}}, 201, bad);
    admin("POST", "/v1/cards", {{"token", m.card}, {"member", m.id}}, 201, bad);
    members_.push_back(m);
  }
  return bad;
}

// One operation, by weight (per mille). Suspensions are short: reactivation is three times as
// likely, so most cards and merchants are active most of the time.
std::optional<std::string> Sequence::step() {
  const i64 roll = pick(0, 999);
  Member& m = any(members_);
  if (roll < 250) return load(m);
  if (roll < 650) return pay(m);
  if (roll < 750) return cancel();
  if (roll < 780) return refund(m);
  std::optional<std::string> bad;
  if (roll < 820) {  // a card is suspended, or a suspended one is active again
    const bool suspend = roll < 790;
    Member* who = &m;
    if (!suspend) {
      std::vector<Member*> suspended;
      for (auto& x : members_) if (!x.card_active) suspended.push_back(&x);
      if (suspended.empty()) return std::nullopt;
      who = any(suspended);
    } else if (!m.card_active) {
      return std::nullopt;
    }
    who->card_active = !suspend;
    admin("PATCH", "/v1/cards/" + who->card, {{"status", suspend ? "suspended" : "active"}}, 200, bad);
    ++counts_["card changes"];
    return bad;
  }
  if (roll < 845) {  // a merchant is suspended, or a suspended one is active again
    const bool suspend = roll < 825;
    std::vector<Merchant*> candidates;
    for (auto& x : merchants_) if (x.active == suspend) candidates.push_back(&x);
    if (candidates.empty()) return std::nullopt;
    Merchant& merchant = *any(candidates);
    merchant.active = !suspend;
    admin("PATCH", "/v1/merchants/" + merchant.id, {{"status", suspend ? "suspended" : "active"}}, 200, bad);
    ++counts_["merchant changes"];
    return bad;
  }
  if (roll < 885) return batch();
  return replay();
}

std::optional<std::string> Sequence::load(Member& m) {
  const i64 amount = pick(1, 20) * 5'000;
  const auto& rules = city_at(clock_).rules;
  const auto month = seoul_month(clock_);
  Call c{"POST", "/v1/loads",
         json{{"member", m.id}, {"amount", amount}, {"bank_ref", "b"}, {"occurred_at", iso(clock_)}}.dump(),
         "load-" + std::to_string(next_key_++)};
  c = send(c);
  remember(c);
  if (m.month_loaded[month] + amount > rules.load_limit || m.cash + std::max<i64>(0, m.points) + amount > rules.balance_cap) {
    ++counts_["loads refused"];
    return expect(c, 422, {{"code", "limit_exceeded"}});
  }
  m.cash += amount;
  m.loaded_total += amount;
  m.month_loaded[month] += amount;
  ++counts_["loads"];
  return expect(c, 201, {{"member", m.id}, {"amount", amount}, {"cash", m.cash}, {"points", m.points}});
}

std::optional<std::string> Sequence::pay(Member& m) {
  auto& merchant = any(merchants_);
  const i64 price = pick(1, 100) * 1'000 + pick(0, 9) * 7;
  const std::string event = "pay-" + std::to_string(next_key_++);
  Call c{"POST", "/v1/processor/payments",
         json{{"event_id", event}, {"card", m.card}, {"merchant", merchant.id}, {"price", price},
              {"occurred_at", iso(clock_)}, {"channel", "card"}}
             .dump(),
         ""};
  c = send(c);
  remember(c);
  const auto& city = city_at(clock_);
  auto declined = [&](const char* reason) {
    ++counts_[std::string("declined ") + reason];
    return expect(c, 200, {{"decision", "declined"}, {"reason", reason}});
  };
  if (!m.card_active) return declined("card_inactive");
  if (!merchant.active || city.rules.no_voucher.count(merchant.category)) return declined("merchant_ineligible");
  const i64 discount = merchant.benefit == "pre_discount" ? part_of(price, merchant.rate, 10'000) : 0;
  const i64 charged = price - discount;
  const i64 paid_points = std::min(std::max<i64>(0, m.points), charged);
  const i64 paid_cash = charged - paid_points;
  if (paid_cash > m.cash) return declined("insufficient_funds");
  const auto month = seoul_month(clock_);
  Payment p;
  p.member = m.id;
  p.district = m.district;
  p.merchant = merchant;
  p.city = &city;
  p.dpol = district_at(m.district, clock_);
  p.at = clock_;
  p.charged = charged;
  p.paid_cash = paid_cash;
  p.paid_points = paid_points;
  p.eligible_before = m.month_eligible[month];
  p.earned = earnings(charged, p.eligible_before, merchant, m.district, city.rules, p.dpol);
  m.cash -= paid_cash;
  m.points -= paid_points;
  m.month_eligible[month] += p.earned.eligible;
  const auto bad = expect(c, 200,
                          {{"decision", "approved"},
                           {"price", price},
                           {"discount", discount},
                           {"charged", charged},
                           {"paid", {{"points", paid_points}, {"cash", paid_cash}}},
                           {"cashback", {{"city", p.earned.city}, {"district", p.earned.district}, {"merchant", p.earned.merchant}}},
                           {"fee_support", p.earned.fee},
                           {"policy_id", city.id}});
  if (bad) return bad;
  p.id = json::parse(c.answer)["payment_id"];
  payments_.push_back(std::move(p));
  ++counts_["payments approved"];
  return std::nullopt;
}

std::optional<std::string> Sequence::cancel() {
  if (payments_.empty()) return std::nullopt;
  auto& p = any(payments_);
  const i64 left = p.charged - p.cancelled;
  // Now and then one won too many: refused, and nothing moves.
  const i64 amount = left == 0 || pick(0, 9) == 0 ? left + 1 : (pick(0, 2) == 0 ? left : pick(1, left));
  Call c{"POST", "/v1/processor/cancellations",
         json{{"event_id", "cxl-" + std::to_string(next_key_++)}, {"payment_id", p.id}, {"amount", amount},
              {"occurred_at", iso(clock_)}}
             .dump(),
         ""};
  c = send(c);
  remember(c);
  if (amount > left) {
    ++counts_["cancellations refused"];
    return expect(c, 422, {{"code", "cancel_exceeds_payment"}});
  }
  Member& m = *std::find_if(members_.begin(), members_.end(), [&](const Member& x) { return x.id == p.member; });
  const i64 refund_cash = std::min(amount, p.paid_cash - p.refunded_cash);
  const i64 refund_points = amount - refund_cash;
  const i64 remaining = left - amount;
  const Earned after = earnings(remaining, p.eligible_before, p.merchant, p.district, p.city->rules, p.dpol);
  const Earned before = p.earned;
  m.cash += refund_cash;
  m.points += refund_points;
  m.month_eligible[seoul_month(p.at)] -= before.eligible - after.eligible;
  if (p.posted) {  // the clawback: what was posted beyond what the remainder earns goes back
    const auto& rules = p.city->rules;
    const i64 nat_due = part_of(after.city, rules.split_national, rules.split_national + rules.split_city);
    const i64 due[4] = {nat_due, after.city - nat_due, after.district, after.merchant};
    i64* posted[4] = {&p.posted_nat, &p.posted_cty, &p.posted_dist, &p.posted_merch};
    const char* sources[3] = {"national", "city", nullptr};
    const std::string district_source = "district:" + p.district;
    for (int k = 0; k < 4; ++k) {
      const i64 keep = std::min(*posted[k], due[k]);
      const i64 taken = *posted[k] - keep;
      m.points -= taken;
      Pool* from = k < 2 ? pool(sources[k]) : k == 2 ? pool(district_source) : nullptr;
      if (from) from->drawn -= taken;
      *posted[k] = keep;
    }
  }
  p.cancelled += amount;
  p.refunded_cash += refund_cash;
  p.earned = after;
  ++counts_["cancellations"];
  return expect(c, 200,
                {{"payment_id", p.id},
                 {"amount", amount},
                 {"refunded", {{"cash", refund_cash}, {"points", refund_points}}},
                 {"cashback_reversed",
                  {{"city", before.city - after.city}, {"district", before.district - after.district},
                   {"merchant", before.merchant - after.merchant}}},
                 {"remaining", remaining}});
}

std::optional<std::string> Sequence::refund(Member& m) {
  Call c{"POST", "/v1/refunds", json{{"member", m.id}, {"bank_ref", "r"}, {"occurred_at", iso(clock_)}}.dump(),
         "refund-" + std::to_string(next_key_++)};
  c = send(c);
  remember(c);
  // Negative points are a debt, settled from cash first: the member holds cash less the debt.
  const int pct = city_at(clock_).rules.refund_pct;
  const i64 debt = m.points < 0 ? -m.points : 0;
  const i64 held = m.cash - debt;
  const i64 spent = m.loaded_total - m.refunded_total - held;
  if (held <= 0 || (spent != 0 && spent * 100 < m.loaded_total * pct)) {
    ++counts_["refunds refused"];
    return expect(c, 422, {{"code", "refund_not_allowed"}});
  }
  const i64 amount = held;
  m.refunded_total += amount;
  m.cash = 0;
  m.points += debt;
  ++counts_["refunds"];
  return expect(c, 201, {{"amount", amount}});
}

// The earliest closed business date not batched yet, of one district: its pending payments in
// time order draw on the pools until they run dry.
std::optional<std::string> Sequence::batch() {
  const std::string district = pick(0, 2) == 0 ? "yeonsu" : "bupyeong";
  const std::string today = seoul_date(clock_);
  std::string date = batched_.count(district) ? batched_[district] : "2026-03-29";
  // The next date: from the last one batched, one day on.
  {
    std::tm tm{};
    std::istringstream in(date);
    in >> std::get_time(&tm, "%Y-%m-%d");
    const i64 next = static_cast<i64>(timegm(&tm)) + 86'400;
    date = iso(next).substr(0, 10);
  }
  if (date >= today) return std::nullopt;  // not closed yet
  batched_[district] = date;
  Call c{"POST", "/v1/batches/cashback", json{{"district", district}, {"business_date", date}}.dump(),
         "batch-" + std::to_string(next_key_++)};
  c = send(c);
  remember(c);
  std::vector<Payment*> due;
  for (auto& p : payments_)
    if (p.district == district && seoul_date(p.at) == date && !p.posted) due.push_back(&p);
  std::sort(due.begin(), due.end(), [](const Payment* a, const Payment* b) { return a->at < b->at; });
  i64 count = 0;
  for (auto* p : due) {
    Member& m = *std::find_if(members_.begin(), members_.end(), [&](const Member& x) { return x.id == p->member; });
    const auto& rules = p->city->rules;
    const i64 nat = part_of(p->earned.city, rules.split_national, rules.split_national + rules.split_city);
    const i64 want[3] = {nat, p->earned.city - nat, p->earned.district};
    Pool* from[3] = {pool("national"), pool("city"), pool("district:" + district)};
    i64 got[3] = {0, 0, 0};
    for (int k = 0; k < 3; ++k) {
      if (!from[k]) continue;
      got[k] = std::min(want[k], std::max<i64>(0, from[k]->budget - from[k]->drawn));
      from[k]->drawn += got[k];
    }
    p->posted = true;
    p->posted_nat = got[0];
    p->posted_cty = got[1];
    p->posted_dist = got[2];
    p->posted_merch = p->earned.merchant;
    m.points += got[0] + got[1] + got[2] + p->earned.merchant;
    ++count;
  }
  ++counts_["batches"];
  return expect(c, 200, {{"district", district}, {"business_date", date}, {"status", "completed"}});
}

// An earlier call again: the same answer, byte for byte. Or its key with another body: 409.
std::optional<std::string> Sequence::replay() {
  if (history_.empty()) return std::nullopt;
  const Call first = any(history_);
  if (pick(0, 3) == 0 && first.path != "/v1/batches/cashback") {
    Call changed = first;
    auto body = json::parse(first.body);
    body["occurred_at"] = iso(clock_);  // another body under the same key
    changed.body = body.dump();
    changed = send(changed);
    ++counts_["reused keys"];
    return expect(changed, 409, {{"code", "idempotency_key_reused"}});
  }
  const auto again = send(first);
  ++counts_["replays"];
  if (again.status == first.status && again.answer == first.answer) return std::nullopt;
  return "replay of " + first.method + " " + first.path + " " + first.body + "\n  first: " + std::to_string(first.status) +
         " " + first.answer + "\n  again: " + std::to_string(again.status) + " " + again.answer;
}

std::optional<std::string> Sequence::final_state() {
  std::optional<std::string> bad;
  for (const auto& m : members_) {
    i64 pending = 0;
    for (const auto& p : payments_)
      if (p.member == m.id && !p.posted) pending += p.earned.city + p.earned.district + p.earned.merchant;
    for (const char* month : {"2026-03", "2026-04"}) {
      const auto got = admin("GET", "/v1/members/" + m.id + "?month=" + month, nullptr, 200, bad);
      const json want{{"cash", m.cash},
                      {"points", m.points},
                      {"pending_cashback", pending},
                      {"month",
                       {{"month", month},
                        {"loaded", m.month_loaded.count(month) ? m.month_loaded.at(month) : 0},
                        {"eligible_spent", m.month_eligible.count(month) ? m.month_eligible.at(month) : 0}}}};
      for (const auto& [k, v] : want.items())
        if (got[k] != v && !bad) bad = m.id + " " + month + ": service " + got.dump() + ", model " + want.dump();
    }
  }
  const auto pools = admin("GET", "/v1/pools", nullptr, 200, bad)["pools"];
  for (const auto& p : pools_)
    for (const auto& got : pools)
      if (got["id"] == p.id && got["drawn"] != p.drawn && !bad)
        bad = "pool " + p.source + ": service drew " + got["drawn"].dump() + ", model " + std::to_string(p.drawn);
  const auto verify = run_evoucher({"verify"}, {{"EVOUCHER_DATABASE_URL", url_}});
  if (verify.exit_code != 0 && !bad) bad = "verify failed:\n" + verify.output;
  return bad;
}

}  // namespace evoucher::testing::model
