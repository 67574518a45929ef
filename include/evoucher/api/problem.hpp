// Error codes of API.md and their problem+json answers; the one mapping from error to HTTP status.
#pragma once

#include <string>

#include "evoucher/api/http.hpp"

namespace evoucher::api {

enum class ErrorCode {
  invalid_request,
  unauthenticated,
  forbidden,
  not_found,
  method_not_allowed,
  already_exists,
  idempotency_key_reused,
  payload_too_large,
  unsupported_media_type,
  limit_exceeded,
  refund_not_allowed,
  cancel_exceeds_payment,
  settlement_mismatch,
  date_not_closed,
  policy_invalid,
  unavailable,
  internal,
};

const char* code_name(ErrorCode code);
int http_status(ErrorCode code);
const char* title(ErrorCode code);

// application/problem+json: {type, title, status, detail, code}.
Response problem(ErrorCode code, const std::string& detail);

}  // namespace evoucher::api
