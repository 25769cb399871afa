#pragma once
// Tidy result tables as text: a header of column names and rows of cells, the shape of every CSV that
// mhclab writes (depth, propagate, mix statistics, sweep rows and aggregates).
//
// Format: fields separated by ',', '\n' line ends ('\r\n' accepted on read), the first line is the header.
// Cells are written verbatim: mhclab's own cells never hold ',', '"' or a line break (numbers, enum names,
// flags). A cell that would need quoting is refused on write (InputError), and a quoted field on read is
// taken literally between its quotes (RFC 4180 "" escapes), so files from other tools still load.
// Cells stay strings: numbers are parsed by the caller (`table_number`) so that a value written from its
// log form beyond the double range ("1e+4139") is not silently turned into inf.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mhclab {

struct Table {
  std::vector<std::string> header;              ///< column names, unique
  std::vector<std::vector<std::string>> rows;   ///< each row has header.size() cells

  /// Index of column `name`, or -1.
  [[nodiscard]] long find(std::string_view name) const;
  /// Index of column `name`; throws InputError "<what>: no column 'name'; columns are a, b, …".
  [[nodiscard]] std::size_t column(std::string_view name, const std::string& what) const;
  /// Whole CSV text (header + rows), '\n' after every line.
  [[nodiscard]] std::string to_csv() const;
};

/// Parses CSV text; `name` (a file name) prefixes errors: "<name>:<line>: expected K fields, got J".
/// An empty text or a missing header is an InputError.
[[nodiscard]] Table parse_table(std::string_view text, const std::string& name);
/// Reads and parses a file (InputError naming the file if it cannot be read).
[[nodiscard]] Table read_table(const std::string& path);
/// Writes the table atomically (mhclab/io/atomic_file.hpp).
void write_table(const std::string& path, const Table& t);

/// A cell as a finite double; nullopt for an empty cell, text, or a value outside the double range
/// (so "1e+4139" is not mistaken for inf). "true"/"false" are not numbers.
[[nodiscard]] std::optional<double> table_number(std::string_view cell);

}  // namespace mhclab
