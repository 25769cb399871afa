#pragma once
// Experiment files (TOML, `experiments/<name>.toml`): a base configuration, grids and zips over the options of
// one verb (CLI.md spellings), exclusions, aggregation and plots. Parsed here, expanded by sweep/grid.hpp,
// run by sweep/runner.hpp.
//
//   [experiment]                 name (default: file stem), kind (depth|propagate|mix|train|fit), description,
//                                seed (experiment seed, default 0), seed-keys (below), max-points (default 10^6)
//   [base]                       option = value      (any option of the kind's verb; flags are booleans)
//   [grid]                       option = [v1, v2…]  (cartesian product over the keys, in file order)
//   [[zip]]                      a = [...], b = [...] (aligned lists of equal length: one axis)
//   [[exclude]]                  option = value or [values]; a point matching every key is dropped
//   [aggregate]                  metrics = [...]     (columns to aggregate over seeds; default all numeric)
//   [[plot]]                     name, x, y (string or list), group, facet (string or list), where (table),
//                                band, logx, logy, title, xlabel, ylabel, source (aggregates|rows|timings),
//                                formats
// Values: strings, integers, floats, booleans, or arrays of numbers for list-valued options (steps = [5, 20]
// becomes "5,20"). An option's value is passed to the verb exactly as on the command line (floats in the
// shortest form that round-trips), so the verb's own validation applies.
// Errors: InputError "<file>:<line>: <what>" for TOML syntax, unknown tables or keys, wrong types, lists of
// unequal length, a key given twice (base and grid), …
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/plot/gnuplot.hpp"

namespace mhclab {

/// One option value: the key (CLI spelling without "--"), its command-line text, and where it came from.
struct ConfigValue {
  std::string key;
  std::string text;       ///< canonical text; for flags "true" / "false"
  bool boolean = false;   ///< the TOML value was a boolean (only flags take booleans)
  long line = 0;          ///< 1-based line in the experiment file
};

/// One sweep axis: a grid key (one key) or a zip (several keys with aligned values).
struct SweepAxis {
  std::vector<std::string> keys;
  std::vector<std::vector<ConfigValue>> values;  ///< values[k] = one setting of all keys (same order as keys)
  long line = 0;
};

/// A point is excluded when, for every key of the rule, its value is one of the listed texts.
struct ExcludeRule {
  std::vector<std::pair<std::string, std::vector<std::string>>> match;
  long line = 0;
};

/// A [[plot]] table, kept as parsed; turned into a PlotSpec (plot/gnuplot.hpp) by the runner.
struct PlotEntry {
  PlotSpec spec;                       ///< what to draw (plot/gnuplot.hpp)
  std::string source = "aggregates";   ///< aggregates | rows | timings (the table of the results directory)
  long line = 0;                       ///< line of the [[plot]] entry (error messages)
};

struct Experiment {
  std::string file;         ///< path as given (error messages)
  std::string name;         ///< [experiment] name, default the file stem
  std::string kind;         ///< depth | propagate | mix | train | fit (kinds/kind_registry.hpp)
  std::string description;
  std::uint64_t seed = 0;   ///< experiment seed: per-point seeds derive from it (sweep/grid.hpp)
  long max_points = 1000000;  ///< [experiment] max-points: a larger grid is refused before it is expanded
  bool has_seed_keys = false;
  std::vector<std::string> seed_keys;  ///< keys whose values pick a point's seed (default: the whole point)
  long seed_keys_line = 0;
  std::vector<ConfigValue> base;
  std::vector<SweepAxis> axes;
  std::vector<ExcludeRule> excludes;
  std::vector<std::string> aggregate_metrics;  ///< empty = every numeric column
  std::vector<PlotEntry> plots;

  /// "<file>:<line>: " for messages.
  [[nodiscard]] std::string where(long line) const;
  /// Every option key used (base, axes, excludes), with the first line it appears on.
  [[nodiscard]] std::vector<std::pair<std::string, long>> keys() const;
};

/// Refuses TOML text nested deeper than `max_depth` levels — arrays and inline tables inside each other, or the
/// parts of one dotted key or table header — before a parser recurses into it (tens of thousands of levels would
/// exhaust the stack). InputError "<file>:<line>: nested more than 64 levels deep". Strings and comments are skipped.
void check_toml_depth(std::string_view text, const std::string& file, int max_depth = 64);

/// Parses TOML text (after check_toml_depth); `file` names it in errors. Checks structure and types, not the verb's options (see
/// check_keys in sweep/grid.hpp).
[[nodiscard]] Experiment parse_experiment(const std::string& text, const std::string& file);
[[nodiscard]] Experiment read_experiment(const std::string& path);

}  // namespace mhclab
