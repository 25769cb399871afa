// CSV matrices, vectors and long-form stacks. See mhclab/io/csv.hpp for the format and the error policy.
#include "mhclab/core/format.hpp"
#include "mhclab/io/csv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <set>
#include <system_error>

#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

/// A data line: its 1-based line number and its fields (trimmed).
struct Line {
  std::size_t number = 0;
  std::vector<std::string_view> fields;
};

/// The significant lines of `text` (blank lines and '#' comments skipped), split at commas.
std::vector<Line> split_lines(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::vector<Line> lines;
  std::size_t number = 0;
  while (!text.empty()) {
    ++number;
    const std::size_t eol = text.find('\n');
    const std::string_view raw = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const std::string_view t = trim(raw);
    if (t.empty() || t.front() == '#') continue;
    Line line;
    line.number = number;
    std::string_view rest = t;
    for (;;) {
      const std::size_t comma = rest.find(',');
      line.fields.push_back(trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string where(const std::string& name, const Line& line) { return name + ":" + std::to_string(line.number); }

std::string column_label(std::size_t k) { return "column " + std::to_string(k + 1); }

double parse_number(std::string_view f, const std::string& name, const Line& line, const std::string& column) {
  std::string_view s = f;
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ptr != s.data() + s.size() || (ec != std::errc{} && ec != std::errc::result_out_of_range))
    throw InputError(where(name, line) + ": expected a number in " + column + ", got '" + std::string(f) + "'");
  if (ec == std::errc::result_out_of_range)
    throw InputError(where(name, line) + ": value '" + std::string(f) + "' in " + column +
                     " is out of the range of double; expected a finite number");
  if (!std::isfinite(v))
    throw InputError(where(name, line) + ": non-finite value '" + std::string(f) + "' in " + column +
                     "; expected finite numbers only");
  return v;
}

std::size_t parse_index(std::string_view f, const std::string& name, const Line& line, const std::string& column) {
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (f.empty() || ec != std::errc{} || ptr != f.data() + f.size() || v > std::uint64_t{1} << 62)
    throw InputError(where(name, line) + ": column '" + column + "': expected a non-negative integer index, got '" +
                     std::string(f) + "'");
  return static_cast<std::size_t>(v);
}


/// "(layer=1, i=0, j=2)"
std::string tuple_string(const std::vector<std::string>& cols, const std::vector<std::size_t>& idx) {
  std::string s = "(";
  for (std::size_t c = 0; c < cols.size(); ++c) s += (c ? ", " : "") + cols[c] + "=" + std::to_string(idx[c]);
  return s + ")";
}

bool is_identifier_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '"' || c == '\'';
}

std::string unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front())
    s = s.substr(1, s.size() - 2);
  return std::string(trim(s));
}

std::string number_line(const std::vector<double>& values) {
  std::string s;
  for (std::size_t k = 0; k < values.size(); ++k) {
    if (k) s += ',';
    s += format_double(values[k]);
  }
  return s;
}

void require_finite(double v, const std::string& name) {
  if (!std::isfinite(v))
    throw ComputeError(name + ": refusing to write non-finite value " + format_double(v) +
                       " (mhclab's readers accept finite values only)");
}

}  // namespace

bool csv_has_header(std::string_view text) {
  const auto lines = split_lines(text);
  if (lines.empty()) return false;
  const std::string_view f = lines.front().fields.front();
  if (f.empty() || !is_identifier_start(f.front())) return false;
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  return !(ec == std::errc{} && ptr == f.data() + f.size());  // "nan", "inf": a (bad) number, not a name
}

NpyArray parse_csv_table(std::string_view text, const std::string& name) {
  const auto lines = split_lines(text);
  if (lines.empty()) throw InputError(name + ": no data; expected lines of comma-separated numbers");
  const std::size_t cols = lines.front().fields.size();
  NpyArray a;
  a.shape = {lines.size(), cols};
  a.data.reserve(lines.size() * cols);
  for (const Line& line : lines) {
    if (line.fields.size() != cols)
      throw InputError(where(name, line) + ": expected " + std::to_string(cols) + " number" + (cols == 1 ? "" : "s") +
                       ", got " + std::to_string(line.fields.size()) + " (line " +
                       std::to_string(lines.front().number) + " has " + std::to_string(cols) + ")");
    for (std::size_t k = 0; k < cols; ++k) a.data.push_back(parse_number(line.fields[k], name, line, column_label(k)));
  }
  return a;
}

