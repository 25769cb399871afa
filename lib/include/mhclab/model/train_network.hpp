#pragma once
// The trainable multi-stream network of the training harness (SPEC §5 layer model with branch norm on, SPEC §7),
// its synthetic tasks, and its exact hand-written backward. train.hpp runs the optimisation on top of this.
// The same layer model, one state at a time and log-scaled, is model/propagation.hpp; on a common network (static
// mapping, one token) the two agree on X_L, on every parameter gradient and on ∂X_L/∂X_0
// (tests/model/test_layer_agreement.cpp).
//
// Network (per input token x ∈ R^C; n streams; L layers l = 0..L−1; X_l ∈ R^{n×C}, row i = stream i):
//   X_0 = 1_n xᵀ                                            (n copies of x: the hyper-connections expansion)
//   X_{l+1} = H_l X_l + post_lᵀ F_l(pre_l X_l)              (mHC Eq. 3)
//   h = pre_l X_l ∈ R^C,  F_l(h) = g·φ(W_l N(h)),  N(h) = h / r, r = ‖h‖₂/√C   (RMSNorm, ε = 0, N(0) = 0, as
//       model/propagation.hpp; its derivative at h = 0 is taken as 0)
//   ŷ = W_out m ∈ R^K,  m = (1ᵀ X_L)/n ∈ R^C (mean over streams). W_out ∈ R^{K×C}, entries N(0, 1/C), is FIXED
//       (not trained): the readout only sets the task's coordinates; everything the study is about (H_res,
//       pre/post, W_l) is trained.
//
// Mappings (SPEC §7):
//   static : per layer θ_l (the method's p parameters), a_pre_l, a_post_l (n each) are parameters.
//   dynamic: per token and layer (mHC Eq. 7), with v = vec(X_l) ∈ R^{nC} (row-major: v[i·C + c] = X_l[i, c]),
//            x̃ = v / r_v, r_v = ‖v‖₂/√(nC) (RMSNorm, ε = 0):
//              θ_l    = α_res ·(φ_resᵀ  x̃) + b_res     (φ_res  ∈ R^{nC×p}, b_res  ∈ R^p)
//              a_pre  = α_pre ·(φ_preᵀ  x̃) + b_pre     (φ_pre  ∈ R^{nC×n}, b_pre  ∈ R^n)
//              a_post = α_post·(φ_postᵀ x̃) + b_post    (φ_post ∈ R^{nC×n}, b_post ∈ R^n)
//            α, φ, b all trained; α init `alpha_init` (0.01), φ init N(0, 1/(nC)), b init = the static init.
//   H_l = method.mix(θ_l) (modifiers included) (any method of SPEC §2; resnet: H = I, no H_res parameters).
//   Activations (SPEC §5, mHC Eq. 8): mhc, mhc-lite, kromhc, tbp, rtbp, tropical: pre = σ(a_pre), post = 2σ(a_post),
//     a init −1 except +1 at stream (l mod n); hc, resnet: pre = a_pre, post = a_post (raw linear), init
//     a_pre = e_{l mod n}, a_post = 1_n. So at init pre/post equal static_pre_post() of propagation.hpp.
//
// Parameters are one flat vector (ParamLayout gives every block's offset); matrices inside it are stored
// ROW-MAJOR (W_l[r, c] at offset + r·C + c; φ[k, q] at offset + k·cols + q). Per layer l, in this order:
//   W_l (C²) | static: θ_l (p), a_pre (n), a_post (n)
//            | dynamic: φ_res (nC·p), α_res (1), b_res (p), φ_pre (nC·n), α_pre (1), b_pre (n),
//                       φ_post (nC·n), α_post (1), b_post (n)          (res blocks absent when p = 0)
//
// Losses (mean over the batch of B tokens):
//   teacher : ℓ = (1/B) Σ_b ½‖ŷ_b − y_b‖²
//   clusters: ℓ = (1/B) Σ_b −log softmax(ŷ_b)[label_b]    (accuracy = fraction with argmax ŷ_b = label_b)
//
// Random inputs (core/random.hpp; matrices filled row-major; T = kTrainTag):
//   W_l (C×C)          N(0,1)/√C      RandomStream(seed, Weights, {l})              (as propagation.hpp)
//   φ_res/pre/post_l   N(0,1)/√(nC)   RandomStream(seed, Theta,   {T, l, 0|1|2})
//   W_out (K×C)        N(0,1)/√C      RandomStream(seed, Readout, {T, 0})
//   teacher V_k (C×C)  N(0,1)/√C      RandomStream(seed, Weights, {T, k}), k = 0..depth−1
//   teacher R (K×C)    N(0,1)/√C      RandomStream(seed, Readout, {T, 1})
//   cluster centres μ (K×C)  scale·N(0,1)  RandomStream(seed, State, {T, 0})
//   token b of step s  RandomStream(seed, State, {T, 1, s, b}): clusters: label = ⌊K·uniform()⌋ first; then x:
//                      C normals (teacher: x ~ N(0, I); clusters: x = μ_label + N(0, I))
//   probe token b      RandomStream(seed, State, {T, 2, b}), same recipe as a batch token.
//   Teacher (fixed random residual tanh MLP): t_0 = x, t_{k+1} = t_k + tanh(V_k t_k), y = R t_depth.
//
// Determinism: a batch is processed in fixed chunks of kTrainChunk tokens (independent of the thread count);
// per-chunk gradients are summed over tokens inside the chunk, then chunks are added in chunk order, so the
// result is bitwise identical for any number of threads. Static H_res gradients are accumulated as dL/dH_l and
// pulled back through mix_vjp once per layer after the reduction.
#include <cstdint>
#include <memory>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/layer.hpp"
#include "mhclab/model/propagation.hpp"

