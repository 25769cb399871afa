#pragma once
// The typed result of an experiment kind: columns declared once (name, type, meaning) and stored as numbers,
// column by column, so a caller can aggregate, plot or hand them to NumPy without parsing text. The CSV that the
// CLI and the sweep runner write is one rendering of it (to_csv).
//
// Types and their CSV cells:
//   Integer   int64, `std::to_string`          Unsigned  uint64 (seeds), `std::to_string`
//   Real      double, %.17g (core/format.hpp); a Real column declared `scaled` also keeps log10|x| per cell, and a
//             value beyond the double range is written from it (SPEC §4: "1.2345e+4139", never inf or 0)
//   Boolean   true|false                        Text      verbatim (enum names, statuses; never ',' or '"')
// Every cell may be empty (written as ""), e.g. a column that only the last layer's row fills.
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/io/table.hpp"

namespace mhclab {

enum class ColumnType { Integer, Unsigned, Real, Boolean, Text };

struct ColumnSpec {
  std::string name;      ///< CSV header, unique within a table
  ColumnType type = ColumnType::Real;
  std::string meaning;   ///< one line: what the column holds (units, definition)
  bool scaled = false;   ///< Real only: cells carry log10|x| for values beyond the double range
};

/// std::allocator whose value-less construct() default-initialises: resizing a vector of numbers leaves them
/// uninitialised, so a large table's cells are first touched (and page-faulted) by the threads that fill them.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
template <class T>
using CellVector = std::vector<T, DefaultInitAllocator<T>>;

/// One column's cells; only the vector of its type is used (`present` for every type).
struct ColumnData {
  ColumnSpec spec;
  CellVector<std::uint8_t> present;   ///< 1 = the cell has a value
  CellVector<std::int64_t> integer;   ///< Integer; Boolean as 0/1
  CellVector<std::uint64_t> unsigned_;  ///< Unsigned
  CellVector<double> real;            ///< Real
  CellVector<double> log10_abs;       ///< Real and scaled: log10 of the true magnitude (NaN: `real` is exact)
  std::vector<std::string> text;       ///< Text
};

class ResultTable {
 public:
  ResultTable() = default;
  explicit ResultTable(std::vector<ColumnSpec> columns);

  [[nodiscard]] const std::vector<ColumnData>& columns() const { return columns_; }
  [[nodiscard]] std::size_t rows() const { return rows_; }
  /// Index of column `name`, or -1.
  [[nodiscard]] long find(std::string_view name) const;

  /// Appends a row of empty cells; the setters below fill the last row.
  void add_row();
  void set_integer(std::size_t column, std::int64_t v) { set_integer_at(rows_ - 1, column, v); }
  void set_unsigned(std::size_t column, std::uint64_t v) { set_unsigned_at(rows_ - 1, column, v); }
  /// A Real cell; `log10_abs` (scaled columns only) = log10 of the true magnitude when `v` may be out of range.
  void set_real(std::size_t column, double v, double log10_abs) { set_real_at(rows_ - 1, column, v, log10_abs); }
  void set_real(std::size_t column, double v) { set_real_at(rows_ - 1, column, v); }
  void set_boolean(std::size_t column, bool v) { set_boolean_at(rows_ - 1, column, v); }
  void set_text(std::size_t column, std::string v) { set_text_at(rows_ - 1, column, std::move(v)); }

  /// Appends `count` rows of empty cells at once, marked empty on `threads` (0 = all cores); the `_at` setters fill
  /// any row. Distinct rows may be filled from different threads (no setter reallocates).
  void add_rows(std::size_t count, int threads = 0);
  /// Removes every row and keeps the columns and their capacity (a block table reused across blocks).
  void clear();
  void set_integer_at(std::size_t row, std::size_t column, std::int64_t v);
  void set_unsigned_at(std::size_t row, std::size_t column, std::uint64_t v);
  void set_real_at(std::size_t row, std::size_t column, double v, double log10_abs);
  void set_real_at(std::size_t row, std::size_t column, double v);
  void set_boolean_at(std::size_t row, std::size_t column, bool v);
  void set_text_at(std::size_t row, std::size_t column, std::string v);

  /// Copies the cells (row r of `src`, columns cols[k]) into column k of the last row; the column types must match.
  void copy_cells(const ResultTable& src, std::size_t r, const std::vector<std::size_t>& cols);

  /// Appends the rows of `other` (same columns, else InputError naming the first difference).
  void append(const ResultTable& other);
  /// Copies the rows of `other` (same columns) over rows first_row .. first_row + other.rows() − 1, which must exist
  /// (add_rows). Distinct ranges may be assigned from different threads (nothing reallocates).
  void assign_rows(std::size_t first_row, const ResultTable& other);

  /// The CSV text of cell (row, column).
  [[nodiscard]] std::string cell_text(std::size_t row, std::size_t column) const;
  /// Appends the CSV text of cell (r, column) to `out` (no temporary: the writers' hot path).
  void append_cell(std::string& out, std::size_t r, std::size_t column) const;
  /// Header line and one line per row, '\n' after each.
  [[nodiscard]] std::string to_csv() const;
  /// The header line of to_csv(); and the lines of rows first..last−1 appended to `out` (blocks of a CSV written
  /// piece by piece).
  [[nodiscard]] std::string csv_header() const;
  void append_csv_rows(std::string& out, std::size_t first, std::size_t last) const;
  /// The same text in consecutive pieces (header, then blocks of rows rendered in parallel on `threads`, 0 = all
  /// cores): identical bytes for any thread count, written without a joined copy.
  [[nodiscard]] std::vector<std::string> csv_chunks(int threads = 0) const;
  /// Hands the same text to `sink` in order, rendered in parallel blocks into reused buffers (the whole text never
  /// exists), e.g. to io/atomic_file.hpp's write_file_atomically_streamed.
  void write_csv(const std::function<void(std::string_view)>& sink, int threads = 0) const;

  /// A table of CSV text as Text columns (empty cells absent), e.g. rows read back from a file; and back.
  [[nodiscard]] static ResultTable from_text(const Table& text);
  [[nodiscard]] Table to_text() const;

 private:
  void check_set(std::size_t row, std::size_t column, ColumnType type) const;
  void check_same_columns(const ResultTable& other, const char* what) const;
  std::vector<ColumnData> columns_;
  std::size_t rows_ = 0;
};

}  // namespace mhclab