NpyArray read_csv_table(const std::string& path) { return parse_csv_table(read_file_bytes(path), path); }

CsvLongForm parse_csv_long(std::string_view text, const std::string& name,
                           const std::vector<std::string>& index_axes) {
  const auto lines = split_lines(text);
  std::vector<std::string> example = {"layer"};
  example.insert(example.end(), index_axes.begin(), index_axes.end());
  example.push_back("value");
  const std::string expected_header = "expected a header '[lead columns,]" + joined(index_axes, ",") +
                                      ",value', e.g. '" + joined(example, ",") + "'";
  if (lines.empty()) throw InputError(name + ": empty file; " + expected_header);

  const Line& head = lines.front();
  std::vector<std::string> cols;
  for (const auto f : head.fields) cols.push_back(unquote(f));
  const std::size_t n_index = index_axes.size();
  bool ok = cols.size() >= n_index + 1 && cols.back() == "value";
  for (std::size_t k = 0; ok && k < n_index; ++k) ok = cols[cols.size() - 1 - n_index + k] == index_axes[k];
  const std::size_t n_lead = ok ? cols.size() - 1 - n_index : 0;
  std::set<std::string> seen;
  for (std::size_t k = 0; ok && k < cols.size(); ++k) {
    ok = !cols[k].empty() && seen.insert(cols[k]).second;
    if (ok && k < n_lead) ok = is_identifier_start(cols[k].front());
  }
  if (!ok) throw InputError(where(name, head) + ": bad header '" + joined(cols, ",") + "'; " + expected_header);

  CsvLongForm out;
  out.lead_axes.assign(cols.begin(), cols.begin() + static_cast<std::ptrdiff_t>(n_lead));
  out.index_axes = index_axes;
  const std::size_t rank = n_lead + n_index;
  std::vector<std::string> idx_cols(cols.begin(), cols.end() - 1);
  const std::string tuple_names = joined(idx_cols, ", ", "(", ")");

  struct Entry {
    std::vector<std::size_t> idx;
    double value;
    std::size_t line;
  };
  std::vector<Entry> entries;
  entries.reserve(lines.size() - 1);
  for (std::size_t r = 1; r < lines.size(); ++r) {
    const Line& line = lines[r];
    if (line.fields.size() != cols.size())
      throw InputError(where(name, line) + ": expected " + std::to_string(cols.size()) + " fields (" +
                       joined(cols, ",") + "), got " + std::to_string(line.fields.size()));
    Entry e;
    e.idx.resize(rank);
    for (std::size_t c = 0; c < rank; ++c) e.idx[c] = parse_index(line.fields[c], name, line, cols[c]);
    e.value = parse_number(line.fields[rank], name, line, "column 'value'");
    e.line = line.number;
    entries.push_back(std::move(e));
  }
  if (entries.empty())
    throw InputError(name + ": no data lines after the header; expected one line per " + tuple_names + " entry");

  // C order = lexicographic order of the index tuples; duplicates end up adjacent.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.idx < b.idx; });
  for (std::size_t k = 1; k < entries.size(); ++k)
    if (entries[k].idx == entries[k - 1].idx) {
      const Entry& earlier = entries[k - 1];  // stable sort: equal tuples stay in file order
      const Entry& later = entries[k];
      throw InputError(name + ":" + std::to_string(later.line) + ": duplicate entry " +
                       tuple_string(idx_cols, later.idx) + ", first given on line " + std::to_string(earlier.line) +
                       "; expected each " + tuple_names + " exactly once");
    }

  // Extents from the largest index per column; walk the expected tuples in C order alongside the sorted
  // entries: the first mismatch is a missing entry (found within entries.size() + 1 steps, no big allocation).
  std::vector<std::size_t> extent(rank, 0);
  for (const Entry& e : entries)
    for (std::size_t c = 0; c < rank; ++c) extent[c] = std::max(extent[c], e.idx[c] + 1);
  auto missing = [&](const std::vector<std::size_t>& idx) {
    std::string bounds;
    for (std::size_t c = 0; c < rank; ++c)
      bounds += (c ? ", " : "") + idx_cols[c] + " < " + std::to_string(extent[c]);
    throw InputError(name + ": missing entry " + tuple_string(idx_cols, idx) + "; expected every " + tuple_names +
                     " with " + bounds + " exactly once (indices dense from 0)");
  };
  std::vector<std::size_t> expect(rank, 0);
  for (const Entry& e : entries) {
    if (e.idx != expect) missing(expect);
    // increment the C-order counter
    for (std::size_t c = rank; c-- > 0;) {
      if (++expect[c] < extent[c]) break;
      expect[c] = 0;
    }
  }
  // All entries matched; complete only if the counter wrapped around to all zeros.
  if (rank > 0 && expect != std::vector<std::size_t>(rank, 0)) missing(expect);
  if (rank == 0 && entries.size() != 1) missing(expect);

  out.array.shape = extent;
  out.array.data.reserve(entries.size());
  for (const Entry& e : entries) out.array.data.push_back(e.value);
  return out;
}

