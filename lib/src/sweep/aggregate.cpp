// Aggregation over seeds: see mhclab/sweep/aggregate.hpp.
#include "mhclab/sweep/aggregate.hpp"

#include <boost/math/distributions/students_t.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "mhclab/core/error.hpp"
#include "mhclab/core/statistics.hpp"
#include "mhclab/core/format.hpp"
#include <string>
#include <vector>

namespace mhclab {

namespace {
enum class CellKind { Empty, Number, Flag, OutOfRange, Text };

CellKind classify(const std::string& s, double& x) {
  if (s.empty()) return CellKind::Empty;
  if (s == "true" || s == "false") {
    x = s == "true" ? 1.0 : 0.0;
    return CellKind::Flag;
  }
  const char* b = s.data() + (s.front() == '+' ? 1 : 0);
  const auto [p, ec] = std::from_chars(b, s.data() + s.size(), x);
  if (p != s.data() + s.size()) return CellKind::Text;
  if (ec == std::errc::result_out_of_range) return CellKind::OutOfRange;
  if (ec != std::errc()) return CellKind::Text;
  if (!std::isfinite(x)) return CellKind::Empty;  // "-inf" = log10 of an exact 0: no finite value to average
  return CellKind::Number;
}

}  // namespace

SeedStatistics seed_statistics(std::vector<double> v) {
  SeedStatistics s;
  const auto k = static_cast<double>(v.size());
  s.count = k;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (v.empty()) {
    s.mean = s.sd = s.median = s.q05 = s.q95 = s.ci95_lo = s.ci95_hi = nan;
    return s;
  }
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / k;
  s.median = quantile_sorted(v, 0.5);
  s.q05 = quantile_sorted(v, 0.05);
  s.q95 = quantile_sorted(v, 0.95);
  if (v.size() < 2) {
    s.sd = s.ci95_lo = s.ci95_hi = nan;
    return s;
  }
  double ss = 0;
  for (double x : v) ss += (x - s.mean) * (x - s.mean);
  s.sd = std::sqrt(ss / (k - 1.0));
  const boost::math::students_t t(k - 1.0);
  const double half = boost::math::quantile(t, 0.975) * s.sd / std::sqrt(k);
  s.ci95_lo = s.mean - half;
  s.ci95_hi = s.mean + half;
  return s;
}

namespace {

/// The kind and value of cell (r, c) exactly as classify() sees its CSV text, without formatting numbers that
/// round-trip: a normal finite Real, an integer or a flag is its value; anything else (text, a value written from
/// its log form, a subnormal, NaN, ±inf) is classified from its text.
CellKind kind_of(const ResultTable& t, std::size_t r, std::size_t c, double& x) {
  const ColumnData& d = t.columns()[c];
  if (!d.present[r]) return CellKind::Empty;
  switch (d.spec.type) {
    case ColumnType::Boolean: x = d.integer[r] ? 1.0 : 0.0; return CellKind::Flag;
    case ColumnType::Integer: x = static_cast<double>(d.integer[r]); return CellKind::Number;
    case ColumnType::Unsigned: x = static_cast<double>(d.unsigned_[r]); return CellKind::Number;
    case ColumnType::Real:
      x = d.real[r];
      if (std::isfinite(x) && std::fabs(x) >= std::numeric_limits<double>::min()) return CellKind::Number;
      break;
    case ColumnType::Text: break;
  }
  std::string text;
  t.append_cell(text, r, c);
  return classify(text, x);
}

std::size_t column_of(const ResultTable& t, const std::string& name, const std::string& what) {
  const long k = t.find(name);
  if (k < 0) {
    std::vector<std::string> names;
    for (const ColumnData& c : t.columns()) names.push_back(c.spec.name);
    throw InputError(what + ": no column '" + name + "'; columns are " + joined(names, ", "));
  }
  return static_cast<std::size_t>(k);
}

}  // namespace

Table aggregate_over_seeds(const Table& rows, const AggregateOptions& o) {
  return aggregate_over_seeds(ResultTable::from_text(rows), o).to_text();
}

ResultTable aggregate_over_seeds(const ResultTable& rows, const AggregateOptions& o) {
  std::vector<std::size_t> gcols;
  for (const std::string& g : o.group_columns) gcols.push_back(column_of(rows, g, "aggregate"));
  const auto name_of = [&](std::size_t c) -> const std::string& { return rows.columns()[c].spec.name; };
  auto is_reserved = [&](std::size_t c) {
    if (std::find(gcols.begin(), gcols.end(), c) != gcols.end()) return true;
    return std::find(o.drop.begin(), o.drop.end(), name_of(c)) != o.drop.end();
  };
  const std::size_t R = rows.rows();
  // Metric columns and whether each holds only numbers/flags/empties.
  std::vector<std::size_t> mcols;
  if (o.metrics.empty()) {
    for (std::size_t c = 0; c < rows.columns().size(); ++c) {
      if (is_reserved(c)) continue;
      bool text = false, any = false;
      for (std::size_t r = 0; r < R && !text; ++r) {
        double x = 0;
        const CellKind k = kind_of(rows, r, c, x);
        text = text || k == CellKind::Text;
        any = any || k != CellKind::Empty;
      }
      if (!text && any) mcols.push_back(c);
    }
  } else {
    for (const std::string& m : o.metrics) {
      const std::size_t c = column_of(rows, m, "aggregate metrics");
      if (is_reserved(c)) throw InputError("aggregate metrics: '" + m + "' is a group or seed column");
      for (std::size_t r = 0; r < R; ++r) {
        double x = 0;
        if (kind_of(rows, r, c, x) == CellKind::Text)
          throw InputError("aggregate metrics: column '" + m + "' holds text ('" + rows.cell_text(r, c) +
                           "'), not numbers");
      }
      mcols.push_back(c);
    }
  }
  // Groups in order of first appearance, keyed by the cells' text.
  std::map<std::vector<std::string>, std::size_t> index;
  std::vector<std::size_t> first_row;
  std::vector<std::vector<std::size_t>> members;
  for (std::size_t r = 0; r < R; ++r) {
    std::vector<std::string> key(gcols.size());
    for (std::size_t g = 0; g < gcols.size(); ++g) rows.append_cell(key[g], r, gcols[g]);
    auto [it, fresh] = index.emplace(std::move(key), first_row.size());
    if (fresh) {
      first_row.push_back(r);
      members.emplace_back();
    }
    members[it->second].push_back(r);
  }
  // Output: the group columns as declared (their cells copied), metric, count, then the statistics.
  std::vector<ColumnSpec> specs;
  for (std::size_t c : gcols) specs.push_back(rows.columns()[c].spec);
  specs.push_back({"metric", ColumnType::Text, "the aggregated column", false});
  specs.push_back({"count", ColumnType::Integer, "values in the sample (empty and non-finite cells left out)", false});
  const char* stats[] = {"mean", "sd", "median", "q05", "q95", "ci95_lo", "ci95_hi"};
  const char* meanings[] = {"sample mean", "sample standard deviation (k − 1)", "median (type 7)", "5% quantile (type 7)",
                            "95% quantile (type 7)", "Student-t 95% CI, low", "Student-t 95% CI, high"};
  for (int k = 0; k < 7; ++k) specs.push_back({stats[k], ColumnType::Real, meanings[k], false});
  ResultTable out(std::move(specs));
  const std::size_t G = gcols.size();
  std::vector<double> v;
  for (std::size_t g = 0; g < first_row.size(); ++g) {
    for (std::size_t c : mcols) {
      v.clear();
      bool out_of_range = false;
      for (std::size_t r : members[g]) {
        double x = 0;
        const CellKind k = kind_of(rows, r, c, x);
        if (k == CellKind::Number || k == CellKind::Flag) v.push_back(x);
        out_of_range = out_of_range || k == CellKind::OutOfRange;
      }
      out.add_row();
      out.copy_cells(rows, first_row[g], gcols);
      out.set_text(G, name_of(c));
      if (out_of_range) {
        out.set_integer(G + 1, static_cast<std::int64_t>(members[g].size()));
        continue;
      }
      const SeedStatistics s = seed_statistics(v);
      out.set_integer(G + 1, static_cast<std::int64_t>(v.size()));
      const double vals[] = {s.mean, s.sd, s.median, s.q05, s.q95, s.ci95_lo, s.ci95_hi};
      for (std::size_t k = 0; k < 7; ++k)
        if (std::isfinite(vals[k])) out.set_real(G + 2 + k, vals[k]);
    }
  }
  return out;
}

}  // namespace mhclab
