// A statement the database must refuse, run on a connection of the service's role.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "evoucher/store/connection.hpp"

namespace evoucher::testing {

// Runs `sql` on `connection`, expecting an error whose text holds `expected`.
inline void expect_refused(store::Connection& connection, const std::string& sql, const std::string& expected) {
  try {
    connection.execute(sql);
    ADD_FAILURE() << "allowed: " << sql;
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << sql << ": " << e.what();
  }
}

}  // namespace evoucher::testing
