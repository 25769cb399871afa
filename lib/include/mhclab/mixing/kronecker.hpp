#pragma once
// Kronecker products and KromHC's factorisation of n (KromHC arXiv 2601.21579; SPEC §2):
// H = U¹ ⊗ U² ⊗ … ⊗ U^K with U^k an mhc-lite matrix of size i_k, n = Π_k i_k, each i_k ∈ 2..8.
#include <span>
#include <string>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// A ⊗ B, shape (A.rows·B.rows)×(A.cols·B.cols): (A ⊗ B)[a·B.rows + b, c·B.cols + d] = A[a, c]·B[b, d]
/// (numpy.kron / torch.kron order, as the KromHC authors' code).
[[nodiscard]] Mat kronecker(const Mat& A, const Mat& B);

/// KromHC's default factors of n: all 2 when n is a power of two, else the prime factors of n ascending;
/// {} for n = 1 (H = [[1]], 0 parameters). InputError when n < 1 or n has a prime factor > 8 (then no
/// factorisation into sizes 2..8 exists at all: use tbp, rtbp or mhc).
[[nodiscard]] std::vector<Index> kromhc_default_factors(Index n);

/// Throws InputError naming `factors` unless every factor is in 2..8 and their product is n.
void validate_kromhc_factors(Index n, std::span<const Index> factors);

/// The factors KromHC uses: `factors` when non-empty (validated), else kromhc_default_factors(n).
[[nodiscard]] std::vector<Index> resolve_kromhc_factors(Index n, std::span<const Index> factors);

/// "[2, 2, 3]" (for messages and manifests).
[[nodiscard]] std::string format_factors(std::span<const Index> factors);

}  // namespace mhclab