CsvLongForm read_csv_long(const std::string& path, const std::vector<std::string>& index_axes) {
  return parse_csv_long(read_file_bytes(path), path, index_axes);
}

Mat read_csv_matrix(const std::string& path) {
  const NpyArray t = read_csv_table(path);
  const std::size_t r = t.shape[0], c = t.shape[1];
  if (r != c)
    throw InputError(path + ": expected a square matrix (n lines of n numbers), got " + std::to_string(r) +
                     " line" + (r == 1 ? "" : "s") + " of " + std::to_string(c) + " number" + (c == 1 ? "" : "s"));
  const auto n = static_cast<Index>(r);
  Mat A(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) A(i, j) = t.data[static_cast<std::size_t>(i * n + j)];
  return A;
}

Vec read_csv_vector(const std::string& path) {
  const NpyArray t = read_csv_table(path);
  const std::size_t r = t.shape[0], c = t.shape[1];
  if (r != 1 && c != 1)
    throw InputError(path + ": expected a vector (numbers in one line, or one number per line), got " +
                     std::to_string(r) + " lines of " + std::to_string(c) + " numbers");
  Vec v(static_cast<Index>(t.data.size()));
  for (Index k = 0; k < v.size(); ++k) v[k] = t.data[static_cast<std::size_t>(k)];
  return v;
}

void write_csv_matrix(const std::string& path, const Mat& A) {
  std::string out;
  std::vector<double> row(static_cast<std::size_t>(A.cols()));
  for (Index i = 0; i < A.rows(); ++i) {
    for (Index j = 0; j < A.cols(); ++j) {
      require_finite(A(i, j), path);
      row[static_cast<std::size_t>(j)] = A(i, j);
    }
    out += number_line(row);
    out += '\n';
  }
  write_file_atomically(path, out);
}

void write_csv_long(const std::string& path, const CsvLongForm& s) {
  const std::size_t rank = s.lead_axes.size() + s.index_axes.size();
  if (s.array.shape.size() != rank)
    throw InputError(path + ": internal: long-form stack of shape " + shape_string(s.array.shape) + " with " +
                     std::to_string(rank) + " index columns");
  if (s.array.element_count() != s.array.data.size())
    throw InputError(path + ": internal: array of shape " + shape_string(s.array.shape) + " holds " +
                     std::to_string(s.array.data.size()) + " values");
  std::vector<std::string> cols = s.lead_axes;
  cols.insert(cols.end(), s.index_axes.begin(), s.index_axes.end());
  cols.push_back("value");
  std::string out = joined(cols, ",") + "\n";
  std::vector<std::size_t> idx(rank, 0);
  for (const double v : s.array.data) {
    require_finite(v, path);
    for (const std::size_t k : idx) out += std::to_string(k) + ",";
    out += format_double(v);
    out += '\n';
    for (std::size_t c = rank; c-- > 0;) {
      if (++idx[c] < s.array.shape[c]) break;
      idx[c] = 0;
    }
  }
  write_file_atomically(path, out);
}

}  // namespace mhclab