namespace mhclab {

/// Static (one θ per layer) or dynamic (θ per token, mHC Eq. 7) mappings.
enum class Mapping { Static, Dynamic };
inline constexpr EnumTable<Mapping, 2> mapping_table{"mapping",
                                                     {{{Mapping::Static, "static"}, {Mapping::Dynamic, "dynamic"}}}};

/// Synthetic tasks.
enum class TrainTask { Teacher, Clusters };
inline constexpr EnumTable<TrainTask, 2> train_task_table{
    "task", {{{TrainTask::Teacher, "teacher"}, {TrainTask::Clusters, "clusters"}}}};

/// Index tag of the training harness's random streams (see the header comment).
inline constexpr std::uint64_t kTrainTag = 0x7472;
/// Tokens per gradient chunk (fixed, so the reduction order never depends on the thread count).
inline constexpr Index kTrainChunk = 16;

/// What the network is (everything but the trainable values).
struct NetworkOptions {
  MethodOptions method;                 ///< H_res method, n, Sinkhorn options, modifiers
  InitKind init = InitKind::Identity;   ///< θ init (--init)
  double init_eps = 0.01;               ///< ε of the identity init (--init-eps)
  Mapping mapping = Mapping::Static;    ///< (--mapping)
  Index layers = 24;                    ///< L ≥ 1 (--layers)
  Index width = 64;                     ///< C ≥ 1 (--width)
  Index outputs = 10;                   ///< K ≥ 1 (teacher outputs / classes; ≥ 2 for clusters) (--outputs)
  Branch branch = Branch::Tanh;         ///< φ (--branch)
  double gain = 1.0;                    ///< g (--gain)
  double alpha_init = 0.01;             ///< dynamic: α_res = α_pre = α_post init (--alpha-init)
  TrainTask task = TrainTask::Teacher;  ///< (--task)
  Index teacher_depth = 4;              ///< teacher residual tanh blocks, ≥ 0 (--teacher-depth)
  /// Cluster centres μ_k = scale·N(0, I_C) (--cluster-scale). Default 0.25: pairwise centre distance ≈
  /// 0.25·√(2C) ≈ 2.8 noise σ at C = 64, so classes overlap (Bayes accuracy < 100%) but are learnable.
  double cluster_scale = 0.25;
  void validate() const;  ///< InputError naming the option
};

/// Offsets of one layer's blocks in the flat parameter vector (−1 = absent).
struct LayerSlots {
  Index W = -1;
  Index theta = -1, pre = -1, post = -1;  ///< static θ_l, a_pre, a_post; dynamic: b_res, b_pre, b_post
  Index phi_res = -1, alpha_res = -1, phi_pre = -1, alpha_pre = -1, phi_post = -1, alpha_post = -1;  ///< dynamic
};

/// Parameter groups (for freezing and per-group gradient checks).
enum class ParamGroup : unsigned char { Weights = 0, Res = 1, PrePost = 2 };

struct ParamLayout {
  std::vector<LayerSlots> layers;
  Index size = 0;
  std::vector<ParamGroup> group;  ///< group of every flat entry
};

/// The fixed parts of a network and its task (built from options and seed).
struct TrainNetwork {
  NetworkOptions options;
  std::shared_ptr<const Method> method;
  Index n = 0, C = 0, p = 0, K = 0;
  GateStyle gates = GateStyle::Sigmoid;  ///< the method's trait: pre = σ(a), post = 2σ(a), or raw linear (hc, resnet)
  ParamLayout layout;
  Mat W_out;                   ///< K×C, fixed
  std::vector<Mat> teacher_V;  ///< teacher blocks (C×C)
  Mat teacher_R;               ///< K×C
  Mat centres;                 ///< K×C (clusters)
  std::uint64_t seed = 0;
};

/// A batch of tokens: inputs x (C×B, column b = token b), targets (K×B, teacher) or labels (clusters).
struct TrainBatch {
  Mat X;
  Mat Y;
  std::vector<Index> labels;
  [[nodiscard]] Index size() const { return X.cols(); }
};

/// Builds the network (validates the options, constructs the method, draws W_out, teacher, centres).
[[nodiscard]] TrainNetwork make_network(const NetworkOptions& options, std::uint64_t seed);
/// The initial flat parameter vector (see the header comment).
[[nodiscard]] Vec initial_parameters(const TrainNetwork& net);
/// The batch of step `step` (B tokens), or the probe batch when probe = true (step ignored).
[[nodiscard]] TrainBatch make_batch(const TrainNetwork& net, Index step, Index batch, bool probe = false);

/// Loss, accuracy and gradient of one batch.
struct LossGradient {
  double loss = 0;
  double accuracy = -1;  ///< clusters only (−1 otherwise)
  bool finite = true;    ///< false: a non-finite value appeared (loss/gradient not meaningful)
  Vec gradient;          ///< ∂ℓ/∂params (layout.size), only when requested
};

/// Reusable buffers of network_loss_and_gradient: one flat gradient per chunk (chunks × layout.size doubles).
/// Passing the same workspace on every step avoids allocating, and page-faulting in, those buffers each step
/// (measured: 2× on `mhclab bench train`). Results do not depend on it.
struct TrainWorkspace {
  std::vector<Vec> chunk_gradient;
};

/// Forward (and backward when want_gradient) of the mean batch loss at `params` (layout.size). Threads over
/// chunks of kTrainChunk tokens; bitwise identical for any `threads` (0 = all cores). `workspace` (optional)
/// holds the per-chunk buffers between calls.
[[nodiscard]] LossGradient network_loss_and_gradient(const TrainNetwork& net, const Vec& params,
                                                     const TrainBatch& batch, bool want_gradient, int threads = 1,
                                                     TrainWorkspace* workspace = nullptr);

/// The residual streams X_L (n×C, row i = stream i; the last layer's output, before the read-out) of every token of
/// `batch`, in token order. Throws InputError for a parameter vector of the wrong size; ComputeError on a
/// non-finite forward.
[[nodiscard]] std::vector<Mat> residual_streams(const TrainNetwork& net, const Vec& params, const TrainBatch& batch);

/// Collapse diagnostics of the residual streams X_L (the last layer's output, before the read-out) on a batch
/// (SPEC §13; mhclab's own definitions, as the propagation rows'): means over the batch's tokens.
struct StreamDiagnostics {
  double dominant_share = 0;      ///< max_i ‖X_L[i,:]‖² / Σ_i ‖X_L[i,:]‖², mean over tokens (NaN if a token's X_L = 0)
  /// Mean Pearson correlation over the C channels of the stream pairs of X_L, mean over tokens (the input puts the
  /// token into every stream, so it starts at 1; NaN for n = 1, C = 1 or a constant stream).
  double stream_correlation = 0;
  Vec pre, post;                  ///< n: the read (pre) and write (post) weights, mean over layers and tokens
};
/// Throws InputError for a parameter vector of the wrong size; ComputeError on a non-finite forward.
[[nodiscard]] StreamDiagnostics stream_diagnostics(const TrainNetwork& net, const Vec& params, const TrainBatch& batch);

/// The static H_res of every layer at `params` (static: H(θ_l); dynamic: H(b_res_l)), L matrices n×n.
[[nodiscard]] std::vector<Mat> static_h_res(const TrainNetwork& net, const Vec& params);
/// Dynamic mappings: the per-token H_res of every layer on `batch`, [token][layer] (n×n each). Requires finite
/// params; returns an empty vector if a non-finite value appears.
[[nodiscard]] std::vector<std::vector<Mat>> dynamic_h_res(const TrainNetwork& net, const Vec& params,
                                                          const TrainBatch& batch);

}  // namespace mhclab
