// Typed result tables: see mhclab/kinds/result_table.hpp.
#include "mhclab/kinds/result_table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/parallel.hpp"

namespace mhclab {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
const char* type_name(ColumnType t) {
  switch (t) {
    case ColumnType::Integer: return "integer";
    case ColumnType::Unsigned: return "unsigned";
    case ColumnType::Real: return "real";
    case ColumnType::Boolean: return "boolean";
    case ColumnType::Text: return "text";
  }
  return "?";
}
}  // namespace

ResultTable::ResultTable(std::vector<ColumnSpec> columns) {
  columns_.reserve(columns.size());
  for (ColumnSpec& c : columns) {
    if (find(c.name) >= 0) throw InputError("internal: result column '" + c.name + "' declared twice");
    if (c.scaled && c.type != ColumnType::Real)
      throw InputError("internal: result column '" + c.name + "' is scaled but not real");
    ColumnData d;
    d.spec = std::move(c);
    columns_.push_back(std::move(d));
  }
}

long ResultTable::find(std::string_view name) const {
  for (std::size_t c = 0; c < columns_.size(); ++c)
    if (columns_[c].spec.name == name) return static_cast<long>(c);
  return -1;
}

void ResultTable::add_row() { add_rows(1); }

void ResultTable::clear() {
  for (ColumnData& c : columns_) {
    c.present.clear();
    c.integer.clear();
    c.unsigned_.clear();
    c.real.clear();
    c.log10_abs.clear();
    c.text.clear();
  }
  rows_ = 0;
}

void ResultTable::add_rows(std::size_t count, int threads) {
  // The numbers are resized uninitialised (CellVector) and then marked empty in parallel blocks, so the pages of a
  // large table are first touched by every thread, not page-faulted by one.
  const std::size_t first = rows_, n = rows_ + count;
  for (ColumnData& c : columns_) {
    c.present.resize(n);
    switch (c.spec.type) {
      case ColumnType::Integer:
      case ColumnType::Boolean: c.integer.resize(n); break;
      case ColumnType::Unsigned: c.unsigned_.resize(n); break;
      case ColumnType::Real:
        c.real.resize(n);
        if (c.spec.scaled) c.log10_abs.resize(n);
        break;
      case ColumnType::Text: c.text.resize(n); break;
    }
  }
  constexpr std::size_t kBlock = 1 << 16;
  const std::size_t blocks = (count + kBlock - 1) / kBlock;
  parallel_for(static_cast<Index>(blocks), threads, [&](Index b) {
    const std::size_t lo = first + static_cast<std::size_t>(b) * kBlock, hi = std::min(n, lo + kBlock);
    for (ColumnData& c : columns_) {
      std::fill(c.present.begin() + static_cast<std::ptrdiff_t>(lo), c.present.begin() + static_cast<std::ptrdiff_t>(hi), 0);
      const auto fill = [&](auto& v, auto value) {
        std::fill(v.begin() + static_cast<std::ptrdiff_t>(lo), v.begin() + static_cast<std::ptrdiff_t>(hi), value);
      };
      switch (c.spec.type) {
        case ColumnType::Integer:
        case ColumnType::Boolean: fill(c.integer, std::int64_t{0}); break;
        case ColumnType::Unsigned: fill(c.unsigned_, std::uint64_t{0}); break;
        case ColumnType::Real:
          fill(c.real, kNaN);
          if (c.spec.scaled) fill(c.log10_abs, kNaN);
          break;
        case ColumnType::Text: break;
      }
    }
  });
  rows_ = n;
}

void ResultTable::check_set(std::size_t row, std::size_t column, ColumnType type) const {
  if (row >= rows_) throw InputError("internal: ResultTable: set in row " + std::to_string(row) + " of " + std::to_string(rows_));
  if (column >= columns_.size()) throw InputError("internal: ResultTable: no column " + std::to_string(column));
  if (columns_[column].spec.type != type)
    throw InputError("internal: result column '" + columns_[column].spec.name + "' is " +
                     type_name(columns_[column].spec.type) + ", set as " + type_name(type));
}

void ResultTable::set_integer_at(std::size_t row, std::size_t column, std::int64_t v) {
  check_set(row, column, ColumnType::Integer);
  columns_[column].integer[row] = v;
  columns_[column].present[row] = 1;
}

void ResultTable::set_unsigned_at(std::size_t row, std::size_t column, std::uint64_t v) {
  check_set(row, column, ColumnType::Unsigned);
  columns_[column].unsigned_[row] = v;
  columns_[column].present[row] = 1;
}

void ResultTable::set_real_at(std::size_t row, std::size_t column, double v, double log10_abs) {
  check_set(row, column, ColumnType::Real);
  ColumnData& c = columns_[column];
  if (!c.spec.scaled) throw InputError("internal: result column '" + c.spec.name + "' is not scaled");
  c.real[row] = v;
  c.log10_abs[row] = log10_abs;
  c.present[row] = 1;
}

