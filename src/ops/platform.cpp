// The service's own reads, each in a transaction of its own.
#include "evoucher/ops/platform.hpp"

#include "evoucher/ops/admin.hpp"
#include "evoucher/store/districts.hpp"

namespace evoucher::ops {

std::map<std::string, store::TokenRow> tokens(store::Connection& connection) {
  return reading(connection, [&](store::Tx& tx) { return store::all_tokens(tx); });
}

std::optional<store::TokenRow> find_token(store::Connection& connection, const std::string& token_hash) {
  return reading(connection, [&](store::Tx& tx) { return store::find_token(tx, token_hash); });
}

bool create_token(store::Connection& connection, const std::string& token_hash, const store::TokenRow& token) {
  store::Tx tx(connection);
  if (token.district && !store::find_district(tx, *token.district)) return false;
  store::create_token(tx, token_hash, token);
  tx.commit();
  return true;
}

store::BusinessFigures::Replication replication_figures(store::Connection& connection) {
  return reading(connection, [&](store::Tx& tx) { return store::replication_figures(tx); });
}

store::BusinessFigures business_figures(store::Connection& connection, const std::string& today) {
  return reading(connection, [&](store::Tx& tx) { return store::business_figures(tx, today); });
}

std::string flushed_lsn(store::Connection& primary) {
  store::Tx tx(primary);
  return store::flushed_lsn(tx);
}

store::ReadPosition read_position(store::Connection& connection, const std::string& primary_lsn) {
  return reading(connection, [&](store::Tx& tx) { return store::read_position(tx, primary_lsn); });
}

}  // namespace evoucher::ops
