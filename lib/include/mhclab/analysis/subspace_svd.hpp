#pragma once
// Top-k singular values of a matrix-free square operator B (d×d) by block subspace iteration with Rayleigh–Ritz
// (Halko, Martinsson & Tropp 2011, SIAM Review 53(2), Algorithms 4.4 and 5.1; Golub & Van Loan, Matrix
// Computations, 4th ed., §8.2.4 "orthogonal iteration"):
//   Q₀ (d×b) orthonormal, from RandomStream(seed, Purpose::Krylov, {d, b}) normals and Householder QR;
//   per iteration:  Y = B Q (b applications);  Y = U Σ Wᵀ (thin SVD);  Ritz values σ_i = Σ_ii with right vectors
//   v_i = Q w_i and left vectors u_i (B v_i = σ_i u_i exactly);  Z = Bᵀ U (b applications of Bᵀ);
//   residuals r_i = Z e_i − σ_i v_i, so each σ_i lies within ‖r_i‖ of a singular value of B (for the eigenpairs of
//   [0 B; Bᵀ 0]); with the block converged (b ≥ k plus oversampling) these are the top k;
//   stop when ‖r_i‖ ≤ tol'·σ₁ for every i < k, else Q ← orth(Z) = orth(BᵀB Q W Σ⁻¹) (subspace iteration on BᵀB,
//   which converges like (σ_{b+1}/σ_i)² per iteration). tol' = max(tol, 64·√d·u): the round-off of applying Bᵀ
//   to a unit vector. The iteration also stops (not converged) when the largest residual has not halved in 20
//   iterations: it is at the operator's own round-off (a deep product's error exceeds u·σ₁).
// Why not Spectra's SymEigsSolver on BᵀB: Spectra 1.0.1 (Debian 12's libspectra-dev) returns wrong eigenvalues for
// numerically low-rank operators (yixuan/spectra issue 159, "Issue with low-rank matrices"), and deep products are
// exactly that: the top singular value of a 10-layer product of n = 64 mhc matrices (true value 1) came out as
// 10^14.8. Householder QR and the SVD of the small block are backward stable whatever the rank; working on B rather
// than BᵀB also resolves singular values down to ≈ u·σ₁ instead of √u·σ₁ (before the operator's own round-off).
#include <cstdint>
#include <functional>
#include <string>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// y = B x or y = Bᵀ x for x, y of length d (y does not alias x).
using LinearApply = std::function<void(const double* x, double* y)>;

struct SubspaceSvdOptions {
  Index k = 1;              ///< number of singular values, 1 ≤ k ≤ d
  Index block = 0;          ///< b, k ≤ b ≤ d; 0 = min(d, max(2k, k + 8))
  Index max_iter = 1000;    ///< iterations, ≥ 1
  double tol = 1e-12;       ///< residual test ‖r_i‖ ≤ max(tol, 64·√d·u)·σ₁, > 0
  std::uint64_t seed = 0;   ///< the start block's stream
  bool vectors = false;     ///< also return the right singular vectors
  void validate(Index d) const;  ///< InputError naming the field
};

struct SubspaceSvdResult {
  Vec sigma;                    ///< k Ritz values, descending (≥ 0)
  Mat right_vectors;            ///< d×k orthonormal (options.vectors; else empty)
  bool converged = false;       ///< every residual of the k passed the test
  Index converged_count = 0;    ///< the leading Ritz values whose residuals passed (k when converged)
  bool finite = true;           ///< false: the operator produced a non-finite value (sigma, vectors empty)
  Index iterations = 0;         ///< iterations run
  std::int64_t applications = 0;  ///< applications of B (= those of Bᵀ)
};

/// The top-k singular values of B (apply: B, apply_transpose: Bᵀ) of size d ≥ 1.
[[nodiscard]] SubspaceSvdResult subspace_svd(Index d, const LinearApply& apply, const LinearApply& apply_transpose,
                                             const SubspaceSvdOptions& options);

}  // namespace mhclab
