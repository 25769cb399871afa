#pragma once
// The depth-metric table of `mhclab analyze` and `mhclab depth` (CLI.md): one row per depth l = 1..L and kind
// (layer, prefix, suffix, in that order), columns `depth,kind,` + depth_metric_columns() (SPEC §4), then
//   Sinkhorn columns (sinkhorn_columns; filled on layer rows only, SPEC §4):
//     iterations, status, trunc_row_err, trunc_col_err (the fp64 run's marginal errors; = row_err/col_err for
//     fp64), round_err_max, round_row_err, round_col_err (0 for fp64; SPEC §3.2),
//     dist_tropical = ‖H − P_trop‖_max (P_trop = the assignment of the same logits Z: the τ → 0 limit),
//     row_entropy = mean_i −Σ_j H_ij ln H_ij (0·ln 0 = 0);
//   Lyapunov columns (lyapunov): lyap_1 ≥ … ≥ lyap_n, the running QR/Benettin estimates after layer l (natural
//     log per layer), filled on prefix rows only.
// Callers prepend their own configuration columns (`seed,step` for `depth`, `stat` for token statistics).
//
// Token statistics (`--token-average metric`): every token's table, then per (depth, kind) row and column the
// statistics of token_statistics() over tokens (aggregate_cells).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/metric_cell.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

struct DepthTableOptions {
  bool lyapunov = false;          ///< lyap_1..lyap_n columns
  bool sinkhorn_columns = false;  ///< the Sinkhorn-family layer columns
  /// The kinds of product to compute and write. Rows come in table order (layer, prefix, suffix) whatever the
  /// order here; each kind at most once, at least one.
  std::vector<ProductKind> kinds = {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix};
  /// The columns after `depth,kind` to compute and write (names of the full table's columns, e.g. fwd_gain,
  /// log10_sigma_max, status, lyap_1); empty = all. Written in the full table's order; each name at most once.
  /// Only the metric groups these columns need are computed (DepthMetricGroups).
  std::vector<std::string> metrics = {};
  /// The depths l to write (each ≥ 1, strictly increasing, ≤ L of the stack); empty = every depth. Products are
  /// still computed at every depth (they are incremental); only the rows are thinned, e.g. 1,10,100,1000,10000 for
  /// a deep stack.
  std::vector<Index> depths = {};

  /// Throws InputError naming `kinds`, `metrics` or `depths` (an unknown name lists the available ones).
  void validate(Index n) const;
  [[nodiscard]] bool has_kind(ProductKind k) const;
};

/// What a layer row of the Sinkhorn family needs beyond H.
struct LayerExtras {
  std::optional<SinkhornSummary> sinkhorn;  ///< the projection's summary
  Mat tropical;                             ///< P_trop (n×n permutation) of the same logits
};

struct DepthRow {
  Index depth = 0;  ///< l = 1..L
  ProductKind kind = ProductKind::Layer;
  std::vector<MetricCell> cells;  ///< matching depth_table_columns (after depth,kind)
};

/// Columns after `depth,kind` (the selected ones when options.metrics is not empty).
[[nodiscard]] std::vector<std::string> depth_table_columns(Index n, const DepthTableOptions& options);

/// Rows of one stack (H_1 = H[0]). extras: one entry per layer when options.sinkhorn_columns (InputError
/// otherwise). `precomputed` (optional): metrics per kind (layer, prefix, suffix) in product_kind_table order,
/// e.g. composite_metrics of token-averaged products; when empty they are computed from H.
[[nodiscard]] std::vector<DepthRow> depth_table(const std::vector<Mat>& H, const std::vector<LayerExtras>& extras,
                                                const DepthTableOptions& options,
                                                const std::vector<std::vector<DepthMetrics>>& precomputed = {});

/// CSV header `lead…,depth,kind,<columns…>` (one line, with '\n').
[[nodiscard]] std::string depth_csv_header(const std::vector<std::string>& lead, const std::vector<std::string>& columns);

/// Appends one CSV line per row: `lead_cells` (already joined with its trailing comma, e.g. "3,0,"; empty for
/// none), then `depth,kind,<cells…>` (MetricCell::format).
void append_depth_rows(std::string& out, std::string_view lead_cells, const std::vector<DepthRow>& rows);

/// Rows that share the cells of the caller's lead columns (e.g. {"mean"} for a token statistic; empty for none).
struct DepthRowGroup {
  std::vector<std::string> lead_cells;
  std::vector<DepthRow> rows;
};

/// The declared type of a depth-table column: `_resolved` flags and collapse_centred Boolean, the Sinkhorn `status`
/// Text, every other column Real and scaled (its log form kept beyond the double range).
[[nodiscard]] ColumnSpec depth_column_spec(const std::string& name);

/// The typed form of depth_csv_header + append_depth_rows: the caller's lead columns (Integer/Unsigned lead cells are
/// parsed from their text), depth (Integer), kind (Text), then `columns` as depth_column_spec declares them. Tables
/// built from different groups therefore always have the same columns and can be appended. Its to_csv() is byte for
/// byte the text those two functions write.
[[nodiscard]] ResultTable depth_result_table(const std::vector<ColumnSpec>& lead, const std::vector<std::string>& columns,
                                             const std::vector<DepthRowGroup>& groups);

/// Sinkhorn extras of a generated stack of the mhc method: P_trop from θ (Z[i, j] = θ[i·n + j]) and the
/// summaries. Empty unless method == mhc and thetas/summaries are present for every layer.
[[nodiscard]] std::vector<LayerExtras> sinkhorn_extras(MethodId method, Index n, const std::vector<Vec>& thetas,
                                                       const std::vector<std::optional<SinkhornSummary>>& summaries);

/// Statistics over tokens for `--token-average metric`: mean, q05, median, q95.
[[nodiscard]] const std::vector<std::string>& token_statistics();

/// One statistic (a name of token_statistics(), or min/max) of each column over samples (each the same length
/// and cell kinds). Numbers: NaN samples are skipped (all NaN → NaN); quantiles interpolate linearly between
/// order statistics (NumPy's default); when some sample's double is beyond the double range (a log form is
/// needed to write it) and all samples have the same sign, the statistic is taken of the log10 magnitudes
/// (mean by log-sum-exp: the exact mean) and written in log form. Flags: true iff true for every sample
/// (e.g. `sigma_min_resolved`). Text: the common value, or "mixed". Empty stays empty.
[[nodiscard]] std::vector<MetricCell> aggregate_cells(const std::vector<const std::vector<MetricCell>*>& samples,
                                                      const std::string& statistic);

}  // namespace mhclab