void ResultTable::set_real_at(std::size_t row, std::size_t column, double v) {
  check_set(row, column, ColumnType::Real);
  columns_[column].real[row] = v;
  columns_[column].present[row] = 1;
}

void ResultTable::set_boolean_at(std::size_t row, std::size_t column, bool v) {
  check_set(row, column, ColumnType::Boolean);
  columns_[column].integer[row] = v ? 1 : 0;
  columns_[column].present[row] = 1;
}

void ResultTable::set_text_at(std::size_t row, std::size_t column, std::string v) {
  check_set(row, column, ColumnType::Text);
  if (v.find_first_of(",\"\n\r") != std::string::npos)
    throw InputError("internal: result column '" + columns_[column].spec.name + "': text '" + v +
                     "' would need CSV quoting");
  columns_[column].text[row] = std::move(v);
  columns_[column].present[row] = 1;
}

void ResultTable::copy_cells(const ResultTable& src, std::size_t r, const std::vector<std::size_t>& cols) {
  for (std::size_t k = 0; k < cols.size(); ++k) {
    const ColumnData& s = src.columns_.at(cols[k]);
    check_set(rows_ - 1, k, s.spec.type);
    ColumnData& d = columns_[k];
    if (d.spec.scaled != s.spec.scaled)
      throw InputError("internal: result column '" + d.spec.name + "': scaled and unscaled cells");
    d.present.back() = s.present.at(r);
    switch (s.spec.type) {
      case ColumnType::Integer:
      case ColumnType::Boolean: d.integer.back() = s.integer[r]; break;
      case ColumnType::Unsigned: d.unsigned_.back() = s.unsigned_[r]; break;
      case ColumnType::Real:
        d.real.back() = s.real[r];
        if (s.spec.scaled) d.log10_abs.back() = s.log10_abs[r];
        break;
      case ColumnType::Text: d.text.back() = s.text[r]; break;
    }
  }
}

void ResultTable::check_same_columns(const ResultTable& other, const char* what) const {
  if (other.columns_.size() != columns_.size())
    throw InputError(std::string("internal: ResultTable::") + what + ": " + std::to_string(other.columns_.size()) +
                     " columns, expected " + std::to_string(columns_.size()));
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    const ColumnSpec &a = columns_[c].spec, &b = other.columns_[c].spec;
    if (a.name != b.name || a.type != b.type || a.scaled != b.scaled)
      throw InputError(std::string("internal: ResultTable::") + what + ": column " + std::to_string(c) + " is '" +
                       b.name + "', expected '" + a.name + "'");
  }
}

void ResultTable::assign_rows(std::size_t first_row, const ResultTable& other) {
  check_same_columns(other, "assign_rows");
  if (first_row > rows_ || other.rows_ > rows_ - first_row)
    throw InputError("internal: ResultTable::assign_rows: rows " + std::to_string(first_row) + "+" +
                     std::to_string(other.rows_) + " of " + std::to_string(rows_));
  const auto at = static_cast<std::ptrdiff_t>(first_row);
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    ColumnData& d = columns_[c];
    const ColumnData& s = other.columns_[c];
    const auto copy = [&](const auto& from, auto& to) {
      if (!from.empty()) std::copy(from.begin(), from.begin() + static_cast<std::ptrdiff_t>(other.rows_), to.begin() + at);
    };
    copy(s.present, d.present);
    copy(s.integer, d.integer);
    copy(s.unsigned_, d.unsigned_);
    copy(s.real, d.real);
    copy(s.log10_abs, d.log10_abs);
    copy(s.text, d.text);
  }
}

void ResultTable::append(const ResultTable& other) {
  check_same_columns(other, "append");
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    ColumnData& d = columns_[c];
    const ColumnData& s = other.columns_[c];
    d.present.insert(d.present.end(), s.present.begin(), s.present.end());
    d.integer.insert(d.integer.end(), s.integer.begin(), s.integer.end());
    d.unsigned_.insert(d.unsigned_.end(), s.unsigned_.begin(), s.unsigned_.end());
    d.real.insert(d.real.end(), s.real.begin(), s.real.end());
    d.log10_abs.insert(d.log10_abs.end(), s.log10_abs.begin(), s.log10_abs.end());
    d.text.insert(d.text.end(), s.text.begin(), s.text.end());
  }
  rows_ += other.rows_;
}

std::string ResultTable::cell_text(std::size_t row, std::size_t column) const {
  if (column >= columns_.size()) throw InputError("internal: ResultTable: no column " + std::to_string(column));
  if (row >= rows_) throw InputError("internal: ResultTable: no row " + std::to_string(row));
  std::string out;
  append_cell(out, row, column);
  return out;
}

