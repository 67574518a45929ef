// RFC 4180 fields, and the guard against spreadsheet formulas in text.
#include "evoucher/api/csv.hpp"

namespace evoucher::api {

void CsvRow::separate() {
  if (!first_) out_ += ',';
  first_ = false;
}

CsvRow& CsvRow::raw(std::string_view value) {
  separate();
  out_ += value;
  return *this;
}

CsvRow& CsvRow::number(std::int64_t value) { return raw(std::to_string(value)); }

CsvRow& CsvRow::text(std::string_view value) {
  separate();
  const bool formula = !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                                          value[0] == '\t' || value[0] == '\r');
  const bool quoted = formula || value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quoted) out_ += '"';
  if (formula) out_ += '\'';
  for (const char c : value) {
    if (c == '"') out_ += '"';
    out_ += c;
  }
  if (quoted) out_ += '"';
  return *this;
}

void append_csv_header(std::string& out, std::initializer_list<std::string_view> names) {
  CsvRow row(out);
  for (const auto name : names) row.text(name);
  row.end();
}

}  // namespace evoucher::api
