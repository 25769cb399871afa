#pragma once
// Sinkhorn–Knopp projection of exp(Z/τ) towards the doubly stochastic matrices (SPEC §3; mHC paper,
// arXiv 2512.24880, Eq. (9): M⁰ = exp(Z), then alternately normalise columns and rows).
//
//   M⁰ = exp((Z − max Z)/τ)                 (global max shift; the shift cancels in the normalisation)
//   one iteration = one column normalisation M ← M·diag(1ᵀM)⁻¹ and one row normalisation
//                   M ← diag(M1)⁻¹·M  (order col_then_row, default: rows exact at the end),
//                   or rows first (row_then_col: columns exact at the end).
//   log domain: the same iteration on dual potentials u (rows), v (columns), in units of Z:
//       log M_ij = (Z_ij − max Z + u_i + v_j)/τ,   v_j ← −τ·LSE_i((Z_ij − max Z + u_i)/τ), etc.
//     never under/overflows; the geometric schedule (ε-scaling) runs iteration k at
//     τ_k = τ^{k/(t−1)} (from 1 down to τ), warm-starting u, v (constant when τ ≥ 1 or t = 1).
//   deployed variants (exp domain; DeepSeek-V4's `hc_split_sinkhorn` is the preset start = softmax_cols,
//     eps_placement = both, eps = 1e-6, col_then_row — docs/SPEC_NOTES.md "Sinkhorn as deployed"):
//     start softmax_cols / softmax_rows: M⁰ = the softmax of Z/τ down each column / along each row (per-vector max
//       shift, denominators without ε, entries may underflow to 0 as in torch.softmax) instead of exp((Z − max Z)/τ);
//       a softmax along the side the order normalises first takes the place of iteration 1's first half-step
//       (so t iterations are still 2t normalisations), along the other side it is an extra step before them;
//     eps_placement: `after_start` adds ε to every entry of M⁰, `denominators` divides by (sum + ε), `both` does both.
//   precision emulation (SPEC §3.2, exp domain): inputs rounded to the storage format; every elementary
//     operation (subtract max, divide by τ, exp, each addition of a sum, each division) evaluated in fp64
//     and rounded once to the accumulate format; every stored intermediate (exp output, each normalised
//     matrix) rounded to the storage format.
#include <optional>
#include <string>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/precision.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

enum class SinkhornOrder { ColThenRow, RowThenCol };
inline constexpr EnumTable<SinkhornOrder, 2> sinkhorn_order_table{
    "order", {{{SinkhornOrder::ColThenRow, "col_then_row"}, {SinkhornOrder::RowThenCol, "row_then_col"}}}};

enum class SinkhornDomain { Exp, Log };
inline constexpr EnumTable<SinkhornDomain, 2> sinkhorn_domain_table{
    "domain", {{{SinkhornDomain::Exp, "exp"}, {SinkhornDomain::Log, "log"}}}};

enum class TauSchedule { Constant, Geometric };
inline constexpr EnumTable<TauSchedule, 2> tau_schedule_table{
    "tau-schedule", {{{TauSchedule::Constant, "constant"}, {TauSchedule::Geometric, "geometric"}}}};

/// What the first step of the exp domain computes (see the header comment). `auto` = the method's preset: exp for
/// mhc, softmax_cols for dsv4.
enum class SinkhornStart { Auto, Exp, SoftmaxRows, SoftmaxCols };
inline constexpr EnumTable<SinkhornStart, 4> sinkhorn_start_table{
    "start",
    {{{SinkhornStart::Auto, "auto"},
      {SinkhornStart::Exp, "exp"},
      {SinkhornStart::SoftmaxRows, "softmax_rows"},
      {SinkhornStart::SoftmaxCols, "softmax_cols"}}}};

/// Where a deployed kernel's ε enters (ignored when ε = 0).
enum class EpsPlacement { Both, Denominators, AfterStart, None };
inline constexpr EnumTable<EpsPlacement, 4> eps_placement_table{
    "eps-placement",
    {{{EpsPlacement::Both, "both"},
      {EpsPlacement::Denominators, "denominators"},
      {EpsPlacement::AfterStart, "after_start"},
      {EpsPlacement::None, "none"}}}};

/// What mhc computes from exp(Z/τ): t Sinkhorn iterations (the paper), or the converged entropic projection (the
/// t → ∞ limit) by dual Newton (mixing/birkhoff_projection.hpp, with its implicit-differentiation backward).
enum class SinkhornProjection { Iterate, Newton };
inline constexpr EnumTable<SinkhornProjection, 2> sinkhorn_projection_table{
    "projection", {{{SinkhornProjection::Iterate, "sinkhorn"}, {SinkhornProjection::Newton, "newton"}}}};

enum class SinkhornStatus { FixedIterations, Converged, MaxIterations, NumericalIssue };
inline constexpr EnumTable<SinkhornStatus, 4> sinkhorn_status_table{
    "status",
    {{{SinkhornStatus::FixedIterations, "fixed_iterations"},
      {SinkhornStatus::Converged, "converged"},
      {SinkhornStatus::MaxIterations, "max_iterations"},
      {SinkhornStatus::NumericalIssue, "numerical_issue"}}}};

