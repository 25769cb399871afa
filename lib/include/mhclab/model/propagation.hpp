#pragma once
// Energy and gradient propagation through the full multi-stream layer model (SPEC §5; mHC paper, Eq. (3)).
// The layer's parts (φ, the gates and their static init, the RMSNorm derivative) are model/layer.hpp's. The training
// harness's network (model/train_network.hpp) runs the same layer for batches of tokens with trainable parameters;
// tests/model/test_layer_agreement.cpp checks that the two agree (forward, backward, Jacobian).
//
// The model. State X_l ∈ R^{n×C} (n streams, width C; row i = stream i). One layer l = 0..L−1 (0-based;
// layer l uses H_res[l], i.e. H_{l+1} of SPEC §1):
//
//   X_{l+1} = H_l X_l + H_post_lᵀ F_l(H_pre_l X_l)                                       (mHC Eq. 3)
//   h  = H_pre_l X_l ∈ R^{1×C}          (h_c = Σ_i pre_i X_l[i, c]; treated as a C-vector)
//   F_l(h) = g · φ(W_l N(h)) ∈ R^C,     H_post_lᵀ F_l: (n×1)(1×C), X_{l+1}[i, c] += post_i · F_l(h)_c
//
//   φ ∈ {linear, tanh, relu} (Branch);  g = gain;  W_l ∈ R^{C×C}, entries N(0, 1/C);
//   N = RMSNorm (BranchNorm::Rms): N(h) = h / r, r = sqrt(mean_c h_c²) = ‖h‖₂/√C, with ε = 0 and N(0) = 0;
//       or the identity (BranchNorm::None).
//   H_pre, H_post: static_pre_post() (SPEC §5, mHC Eq. 8).
//
// Why ε = 0. With ε = 0 RMSNorm is exactly scale invariant, N(αh) = N(h) for α > 0, so the branch output of
// a state αX equals that of X and the state can be stored as X = 2^K·X̂ at any depth without approximation.
// (A positive ε would make the branch depend on the absolute scale of h in a way that has no meaning for
// the depth study and breaks that invariance.) N is discontinuous at h = 0; there N(0) = 0 and its
// derivative is taken as 0 (h = 0 has probability zero for the random X_0 used here).
//
// Random inputs (mhclab/core/random.hpp gives the generator recipe; all matrices filled in ROW-MAJOR order,
// i.e. entry (i, c) is the (i·cols + c)-th normal drawn from the stream):
//   X_0 (n×C):  N(0, 1) from RandomStream(seed, Purpose::State, {})
//   W_l (C×C):  N(0, 1)·(1/√C) from RandomStream(seed, Purpose::Weights, {l}), l = 0..L−1 (0-based)
//   R   (n×C):  N(0, 1) from RandomStream(seed, Purpose::Readout, {})      (loss ℒ = ⟨R, X_L⟩ = Σ R∘X_L)
//   Jacobian probe P (n×C): N(0, 1) from RandomStream(seed, Purpose::State, {kJacobianProbeTag})
// W_l is drawn (and used) only when g ≠ 0; g = 0 means "zero branch": the branch term is skipped, so such a
// layer computes exactly X_{l+1} = H_l X_l.
//
// Log scale (SPEC §4). X_l and G_l = ∂ℒ/∂X_l are kept as 2^K·M with max|M| ∈ [1/2, 1) (or M = 0), scaled
// only by powers of two (exact). This representation is EXACT for every configuration of the model:
//   • rms (ε = 0): the branch of 2^K X̂ is the branch of X̂ (scale invariance); its derivative carries 2^−K;
//   • none + linear/relu: F is positively homogeneous of degree 1, F(2^K X̂) = 2^K F(X̂);
//   • none + tanh: tanh is evaluated on the true argument z = 2^K ẑ: if every |z| < 1 the output is written
//     as 2^K·(g ẑ ∘ tanh(z)/z) (no underflow however small X is), otherwise as plain g·tanh(z) (z may be
//     ±inf beyond the double range, where tanh = ±1 and tanh' = 0 are the exact limits).
// The only effect of the double range is that, when two terms are added (H X and the branch), parts more
// than ≈2^−1074 below the larger one are flushed — far below round-off. A ComputeError naming the layer is
// thrown only if a non-finite number still appears (inputs such that H_l X̂ or g·φ overflow, e.g.
// |H| ≳ 1e308/n or |g| ≳ 1e307); non-finite numbers are never returned, except log10 columns of values that
// are exactly zero (−inf) and linear columns of values beyond the double range (±inf / 0, see below).
//
// Linear vs log10 columns: every linear value is computed from its exact log form with exact power-of-two
// scaling, so it is ±inf / 0 only when the value itself lies beyond the double range; the log10 columns are
// finite for every finite non-zero value (−inf only for an exact zero). CSV writers use format_metric
// (mhclab/analysis/format_scaled.hpp) on the (linear, log10) pair.
//
// End-to-end Jacobian J = ∂X_L/∂X_0 (nC×nC) with vec(X) = column-major n×C storage (entry (i, c) ↦ i + n·c).
// Layer Jacobian: J_l(δX) = H_l δX + post ⊗ J_F(h_l)(pre δX),
//   J_F(h) = g·diag(φ'(z))·W_l·J_N(h),  J_N = (I − u uᵀ/C)/r (rms, u = N(h)) or I (none).
// The matrix-free operator is the library's normalised chain (analysis/normalised_chain.hpp) over the layer
// Jacobians: J̃ = Π_l J̃_l, J̃_l = J_l / s_l with s_l = 2^{k_l} by its one calibration rule, run on the Jacobian probe P
// (so the normalised product neither overflows nor underflows for generic inputs); the factor's norm bound is
// ‖H_l‖_F + ‖post‖‖pre‖‖J_F‖_F-bound (plus the gate terms of dsv4). Block subspace iteration (analysis/subspace_svd.hpp)
// runs on J̃ (JVP) and J̃ᵀ (VJP) through every layer, including N' and φ', and the report is
//   log10 σ_i = Σ_l k_l·log10 2 + log10 σ_i(J̃).
// (Not Spectra's SymEigsSolver on J̃ᵀJ̃: it returns wrong values for the numerically low-rank Jacobians of deep
// stacks.) Resolution: the normalised product carries round-off from every layer, so σ_i below the conservative
// floor σ_floor = σ_1·√(nC·u) carry the floor value and resolved = false (SPEC §4: −inf is never written for a value
// that is not zero).
//
// Gate mode dsv4: a DeepSeek-V4 block (mixing/dsv4_site.hpp (S1)–(S5); docs/SPEC_NOTES.md "The DeepSeek-V4 block in
// the layer model"). Layer l is a site with tensors fn_l [m, nC], base_l [m], scale_l [3]; its gates and mixing are
// recomputed from the state entering it:
//   v = vec(X_l) stream-major,  r = (mean(v²) + ε_norm)^(−1/2),  a = r·fn_l v                         (S1)–(S2)
//   pre = σ(s₀a_pre + b_pre) + ε_hc,  post = 2σ(s₁a_post + b_post),  Λ[j, k] = s₂a_comb + b_comb      (S3)–(S5)
//   H_l = combᵀ = the dsv4 method's H(θ = row-major vec Λ)  (the deployed Sinkhorn, its iters and eps)
//   X_{l+1} = H_l X_l + post ⊗ F_l(Xᵀ_l pre)            (the same branch F as above)
// so the gradient and the Jacobian carry the derivatives of every gate through r, fn, σ and the unrolled Sinkhorn
// (∂H/∂θ as the n²×n² matrix of n² VJPs of the method). Log scale: with X = 2^K X̂, r·v = v̂·(mean v̂² + ε̂)^(−1/2)
// with ε̂ = 2^(−2K)·ε_norm exactly, so the gates are exact functions of (X̂, K); their derivatives carry 2^(−K), and
// a layer's Jacobian splits into pieces scaled by 2^0 (H and its gate), 2^{jf_exp} (the branch and the pre gate)
// and 2^{ey−K} (the post gate, ey the branch output's exponent). The stack H_res passed in is then the static
// mixing (mixes at zero) and only fixes L and n.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/analysis/solve_status.hpp"
#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/dsv4_site.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/layer.hpp"

