#pragma once
// Permutations of {0, …, n−1} in lexicographic order (SPEC §1): σ_0 = identity, σ_{n!−1} = reversal;
// P_σ[i, σ(i)] = 1 (paper orientation: stream σ(i) feeds stream i). Used by mhc-lite (H = Σ_k softmax(θ)_k P_{σ_k},
// mHC-lite arXiv 2601.05732), kromhc's factors and the Birkhoff–von Neumann decomposition (birkhoff.hpp).
#include <span>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// Largest n for which mhc-lite (n! parameters) is built; also the largest kromhc factor size (SPEC §2).
inline constexpr Index kMhcLiteMaxN = 8;
/// Largest n for which a PermutationTable is materialised (9!·9 indices ≈ 26 MB).
inline constexpr Index kPermutationTableMaxN = 9;
/// Largest n whose n! fits in a signed 64-bit Index (20! ≈ 2.4·10¹⁸).
inline constexpr Index kFactorialMaxN = 20;

/// n! for 0 ≤ n ≤ 20; InputError otherwise.
[[nodiscard]] Index factorial(Index n);

/// True when `sigma` (length n) holds every value 0..n−1 exactly once.
[[nodiscard]] bool is_permutation(std::span<const Index> sigma);

/// Lexicographic rank of σ among the n! permutations of its length (Lehmer code; rank 0 = identity).
/// O(n²). InputError if σ is not a permutation or n > 20.
[[nodiscard]] Index permutation_rank(std::span<const Index> sigma);

/// The permutation of {0..n−1} with lexicographic rank `rank` ∈ [0, n!) (inverse of permutation_rank).
[[nodiscard]] std::vector<Index> permutation_unrank(Index n, Index rank);

/// All n! permutations of {0..n−1} in lexicographic order, stored flat (k·n + i ↦ σ_k(i)).
/// 1 ≤ n ≤ kPermutationTableMaxN (InputError otherwise). Build once, share read-only (thread-safe).
class PermutationTable {
 public:
  explicit PermutationTable(Index n);
  [[nodiscard]] Index n() const { return n_; }
  /// Number of permutations, n!.
  [[nodiscard]] Index size() const { return count_; }
  /// σ_k as a length-n view: sigma(k)[i] = σ_k(i), 0 ≤ k < n!.
  [[nodiscard]] std::span<const Index> sigma(Index k) const {
    return {data_.data() + k * n_, static_cast<std::size_t>(n_)};
  }
  [[nodiscard]] std::span<const Index> operator[](Index k) const { return sigma(k); }

 private:
  Index n_;
  Index count_;
  std::vector<Index> data_;  ///< n!·n entries, permutation-major
};

}  // namespace mhclab
