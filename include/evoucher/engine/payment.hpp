// Payments and cancellations (PRODUCT.md operations 2 and 3): price, discount, funding order,
// declines, and the cashback a payment earns. Pure: the caller supplies every fact.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "evoucher/engine/money.hpp"
#include "evoucher/engine/policy.hpp"

namespace evoucher::engine {

enum class CardStatus { active, suspended, closed };
enum class BenefitKind { pre_discount, merchant_cashback };

struct Benefit {
  BenefitKind kind = BenefitKind::pre_discount;
  int rate_bp = 0;
  bool operator==(const Benefit&) const = default;
};

// A merchant as it stood when the payment was approved.
struct MerchantTerms {
  std::string district;
  std::string category;
  Won annual_revenue;
  bool active = true;
  std::optional<Benefit> benefit;  // set for 혜택+ merchants
};

struct Balances {
  Won cash;
  Won points;  // negative only after a clawback
};

struct Cashback {
  Won city;
  Won district;
  Won merchant;
  Won total() const { return city + district + merchant; }
  bool operator==(const Cashback&) const = default;
};

// What a charged amount earns, given the member's eligible spend earlier in the month.
struct Earnings {
  Won eligible;
  Cashback cashback;
  Won fee_support;
  bool operator==(const Earnings&) const = default;
};

// The policy facts a payment is judged under: the city version, and the card district's (if any).
struct PolicyInForce {
  const CityRules& city;
  const DistrictRules* district = nullptr;  // the card's issuing district's policy, or none
};

// `program_part`: of charged, what program money paid; it earns no cashback and does not count
// toward the monthly cap, but earns fee support.
Earnings earnings(Won charged, Won eligible_before, const MerchantTerms& merchant, const std::string& card_district,
                  const PolicyInForce& policy, Won program_part = Won(0));

// Program money (정책발행) a member holds: one wallet per program, valid through the Seoul day
// expires_on, at the merchants of the program's scope.
struct ProgramScope {
  std::optional<std::set<std::string>> categories;  // none: every category
  bool over_ceiling_allowed = false;
  bool operator==(const ProgramScope&) const = default;
};
struct ProgramWallet {
  std::string program;
  Won balance;
  std::string expires_on;  // YYYY-MM-DD
  ProgramScope scope;
  std::string valid_from = {};  // the program's grant_from: it pays nothing dated before
};
// Whether the wallet's money may pay at the merchant on the Seoul business date: from the
// program's start through its expiry, within its scope.
bool program_valid(const ProgramWallet& wallet, const MerchantTerms& merchant, const CityRules& rules,
                   const std::string& business_date);

// What a payment took from one wallet, in spending order.
struct ProgramDraw {
  std::string program;
  Won amount;
  std::string expires_on;
  bool operator==(const ProgramDraw&) const = default;
};

enum class Decline { insufficient_funds, card_inactive, unknown_card, unknown_merchant, merchant_ineligible };
const char* to_string(Decline decline);

struct PaymentRequest {
  Won price;
  std::string card_district;
  CardStatus card = CardStatus::active;
  MerchantTerms merchant;
  Balances balances;
  Won month_eligible_spent;  // across all the member's cards, in the payment's Seoul month
  std::vector<ProgramWallet> wallets = {};  // the member's program money
  std::string business_date = {};           // the payment's Seoul date, for the wallets' expiry
};

struct PaymentQuote {
  Won price;
  Won discount;
  Won charged;
  Won paid_points;
  Won paid_cash;
  Won eligible_before;
  Earnings earned;
  Won paid_program;                        // the sum of program_draws
  std::vector<ProgramDraw> program_draws;  // earliest expiry first
};

struct PaymentDecision {
  std::optional<PaymentQuote> approved;
  std::optional<Decline> declined;
};

PaymentDecision decide_payment(const PaymentRequest& request, const PolicyInForce& policy);

// How the city component divides between the national and city pools: national =
// floor(city * national / (national + city)); the city pool takes the rest.
struct CitySplit {
  Won national;
  Won city;
};
CitySplit split_city_component(Won city, const CityRules& rules);

// An approved payment as the ledger holds it, for cancellations.
struct PaymentState {
  Won charged;
  Won paid_cash;
  Won paid_points;
  Won cancelled;        // sum of earlier cancellations
  Won refunded_cash;    // of those, returned to cash
  Won eligible_before;
  Earnings earned;      // what the remaining amount earns now
  MerchantTerms merchant;
  std::string card_district;
  bool cashback_forfeited = false;  // a confirmed fraud flag: it earns no cashback, whatever remains
  // Program money: what each wallet paid, in spending order, less what earlier cancellations gave
  // back to it.
  std::vector<ProgramDraw> program_left = {};
  Won refunded_program = {};  // what earlier cancellations gave back of program money
};

// A cancellation's program money going back: to the wallet, or, once the program has expired,
// to the program's pool.
struct ProgramRefund {
  std::string program;
  Won amount;
  bool to_pool = false;
  bool operator==(const ProgramRefund&) const = default;
};

struct CancellationQuote {
  Won amount;
  Won refund_cash;
  Won refund_points;
  Won refund_program;                          // the sum of program_refunds
  std::vector<ProgramRefund> program_refunds;  // the latest spent first
  Won remaining;            // charged - all cancellations
  Earnings earned_after;    // what the remaining amount earns
  Cashback reversed;        // earned before - earned after
  Won fee_support_reversed;
  Won eligible_reduction;   // how much the member's monthly eligible total drops
};

// nullopt when the amount would take cancellations past `charged`. Money goes back in the reverse
// of the spending order: cash first, then points, then program money. `business_date` is the
// cancellation's Seoul date: program money expired by then goes to its pool.
std::optional<CancellationQuote> quote_cancellation(const PaymentState& payment, Won amount,
                                                    const PolicyInForce& original_policy,
                                                    const std::string& business_date = "");

// A confirmed fraud flag takes back the payment's cashback as a cancellation would, with nothing
// refunded: every component it earns now is reversed, and its eligible spend leaves the month.
// Fee support is the merchant's and stays. Nothing more is reversed once forfeited.
struct Forfeit {
  Cashback reversed;
  Won eligible_reduction;
};
Forfeit forfeit_cashback(const PaymentState& payment);

}  // namespace evoucher::engine

namespace evoucher::engine {

// What the nightly batch paid a payment from each source.
struct PostedCashback {
  Won national;
  Won city;
  Won district;
  Won merchant;
  Won total() const { return national + city + district + merchant; }
  bool operator==(const PostedCashback&) const = default;
};

struct Clawback {
  PostedCashback taken;     // what goes back to each pool (and the merchant)
  PostedCashback posted;    // what stays posted
  PostedCashback unfunded;  // what the remaining amount earns that no pool paid
};

// After a cancellation of a posted payment, each source keeps at most what the remaining amount
// earns; the rest is taken back from the member's points and returned where it came from.
Clawback clawback_after_cancellation(const PostedCashback& posted, const Cashback& earned_after,
                                     const CityRules& rules);

// What the pools covering a batch's date have left; a source without a pool has nothing.
struct PoolsLeft {
  Won national;
  Won city;
  Won district;
};

// The nightly batch's draw. `due` is each pending payment's cashback, in payment-time order. Each
// draws every pool until it runs out: the payment where a pool runs out is paid in part, later
// ones nothing from it. The merchant component is always paid. `left` falls by what is drawn;
// what a payment was not paid is its due minus its posting.
std::vector<PostedCashback> draw_cashback(const std::vector<PostedCashback>& due, PoolsLeft& left);

}  // namespace evoucher::engine