struct SinkhornOptions {
  int iterations = 20;                        ///< t ≥ 1: maximum number of (column, row) iterations (paper: 20)
  double tau = 1.0;                           ///< temperature τ > 0: M⁰ = exp((Z − max Z)/τ)
  SinkhornOrder order = SinkhornOrder::ColThenRow;
  SinkhornDomain domain = SinkhornDomain::Exp;
  double tol = 0.0;                           ///< stop when max(row_err, col_err) < tol; 0 = run all t
  TauSchedule schedule = TauSchedule::Constant;  ///< geometric: log domain only
  Precision precision = Precision::FP64;      ///< storage format (emulated, exp domain only)
  Accumulate accumulate = Accumulate::FP32;   ///< accumulate format for fp32/bf16 runs
  SinkhornStart start = SinkhornStart::Auto;  ///< auto = exp here (a method may preset it: dsv4)
  std::optional<double> eps;                  ///< the kernels' ε ≥ 0; unset = 0 here (a method may preset it: dsv4)
  EpsPlacement eps_placement = EpsPlacement::Both;
  /// mhc: newton = the converged projection (iterations, order, domain, tol are then unused; the summary reports
  /// Newton's status and iterations). Needs the plain start, ε = 0 and fp64.
  SinkhornProjection projection = SinkhornProjection::Iterate;

  /// ε as used (unset = 0).
  [[nodiscard]] double eps_value() const { return eps.value_or(0.0); }
  /// True for the plain paper iteration (start exp or auto, no ε): the batched kernels' semantics.
  [[nodiscard]] bool plain() const {
    return (start == SinkhornStart::Auto || start == SinkhornStart::Exp) && eps_value() == 0.0 &&
           projection == SinkhornProjection::Iterate;
  }

  /// Throws InputError with a precise message, e.g. "sinkhorn.iterations = 0; must be ≥ 1".
  void validate() const;
};

struct SinkhornSummary {
  SinkhornStatus status = SinkhornStatus::FixedIterations;
  int iterations = 0;           ///< iterations used
  double row_err = 0.0;         ///< max_i |Σ_j H_ij − 1| of the returned H (in fp64)
  double col_err = 0.0;         ///< max_j |Σ_i H_ij − 1|
  std::string issue;            ///< why, when status = numerical_issue
  // Precision emulation (precision ≠ fp64), SPEC §3.2. Truncation = the fp64 run's marginal errors at the
  // same t (bit for bit); rounding = what the format adds on top (includes input quantisation).
  double trunc_row_err = 0.0;   ///< row_err of the fp64 run
  double trunc_col_err = 0.0;   ///< col_err of the fp64 run
  double round_err_max = 0.0;   ///< ‖H_fmt − H_fp64‖_max
  double round_row_err = 0.0;   ///< max_i |Σ_j H_fmt,ij − Σ_j H_fp64,ij|  (so row_err ≤ trunc_row_err + round_row_err)
  double round_col_err = 0.0;   ///< max_j |Σ_i H_fmt,ij − Σ_i H_fp64,ij|
};

struct SinkhornResult {
  Mat H;                        ///< n×n result (empty when status = numerical_issue)
  SinkhornSummary summary;
};

/// Sinkhorn–Knopp of exp(Z/τ). Z: n×n logits (H[i,j] from stream j into stream i).
/// Never returns non-finite numbers: a numerical issue is reported in the status with an empty H.
[[nodiscard]] SinkhornResult sinkhorn(const Mat& Z, const SinkhornOptions& options);

/// Backward (vector–Jacobian product) of `sinkhorn`: dZ = (∂H/∂Z)ᵀ dH, i.e. dZ_kl = Σ_ij dH_ij ∂H_ij/∂Z_kl.
/// Z, dH: n×n; returns n×n. Reverse mode through the unrolled iterations the forward actually ran (an early
/// stop by tol fixes the iteration count; the stopping rule itself is not differentiated), for both domains,
/// both orders and both τ schedules (geometric: the per-iteration τ_k and warm-started potentials exactly as
/// the forward computes them). The forward is recomputed and its normalised matrices (exp) or potentials (log)
/// are stored per half-step: O(t·n²) time and memory.
/// The global max shift of M⁰ = exp((Z − max Z)/τ) contributes nothing: H(Z + c·J) = H(Z) for every c (the
/// first normalisation divides out the common factor e^{c/τ}; in the log domain the first update absorbs the
/// shift into the potentials), so the chain-rule term through max Z, −(Σ_kl dZ_kl)·e_argmax, multiplies
/// Σ_kl ∂H/∂Z_kl = 0 and is dropped (also at ties of the max, where max Z is not differentiable but H does
/// not depend on it).
/// precision ≠ fp64: the emulated rounding is not differentiated; this is the derivative of the fp64 map
/// with the emulated run's iteration count. Throws ComputeError when the forward has status numerical_issue,
/// InputError for invalid options or shapes.
[[nodiscard]] Mat sinkhorn_vjp(const Mat& Z, const SinkhornOptions& options, const Mat& dH);

/// DeepSeek-V4's deployed Sinkhorn as a preset of these options (method dsv4): start auto → softmax_cols, eps unset →
/// 1e-6 (hc_eps); everything else (iterations, order, eps_placement, τ, precision) as given.
[[nodiscard]] SinkhornOptions with_dsv4_preset(SinkhornOptions options);

/// max_i |Σ_j H_ij − 1|
[[nodiscard]] double row_error(const Mat& H);
/// max_j |Σ_i H_ij − 1|
[[nodiscard]] double col_error(const Mat& H);

}  // namespace mhclab
