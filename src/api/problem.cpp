// problem+json bodies (RFC 9457).
#include "evoucher/api/problem.hpp"

#include <nlohmann/json.hpp>

namespace evoucher::api {

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_request: return "invalid_request";
    case ErrorCode::unauthenticated: return "unauthenticated";
    case ErrorCode::forbidden: return "forbidden";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::method_not_allowed: return "method_not_allowed";
    case ErrorCode::already_exists: return "already_exists";
    case ErrorCode::idempotency_key_reused: return "idempotency_key_reused";
    case ErrorCode::payload_too_large: return "payload_too_large";
    case ErrorCode::unsupported_media_type: return "unsupported_media_type";
    case ErrorCode::limit_exceeded: return "limit_exceeded";
    case ErrorCode::refund_not_allowed: return "refund_not_allowed";
    case ErrorCode::cancel_exceeds_payment: return "cancel_exceeds_payment";
    case ErrorCode::settlement_mismatch: return "settlement_mismatch";
    case ErrorCode::date_not_closed: return "date_not_closed";
    case ErrorCode::policy_invalid: return "policy_invalid";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::internal: return "internal";
  }
  return "internal";
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_request: return 400;
    case ErrorCode::unauthenticated: return 401;
    case ErrorCode::forbidden: return 403;
    case ErrorCode::not_found: return 404;
    case ErrorCode::method_not_allowed: return 405;
    case ErrorCode::already_exists:
    case ErrorCode::idempotency_key_reused: return 409;
    case ErrorCode::payload_too_large: return 413;
    case ErrorCode::unsupported_media_type: return 415;
    case ErrorCode::limit_exceeded:
    case ErrorCode::refund_not_allowed:
    case ErrorCode::cancel_exceeds_payment:
    case ErrorCode::settlement_mismatch:
    case ErrorCode::date_not_closed:
    case ErrorCode::policy_invalid: return 422;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

const char* title(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_request: return "Invalid request";
    case ErrorCode::unauthenticated: return "Unauthenticated";
    case ErrorCode::forbidden: return "Forbidden";
    case ErrorCode::not_found: return "Not found";
    case ErrorCode::method_not_allowed: return "Method not allowed";
    case ErrorCode::already_exists: return "Already exists";
    case ErrorCode::idempotency_key_reused: return "Idempotency key reused";
    case ErrorCode::payload_too_large: return "Payload too large";
    case ErrorCode::unsupported_media_type: return "Unsupported media type";
    case ErrorCode::limit_exceeded: return "Limit exceeded";
    case ErrorCode::refund_not_allowed: return "Refund not allowed";
    case ErrorCode::cancel_exceeds_payment: return "Cancellation exceeds payment";
    case ErrorCode::settlement_mismatch: return "Settlement mismatch";
    case ErrorCode::date_not_closed: return "Business date not closed";
    case ErrorCode::policy_invalid: return "Policy invalid";
    case ErrorCode::unavailable: return "Service unavailable";
    case ErrorCode::internal: return "Internal error";
  }
  return "Internal error";
}

Response problem(ErrorCode code, const std::string& detail) {
  Response r;
  r.status = http_status(code);
  r.content_type = "application/problem+json";
  nlohmann::json body = {{"type", std::string("https://evoucher.example/problems/") + code_name(code)},
                         {"title", title(code)},
                         {"status", r.status},
                         {"detail", detail},
                         {"code", code_name(code)}};
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (code == ErrorCode::unavailable) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace evoucher::api
