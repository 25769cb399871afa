#pragma once
// The transportation-polytope charts of TBP (arXiv 2605.21724; SPEC §2.1 and §2.2) and their inverses.
//
// Both charts map θ ∈ R^{(n−1)²} onto the interior of the Birkhoff polytope (n×n doubly stochastic
// matrices, paper orientation: H[i, j] = weight from stream j into stream i). Each logit θ_k fixes one
// quantity X_k (an entry of H, or for rtbp a block or block-row/column mass) inside an interval
// [lo_k, hi_k] that depends on the values fixed before it:
//     X_k = lo_k + (hi_k − lo_k)·σ(θ_k),    σ(t) = 1/(1 + e^{−t}).
// The map is a bijection from R^{(n−1)²} onto the interior points (every X_k strictly inside its
// interval; every H with all entries > 0 is one), so the inverse charts recover θ from such an H:
//     θ_k = log((X_k − lo_k)/(hi_k − X_k)),
// replaying the forward chart's walk with the X_k read from H. X_k − lo_k and hi_k − X_k are evaluated as
// sums of entries of H (for a doubly stochastic H they are exactly such sums, e.g. tbp:
// X − lo = min(H_ij, Σ_{l>i,k>j} H_lk), hi − X = min(Σ_{k>j} H_ik, Σ_{l>i} H_lj); transport_chart.cpp lists
// them all), so they keep their relative precision however small they are, and the recovered θ_k is accurate
// to the conditioning of coordinate k: |Δθ_k| ≲ c·u/w_k, w_k = ∂X_k/∂θ_k = (hi_k − lo_k)·σ(θ_k)(1 − σ(θ_k)).
//
// Numerics (both charts):
//   - X_k is evaluated from the nearer end of its interval: lo + w·σ(θ) for θ < 0 and hi − w·σ(−θ) for
//     θ ≥ 0, w = max(hi − lo, 0) (SPEC's choose()). Mathematically the same as SPEC's formula; it keeps
//     hi − X_k accurate when σ(θ) ≈ 1, so the inverse chart recovers large θ accurately.
//   - X_k is clamped to [lo_k, hi_k] ∩ [0, hi_k] (a no-op up to an ulp), so every remainder r − X, c − X
//     is ≥ 0 exactly (floating-point subtraction is monotone). The few quantities that SPEC defines as a
//     remainder of remainders (tbp: c_{n−1} after a row; rtbp: the last slot of split()) are clamped to
//     ≥ 0 (and to their cap), which only removes a negative round-off of a few ulps. Hence every entry
//     of H is ≥ 0 exactly and the row and column sums are 1 within O(n)·u.
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// The interval of one logit: the chart sets X_k = lo + (hi − lo)·σ(θ_k).
struct ChartInterval {
  double lo = 0.0;
  double hi = 0.0;
};

/// TBP sequential chart (SPEC §2.1, from the authors' reference code). θ: (n−1)² logits, the
/// (n−1)×(n−1) matrix row-major (θ[i·(n−1) + j] sets H[i, j], i, j ≤ n−2). Remaining row and column
/// masses r = c = 1ₙ; for i = 0..n−2, j = 0..n−2:
///     lo = max(0, r_i − Σ_{k>j} c_k, c_j − Σ_{k>i} r_k),  hi = min(r_i, c_j),
///     H[i, j] = lo + (hi − lo)·σ(θ_ij),  r_i −= H[i, j],  c_j −= H[i, j];
/// H[i, n−1] = r_i (and c_{n−1} −= r_i); the last row is H[n−1, ·] = c. O(n²): the column tail sums are
/// suffix sums of c per row and Σ_{k>i} r_k = n−1−i (rows below i are untouched).
/// Returns H, n×n, exactly doubly stochastic up to round-off, entries ≥ 0. n = 1: H = [[1]], θ empty.
/// `intervals` (optional): resized to (n−1)² and filled with [lo_k, hi_k] of each logit, in θ order.
/// Throws InputError when n < 1, θ has the wrong length or a non-finite entry.
[[nodiscard]] Mat tbp_chart(const Vec& theta, Index n, std::vector<ChartInterval>* intervals = nullptr);

/// RTBP recursive chart (SPEC §2.2, the authors' general construction), any n ≥ 1. θ: (n−1)² logits,
/// consumed left to right by T(θ, r = 1ₙ, c = 1ₙ):
///   n = 1: [[r_0]];
///   n = 2m: 1 logit for the mass m11 of the top-left m×m block, then m−1 each for split() of m11 over
///           the top-left block's rows (a), of m21 over the bottom-left block's rows (γ), of m11 over the
///           top-left block's columns (u), of m12 over the top-right block's columns (s); then the four
///           blocks A = T(a, u), B = T(r[:m]−a, s), C = T(γ, c[:m]−u), D = T(r[m:]−γ, c[m:]−s),
///           (m−1)² logits each, in that order;
///   n odd:  1 logit for H[n−1, n−1], n−2 for the last column (rows 0..n−2), n−2 for the last row
///           (columns 0..n−2), then T of size n−1 on the remaining margins.
/// Returns H, n×n, exactly doubly stochastic up to round-off, entries ≥ 0. n = 1: H = [[1]], θ empty.
/// `intervals` (optional): resized to (n−1)² and filled with [lo_k, hi_k] of each logit, in θ order.
/// Throws InputError when n < 1, θ has the wrong length or a non-finite entry.
[[nodiscard]] Mat rtbp_chart(const Vec& theta, Index n, std::vector<ChartInterval>* intervals = nullptr);

/// Inverse of tbp_chart: θ ((n−1)² logits, row-major) with tbp_chart(θ, n) = H, for an interior doubly
/// stochastic H (n×n, n ≥ 1). H must be square, finite, entries ≥ 0, every row and column sum within
/// `tol` of 1, and every H[i, j] (i, j ≤ n−2) strictly inside its interval (lo, hi) — true whenever all
/// entries are > 0. (Within tol, not exactly, doubly stochastic input gives the θ of a nearby chart point.) Otherwise throws InputError naming the entry and why, e.g.
/// "entry (0,2) = 0 is on the boundary of its interval [lo, hi] = [0, 0.5]; the chart needs an interior point".
[[nodiscard]] Vec tbp_params_from_matrix(const Mat& H, double tol = 1e-9);

/// Inverse of rtbp_chart, same contract as tbp_params_from_matrix. The logits set block masses, block row
/// or column sums and entries of H (SPEC §2.2); an error names the logit and the part of H it sets, e.g.
/// "the sum of H[0:2, 0:2] = 2 (logit 0) is on the boundary of its interval [lo, hi] = [0, 2]; …".
[[nodiscard]] Vec rtbp_params_from_matrix(const Mat& H, double tol = 1e-9);

}  // namespace mhclab
