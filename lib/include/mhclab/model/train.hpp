#pragma once
// The training harness (SPEC §7): trains the network of model/train_network.hpp (SPEC §5 layer model, branch norm
// on, trainable H_res / pre / post / W_l, static or dynamic mappings) on a synthetic task with SGD or Adam, and
// records per-step figures and H_res snapshots.
//
// Steps. For s = 0..steps: the batch of step s (fresh tokens from the counter-based stream (seed, s), see
// train_network.hpp) gives the loss and gradient at the current parameters; step s is logged when
// s % log_every == 0 or s = steps (so step 0 is before any update and the last row is after `steps` updates);
// if s < steps the optimizer updates the parameters. Frozen groups (train_res / train_pre_post / train_weights
// = false) get a zero gradient (they do not enter grad_norm, clipping or the update).
//   sgd : v ← μ v + g;  θ ← θ − lr·v                                  (μ = momentum; plain SGD for μ = 0)
//   adam: m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²;  θ ← θ − lr·m̂/(√v̂ + ε),  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
//   clip: g ← g·clip/‖g‖₂ when clip > 0 and ‖g‖₂ > clip (global norm; grad_norm is logged before clipping).
//
// Logged columns (TrainStep): loss, accuracy (clusters), grad_norm, and for the suffix products
// S_l = H_{L−1}···H_l (l = 0..L−1) of the current H_res — computed by analysis/depth_metrics (ProductKind::Suffix,
// ScaledMatrix log scale) — fwd_amax_max = max_l fwd_gain(S_l), fwd_amax_min = min_l fwd_gain_min(S_l),
// bwd_amax_max = max_l bwd_gain(S_l), bwd_amax_min = min_l bwd_gain_min(S_l) (SPEC §1 gains), each with its
// log10 (the log10 of a negative min is NaN: written as an empty cell). Static mappings: of H(θ_l). Dynamic
// mappings: over the probe batch (probe_tokens fixed tokens) — the max over tokens of the max, the min over
// tokens of the min. jac_smax_min / jac_smax_max: min / max over layers of σ_max(∂H_l/∂θ_l) (mix_jacobian, dense
// SVD) at θ_l (static) or at θ = b_res_l (dynamic: the token-independent part; the per-token θ differ by
// α·φᵀx̃); 0 for methods without parameters (resnet).
//
// Divergence: when the loss or a gradient entry is non-finite at step s (or the parameters, or an H_res), the run
// stops with status "diverged" and diverged_step = s; the log and snapshots hold only finite steps < s.
//
// Snapshots (at snapshot_steps, default {0, steps}; steps beyond the run are ignored): every layer's H_res,
//   static : (steps, L, n, n)            H(θ_l)
//   dynamic: (steps, tokens, L, n, n)    per-token H on the probe batch, plus snapshots_bias (steps, L, n, n) of
//            H(b_res_l).
// Results are bitwise identical for any thread count (fixed-chunk reduction, train_network.hpp).
#include <cstdint>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/model/train_network.hpp"

namespace mhclab {

enum class OptimizerKind { Sgd, Adam };
inline constexpr EnumTable<OptimizerKind, 2> optimizer_table{
    "optimizer", {{{OptimizerKind::Sgd, "sgd"}, {OptimizerKind::Adam, "adam"}}}};

/// Everything a training run needs (CLI spellings in parentheses; `mhclab train --help`).
struct TrainOptions {
  NetworkOptions network;                         ///< the network and task
  OptimizerKind optimizer = OptimizerKind::Adam;  ///< (--optimizer)
  double lr = 1e-3;                               ///< learning rate > 0 (--lr)
  double momentum = 0.0;                          ///< sgd μ ∈ [0, 1) (--momentum)
  double beta1 = 0.9, beta2 = 0.999;              ///< adam, each in [0, 1) (--beta1, --beta2)
  double adam_eps = 1e-8;                         ///< adam ε > 0 (--adam-eps)
  double clip = 0.0;                              ///< global gradient-norm clipping; 0 = off (--clip)
  Index steps = 100;                              ///< optimizer updates ≥ 0 (--steps)
  Index batch = 64;                               ///< tokens per step ≥ 1 (--batch)
  Index log_every = 1;                            ///< log every k steps (plus the last) ≥ 1 (--log-every)
  std::vector<Index> snapshot_steps;              ///< steps in [0, steps], increasing; empty = {0, steps}
  Index probe_tokens = 8;      ///< probe batch size ≥ 1 (dynamic snapshots and Amax) (--probe-tokens)
  bool train_res = true;       ///< (--train-res)
  bool train_pre_post = true;  ///< (--train-pre-post)
  bool train_weights = true;   ///< (--train-weights)
  std::uint64_t seed = 0;      ///< (--seed)
  void validate() const;       ///< InputError naming the option
  /// snapshot_steps resolved (default {0, steps}, deduplicated).
  [[nodiscard]] std::vector<Index> resolved_snapshot_steps() const;
};

/// One logged step (as a table: kinds/train.hpp train_log_table). Linear gain columns come with their log10.
struct TrainStep {
  Index step = 0;
  double loss = 0;
  double accuracy = -1;  ///< clusters; −1 = not applicable
  double grad_norm = 0;
  double fwd_amax_max = 0, log10_fwd_amax_max = 0;
  double fwd_amax_min = 0, log10_fwd_amax_min = 0;  ///< log10 NaN when the value is negative
  double bwd_amax_max = 0, log10_bwd_amax_max = 0;
  double bwd_amax_min = 0, log10_bwd_amax_min = 0;
  double log10_abs_fwd_amax_min = 0, log10_abs_bwd_amax_min = 0;  ///< log10 |value| (for the linear cells)
  double jac_smax_min = 0, jac_smax_max = 0;
  /// σ_min of the whole product H_{L−1}···H_0 (dynamic: the minimum over probe tokens) and its log10 (finite at
  /// any depth; floored at n·ε·σ_max like every depth metric)
  double sigma_min_product = 0, log10_sigma_min_product = 0;
  StreamDiagnostics streams;  ///< of X_L on the probe batch (model/train_network.hpp)
};

struct [[nodiscard]] TrainSummary {
  std::vector<TrainStep> log;
  std::vector<Index> snapshot_steps;             ///< the steps actually snapshotted
  std::vector<std::size_t> snapshot_shape;       ///< (steps, L, n, n) or (steps, tokens, L, n, n)
  std::vector<double> snapshots;                 ///< C order, paper orientation
  std::vector<std::size_t> snapshot_bias_shape;  ///< dynamic: (steps, L, n, n) of H(b_res); empty for static
  std::vector<double> snapshots_bias;
  std::string status = "completed";  ///< "completed" or "diverged"
  Index diverged_step = -1;          ///< the first non-finite step (−1 if none)
  Index steps_done = 0;              ///< optimizer updates applied
  Index parameters = 0;              ///< size of the flat parameter vector
  double wall_seconds = 0;
  Vec final_parameters;  ///< the parameters after steps_done updates
};

/// Runs the training (threads over gradient chunks, 0 = all cores; results do not depend on it).
/// Throws InputError for invalid options.
TrainSummary train(const TrainOptions& options, int threads);

}  // namespace mhclab
