#pragma once
// Figures from result tables with gnuplot: a PlotSpec picks columns of a Table (mhclab/io/table.hpp), the
// library writes the selected points as a gnuplot data file and a standalone script, then runs gnuplot on it.
//
// Tables. An "aggregate table" has the columns `metric` and `mean` (format: key columns…, metric, count, mean,
// sd, median, q05, q95, ci95_lo, ci95_hi): each y then names a metric, the rows with metric == y give the
// line (`mean`) and the band (ci95_lo/ci95_hi or q05/q95, see PlotSpec::band; absent band columns or empty
// band cells draw no band). Any other table is "plain": each y names a column, plotted without a band.
//
// Selection. Rows must pass every `where` filter (cell == value as strings, or numerically equal when both
// parse as numbers). Rows whose x or y cell is not a finite number (table_number) are skipped. Points are
// grouped into series by (facet combination, y, group value), each kept in first-appearance order, and sorted
// by x (stably) within a series; a series without points is omitted, a panel without series too.
//
// Log axes. With logy and, for every y, a column (plain) or metric (aggregate) `log10_<y>` in the table, those
// are plotted instead on a linear axis labelled "log10 <y>" (values beyond the double range stay plottable);
// otherwise (one axis cannot mix both) the axis is `set logscale y` and points (and band ends) ≤ 0 are
// dropped. The same for logx with x (always a column).
//
// Files, all in `dir` (which must exist):
//   <name>.dat  one block per series, blocks separated by two blank lines (gnuplot `index k` selects block k),
//               each preceded by "# series k: <facet>; <group>; y=<y>" (absent parts left out); columns
//               x y lo hi, numbers in shortest round-trip form, "NaN" for a missing band end;
//   <name>.gp   a standalone script that loops over the formats; re-run it with `gnuplot <name>.gp` in `dir`;
//   <name>.png / .svg / .pdf  the figures (pngcairo / svg / pdfcairo), one per format. Lines have one colour per
//               group value, the same in every panel and for every y (without a group: one colour per y), and
//               one dash type per y when there are several; the band is the line's colour, transparent.
// .dat and .gp are written atomically (mhclab/io/atomic_file.hpp). gnuplot (MHCLAB_GNUPLOT, else `gnuplot`
// on PATH) runs in `dir` on a copy of the script whose outputs are `<name>.<fmt>.tmp<pid>`; those are renamed
// to their final names only after gnuplot succeeds, so a figure is never seen half written.
#include <string>
#include <utility>
#include <vector>

#include "mhclab/io/table.hpp"

namespace mhclab {

/// What to plot from a table, and how. See the header comment for the semantics.
struct PlotSpec {
  std::string name;                 ///< file stem of the outputs, e.g. "suffix_gain" ([A-Za-z0-9_.-]+)
  std::string x;                    ///< x column
  std::vector<std::string> y;       ///< ≥ 1 y columns (plain tables) or metric names (aggregate tables)
  std::string group;                ///< optional column: one line per distinct value (legend)
  /// optional further columns that qualify the group: one line per distinct combination, labelled
  /// "<group value> <column>=<value>…" (e.g. method with gamma, for one method run at two γ); needs group
  std::vector<std::string> group_with;
  std::vector<std::string> facet;   ///< optional columns: one panel per distinct combination ("eta=0.1, rho=0")
  std::vector<std::pair<std::string, std::string>> where;  ///< row filters column == value; all must hold
  std::string band = "ci95";        ///< aggregate tables: "ci95" (ci95_lo, ci95_hi), "quantiles" (q05, q95), "none"
  /// "lines" (a line per series, with point marks when it has ≤ 30 points) or "points" (a scatter: one mark per
  /// row, a point type per group, no line; e.g. a frontier of one metric against another)
  std::string style = "lines";
  bool logx = false;                ///< log x axis (or the log10_<x> column on a linear axis)
  bool logy = false;                ///< log y axis (or the log10_<y> columns / metrics on a linear axis)
  std::string title;                ///< figure title; empty = none
  std::string xlabel;               ///< empty = x (or "log10 <x>")
  std::string ylabel;               ///< empty = the y names (or "log10 <y>"), joined by ", "
  std::vector<std::string> formats = {"png", "svg"};  ///< each of png | svg | pdf, no repeats, ≥ 1

  /// Throws InputError "plot '<name>': <field> = '<value>'; expected …" for the first invalid field.
  void validate() const;
};

struct PlotSummary {
  std::vector<std::string> files;  ///< everything written: <dir>/<name>.dat, <dir>/<name>.gp, each figure
  bool rendered = false;           ///< false when gnuplot is not available (data and script still written)
  std::string message;             ///< why not rendered; when rendered, gnuplot's warnings (usually empty)
};

/// Writes <name>.dat and <name>.gp to `dir` and renders the figures with gnuplot if it is available.
/// Throws InputError for an invalid spec, an unknown column ("plot '<name>': no column 'c'; columns are …") or
/// metric, or when no point is left ("plot '<name>': no rows match (where …)"); ComputeError with gnuplot's
/// stderr when gnuplot fails (no figure is then left behind, not even a temporary one).
[[nodiscard]] PlotSummary render_plot(const Table& data, const PlotSpec& spec, const std::string& dir);

}  // namespace mhclab
