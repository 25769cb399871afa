#pragma once
// The parts of the SPEC §5 layer (mHC paper Eq. 3), defined once:
//
//   X_{l+1} = H_l X_l + H_post_lᵀ F_l(H_pre_l X_l),   X_l ∈ R^{n×C} (row i = stream i)
//   F(h) = g·φ(W N(h)),  φ ∈ {linear, tanh, relu} (Branch),  N = RMSNorm with ε = 0 or the identity (BranchNorm)
//   pre = σ(a_pre), post = 2σ(a_post) (GateStyle::Sigmoid, the mHC family) or pre = a_pre, post = a_post (Linear:
//   hc, resnet)
//   static init (mHC Eq. 8): a_pre = a_post = −1 except +1 at stream k = l mod n (sigmoid); a_pre = e_k, a_post = 1_n
//   (linear, HC's static init = Pre-Norm).
//
// Two implementations run the layer: model/propagation.hpp (one state, log-scaled: energy, gradient, Jacobian) and
// model/train_network.hpp (batches of tokens, trainable parameters, the exact backward). Both take φ, φ', the gates,
// their init and the RMSNorm derivative from here (and the training network its RMS scale; propagation's states are
// 2^K-normalised and it always uses the scaled sum); tests/model/test_layer_agreement.cpp checks that the two agree on
// X_L, on every parameter gradient and on ∂X_L/∂X_0. (They keep their own loops: one works on 2^K-scaled single
// states, the other on batched plain ones, and each one's arithmetic order fixes its outputs' bytes.)
#include <cmath>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

/// φ of the branch F(h) = g·φ(W N(h)).
enum class Branch { Linear, Tanh, Relu };
inline constexpr EnumTable<Branch, 3> branch_table{
    "branch", {{{Branch::Linear, "linear"}, {Branch::Tanh, "tanh"}, {Branch::Relu, "relu"}}}};

/// N of the branch: RMSNorm with ε = 0 (`rms`, the paper's pre-norm) or the identity (`none`).
enum class BranchNorm { Rms, None };
inline constexpr EnumTable<BranchNorm, 2> branch_norm_table{
    "branch-norm", {{{BranchNorm::Rms, "rms"}, {BranchNorm::None, "none"}}}};

/// φ(z).
[[nodiscard]] double branch_phi(Branch b, double z);
/// φ'(z); relu'(0) = 0; tanh'(±inf) = 0.
[[nodiscard]] double branch_phi_prime(Branch b, double z);

/// σ(x) = 1/(1 + e^−x).
[[nodiscard]] double logistic(double x);
/// A gate from its logit: scale·σ(a) (Sigmoid) or a (Linear; scale unused). pre uses scale 1, post scale 2.
[[nodiscard]] double gate_value(GateStyle style, double a, double scale);
/// d gate_value / da: scale·σ(a)(1 − σ(a)) (Sigmoid) or 1 (Linear).
[[nodiscard]] double gate_derivative(GateStyle style, double a, double scale);

/// H_pre, H_post ∈ R^{1×n} of one layer (stored as n-vectors).
struct PrePost {
  Vec pre;   ///< n, H_pre (row vector)
  Vec post;  ///< n, H_post (row vector); the layer adds H_postᵀ F = post ⊗ F
};

/// The logits a_pre, a_post ∈ R^n of one layer's gates (pre = gate_value(a_pre, 1), post = gate_value(a_post, 2)).
struct GateLogits {
  Vec pre;
  Vec post;
};

/// The static init logits of layer `layer` (mHC Eq. 8 / HC's init, see the top of the file). Throws InputError for
/// n < 1 or layer < 0.
[[nodiscard]] GateLogits static_gate_logits(GateStyle style, Index n, Index layer);

/// SPEC §5 (mHC paper Eq. 8, static init), by the method's registry trait `gates`: the gates of
/// static_gate_logits, i.e. sigmoid: pre = σ(b), post = 2σ(b), b = −1 except b_k = +1; linear (hc, and resnet with
/// n > 1): pre = e_k, post = 1_n; resnet with n = 1: pre = post = [1]. Throws InputError for n < 1 or layer < 0.
[[nodiscard]] PrePost static_pre_post(MethodId method, Index n, Index layer);

/// r = ‖v‖₂/√m (m = the length of v), the scale of RMSNorm N(v) = v/r (ε = 0), over the whole double range: the plain
/// sum of squares when it is safely inside the normal range (then the same bits as v.norm()/√m), else Eigen's
/// stableNorm, whose scaled sum neither overflows (|v| ≳ 1e154) nor underflows (|v| ≲ 1e-154); the plain form would
/// give r = inf or 0 there, and N(v) = 0 — a branch silently switched off for exploding or collapsing streams.
template <class V>
[[nodiscard]] double rms_scale(const Eigen::MatrixBase<V>& v) {
  const double sq = v.squaredNorm();
  const double norm = sq >= 0x1p-960 && sq <= 0x1p960 ? std::sqrt(sq) : v.stableNorm();
  return norm / std::sqrt(static_cast<double>(v.size()));
}

/// The RMSNorm derivative (ε = 0) applied to d: for u = N(h) = h/r, r = ‖h‖₂/√m (m = the length of h),
///   J_N d = J_Nᵀ d = (d − u·(u·d)/m)/r   (J_N is symmetric).
/// For r = 0 the caller takes the derivative as 0 (N(0) = 0 is a convention; h = 0 has probability zero).
template <class U, class D>
[[nodiscard]] typename D::PlainObject rms_norm_derivative(const Eigen::MatrixBase<U>& u, double r,
                                                          const Eigen::MatrixBase<D>& d) {
  return (d - u * (u.dot(d) / static_cast<double>(u.size()))) / r;
}

}  // namespace mhclab
