#pragma once
// Top-k eigenvalues and singular values of the end-to-end product M = H_L ··· H_1 (SPEC §1 prefix product at
// depth L, = suffix at depth 1) of a stack H_1..H_L (H_1 = stack[0], each n×n, paper orientation), matrix-free
// (SPEC §4: "Spectra serves ... top-k eigen/singular values of the end-to-end product for large n ...
// Matrix-free operators apply normalised factors H_l/s_l and report log σ = Σ log s_l + log σ̂").
// M is never formed (except by the documented dense fallback for tiny n, below).
//
// Normalisation: M̂ = Π_l (H_l / s_l), s_l = 2^{k_l} a power of two, so dividing by s_l is exact and
// Σ log s_l = (Σ k_l)·ln 2 is an exact integer times ln 2. M̂ is the library's normalised chain over the stack
// (analysis/normalised_chain.hpp: NormalisedChain over StackFactors) and the k_l follow its one calibration rule, run
// on a deterministic probe x_0 (product_probe: x_0,i ∝ 1 + w_i/2, w_i = 2·frac((i+1)·φ) − 1 the Weyl sequence of the
// golden ratio φ = (√5−1)/2; all entries positive, so x_0 is never orthogonal to a Perron vector):
// k_l = the binary exponent of ‖H_l x_{l−1}‖₂ (kept ≥ the exponent of ‖H_l‖_F minus kChainBoundSlack), x_l = the
// normalised H_l x_{l−1}. Hence ‖M̂ x̂_0‖₂ ∈ [1/2, 1) for generic stacks and the operator's norm is O(1) at any
// depth, however fast the product grows or decays; the Krylov vectors (which align with the top singular/Schur
// directions, as x_l does) neither overflow nor underflow. Why not s_l = ‖H_l‖_max (or ‖H_l‖_2): per-factor norms
// do not track the product's growth (1.5·Q, Q orthogonal, n = 16: ‖H‖_max ≈ 1.05 → s = 2, and M̂ = (0.75 Q)^L
// underflows for L ≈ 2500; ‖H‖_2-scaling overestimates random products' growth exponentially). A factor whose
// entries are beyond 2^±500 is first scaled by the power of two of its max entry (a scaled copy is kept for such
// rare factors only), so H_l x never overflows.
//
// Solvers:
//   eigenvalues      Spectra 1.0.1's GenEigsSolver (header-only, included only in topk.cpp) on y = M̂x, selection
//                    SortRule::LargestMagn; λ_i = λ̂_i·Π s_l;
//   singular values  block subspace iteration on M̂ and M̂ᵀ (analysis/subspace_svd.hpp), σ_i = σ̂_i·Π s_l; right
//                    singular vectors = its Ritz vectors. Not Spectra's SymEigsSolver on the Gram operator M̂ᵀM̂: it
//                    returns wrong values for the numerically low-rank products deep stacks give (see that header).
// Results are sorted like the dense spectra (spectrum.hpp: modulus desc, then re desc, then im desc;
// singular values desc). Resolution: Krylov eigenvalues are accurate to ≈ tol·|λ̂| plus rounding ≈ ε·‖M̂‖·κ(λ);
// singular values to ≈ tol·σ̂_1 (the residual test below) plus the product's rounding ≈ L·ε·Π_l‖H_l/s_l‖.
// `converged` is a residual test (eigen: Spectra's, residual ≤ tol·max(ε^{2/3}, |λ̂|); singular: every Ritz pair's
// ‖M̂ᵀu_i − σ̂_i v_i‖ ≤ tol·σ̂_1), NOT a resolution statement: values at the level of rounding noise are returned
// too, e.g. for a deep doubly stochastic product (L = 2000, n = 64, k = 6) λ̂_2..6 ≈ 1e-32 and σ̂_2..6 ≈ 1e-16
// "converge" although the true values are ~ρ^L. Treat eigenvalue moduli below ≈ ε·Π_l‖H_l/s_l‖ and singular
// values below ≈ ε·Π_l‖H_l/s_l‖ as unresolved. When the test fails within max_iter iterations (restarts for
// eigenvalues) the status is `not_converging` and only the converged values are returned (singular: the leading
// Ritz values whose residuals passed).
//
// Status strings (analysis/solve_status.hpp): `converged` (Spectra CompInfo::Successful; every Ritz residual passed),
// `not_converging` (fewer than k values converged within max_iter restarts/iterations; the converged ones are
// returned), `numerical_issue` (CompInfo::NumericalIssue, an exception inside the solver, or a non-finite
// value; no values returned, `issue` says why), `dense` (fallback, below), `not_computed` (part not requested).
//
// Small n / dense fallback: Spectra requires 1 ≤ k ≤ n−2 and k+2 ≤ ncv ≤ n (GenEigs). k outside 1..n is an input
// error (InputError naming --topk). For n−2 < k ≤ n (eigenvalues) or k = n (singular values: kept from the Spectra
// version, where a full solve is the dense one anyway), and for a stack with an exactly zero factor (M = 0), the part is
// computed DENSELY instead: M̂ is accumulated as a ScaledMatrix (O(L·n³), which is cheap exactly when n is this
// small), solved with Eigen (EigenSolver; JacobiSVD ≤ 16 < BDCSVD), and the status is `dense` (iterations =
// applications = 0; the exponent is then the ScaledMatrix's).
//
// Not thread-safe: the chain operator holds mutable work vectors and counters (one solve at a time per operator).
#include <complex>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/analysis/normalised_chain.hpp"
#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/analysis/solve_status.hpp"
#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

