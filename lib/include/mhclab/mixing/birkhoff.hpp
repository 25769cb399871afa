#pragma once
// Birkhoff–von Neumann decomposition: a doubly stochastic H (n×n, paper orientation) as a convex combination
// H = Σ_t w_t P_{σ_t}, P_σ[i, σ(i)] = 1, with at most (n−1)² + 1 terms (Carathéodory on the Birkhoff polytope,
// whose dimension is (n−1)²). This is the inverse direction of mhc-lite (mHC-lite arXiv 2601.05732, SPEC §2):
// every DS matrix is some mhc-lite H, and mhc_lite_params_from_bvn gives the logits.
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// One term w·P_σ of a decomposition.
struct BvnTerm {
  double weight = 0.0;       ///< w > 0
  std::vector<Index> sigma;  ///< length n: row i takes column sigma[i]
};

struct BvnOptions {
  /// Entries ≤ support_threshold count as zero (support = {R_ij > threshold}); remainders that fall to or
  /// below it after a subtraction are dropped, so each dropped entry loses at most this much mass. Also the
  /// tolerance for negative input entries (≥ −threshold, clamped to 0).
  double support_threshold = 1e-14;
  /// Row and column sums of the input must be within margin_tolerance·n of 1.
  double margin_tolerance = 1e-9;
  void validate() const;  ///< InputError naming the option
};

/// Greedy Birkhoff–von Neumann decomposition of a doubly stochastic H (n×n, n ≥ 1).
///
/// Repeat until the remainder R (initially H) is ≤ threshold everywhere: choose a permutation inside the
/// support {R_ij > threshold} — the one maximising Σ_i log R_{iσ(i)} (max_weight_assignment, O(n³)), which
/// favours large entries and so large weights — take w = min_i R_{iσ(i)}, R ← R − w·P_σ, and zero the entries
/// that dropped to ≤ threshold (the minimum itself becomes exactly 0). Each step lowers the dimension
/// e − 2n + c of the face of the Birkhoff polytope containing R (e = support size, c = connected components
/// of the support's bipartite graph) by at least one, so there are at most (n−1)² + 1 terms and O(n⁵) work.
/// Terms come in the order found (non-increasing is not guaranteed); no permutation appears twice.
/// Reconstruction error max|Σ w_t P_t − H| ≤ threshold + O(n·u) per entry; Σ w_t = 1 within the same.
///
/// Throws InputError unless H is square, non-empty, finite, entries ≥ −threshold and every row and column
/// sum is within margin_tolerance·n of 1. Throws ComputeError if the support stops containing a permutation
/// while the remainder is still larger than margin_tolerance·n (cannot happen for a DS input).
[[nodiscard]] std::vector<BvnTerm> birkhoff_decomposition(const Mat& H, const BvnOptions& options = {});

/// Σ_t w_t P_{σ_t}, n×n (n = the terms' common permutation length; n is needed for an empty list).
[[nodiscard]] Mat bvn_reconstruct(const std::vector<BvnTerm>& terms, Index n);

/// mhc-lite logits (length n!, lexicographic order) whose H reproduces a decomposition Σ_t w_t P_{σ_t}.
/// θ_k = log(w_k / W) (W = Σ_t w_t; repeated permutations add up) for the permutations used, and for the
/// m unused ones (if any) the finite floor θ = log(unused_mass / m), so that together they carry
/// softmax mass unused_mass/(1 + unused_mass) ≈ unused_mass and max|H(θ) − Σ w_t P_t / W| ≤ 2·unused_mass.
/// (Softmax has no exact zeros; −∞ would be exact but is not a valid parameter.) The floor sits ≈ 37 + log m
/// below the used logits for the default 1e-16, so gradients through the unused logits are negligible:
/// a training run started from these θ will hardly move them.
/// InputError unless 1 ≤ n ≤ 8, terms non-empty, each σ a permutation of length n, weights > 0 and finite,
/// 0 < unused_mass < 1.
[[nodiscard]] Vec mhc_lite_params_from_bvn(Index n, const std::vector<BvnTerm>& terms, double unused_mass = 1e-16);

}  // namespace mhclab
