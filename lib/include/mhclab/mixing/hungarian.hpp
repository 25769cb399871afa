#pragma once
// Maximum-weight perfect assignment (the `tropical` method, SPEC §2): σ maximising Σ_i Z_{iσ(i)}.
// O(n³) shortest augmenting path (Hungarian / Jonker–Volgenant style) with dual potentials.
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct AssignmentResult {
  std::vector<Index> sigma;  ///< row i is assigned column sigma[i]; P_σ[i, σ(i)] = 1
  double value = 0.0;        ///< Σ_i Z_{iσ(i)}
  Vec u;                     ///< row potentials  } optimality certificate (maximisation form):
  Vec v;                     ///< column potentials} u_i + v_j ≥ Z_ij, with equality on (i, σ(i))
};

/// Z: n×n finite weights, n ≥ 1. Throws InputError on non-square or non-finite input.
[[nodiscard]] AssignmentResult max_weight_assignment(const Mat& Z);

/// The permutation matrix P_σ (P[i, σ(i)] = 1).
[[nodiscard]] Mat permutation_matrix(const std::vector<Index>& sigma);

}  // namespace mhclab
