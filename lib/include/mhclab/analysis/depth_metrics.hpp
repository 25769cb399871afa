#pragma once
// Per-depth metrics of a stack H_1..H_L (SPEC §4) for the three kinds of depth product (SPEC §1):
//   layer   H_l;   prefix  M_l = H_l ··· H_1 (newest on the left);   suffix  S_l = H_L ··· H_l.
// Every H_l is n×n in the paper orientation (H[i, j] = weight from stream j into stream i).
//
// Products are kept as ScaledMatrix (analysis/scaled_matrix.hpp) and updated incrementally (prefix forwards,
// suffix backwards from l = L: L products per kind), so no metric overflows or underflows at any depth.
// Every metric is computed from the normalised M̂ (max|M̂| ∈ [1/2, 1)) and the log scale s (value = M̂·e^s):
//   scale-type metrics x = x̂·e^s: the struct holds the linear double (±inf / 0 beyond the double range) AND
//   log10_x = log10 x̂ + s·log10(e) (finite whenever x is finite and non-zero);
//   dimensionless ones (cond, effective_rank) come from M̂ alone;
//   row_err, col_err, min_entry, dist_identity are computed from the true product — see the field docs for
//   what happens beyond the double range.
//
// Resolution (SPEC §4): a dense SVD / eigen solve of M̂ resolves singular values and eigenvalue moduli only
// down to the floor  f = n·ε·σ̂_max  (ε = DBL_EPSILON = 2u, NumPy's matrix_rank tolerance; ≈ 1e-15·σ_max for
// small n). sigma_min, lambda2 and spectral_radius below f carry f (times the scale) and
// `<metric>_resolved = false`; cond then carries σ_max/f = 1/(n·ε), a lower bound. Such values are never
// −inf: −inf appears only for a value that is exactly zero (the zero product, an exactly zero row/column sum,
// a collapse product that is exactly zero), +inf only for cond of the exactly zero matrix.
//
// collapse = σ_max(M − J/n). When every factor of the stack has unit margins (|H1 − 1|, |1ᵀH − 1ᵀ| ≤
// unit_margin_tolerance(n) entrywise; decided once per stack), prefix/suffix collapse is computed as
// σ_max(Π_l (H_l − J/n)) with its own ScaledMatrix: exact for such matrices, since (H − J/n)(G − J/n) =
// HG − J/n, and resolved at any depth (it decays like ρ^L, far below the floor of the dense product's SVD).
// Otherwise (and for kind layer, where both agree) it is σ_max of the dense M − J/n. For factors whose margins
// are 1 only to rounding, the centred product is the collapse of the exactly-margined matrices they round
// (the dense product of the rounded factors would level off at ~L·tol instead of decaying); stacks with larger
// margin errors (e.g. mhc with a finite Sinkhorn count) use the dense form, whose collapse indeed does not
// decay to 0 and is resolved down to the floor n·ε·σ_max (above).
#include <string>
#include <vector>

#include "mhclab/analysis/metric_cell.hpp"
#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

/// Which depth product a metric row describes (SPEC §1).
enum class ProductKind { Layer, Prefix, Suffix };
inline constexpr EnumTable<ProductKind, 3> product_kind_table{
    "kind", {{{ProductKind::Layer, "layer"}, {ProductKind::Prefix, "prefix"}, {ProductKind::Suffix, "suffix"}}}};

/// Checks a list of kinds: at least one, each at most once. InputError naming `field` (e.g. "kinds").
void validate_kinds(const std::vector<ProductKind>& kinds, const std::string& field);

