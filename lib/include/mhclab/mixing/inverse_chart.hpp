#pragma once
// Inverse charts: parameters θ with mix(θ) = T for a target T (n×n, paper orientation), for the methods that have
// one. Used by the `expressivity` experiment (`mhclab fit`) to tell "reachable, and here is where" apart from
// "what gradient descent finds".
//
// The modifiers of the options are affine in H (method.hpp: lazy (1−α)I + αH, then minorised (1−δ)H + δJ/n), so
// the chart first undoes them, H* = ((T − δJ/n)/(1−δ) − (1−α)I)/α, and then inverts the method on H*:
//   hc        θ = vec H* (row-major): every matrix is reachable.
//   mhc       Z = τ·log H* (τ = the Sinkhorn temperature): a positive doubly stochastic matrix is a fixed point of
//             Sinkhorn–Knopp (all scalings 1), so mix(θ) = T up to round-off for any iteration count with the
//             constant τ schedule. (Under a geometric schedule, a tol or reduced precision the same θ is used and
//             reach_err = ‖mix(θ) − T‖_max reports what it gives.) Needs H* > 0.
//   mhc-lite  H* > 0 doubly stochastic: s = min(n·min H*·(1 − 10⁻⁹), 1/2), H' = (H* − s·J/n)/(1 − s) ≥ 0 is
//             doubly stochastic; its Birkhoff–von Neumann decomposition Σ_t v_t P_t (mixing/birkhoff.hpp)
//             plus the uniform weight s/n! on every permutation (J/n = Σ_k P_k / n!) gives the exact positive
//             weights w_k = (1 − s)·v_k + s/n! with Σ w_k P_k = H*, and θ = log w (softmax(θ) = w as Σ w = 1).
//             The cap s ≤ 1/2 keeps the division by 1 − s well conditioned (for T = J/n, s → 1 otherwise).
//   tbp/rtbp  the transport charts' exact inverses (mixing/transport_chart.hpp), as used by the identity init.
//             Need H* > 0.
//   circulant a doubly stochastic circulant H* with w = (c − (1−γ)e₀)/γ > 0 (c = the first row): z = log w.
//   cayley    (exact variant) an orthogonal H* without eigenvalue −1: Θ = A/2 with (α/2)A = (I + H*)⁻¹(H* − I).
//   isohc     an orthogonal H* with H*1 = 1 and 1ᵀH* = 1ᵀ: R = BᵀH*B, Θ = A/2 with cayley(A) = R.
//             cayley and isohc take any finite target: one off the family (not orthogonal to 1e-9·n, det −1, an
//             eigenvalue −1) is outside.
//   kromhc, resnet, tropical, go-mhc, shc: no inverse chart (kromhc: a Kronecker product is a thin subset of the Birkhoff
//             polytope, and no finite-dimensional projection onto it is exact; resnet: only I; tropical:
//             only permutation matrices).
// inverse_chart returns nullopt when the method has no chart (has_inverse_chart false) or when H* is outside
// the chart's domain (not > 0 for mhc/mhc-lite/tbp/rtbp, which includes every T the modifiers cannot produce).
// Each method's chart is its Method::build_inverse, applied to the unmodified H*.
#include <optional>

#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

/// The registry trait `inverse_chart` (method_traits): hc, mhc, mhc-lite, tbp, rtbp, circulant, cayley, isohc.
[[nodiscard]] bool has_inverse_chart(MethodId method);

/// θ with make_method(options)->mix(θ) = T (modifiers included) (see the header comment), or nullopt.
/// Takes the options rather than a Method because mhc's chart needs τ. T must be n×n (n = options.n), finite,
/// with row and column sums within 1e-9·n of 1 for the doubly stochastic methods (InputError otherwise; hc, cayley
/// and isohc take any finite T).
[[nodiscard]] std::optional<Vec> inverse_chart(const MethodOptions& options, const Mat& T);

/// ‖mix(θ) − T‖_max for θ from inverse_chart (the experiment's reach_err); ComputeError if the Sinkhorn
/// projection reports a numerical issue.
[[nodiscard]] double reach_error(const Method& method, const Vec& theta, const Mat& T);

}  // namespace mhclab
