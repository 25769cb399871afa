#pragma once
// Streaming depth analysis of many seeds (the engine of `mhclab depth` when only gains and σ_max are asked for,
// and of `mhclab bench depth`; SPEC §4/§6): for S seeds × L layers of the `random` generator and the mhc
// (Sinkhorn) method, per (seed, layer) the forward and backward gains and sigma_max of the layer, prefix
// (M_l = H_l ··· H_1) and/or suffix (S_l = H_L ··· H_l) products (SPEC §1), without storing any stack:
// θ_l is generated on the fly, so memory is O(n²) per seed lane, O(16·n²·threads) in all. The documentation
// below describes the prefix; layer and suffix products are formed the same way (suffix: M̂ ← M̂·H_l).
//
// Per (seed, layer l = 1..L) — exactly the workload of generate_stacks (generators/stack.hpp, kind random)
// followed by depth_metrics(stack, ProductKind::Prefix) (analysis/depth_metrics.hpp), restricted to three metrics:
//   θ_l  = init + σ·ξ_l,  ξ_l = first n² normals of RandomStream(seed, Purpose::Theta, {l−1, 0})  (core/random.hpp)
//          init = mhc's init_params(init, init_eps) (identity: Z = τ·log((1−ε)I + εJ/n)), Z[i,j] = θ[i·n + j]
//   H_l  = Sinkhorn (SPEC §3): exp domain, fp64, constant τ, t iterations all run (tol = 0)
//   M_l  = H_l·M_{l−1}, M_0 = I, kept as M̂_l·2^{K_l} with max|M̂_ij| ∈ [1/2, 1) (as ScaledMatrix,
//          analysis/scaled_matrix.hpp: renormalising by powers of two is exact, K is an integer)
//   fwd_gain = max_i |Σ_j M_ij|,  bwd_gain = max_j |Σ_i M_ij|  (SPEC §1, sums left to right),  sigma_max = ‖M‖₂.
//
// Paths:
//   batched (n ≤ kSinkhornBatchMaxN = 8): blocks of 16 seeds in structure-of-arrays form ([entry][lane]), every
//     operation a SIMD instruction over the 16 seeds. The normals are drawn with the recipe of core/random.hpp
//     through vectorisable log / sin / cos (fdlibm's algorithms, < 1 ulp) instead of libm's: θ equals
//     RandomStream's to the last bit or one ulp apart (like NumPy's regeneration, see random.hpp). Sinkhorn is
//     sinkhorn_batch (mixing/sinkhorn_batch.hpp, ≤ 1 ulp per entry from sinkhorn()).
//   scalar (any n ≥ 1; used above 8): the same θ (same generator code), then per seed a row-major Sinkhorn with
//     sinkhorn_batch's semantics (exp_nonpositive, sums left to right, reciprocal multiplication: ≤ 1 ulp per
//     entry from sinkhorn(); the column pass vectorises over j), the product as a ScaledMatrix and sigma_max from
//     Eigen's SelfAdjointEigenSolver on M̂ᵀM̂.
//
// sigma_max (batched path): λ_max of A = M̂ᵀM̂ (n×n symmetric, entries ≤ n: no overflow) by cyclic Jacobi sweeps
// (Golub–Van Loan Alg. 8.5.3, rotations in Rutishauser's form), vectorised over the 16 lanes; each lane stops
// rotating once off(A) = (Σ_{i≠j} a_ij²)^½ ≤ 1e-15·‖A‖_F (a converged lane gets identity rotations, so a lane's
// result depends on its own data only). σ̂ = √(max_i a_ii). Lanes still above that after kJacobiMaxSweeps sweeps
// (never seen) are recomputed with Eigen's SelfAdjointEigenSolver (counted in the summary).
// Accuracy: Weyl's theorem bounds the effect of the remaining off-diagonal by off(A) ≤ 1e-15·√n·λ_max; Jacobi is
// backward stable (each rotation an orthogonal similarity with O(u)‖A‖ error) and forming A adds ≤ γ_n·n·λ_max.
// So λ_max is within ~(√n·1e-15 + c·sweeps·u) relative, σ̂ within half that: ≤ ~1e-14 relative for n ≤ 8
// (tests/analysis/test_depth_stream.cpp checks 1e-12 against a dense JacobiSVD and depth_metrics; measured ≤ 3.1e-15
// for n ≤ 8 at L = 40, including the θ/Sinkhorn/product differences of the two paths).
//
// Determinism: every (seed, layer) figure is a pure function of (options, seed, layer) — independent of S, of
// which seeds share a block and of the thread count (lanes never interact). Threads take the 16-seed blocks in
// increasing order (core/parallel.hpp); the summary's sums are Neumaier-compensated per block (layer by layer,
// lane by lane) and then over blocks in block order, so they are bitwise identical for any thread count.
//
// Failures: options → InputError naming the field; a Sinkhorn numerical_issue → ComputeError naming seed and
// layer (the generators do the same).
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/pow2.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

/// Which kernel runs (Auto: batched for n ≤ 8, scalar above).
enum class DepthStreamPath { Auto, Batched, Scalar };
inline constexpr EnumTable<DepthStreamPath, 3> depth_stream_path_table{
    "path",
    {{{DepthStreamPath::Auto, "auto"}, {DepthStreamPath::Batched, "batched"}, {DepthStreamPath::Scalar, "scalar"}}}};

/// Seeds per SIMD block of the batched path (and the unit of thread work in both paths).
inline constexpr Index kDepthStreamBlock = 16;
/// Jacobi sweep cap of the batched sigma_max before a lane falls back to Eigen.
inline constexpr int kJacobiMaxSweeps = 30;

