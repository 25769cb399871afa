// Typed result tables: see mhclab/kinds/result_table.hpp.
#include "mhclab/kinds/result_table.hpp"

#include <cmath>
#include <limits>

#include "mhclab/analysis/metric_cell.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"

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

void ResultTable::add_row() {
  for (ColumnData& c : columns_) {
    c.present.push_back(0);
    switch (c.spec.type) {
      case ColumnType::Integer:
      case ColumnType::Boolean: c.integer.push_back(0); break;
      case ColumnType::Unsigned: c.unsigned_.push_back(0); break;
      case ColumnType::Real:
        c.real.push_back(kNaN);
        if (c.spec.scaled) c.log10_abs.push_back(kNaN);
        break;
      case ColumnType::Text: c.text.emplace_back(); break;
    }
  }
  ++rows_;
}

void ResultTable::check_set(std::size_t column, ColumnType type) const {
  if (rows_ == 0) throw InputError("internal: ResultTable: set before add_row");
  if (column >= columns_.size()) throw InputError("internal: ResultTable: no column " + std::to_string(column));
  if (columns_[column].spec.type != type)
    throw InputError("internal: result column '" + columns_[column].spec.name + "' is " +
                     type_name(columns_[column].spec.type) + ", set as " + type_name(type));
}

void ResultTable::set_integer(std::size_t column, std::int64_t v) {
  check_set(column, ColumnType::Integer);
  columns_[column].integer.back() = v;
  columns_[column].present.back() = 1;
}

void ResultTable::set_unsigned(std::size_t column, std::uint64_t v) {
  check_set(column, ColumnType::Unsigned);
  columns_[column].unsigned_.back() = v;
  columns_[column].present.back() = 1;
}

void ResultTable::set_real(std::size_t column, double v, double log10_abs) {
  check_set(column, ColumnType::Real);
  ColumnData& c = columns_[column];
  if (!c.spec.scaled) throw InputError("internal: result column '" + c.spec.name + "' is not scaled");
  c.real.back() = v;
  c.log10_abs.back() = log10_abs;
  c.present.back() = 1;
}

void ResultTable::set_real(std::size_t column, double v) {
  check_set(column, ColumnType::Real);
  ColumnData& c = columns_[column];
  c.real.back() = v;
  c.present.back() = 1;
}

void ResultTable::set_boolean(std::size_t column, bool v) {
  check_set(column, ColumnType::Boolean);
  columns_[column].integer.back() = v ? 1 : 0;
  columns_[column].present.back() = 1;
}

void ResultTable::set_text(std::size_t column, std::string v) {
  check_set(column, ColumnType::Text);
  if (v.find_first_of(",\"\n\r") != std::string::npos)
    throw InputError("internal: result column '" + columns_[column].spec.name + "': text '" + v +
                     "' would need CSV quoting");
  columns_[column].text.back() = std::move(v);
  columns_[column].present.back() = 1;
}

void ResultTable::append(const ResultTable& other) {
  if (other.columns_.size() != columns_.size())
    throw InputError("internal: ResultTable::append: " + std::to_string(other.columns_.size()) + " columns, expected " +
                     std::to_string(columns_.size()));
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    const ColumnSpec &a = columns_[c].spec, &b = other.columns_[c].spec;
    if (a.name != b.name || a.type != b.type || a.scaled != b.scaled)
      throw InputError("internal: ResultTable::append: column " + std::to_string(c) + " is '" + b.name +
                       "', expected '" + a.name + "'");
  }
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
  const ColumnData& c = columns_.at(column);
  if (row >= rows_) throw InputError("internal: ResultTable: no row " + std::to_string(row));
  if (!c.present[row]) return {};
  switch (c.spec.type) {
    case ColumnType::Integer: return std::to_string(c.integer[row]);
    case ColumnType::Unsigned: return std::to_string(c.unsigned_[row]);
    case ColumnType::Boolean: return c.integer[row] ? "true" : "false";
    case ColumnType::Text: return c.text[row];
    case ColumnType::Real:
      return c.spec.scaled ? MetricCell::number(c.real[row], c.log10_abs[row]).format() : format_double(c.real[row]);
  }
  return {};
}

std::string ResultTable::to_csv() const {
  std::string out;
  for (std::size_t c = 0; c < columns_.size(); ++c) out += (c ? "," : "") + columns_[c].spec.name;
  out += '\n';
  for (std::size_t r = 0; r < rows_; ++r) {
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c) out += ',';
      out += cell_text(r, c);
    }
    out += '\n';
  }
  return out;
}

}  // namespace mhclab
