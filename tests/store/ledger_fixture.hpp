// A fresh migrated database with one district and a few accounts, for ledger tests.
#pragma once

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "evoucher/engine/chart_of_accounts.hpp"
#include "evoucher/store/districts.hpp"
#include "evoucher/store/ledger.hpp"
#include "support/pg_harness.hpp"
#include "support/printers.hpp"

namespace evoucher::testing {

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url = PgHarness::instance().fresh_database();
    db = std::make_unique<store::Connection>(url);
    store::Tx tx(*db);
    ASSERT_EQ(store::create_district(tx, {"bupyeong", "부평구", "부평e음"}), store::CreateOutcome::created);
    store::open_account(tx, "bupyeong", {accounts::member_cash("m1"), store::Normal::credit, Won(0)});
    store::open_account(tx, "bupyeong", {accounts::member_points("m1"), store::Normal::credit, std::nullopt});
    store::open_account(tx, "bupyeong", {accounts::merchant_payable("shop"), store::Normal::credit, std::nullopt});
    tx.commit();
  }

  // Loads `amount` into m1's cash from the district float.
  std::int64_t load(std::int64_t amount) {
    store::Tx tx(*db);
    auto r = store::post_journal(tx, {"bupyeong", "load", t0, "", {{accounts::float_account(), Won(amount)},
                                                                  {accounts::member_cash("m1"), Won(-amount)}}});
    tx.commit();
    return r.journal_id.value();
  }

  // m1 pays `amount` in cash to the shop.
  store::JournalDraft spend(std::int64_t amount) const {
    return {"bupyeong", "payment", t0, "", {{accounts::member_cash("m1"), Won(amount)},
                                            {accounts::merchant_payable("shop"), Won(-amount)}}};
  }

  Won balance_of(const std::string& account) {
    store::Tx tx(*db);
    return store::balance(tx, "bupyeong", account).value();
  }

  // One number from raw SQL.
  long long scalar(const std::string& sql) {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    return n.exec(sql)[0][0].as<long long>();
  }

  Timestamp t0 = parse_rfc3339("2020-03-02T09:00:00+09:00").value();
  std::string url;
  std::unique_ptr<store::Connection> db;
};

}  // namespace evoucher::testing
