// What the service reads for itself, each in a transaction of its own: admin tokens, the figures
// that /metrics shows, and where a connection stands in the primary's WAL.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "evoucher/store/figures.hpp"
#include "evoucher/store/parties.hpp"
#include "evoucher/store/standby.hpp"

namespace evoucher::ops {

// Admin tokens by the SHA-256 of the token.
std::map<std::string, store::TokenRow> tokens(store::Connection& connection);
std::optional<store::TokenRow> find_token(store::Connection& connection, const std::string& token_hash);
// A new admin token (the command line's `token create`); false when the district does not exist.
bool create_token(store::Connection& connection, const std::string& token_hash, const store::TokenRow& token);

store::BusinessFigures::Replication replication_figures(store::Connection& connection);
store::BusinessFigures business_figures(store::Connection& connection, const std::string& today);

// On the primary: how far its WAL is flushed. On a read connection: how far it has replayed that.
std::string flushed_lsn(store::Connection& primary);
store::ReadPosition read_position(store::Connection& connection, const std::string& primary_lsn);

}  // namespace evoucher::ops
