#pragma once
// Aggregation of tidy rows over seeds: one output row per (group, metric) with
//   count, mean, sd, median, q05, q95, ci95_lo, ci95_hi
// where the group is the tuple of `group_columns` (point id, configuration, depth, kind, …). The seed column
// and text columns (status names) are dropped; "true"/"false" cells count as 1/0, so the mean of a `_resolved`
// flag is the fraction of seeds where it holds. Empty cells (unresolved values) are left out of the sample and
// `count` says how many values were used.
// Quantiles: type 7 (linear interpolation between order statistics, NumPy's default). Confidence interval:
// mean ± t_{0.975, k−1}·sd/√k, the Student-t quantile from Boost.Math; empty when k < 2.
// A linear column whose sample holds a value beyond the double range (written from its log form, e.g.
// "1e+4139") cannot be averaged as a double: its statistics are left empty and its log10 twin carries the
// information. All numbers are written with %.17g. The typed overload works on the result tables the experiment
// kinds return (no text is formatted or parsed for numbers that round-trip); the Table overload on CSV read back.
#include <string>
#include <vector>

#include "mhclab/io/table.hpp"
#include "mhclab/kinds/result_table.hpp"

namespace mhclab {

struct AggregateOptions {
  std::vector<std::string> group_columns;  ///< columns that identify a group (copied to the output)
  std::vector<std::string> metrics;        ///< columns to aggregate; empty = every numeric/boolean column left
  std::vector<std::string> drop = {"seed"};  ///< columns aggregated over (never metrics)
};

/// Output columns: group_columns…, metric, count, mean, sd, median, q05, q95, ci95_lo, ci95_hi. Groups in order
/// of first appearance, metrics in column order. Throws InputError naming a missing group column or a requested
/// metric that is missing or holds text.
[[nodiscard]] ResultTable aggregate_over_seeds(const ResultTable& rows, const AggregateOptions& options);
/// The same on CSV text (e.g. rows read back from files): the cells are classified from their text, so the result
/// is byte for byte that of the typed rows the text was written from.
[[nodiscard]] Table aggregate_over_seeds(const Table& rows, const AggregateOptions& options);

/// Sample statistics of `values` (k ≥ 1): {count, mean, sd, median, q05, q95, ci95_lo, ci95_hi}; sd and the CI
/// are NaN for k < 2 (written as empty cells by aggregate_over_seeds).
struct SeedStatistics {
  double count = 0, mean = 0, sd = 0, median = 0, q05 = 0, q95 = 0, ci95_lo = 0, ci95_hi = 0;
};
[[nodiscard]] SeedStatistics seed_statistics(std::vector<double> values);

}  // namespace mhclab