/// Outcome of one top-k solve (eigenvalues or singular values).
struct TopkOptions {
  Index k = 6;                  ///< number of values, 1 ≤ k ≤ n (CLI --topk)
  Index ncv = 0;                ///< eigenvalues: Krylov dimension; 0 = min(n, max(2k+1, 20)); else k+2 ≤ ncv ≤ n
  /// eigenvalues: maximum implicit restarts (Spectra maxit); singular values: maximum subspace iterations; ≥ 1
  Index max_iter = 1000;
  /// eigenvalues: Spectra's residual ≤ tol·max(ε^{2/3}, |λ̂|); singular values: ‖M̂ᵀu_i − σ̂_i v_i‖ ≤ tol·σ̂_1; > 0
  double tol = 1e-12;
  bool eigenvalues = true;      ///< compute the top-k eigenvalues (largest modulus)
  bool singular_values = true;  ///< compute the top-k singular values
  bool vectors = false;         ///< also return eigenvectors / right singular vectors

  /// Throws InputError with a precise message for a stack of size n, e.g.
  /// "topk.k = 0 (--topk); must satisfy 1 ≤ k ≤ n = 64".
  void validate(Index n) const;
  /// The Krylov dimension used for size n: ncv, or the default when ncv = 0.
  [[nodiscard]] Index ncv_for(Index n) const;
};

/// One solve's figures. Values live in TopkResult::spectrum (hat values + exponent K).
struct TopkSolve {
  SolveStatus status = SolveStatus::NotComputed;
  Index requested = 0;          ///< k
  Index converged = 0;          ///< values returned (= k when converged or dense)
  Index iterations = 0;         ///< Spectra's implicit restarts (eigen) or subspace iterations (singular); 0 for dense
  std::int64_t applications = 0;  ///< operator applications: M̂x (eigen) or pairs M̂x, M̂ᵀy (singular)
  std::string issue;            ///< why, when status = numerical_issue
};

struct TopkResult {
  Index n = 0;                  ///< matrix size
  Index depth = 0;              ///< L, the number of factors
  /// λ̂_i, σ̂_i of M̂ (sorted; `converged` entries each) and the exponent K = Σ k_l (M = 2^K·M̂), depth = L. Linear
  /// values, log10 values and the CSV rows (kind prefix at depth L is the end-to-end product) come from spectrum.hpp:
  /// eigenvalue_csv({{ProductKind::Prefix, {result.spectrum}}}). When one part was computed densely and the
  /// other matrix-free, both hat vectors are re-expressed in the one exponent stored here (exactly: a power of two).
  DepthSpectrum spectrum;
  TopkSolve eigen;              ///< the eigenvalue solve
  TopkSolve singular;           ///< the singular value solve
  Eigen::MatrixXcd eigenvectors;  ///< n×converged, unit 2-norm columns (options.vectors; else empty)
  Mat right_singular_vectors;   ///< n×converged, orthonormal v_i with M̂ᵀM̂ v_i = σ̂_i² v_i (options.vectors)
};

/// Top-k eigenvalues (largest modulus) and/or singular values of M = H_L ··· H_1, matrix-free (dense
/// fallback as documented). Throws InputError for an empty/invalid stack or invalid options (k names --topk).
[[nodiscard]] TopkResult topk_spectrum(const std::vector<Mat>& stack, const TopkOptions& options);

}  // namespace mhclab