namespace mhclab {

/// Where a layer's H_pre, H_post and H_res come from: fixed per layer (`static`: the stack and the static gates or
/// PropagationOptions::gates) or recomputed from the state entering the layer (`dsv4`: a DeepSeek-V4 site).
enum class GateMode { Static, Dsv4 };
inline constexpr EnumTable<GateMode, 2> gate_mode_table{
    "gate-mode", {{{GateMode::Static, "static"}, {GateMode::Dsv4, "dsv4"}}}};

/// The sites of gate mode dsv4.
struct Dsv4Dynamics {
  std::vector<Dsv4Site> sites;        ///< one per layer: fn [m, n·C], base [m], scale [3], m = (2 + n)·n
  std::shared_ptr<const Method> comb;  ///< a dsv4 method (its iters, eps, precision); null = dsv4's defaults
  double hc_eps = 1e-6;               ///< ε_hc added to pre (S3), in [0, 1)
  double norm_eps = 1e-6;             ///< ε_norm inside the RMS (S1), in (0, 1)
};

/// Index of the Jacobian probe's stream: RandomStream(seed, Purpose::State, {kJacobianProbeTag}).
inline constexpr std::uint64_t kJacobianProbeTag = 1;

/// Options of propagate() (CLI spellings in parentheses).
struct PropagationOptions {
  Index width = 64;                   ///< C ≥ 1, the stream width (--width)
  Branch branch = Branch::Linear;     ///< φ (--branch)
  BranchNorm norm = BranchNorm::Rms;  ///< N (--branch-norm)
  double gain = 1.0;                  ///< g, finite; 0 = zero branch (--gain)
  /// k ≥ 0: number of top singular values of ∂X_L/∂X_0 to compute; 0 = none. Must be < n·C (checked by
  /// propagate, which knows n) (--jacobian-topk).
  Index jacobian_topk = 0;
  double jacobian_tol = 1e-13;   ///< residual test ‖J̃ᵀu_i − σ̂_i v_i‖ ≤ tol·σ̂_1, in (0, 1) (--jacobian-tol)
  Index jacobian_maxit = 1000;   ///< maximum subspace iterations, ≥ 1 (--jacobian-maxit)
  /// Per-layer H_pre/H_post (L entries of n-vectors, e.g. a checkpoint's static DeepSeek-V4 gates: pre = σ(b) + ε,
  /// post = 2σ(b)); empty = static_pre_post of the method. Checked by propagate, which knows L and n.
  std::vector<PrePost> gates;
  GateMode gate_mode = GateMode::Static;  ///< (--gate-mode)
  Dsv4Dynamics dsv4;                      ///< gate_mode = dsv4: the sites (checked by propagate, which knows L, n, C)

