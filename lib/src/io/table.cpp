// Text tables: see mhclab/io/table.hpp.
#include "mhclab/io/table.hpp"

#include <charconv>
#include <cmath>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

long Table::find(std::string_view name) const {
  for (std::size_t k = 0; k < header.size(); ++k)
    if (header[k] == name) return static_cast<long>(k);
  return -1;
}

std::size_t Table::column(std::string_view name, const std::string& what) const {
  const long k = find(name);
  if (k < 0)
    throw InputError(what + ": no column '" + std::string(name) + "'; columns are " + joined(header, ", "));
  return static_cast<std::size_t>(k);
}

namespace {
void append_line(std::string& out, const std::vector<std::string>& cells) {
  for (std::size_t k = 0; k < cells.size(); ++k) {
    if (k) out += ',';
    if (cells[k].find_first_of(",\"\n\r") != std::string::npos)
      throw InputError("table cell '" + cells[k] + "' holds a ',', quote or line break; cells must not");
    out += cells[k];
  }
  out += '\n';
}

/// Splits one line into fields (quoted fields taken literally, "" → ").
std::vector<std::string> split_line(std::string_view line, const std::string& where) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) throw InputError(where + ": unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') throw InputError(where + ": text after a closing quote");
    } else {
      const std::size_t end = line.find(',', i);
      field = std::string(line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i));
      i = end == std::string_view::npos ? line.size() : end;
    }
    out.push_back(std::move(field));
    if (i >= line.size()) break;
    ++i;  // the ','
    if (i == line.size()) {
      out.emplace_back();
      break;
    }
  }
  return out;
}
}  // namespace

std::string Table::to_csv() const {
  std::string out;
  append_line(out, header);
  for (const auto& r : rows) {
    if (r.size() != header.size())
      throw InputError("table row with " + std::to_string(r.size()) + " cells; the header has " +
                       std::to_string(header.size()));
    append_line(out, r);
  }
  return out;
}

Table parse_table(std::string_view text, const std::string& name) {
  Table t;
  std::size_t pos = 0, line_no = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = name + ":" + std::to_string(line_no);
    std::vector<std::string> cells = split_line(line, where);
    if (t.header.empty()) {
      t.header = std::move(cells);
      for (std::size_t a = 0; a < t.header.size(); ++a)
        for (std::size_t b = 0; b < a; ++b)
          if (t.header[a] == t.header[b]) throw InputError(where + ": column '" + t.header[a] + "' appears twice");
      continue;
    }
    if (cells.size() != t.header.size())
      throw InputError(where + ": expected " + std::to_string(t.header.size()) + " fields (as in the header), got " +
                       std::to_string(cells.size()));
    t.rows.push_back(std::move(cells));
  }
  if (t.header.empty()) throw InputError(name + ": empty file; expected a CSV header line and rows");
  return t;
}

Table read_table(const std::string& path) { return parse_table(read_file_bytes(path), path); }

void write_table(const std::string& path, const Table& t) { write_file_atomically(path, t.to_csv()); }

std::optional<double> table_number(std::string_view cell) {
  if (cell.empty()) return std::nullopt;
  if (cell.front() == '+') cell.remove_prefix(1);
  double x = 0;
  const auto [p, ec] = std::from_chars(cell.data(), cell.data() + cell.size(), x);
  if (ec != std::errc() || p != cell.data() + cell.size() || !std::isfinite(x)) return std::nullopt;
  return x;
}

}  // namespace mhclab