/// SPEC §4 metrics of one product M (n×n). Gains per SPEC §1 (forward ↔ row sums M1, backward ↔ column
/// sums 1ᵀM).
struct DepthMetrics {
  // ---- linear values (±inf / ±0 where the true value is beyond the double range; format_metric writes
  //      those from the log form) ----
  double fwd_gain = 0;         ///< max_i |Σ_j M_ij|
  double bwd_gain = 0;         ///< max_j |Σ_i M_ij|
  double fwd_gain_min = 0;     ///< min_i Σ_j M_ij (signed)
  double bwd_gain_min = 0;     ///< min_j Σ_i M_ij (signed)
  double fwd_gain_abs = 0;     ///< ‖M‖_∞ = max_i Σ_j |M_ij|
  double bwd_gain_abs = 0;     ///< ‖M‖_1 = max_j Σ_i |M_ij|
  double row_err = 0;          ///< max_i |(M1)_i − 1|; beyond the range, |v − 1| = |v| to relative 1e-300
  double col_err = 0;          ///< max_j |(1ᵀM)_j − 1|; same
  double min_entry = 0;        ///< min_ij M_ij (signed; scales with M)
  double sigma_max = 0;        ///< σ_1(M) = ‖M‖_2
  double sigma_min = 0;        ///< σ_n(M), or the floor value when !sigma_min_resolved
  double cond = 0;             ///< σ_max/σ_min (from M̂; floor value 1/(n·ε) when !cond_resolved; +inf iff M = 0)
  double collapse = 0;         ///< σ_max(M − J/n) (centred product when collapse_centred)
  double spectral_radius = 0;  ///< max |λ_i(M)|, or the floor value when !spectral_radius_resolved
  double lambda2 = 0;          ///< second largest |λ_i(M)| (NaN for n = 1), or the floor value when !lambda2_resolved
  double dist_identity = 0;    ///< ‖M − I‖_F (computed as e^s‖M̂ − e^{−s}I‖_F for s ≥ 0: no overflow)
  double effective_rank = 0;   ///< exp(−Σ p_i ln p_i), p_i = σ_i/Σ_k σ_k ∈ [1, n]; 0 for M = 0
  /// σ₂/σ₁ (from M̂; NaN for n = 1; 0 for M = 0), or n·ε (the floor over σ̂_max) when !sigma_ratio_resolved. How
  /// far the product is from rank one: → 0 as the streams collapse onto one direction.
  double sigma_ratio = 0;
  /// Per-layer rate of the collapse, collapse^(1/k) for a product of k factors (layer: 1; prefix at depth l: l;
  /// suffix at depth l: L − l + 1), computed from log10_collapse (so finite at any depth); 0 when collapse = 0.
  /// For a stack of i.i.d. doubly stochastic factors it tends to the Lyapunov rate e^{λ₂} of the centred product.
  double collapse_rate = 0;

  // ---- log10 columns of the scale-type metrics: log10 of the value; finite whenever the value is finite
  //      and non-zero; −inf for an exact zero ----
  double log10_fwd_gain = 0;
  double log10_bwd_gain = 0;
  double log10_fwd_gain_min = 0;  ///< log10(fwd_gain_min) when > 0; −inf when = 0; NaN when < 0
  double log10_bwd_gain_min = 0;  ///< same for bwd_gain_min
  double log10_fwd_gain_abs = 0;
  double log10_bwd_gain_abs = 0;
  double log10_sigma_max = 0;
  double log10_sigma_min = 0;     ///< of the floor value when unresolved
  double log10_cond = 0;          ///< +inf iff M = 0
  double log10_collapse = 0;
  double log10_spectral_radius = 0;
  double log10_lambda2 = 0;       ///< (not in SPEC §4's list, but lambda2 scales like the product)
  double log10_dist_identity = 0;

  // ---- resolution flags (SPEC §4) ----
  bool sigma_min_resolved = true;        ///< σ̂_min > n·ε·σ̂_max
  bool cond_resolved = true;             ///< = sigma_min_resolved
  bool lambda2_resolved = true;          ///< |λ̂_2| > n·ε·σ̂_max (false for n = 1)
  bool spectral_radius_resolved = true;  ///< |λ̂_1| > n·ε·σ̂_max (false e.g. for a nilpotent M)
  bool collapse_centred = false;         ///< collapse computed as σ_max(Π_l (H_l − J/n)) (unit-margin stack)
  bool sigma_ratio_resolved = true;      ///< σ̂₂ > n·ε·σ̂_max (false for n = 1)