  /// Throws InputError naming the option, e.g. "propagation.width = 0; must be ≥ 1 (--width)".
  void validate() const;
};


/// The collapse statistics of one residual state X (n×C, row i = stream i; scale free), as PropagationRow and the
/// training log report them: dominant_share = max_i ‖X_i‖² / Σ_i ‖X_i‖² (NaN for X = 0) and stream_correlation = the
/// mean over pairs i < j of the Pearson correlation of X_i and X_j over the channels (NaN for n = 1, C = 1 or a
/// stream that is constant over the channels).
struct StreamCollapse {
  double dominant_share = 0;
  double stream_correlation = 0;
};
[[nodiscard]] StreamCollapse stream_collapse(const Mat& X);

/// One row of the report: depth l = 0..L (row 0 is the input X_0).
struct PropagationRow {
  Index layer = 0;                 ///< l (X_l is the input of layer l, the output of layer l−1)
  double energy = 1;               ///< ‖X_l‖_F² / ‖X_0‖_F²
  double log10_energy = 0;         ///< log10 of energy (−inf only if X_l = 0 exactly)
  Vec stream_energy;               ///< n: ‖X_l[i,:]‖² / ‖X_0‖_F²
  Vec log10_stream_energy;         ///< n: log10 of stream_energy
  /// max_c |Σ_i X_l[i,c] − Σ_i X_0[i,c]| / max_c Σ_i |X_0[i,c]|: the stream-sum ("mass", 1ᵀX) drift,
  /// relative to the largest column mass of the input. 0 at l = 0 and for exact conservation.
  double stream_sum_dev = 0;
  double log10_stream_sum_dev = 0;  ///< log10 of stream_sum_dev (−inf when it is exactly 0)
  double grad_norm = 0;             ///< ‖∂ℒ/∂X_l‖_F, ℒ = ⟨R, X_L⟩ (row L: ‖R‖_F)
  double log10_grad_norm = 0;       ///< log10 of grad_norm
  // Collapse diagnostics of the state (SPEC §13; mhclab's own definitions, scale free):
  /// max_i ‖X_l[i,:]‖² / Σ_i ‖X_l[i,:]‖² ∈ [1/n, 1]: 1/n for balanced streams, → 1 when one stream dominates
  /// (NaN for X_l = 0).
  double dominant_share = 0;
  /// Mean over the n(n−1)/2 pairs i < j of the Pearson correlation of X_l[i,:] and X_l[j,:] over the C channels:
  /// → 1 when the streams collapse onto their mean (J/n products), ≈ 0 for independent streams (NaN for n = 1,
  /// C = 1, or a stream that is constant over the channels).
  double stream_correlation = 0;
  /// The read (H_pre) and write (H_post) weights of layer l, whose input X_l is (empty for row L); in gate mode
  /// dsv4 the gates computed from X_l.
  Vec pre, post;
};

/// Top singular values of J = ∂X_L/∂X_0 (nC×nC), largest first.
struct JacobianSpectrum {
  /// log10 σ_i, i < (number converged) ≤ k, descending. Values below the floor σ_1·√(nC·u) carry the floor.
  /// −inf only when J = 0 exactly (status ZeroOperator).
  std::vector<double> log10_sigma;
  std::vector<bool> resolved;       ///< σ_i ≥ floor (false: log10_sigma[i] is the floor value)
  double log10_scale = 0;           ///< Σ_l log10 s_l = Σ_l k_l·log10 2 (σ̂ = σ / Π s_l)
  SolveStatus status = SolveStatus::Converged;
  bool converged = true;            ///< status ∈ {Converged, ZeroOperator}
  Index iterations = 0;             ///< subspace iterations
  Index operations = 0;             ///< applications of J̃ (= those of J̃ᵀ)
};

/// The report of propagate().
struct [[nodiscard]] PropagationSummary {
  std::vector<PropagationRow> rows;          ///< L + 1 rows, l = 0..L
  std::optional<JacobianSpectrum> jacobian;  ///< present iff options.jacobian_topk > 0
};

/// Runs the model of SPEC §5 on the stack H_res (L ≥ 1 matrices n×n, paper orientation, layer l uses
/// H_res[l]) with the static H_pre/H_post of `method`, random X_0, W_l and R of `seed` (see top of file).
/// Throws InputError for invalid options, an empty stack, non-square / mismatched / non-finite H, or
/// jacobian_topk ≥ n·C; ComputeError (naming the layer) when a non-finite number appears.
[[nodiscard]] PropagationSummary propagate(const std::vector<Mat>& H_res, MethodId method,
                                           const PropagationOptions& options, std::uint64_t seed);

namespace detail {

/// Everything propagate() computes, kept for tests and other consumers: n×C matrices 2^exponent·M in the library's
/// scaled form (analysis/scaled_matrix.hpp).
struct PropagationTrace {
  std::vector<ScaledMatrix> X;  ///< L + 1 states X_0..X_L
  std::vector<ScaledMatrix> G;  ///< L + 1 gradients ∂ℒ/∂X_l, l = 0..L
};

/// The random inputs (row-major fills, see top of file).
[[nodiscard]] Mat initial_state(Index n, Index C, std::uint64_t seed);       ///< X_0, n×C
[[nodiscard]] Mat readout(Index n, Index C, std::uint64_t seed);             ///< R, n×C
[[nodiscard]] Mat branch_weights(Index C, Index layer, std::uint64_t seed);  ///< W_layer, C×C

/// States that replace the seeded X_0 and R (empty = drawn from the seed; else n×C and finite, InputError
/// otherwise), e.g. to run the model on another implementation's state (tests/model/test_layer_agreement.cpp).
struct PassInputs {
  Mat X0;  ///< X_0
  Mat R;   ///< ∂ℒ/∂X_L (the readout)
};

/// Forward and backward passes of propagate() (log-scaled; same validation).
[[nodiscard]] PropagationTrace propagation_trace(const std::vector<Mat>& H_res, MethodId method,
                                                 const PropagationOptions& options, std::uint64_t seed,
                                                 const PassInputs& inputs = {});

/// Reference forward pass in plain doubles without any scaling (for finite-difference tests on small,
/// shallow stacks): applies layers first..L−1 to X (n×C) and returns X_L.
[[nodiscard]] Mat forward_plain(const std::vector<Mat>& H_res, MethodId method, const PropagationOptions& options,
                                std::uint64_t seed, const Mat& X, Index first_layer);

/// The normalised end-to-end Jacobian J̃ = J / Π s_l as a dense nC×nC matrix (column k = J̃ e_k, built from
/// the same JVP the top-k solver uses), with log10_scale = Σ log10 s_l. For tests (nC small).
struct DenseJacobian {
  Mat J_hat;
  Mat Jt_hat;  ///< J̃ᵀ built column by column from the VJP the top-k solver uses (equals J_hatᵀ up to round-off)
  double log10_scale = 0;
};
[[nodiscard]] DenseJacobian dense_jacobian(const std::vector<Mat>& H_res, MethodId method,
                                           const PropagationOptions& options, std::uint64_t seed,
                                           const PassInputs& inputs = {});

}  // namespace detail

}  // namespace mhclab
