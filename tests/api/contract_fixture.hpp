// The Contract suite's fixture, shared by its three files: error codes and idempotency
// (contract_test.cpp), the role matrix (role_matrix_test.cpp), and concurrency and shutdown
// (contract_concurrency_test.cpp).
#pragma once

#include "api/api_fixture.hpp"

namespace evoucher::testing {

class Contract : public ApiTest {};

}  // namespace evoucher::testing
