// CSV for spreadsheets (RFC 4180): fields separated by commas, rows ended by CRLF, a field
// quoted when it holds a comma, a quote, CR or LF, and quotes inside doubled. Files start with a
// UTF-8 byte-order mark, so that Excel reads Korean text as UTF-8.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace evoucher::api {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// Appends one row's fields to `out`. A text field that a spreadsheet would run as a formula
// (starting with =, +, -, @, a tab or CR) is prefixed with an apostrophe; numbers are written
// as they are.
class CsvRow {
 public:
  explicit CsvRow(std::string& out) : out_(out) {}
  CsvRow& text(std::string_view value);
  CsvRow& number(std::int64_t value);
  CsvRow& boolean(bool value) { return raw(value ? "true" : "false"); }
  // Ends the row with CRLF.
  void end() { out_ += "\r\n"; }

 private:
  CsvRow& raw(std::string_view value);
  void separate();
  std::string& out_;
  bool first_ = true;
};

// A header row of plain names.
void append_csv_header(std::string& out, std::initializer_list<std::string_view> names);

}  // namespace evoucher::api