struct DepthStreamOptions {
  Index n = 4;                      ///< streams, ≥ 1 (batched path: ≤ 8)
  Index layers = 256;               ///< L ≥ 1: depths l = 1..L (random stream index l − 1)
  Index seeds = 1;                  ///< S ≥ 1: seeds first_seed, first_seed + 1, …, first_seed + S − 1
  std::uint64_t first_seed = 0;
  InitKind init = InitKind::Identity;
  double init_eps = 0.01;           ///< ε of the identity init (> 0)
  double noise = 1.0;               ///< σ of `random`, ≥ 0, finite
  int iterations = 20;              ///< Sinkhorn t ≥ 1 (all run: tol = 0)
  double tau = 1.0;                 ///< Sinkhorn τ > 0
  SinkhornOrder order = SinkhornOrder::ColThenRow;
  double init_tau = 0.0;            ///< τ of the identity-init logits (MethodOptions::init_tau; 0 = tau)
  /// The products to stream, each at most once; processed in table order (layer, prefix, suffix) per block.
  /// Suffix products S_l = H_L···H_l are formed from l = L down to 1 (the sink sees layers in that order).
  std::vector<ProductKind> kinds = {ProductKind::Prefix};
  bool sigma_max = true;            ///< compute σ̂_max (false: sigma_max_hat = 0, no Jacobi/eigen solve)
  DepthStreamPath path = DepthStreamPath::Auto;
  int threads = 0;                  ///< worker threads (0 = all cores); results do not depend on it

  /// Throws InputError naming the offending field, e.g. "depth_stream.layers = 0; must be ≥ 1".
  void validate() const;
  [[nodiscard]] bool has_kind(ProductKind k) const;
  /// True when the batched kernel runs (path Batched, or Auto with n ≤ 8).
  [[nodiscard]] bool batched() const;
};

/// The three metrics of one (seed, layer, kind): value = hat·2^exponent for each of them.
struct DepthStreamPoint {
  double fwd_gain_hat = 0;   ///< max_i |Σ_j M̂_ij|
  double bwd_gain_hat = 0;   ///< max_j |Σ_i M̂_ij|
  double sigma_max_hat = 0;  ///< σ_max(M̂)
  long exponent = 0;         ///< K, M = M̂·2^K (an exactly zero product: M̂ = 0, the hats 0 and K = 0)

  [[nodiscard]] ScaledNumber scaled_fwd_gain() const { return {fwd_gain_hat, exponent}; }
  [[nodiscard]] ScaledNumber scaled_bwd_gain() const { return {bwd_gain_hat, exponent}; }
  [[nodiscard]] ScaledNumber scaled_sigma_max() const { return {sigma_max_hat, exponent}; }
  /// Linear values (±inf / 0 only beyond the double range).
  [[nodiscard]] double fwd_gain() const { return scaled_fwd_gain().value(); }
  [[nodiscard]] double bwd_gain() const { return scaled_bwd_gain().value(); }
  [[nodiscard]] double sigma_max() const { return scaled_sigma_max().value(); }
  /// log10 forms, finite whenever the value is finite and non-zero (−inf for an exact zero).
  [[nodiscard]] double log10_fwd_gain() const { return scaled_fwd_gain().log10_abs(); }
  [[nodiscard]] double log10_bwd_gain() const { return scaled_bwd_gain().log10_abs(); }
  [[nodiscard]] double log10_sigma_max() const { return scaled_sigma_max().log10_abs(); }
};

/// What a sink receives: one layer of one block of seeds.
struct DepthStreamBatch {
  Index seed_index = 0;                     ///< index (0-based, into first_seed + k) of points[0]
  Index layer = 1;                          ///< depth l ∈ 1..L
  ProductKind kind = ProductKind::Prefix;   ///< which product the points describe
  std::span<const DepthStreamPoint> points; ///< up to kDepthStreamBlock consecutive seeds
};

/// Called for every block of seeds, kind and layer (per block: kinds in table order, layers l = 1..L, suffix
/// l = L..1), concurrently from
/// the worker threads for different blocks: it must be thread-safe.
using DepthStreamSink = std::function<void(const DepthStreamBatch&)>;

struct [[nodiscard]] DepthStreamSummary {
  Index seeds = 0;
  Index layers = 0;
  bool batched = false;      ///< which kernel ran
  int threads = 1;           ///< resolved thread count
  /// Σ over all (seed, layer) of the linear values (Neumaier-compensated, thread-count independent).
  double sum_fwd_gain = 0;
  double sum_bwd_gain = 0;
  double sum_sigma_max = 0;
  int max_jacobi_sweeps = 0;     ///< batched: largest sweep count any lane needed
  Index eigen_fallbacks = 0;     ///< batched: lanes that hit kJacobiMaxSweeps and used Eigen
  [[nodiscard]] Index layer_steps() const { return seeds * layers; }
};

/// Runs the stream (see the top of this file); `sink` (optional) sees every point.
DepthStreamSummary depth_stream(const DepthStreamOptions& options, const DepthStreamSink& sink = {});

/// θ_l of seed first_seed + seed_index at depth l (1-based) exactly as the stream generates it (n² entries,
/// row-major Z). Equal to stack_theta(...) of generators/stack.hpp up to last-bit differences of log/sin/cos.
[[nodiscard]] Vec depth_stream_theta(const DepthStreamOptions& options, Index seed_index, Index layer);

}  // namespace mhclab
