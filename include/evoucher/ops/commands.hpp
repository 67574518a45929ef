// The money path's typed commands and outcomes. A caller (the HTTP routes, a test) builds a
// command, the group writer decides and records it, and the caller gets the final answer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>

#include "evoucher/engine/member_money.hpp"
#include "evoucher/engine/payment.hpp"
#include "evoucher/store/audit.hpp"
#include "evoucher/store/flags.hpp"
#include "evoucher/time.hpp"

namespace evoucher::ops {

// Server-generated identifiers carry their district: "pay-bupyeong-42".
std::string operation_ref(const char* prefix, const std::string& district, std::int64_t id);
struct OperationRef {
  std::string district;
  std::int64_t id = 0;
};

// What the caller is told, and what an idempotency key stores: a status and a rendered body.
struct Answer {
  int status = 0;
  std::string body;
};

struct PaymentApproved {
  std::string payment_id;
  engine::PaymentQuote quote;
  std::optional<std::int64_t> city_policy_id;
};
struct PaymentOutcome {
  std::optional<PaymentApproved> approved;
  std::optional<engine::Decline> declined;
};

struct CancellationDone {
  std::string cancellation_id;
  std::string payment_id;
  engine::CancellationQuote quote;
};
struct CancellationOutcome {
  std::optional<CancellationDone> done;
  std::optional<std::string> payment_missing;  // the detail of a 404
  std::optional<std::string> exceeds;          // the detail of cancel_exceeds_payment
};

struct LoadDone {
  std::string load_id;
  std::string member;
  Won amount, cash, points;
};
struct LoadOutcome {
  std::optional<LoadDone> done;
  std::optional<std::string> limit_exceeded;  // which limit, and the numbers
  std::optional<std::string> backdated;       // a 400 on occurred_at: before the member's latest load or refund
};

struct RefundDone {
  std::string refund_id;
  Won amount;
};
struct RefundOutcome {
  std::optional<RefundDone> done;
  std::optional<std::string> not_allowed;
  std::optional<std::string> backdated;
};

// Every judged answer is final: it is stored under the command's key (the processor's event_id,
// platform-wide per endpoint, or the admin's Idempotency-Key), refusals included. Only an answer
// that judged nothing (bad input) is not stored.
// Each command carries how its outcome is rendered, so that the stored answer and the one the
// caller gets are the same bytes. request_hash identifies the request under its key.
struct PaymentCommand {
  std::string event_id;
  std::string card;
  std::string merchant;
  Won price;
  Timestamp occurred_at;
  std::string channel;
  std::string request_hash;
  std::function<Answer(const PaymentOutcome&)> render;
};

struct CancellationCommand {
  std::string event_id;
  std::string payment_ref;              // as the processor sent it
  std::optional<OperationRef> payment;  // none when the reference names no payment we could have made
  Won amount;
  Timestamp occurred_at;
  std::string request_hash;
  std::function<Answer(const CancellationOutcome&)> render;
};

// The member was found, and the caller may move its money.
struct LoadCommand {
  std::string member;
  std::string district;
  std::string key;  // the Idempotency-Key
  Won amount;
  std::string bank_ref;
  // As sent; none when the request named no time, and the group stamps it when it decides, never
  // before the member's latest load or refund.
  std::optional<Timestamp> occurred_at;
  std::string request_hash;
  // Who asked, from the admin API; the group fills in the resource and status and writes the row
  // with the change. None for a caller that is not the admin API (tests, tools).
  std::optional<store::AuditEntry> audit;
  std::function<Answer(const LoadOutcome&)> render;
};

struct RefundCommand {
  std::string member;
  std::string district;
  std::string key;
  std::string bank_ref;
  std::optional<Timestamp> occurred_at;  // as a load's
  std::string request_hash;
  std::optional<store::AuditEntry> audit;
  std::function<Answer(const RefundOutcome&)> render;
};

struct FlagReviewOutcome {
  std::optional<store::Flag> done;       // the flag after the review, or as it stood on a repeat
  std::optional<std::string> not_found;  // the detail of a 404
  std::optional<std::string> conflict;   // reviewed before with the other outcome
  std::optional<std::string> forbidden;  // the detail of a 403: the reviewer may not change the merchant
};

// A review is idempotent by its flag: the same outcome again answers the flag as it stands and
// writes nothing; the other outcome is refused.
struct FlagReviewCommand {
  std::string district;
  std::int64_t flag_id = 0;
  std::string flag_ref;                   // as the caller sent it
  std::optional<std::int64_t> payment_id;  // the flag's payment, which never changes; none for a merchant's flag
  engine::FlagStatus outcome = engine::FlagStatus::cleared;
  std::string note;
  bool suspend_merchant = false;
  // The one district whose merchants the reviewer may change (a district admin's); none for the
  // city. Suspending is judged against the merchant's own district, read under the group's lock.
  std::optional<std::string> merchants_of;
  std::string reviewer;  // the token's name
  std::optional<store::AuditEntry> audit;
  std::function<Answer(const FlagReviewOutcome&)> render;
};

// A grant run of one program: each line accepted or refused with its reason, never stopping
// half-way. Stored under the Idempotency-Key like every admin money call.
struct GrantLine {
  int line = 0;  // 1-based, as sent
  std::string member;
  Won amount;
  std::optional<std::string> refused;  // a line refused before it was judged (bad input)
};
struct GrantRefusal {
  int line = 0;
  std::string member;
  std::string reason;
};
struct GrantOutcome {
  int accepted = 0;
  Won amount;
  std::vector<GrantRefusal> refused;
};
struct GrantCommand {
  std::string program;
  std::string district;  // the program's: "city" or a district code
  std::string key;       // the Idempotency-Key
  std::vector<GrantLine> lines;
  Timestamp occurred_at;
  std::string request_hash;
  std::optional<store::AuditEntry> audit;
  std::function<Answer(const GrantOutcome&)> render;
};

using Command = std::variant<PaymentCommand, CancellationCommand, LoadCommand, RefundCommand, FlagReviewCommand,
                             GrantCommand>;

// How a command ended: answered, or not at all (the caller answers 503 or 500, and nothing was
// stored under the key, so a retry is judged afresh).
// unconfirmed: the command's group was still under way after commit_wait_ms (its commit waiting
// for the synchronous standby, or its statements for locks such a commit holds); it may yet
// commit. The caller answers 503, and a replay with the same key tells the outcome.
enum class Trouble { none, overloaded, unavailable, unconfirmed, failed };
struct Result {
  Trouble trouble = Trouble::none;
  // The key came with another request earlier: the caller answers 409 idempotency_key_reused.
  bool key_reused = false;
  Answer answer;
  std::string detail;  // for the log, when trouble != none
};
using Done = std::function<void(Result)>;

// A command judged and answered.
inline Result answered(Answer answer) {
  Result r;
  r.answer = std::move(answer);
  return r;
}

}  // namespace evoucher::ops
