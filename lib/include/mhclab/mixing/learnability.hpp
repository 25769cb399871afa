#pragma once
// Learnability diagnostics of a mixing method at θ: the singular values of the Jacobian ∂vec(H)/∂θ (n²×p,
// row i·n + j, column k; exact, from the methods' vector–Jacobian products, not finite differences) and the
// logit range that governs Sinkhorn's convergence.
//
// Why: a method whose Jacobian has tiny singular values at its init cannot move H by gradient descent (the
// "H_res never learns" saturation: mhc at τ = 0.05 with the authors' −8 off-diagonal logits has
// exp(−8/0.05) = e^{−160} off the diagonal, and σ_max(∂H/∂θ) is of that order). The rank is the dimension of
// the set of directions in which H can move: for an exactly doubly stochastic chart at most (n−1)² (the
// tangent space of the Birkhoff polytope), for kromhc Σ_k (i_k − 1)², for hc n², for a converged mhc
// (n−1)² (row sums and column sums stay 1; the row and column shifts Z + a1ᵀ + 1bᵀ are its null space).
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

struct LearnabilitySummary {
  Vec singular_values;             ///< of J = ∂vec(H)/∂θ, descending, min(n², p) of them (empty when p = 0)
  double sigma_max = 0.0;          ///< largest singular value (0 when p = 0)
  double sigma_min_nonzero = 0.0;  ///< smallest σ > 1e-12·σ_max, or 0 when there is none
  Index rank = 0;                  ///< numerical rank: #{σ > 1e-12·σ_max} (0 when σ_max = 0)
  /// The range of the method's logits: for an exp(Z/τ) method (mhc, tropical; Method::logit_tau() > 0)
  /// (max Z − min Z)/τ, the range of the exponent, = log(1/ν) with ν = min M⁰ / max M⁰ (the final τ of a
  /// geometric schedule); for the others max θ − min θ; 0 when p = 0.
  double logit_range = 0.0;
  Index params = 0;  ///< p = method.num_params()
};

/// Relative threshold of the numerical rank (a dense SVD resolves σ down to ≈ 1e-15·σ_max; 1e-12 leaves margin).
inline constexpr double kLearnabilityRankTol = 1e-12;

/// Singular values of J = mix_jacobian(method, θ) (modifiers included) (Eigen JacobiSVD) and the logit range. Throws like
/// mix_jacobian (InputError for a bad θ; ComputeError when an mhc forward has status numerical_issue).
/// `jacobian` (optional) receives J (n²×p).
[[nodiscard]] LearnabilitySummary learnability(const Method& method, const Vec& theta,
                                               Mat* jacobian = nullptr);

}  // namespace mhclab