void ResultTable::append_cell(std::string& out, std::size_t r, std::size_t column) const {
  const ColumnData& c = columns_[column];
  if (!c.present[r]) return;
  char buf[24];
  switch (c.spec.type) {
    case ColumnType::Integer: out.append(buf, std::to_chars(buf, buf + sizeof buf, c.integer[r]).ptr); return;
    case ColumnType::Unsigned: out.append(buf, std::to_chars(buf, buf + sizeof buf, c.unsigned_[r]).ptr); return;
    case ColumnType::Boolean: out += c.integer[r] ? "true" : "false"; return;
    case ColumnType::Text: out += c.text[r]; return;
    case ColumnType::Real: {
      if (c.spec.scaled)
        append_metric_cell(out, c.real[r], c.log10_abs[r]);  // MetricCell::number(v, log10).format()
      else
        append_double(out, c.real[r]);
      return;
    }
  }
}

std::string ResultTable::csv_header() const {
  std::string out;
  for (std::size_t c = 0; c < columns_.size(); ++c) out += (c ? "," : "") + columns_[c].spec.name;
  out += '\n';
  return out;
}

void ResultTable::append_csv_rows(std::string& out, std::size_t first, std::size_t last) const {
  for (std::size_t r = first; r < last; ++r) {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c) out += ',';
      append_cell(out, r, c);
    }
    out += '\n';
  }
}

std::string ResultTable::to_csv() const {
  std::string out = csv_header();
  append_csv_rows(out, 0, rows_);
  return out;
}

std::vector<std::string> ResultTable::csv_chunks(int threads) const {
  constexpr std::size_t kRowsPerChunk = 8192;
  const std::size_t chunks = (rows_ + kRowsPerChunk - 1) / kRowsPerChunk;
  std::vector<std::string> out(chunks + 1);
  out[0] = csv_header();
  parallel_for(static_cast<Index>(chunks), threads, [&](Index k) {
    const std::size_t first = static_cast<std::size_t>(k) * kRowsPerChunk, last = std::min(rows_, first + kRowsPerChunk);
    std::string& text = out[static_cast<std::size_t>(k) + 1];
    text.reserve((last - first) * (8 + 24 * columns_.size()));  // a typical row: no regrowth, no copy
    append_csv_rows(text, first, last);
  });
  return out;
}

void ResultTable::write_csv(const std::function<void(std::string_view)>& sink, int threads) const {
  // Rounds of one block per thread, rendered in parallel into buffers that are reused from round to round, then
  // handed over in order: the text never exists whole, and its pages are touched once.
  constexpr std::size_t kRowsPerBlock = 16384;
  sink(csv_header());
  const auto t = static_cast<std::size_t>(std::max(1, resolve_threads(threads)));
  std::vector<std::string> buffers(t);
  for (std::size_t first = 0; first < rows_; first += t * kRowsPerBlock) {
    parallel_for(static_cast<Index>(t), static_cast<int>(t), [&](Index k) {
      std::string& text = buffers[static_cast<std::size_t>(k)];
      text.clear();
      const std::size_t lo = std::min(rows_, first + static_cast<std::size_t>(k) * kRowsPerBlock);
      append_csv_rows(text, lo, std::min(rows_, lo + kRowsPerBlock));
    });
    for (const std::string& text : buffers) sink(text);
  }
}

ResultTable ResultTable::from_text(const Table& t) {
  for (std::size_t r = 0; r < t.rows.size(); ++r)
    if (t.rows[r].size() != t.header.size())
      throw InputError("table: row " + std::to_string(r + 1) + " has " + std::to_string(t.rows[r].size()) +
                       " cells; the header has " + std::to_string(t.header.size()) + " columns");
  std::vector<ColumnSpec> specs;
  for (const std::string& h : t.header) specs.push_back({h, ColumnType::Text, "", false});
  ResultTable out(std::move(specs));
  for (ColumnData& c : out.columns_) {
    c.present.assign(t.rows.size(), 1);
    c.text.reserve(t.rows.size());
  }
  for (const auto& row : t.rows)
    for (std::size_t c = 0; c < row.size(); ++c) {
      out.columns_[c].text.push_back(row[c]);
      if (row[c].empty()) out.columns_[c].present[out.columns_[c].text.size() - 1] = 0;
    }
  out.rows_ = t.rows.size();
  return out;
}

Table ResultTable::to_text() const {
  Table t;
  for (const ColumnData& c : columns_) t.header.push_back(c.spec.name);
  t.rows.resize(rows_);
  for (std::size_t r = 0; r < rows_; ++r) {
    t.rows[r].resize(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) append_cell(t.rows[r][c], r, c);
  }
  return t;
}

}  // namespace mhclab