  /// log10 of the magnitude of the linear columns that have no (or only a positive-value) log10 column,
  /// so that format_metric can write them beyond the double range. log10_abs.row_err is that of max_i
  /// |(M1)_i − 1| (for rows beyond the range log10|(M1)_i|).
  struct Log10Abs {
    double fwd_gain_min = 0, bwd_gain_min = 0, row_err = 0, col_err = 0, min_entry = 0;
  } log10_abs;
};

/// Which groups of DepthMetrics to compute; a group not asked for is left at its default value (0 / false). Each
/// group costs differently (gains and margins: O(n²) sums; singular: one SVD; eigen: one SVD and one eigen solve;
/// collapse: another SVD and, for prefix/suffix, the centred product), and every group is computed by the same code
/// whether or not the others are, so a selected column has the same bits as in the full table.
struct DepthMetricGroups {
  bool gains = true;          ///< fwd/bwd_gain, _min, _abs and their log10 columns
  bool margins = true;        ///< row_err, col_err, min_entry
  bool singular = true;       ///< sigma_max, sigma_min, cond, effective_rank, sigma_ratio (+log10, resolved flags)
  bool eigen = true;          ///< spectral_radius, lambda2 (+log10, resolved flags)
  bool dist_identity = true;  ///< dist_identity (+log10)
  bool collapse = true;       ///< collapse, collapse_rate (+log10, collapse_centred)

  /// The groups that the depth_metric_columns() named in `columns` need (names not in that list are ignored).
  [[nodiscard]] static DepthMetricGroups for_columns(const std::vector<std::string>& columns);
};

/// Unit-margin tolerance per factor: 64·n·u (u = 2^-53), the margin error of a DS matrix built in double.
[[nodiscard]] double unit_margin_tolerance(Index n);

/// True when every factor has max_i |(H1)_i − 1| ≤ tol and max_j |(1ᵀH)_j − 1| ≤ tol, tol =
/// unit_margin_tolerance(n) (entries may be negative: only the margins matter for the centred product).
[[nodiscard]] bool has_unit_margins(const std::vector<Mat>& stack);

/// Metrics of one product of `factors` ≥ 1 matrices (the k of collapse_rate). `centred`, when given (same n), is
/// the scaled Π(H_l − J/n) of the same factors: collapse is then σ_max(centred) and collapse_centred = true;
/// otherwise collapse = σ_max(M − J/n) dense. Throws ComputeError if the eigen solver fails.
[[nodiscard]] DepthMetrics product_metrics(const ScaledMatrix& product, const ScaledMatrix* centred = nullptr,
                                           const DepthMetricGroups& groups = {}, Index factors = 1);

/// One entry per depth l = 1..L (entry l−1) of the `kind` products of `stack` (H_1 = stack[0]), computed
/// incrementally. An empty stack gives an empty vector. Throws InputError unless all factors are n×n
/// (n ≥ 1, the same n) with finite entries.
[[nodiscard]] std::vector<DepthMetrics> depth_metrics(const std::vector<Mat>& stack, ProductKind kind,
                                                      const DepthMetricGroups& groups = {});

/// CSV column names of depth_metric_row, in a fixed order: the 17 linear metrics in SPEC §4 order, the collapse
/// diagnostics sigma_ratio and collapse_rate (SPEC §13), the 13 log10_ columns, then sigma_min_resolved,
/// cond_resolved, lambda2_resolved, spectral_radius_resolved, collapse_centred, sigma_ratio_resolved. (The CLI
/// writes `depth,kind,` followed by these.)
[[nodiscard]] const std::vector<std::string>& depth_metric_columns();

/// The cells of one row, matching depth_metric_columns(): linear columns carry their log10 magnitude (so
/// MetricCell::format writes them from the log form beyond the double range), the rest are exact numbers and
/// flags.
[[nodiscard]] std::vector<MetricCell> depth_metric_cells(const DepthMetrics& m);

/// The formatted cells of one row, matching depth_metric_columns(): linear columns by format_metric
/// (`%.17g`, or the log form `1.2345e+4139` beyond the double range), log10 columns `%.17g`, flags
/// `true`/`false`.
[[nodiscard]] std::vector<std::string> depth_metric_row(const DepthMetrics& m);

}  // namespace mhclab
