#pragma once
// The seeds' 2-neuron walkthrough (seed 002; SPEC §9), computed by the library rather than copied:
// each line pairs a computed value with the seed's statement, and says whether SPEC treats the statement
// as exact (tested at 1e-12 relative) or as one to show next to the computed value.
#include <string>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct WalkthroughLine {
  std::string label;     ///< what is computed, e.g. "H x"
  std::string computed;  ///< the computed value, formatted
  std::string claim;     ///< the seed's statement
  bool exact = true;     ///< true: SPEC §9 asserts it; false: shown next to the computed value only
};

struct Walkthrough {
  // The exact values (SPEC §9), for tests and reports.
  Mat H;               ///< [[0.7,0.3],[0.3,0.7]]
  Vec x;               ///< [10, 20]
  Vec Hx;              ///< [13, 17]
  Mat H2;              ///< H²
  Vec eigenvalues;     ///< ascending: {0.4, 1}
  Vec H20x;            ///< H²⁰x
  double rho_Hp = 0;   ///< spectral radius of H' = [[0.8,0.3],[0.3,0.8]]
  double norm_Hp20x = 0;  ///< ‖H'²⁰x‖₂
  double pow_1_1_100 = 0; ///< 1.1¹⁰⁰
  Mat sinkhorn_2112;   ///< Sinkhorn of [[2,1],[1,2]] (Z = log), one iteration
  double swap_weight = 0; ///< H = (1−w)·I + w·swap
  /// Seed 002's "projection" examples: converged Sinkhorn of the matrix (Z = log M, "without exp") and of
  /// exp(M) (Z = M, "with exp"); first entry of each.
  double proj1_noexp = 0, proj1_exp = 0, proj2_noexp = 0, proj2_exp = 0;
  double growth_1_9_per_layer = 0;  ///< x + 0.9x after 20 layers / x: 1.9²⁰
  double reflection_min_entry = 0;  ///< min entry of I − 2vvᵀ, v = (1,1,−2)/√6: keeps sums and norm, negative entries
  std::vector<WalkthroughLine> lines;
};

[[nodiscard]] Walkthrough seed_walkthrough();

}  // namespace mhclab
