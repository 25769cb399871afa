#pragma once
// Internal: the Cayley transform and the Helmert basis shared by the orthogonal-family methods (go-mhc, cayley,
// shc, isohc; SPEC §12).
//
// Convention: for a skew A (Aᵀ = −A, m×m), C = cayley(A) = (I − A)⁻¹(I + A). C is orthogonal with det C = +1 and
// no eigenvalue −1; I − A is always invertible (A's eigenvalues are imaginary, so ‖(I − A)⁻¹‖₂ ≤ 1). (I − A)⁻¹
// and I + A commute, so C = (I + A)(I − A)⁻¹ as well.
#include <optional>

#include "mhclab/core/types.hpp"

namespace mhclab::detail {

/// A = Θ − Θᵀ (Θ square).
[[nodiscard]] Mat skew_part(const Mat& Theta);
/// Backward of skew_part: dΘ = dA − dAᵀ.
[[nodiscard]] Mat skew_part_vjp(const Mat& dA);

/// C = (I − A)⁻¹(I + A) for a skew A (an LU solve with partial pivoting).
[[nodiscard]] Mat cayley(const Mat& A);
/// Backward of cayley at A (C = cayley(A)): (I − A)C = I + A gives dC = (I − A)⁻¹ dA (I + C), so for an upstream
/// G = ∂L/∂C, ∂L/∂A = (I − A)⁻ᵀ G (I + C)ᵀ = (I + A)⁻¹ G (I + C)ᵀ (Aᵀ = −A). Not projected onto skew matrices.
[[nodiscard]] Mat cayley_vjp(const Mat& A, const Mat& C, const Mat& G);
/// The skew A with cayley(A) = C for an orthogonal C without eigenvalue −1: A = (I + C)⁻¹(C − I), made exactly
/// skew as (A − Aᵀ)/2. nullopt when C is not orthogonal to ‖CᵀC − I‖_max ≤ tol or I + C is numerically singular
/// (estimated 1/‖(I + C)⁻¹‖₁ = rcond·‖I + C‖₁ < 1e-12: an eigenvalue at −1, outside the transform's image).
[[nodiscard]] std::optional<Mat> cayley_inverse(const Mat& C, double tol);

/// The Helmert basis of 1^⊥ (n × (n−1), orthonormal columns, BᵀB = I, Bᵀ1 = 0): column k (k = 0..n−2) is
/// (1, …, 1, −(k+1), 0, …, 0)/√((k+1)(k+2)) with k+1 leading ones. BBᵀ = I − J/n.
[[nodiscard]] Mat helmert_basis(Index n);

}  // namespace mhclab::detail
