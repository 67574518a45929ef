// Private to the money path's store files: numbered parameters, key columns as array literals,
// and running a prepared statement with a dynamic list of them.
#pragma once

#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "pq.hpp"

namespace evoucher::store::money_sql {

// Parameters numbered in the order a statement's text asks for them.
class Params {
 public:
  std::string add(const std::string& type) { return "$" + std::to_string(++count_) + "::" + type; }

 private:
  int count_ = 0;
};

// Each distinct pair once, as two parallel array literals.
template <typename Second>
inline std::pair<std::string, std::string> columns(const std::vector<std::pair<std::string, Second>>& pairs) {
  const std::set<std::pair<std::string, Second>> unique(pairs.begin(), pairs.end());
  std::vector<std::string> a;
  std::vector<Second> b;
  for (const auto& [x, y] : unique) {
    a.push_back(x);
    b.push_back(y);
  }
  if constexpr (std::is_same_v<Second, std::string>) {
    return {text_array(a), text_array(b)};
  } else {
    return {text_array(a), bigint_array({b.begin(), b.end()})};
  }
}

inline std::string distinct_array(const std::vector<std::string>& values) {
  const std::set<std::string> unique(values.begin(), values.end());
  return text_array({unique.begin(), unique.end()});
}

inline pqxx::result run_with(Tx& tx, const Statement& st, const std::vector<std::string>& params) {
  return with_unavailable_mapped([&] {
    ensure_prepared(tx.impl().connection, st);
    return tx.impl().work.exec_prepared(st.name, pqxx::prepare::make_dynamic_params(params));
  });
}

template <typename... Args>
pqxx::result run_mapped(Tx& tx, const Statement& st, Args&&... args) {
  return with_unavailable_mapped([&] { return run(tx, st, std::forward<Args>(args)...); });
}

}  // namespace evoucher::store::money_sql
