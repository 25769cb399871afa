// The train kind: see mhclab/kinds/train.hpp.
#include "mhclab/kinds/train.hpp"

#include <cmath>
#include <cstdio>
#include <algorithm>

#include "mhclab/core/error.hpp"
#include "mhclab/core/memory_limit.hpp"
#include "mhclab/kinds/common_options.hpp"

namespace mhclab {

void TrainKindOptions::validate() const {
  validate_runs(seeds, threads);
  train.validate();
  // Memory of one run: the parameters with their gradient and two Adam moments (per layer W_l (C×C), the H_res
  // parameters ≤ n², pre/post; dynamic mappings add their n·C projections), and the activations of a batch kept for
  // the backward pass (≈ 6 n×C values per token and layer), per gradient chunk thread.
  const NetworkOptions& nw = train.network;
  const double L = static_cast<double>(nw.layers), n = static_cast<double>(nw.method.n), C = static_cast<double>(nw.width);
  const double per_layer = C * C + n * n + 2.0 * n + (nw.mapping == Mapping::Dynamic ? n * C * (n * n + 2.0 * n) : 0.0);
  const double params = L * per_layer * 8.0 * 4.0;
  const double activations = static_cast<double>(train.batch) * L * n * C * 8.0 * 6.0;
  char detail[128];
  std::snprintf(detail, sizeof detail, "%.3g GB of parameters, gradients and Adam moments; %.3g GB of activations",
                params / 1e9, activations / 1e9);
  check_memory("train: the run", params + activations, memory_limit, detail, "fewer layers, a smaller width or batch");
}

void bind_train_options(OptionSet& s, TrainKindOptions& o) {
  NetworkOptions& nw = o.train.network;
  bind_method_options(s, nw.method, nw.init, nw.init_eps);
  s.bind("mapping", nw.mapping, mapping_table, "H_res/pre/post mappings");
  s.bind("task", nw.task, train_task_table, "Synthetic task");
  s.bind("layers", nw.layers, "Number of layers L");
  s.bind("width", nw.width, "Stream width C");
  s.bind("outputs", nw.outputs, "K: teacher outputs or number of clusters");
  OptionSpec outputs = *s.find("outputs");
  s.remove({"outputs"});
  outputs.aliases = {"classes"};
  s.add(std::move(outputs));
  s.bind("branch", nw.branch, branch_table, "Branch nonlinearity φ");
  s.bind("gain", nw.gain, "Branch gain g");
  s.bind("alpha-init", nw.alpha_init, "Dynamic mappings: initial α_res, α_pre, α_post");
  s.bind("teacher-depth", nw.teacher_depth, "Teacher: residual tanh blocks");
  s.bind("cluster-scale", nw.cluster_scale, "Clusters: centres scale·N(0, I)");
  TrainOptions& t = o.train;
  s.bind("optimizer", t.optimizer, optimizer_table, "Optimizer");
  s.bind("lr", t.lr, "Learning rate");
  s.bind("momentum", t.momentum, "SGD momentum μ");
  s.bind("beta1", t.beta1, "Adam β1");
  s.bind("beta2", t.beta2, "Adam β2");
  s.bind("adam-eps", t.adam_eps, "Adam ε");
  s.bind("clip", t.clip, "Global gradient-norm clipping (0 = off)");
  s.bind("steps", t.steps, "Optimizer steps");
  s.bind("batch", t.batch, "Tokens per step");
  s.bind("log-every", t.log_every, "Log every k steps (step 0 and the last always)");
  s.bind("snapshot-steps", t.snapshot_steps, "H_res snapshot steps, e.g. 0,50,100 (default: 0 and the last)");
  s.bind("probe-tokens", t.probe_tokens, "Probe batch size (dynamic snapshots and Amax)");
  s.bind("train-res", t.train_res, "Train H_res parameters (true|false)");
  s.bind("train-pre-post", t.train_pre_post, "Train pre/post parameters (true|false)");
  s.bind("train-weights", t.train_weights, "Train branch weights W_l (true|false)");
  s.bind("seed", t.seed, "Seed of every random stream (the first seed with seeds > 1)");
  s.bind("seeds", o.seeds, "Runs with seeds seed..seed+S-1");
  bind_threads_option(s, o.threads, "gradient chunks");
  s.bind("memory-limit", o.memory_limit, "GB a run may use (0 = half of the machine's memory)");
}

ResultTable train_log_table(const std::vector<TrainStep>& log, std::optional<std::uint64_t> seed) {
  std::vector<ColumnSpec> c;
  if (seed) c.push_back({"seed", ColumnType::Unsigned, "seed of the run"});
  const std::vector<ColumnSpec> rest{
      {"step", ColumnType::Integer, "optimizer step (0 = before the first update)"},
      {"loss", ColumnType::Real, "training loss on the step's batch"},
      {"accuracy", ColumnType::Real, "clusters task: fraction of the batch classified correctly"},
      {"grad_norm", ColumnType::Real, "‖∇ loss‖₂ over the trained parameters"},
      {"fwd_amax_max", ColumnType::Real, "max over l of fwd_gain(S_l), S_l = H_{L−1}···H_l (SPEC §1; dynamic: also max over probe tokens)", true},
      {"log10_fwd_amax_max", ColumnType::Real, "log10 of fwd_amax_max"},
      {"fwd_amax_min", ColumnType::Real, "min over l of fwd_gain_min(S_l) (dynamic: also min over probe tokens)", true},
      {"log10_fwd_amax_min", ColumnType::Real, "log10 of fwd_amax_min (empty when it is negative)"},
      {"bwd_amax_max", ColumnType::Real, "max over l of bwd_gain(S_l)", true},
      {"log10_bwd_amax_max", ColumnType::Real, "log10 of bwd_amax_max"},
      {"bwd_amax_min", ColumnType::Real, "min over l of bwd_gain_min(S_l)", true},
      {"log10_bwd_amax_min", ColumnType::Real, "log10 of bwd_amax_min (empty when it is negative)"},
      {"jac_smax_min", ColumnType::Real, "min over layers of σ_max(∂H_l/∂θ_l)"},
      {"jac_smax_max", ColumnType::Real, "max over layers of σ_max(∂H_l/∂θ_l)"},
  };
  c.insert(c.end(), rest.begin(), rest.end());
  // Collapse diagnostics of X_L on the probe batch (SPEC §13), and the mean read/write weight of every stream.
  const Index n = log.empty() ? 0 : log.front().streams.pre.size();
  c.push_back({"sigma_min_product", ColumnType::Real,
               "σ_min(H_{L−1}···H_0) (dynamic: min over probe tokens; floored at n·ε·σ_max)", true});
  c.push_back({"log10_sigma_min_product", ColumnType::Real, "log10 of sigma_min_product"});
  c.push_back({"dominant_share", ColumnType::Real, "max_i ‖X_L[i,:]‖² / Σ_i ‖X_L[i,:]‖², mean over probe tokens"});
  c.push_back({"stream_correlation", ColumnType::Real,
               "mean Pearson correlation over channels of the stream pairs of X_L, mean over probe tokens"});
  for (Index i = 1; i <= n; ++i)
    c.push_back({"pre_" + std::to_string(i), ColumnType::Real, "read weight of stream i, mean over layers (and tokens)"});
  for (Index i = 1; i <= n; ++i)
    c.push_back({"post_" + std::to_string(i), ColumnType::Real, "write weight of stream i, mean over layers (and tokens)"});
  ResultTable t(std::move(c));
  const std::size_t o = seed ? 1 : 0;
  auto real = [&](std::size_t col, double x) {
    if (!std::isnan(x)) t.set_real(o + col, x);
  };
  for (const TrainStep& r : log) {
    t.add_row();
    if (seed) t.set_unsigned(0, *seed);
    t.set_integer(o + 0, r.step);
    real(1, r.loss);
    if (r.accuracy >= 0) real(2, r.accuracy);
    real(3, r.grad_norm);
    t.set_real(o + 4, r.fwd_amax_max, r.log10_fwd_amax_max);
    real(5, r.log10_fwd_amax_max);
    t.set_real(o + 6, r.fwd_amax_min, r.log10_abs_fwd_amax_min);
    real(7, r.log10_fwd_amax_min);
    t.set_real(o + 8, r.bwd_amax_max, r.log10_bwd_amax_max);
    real(9, r.log10_bwd_amax_max);
    t.set_real(o + 10, r.bwd_amax_min, r.log10_abs_bwd_amax_min);
    real(11, r.log10_bwd_amax_min);
    real(12, r.jac_smax_min);
    real(13, r.jac_smax_max);
    t.set_real(o + 14, r.sigma_min_product, r.log10_sigma_min_product);
    real(15, r.log10_sigma_min_product);
    real(16, r.streams.dominant_share);
    real(17, r.streams.stream_correlation);
    for (Index i = 0; i < n; ++i) {
      real(18 + static_cast<std::size_t>(i), i < r.streams.pre.size() ? r.streams.pre[i] : std::nan(""));
      real(18 + static_cast<std::size_t>(n + i), i < r.streams.post.size() ? r.streams.post[i] : std::nan(""));
    }
  }
  return t;
}

ResultTable train_kind(const TrainKindOptions& o) {
  o.validate();
  ResultTable out;
  for (Index k = 0; k < o.seeds; ++k) {
    TrainOptions t = o.train;
    t.seed = o.train.seed + static_cast<std::uint64_t>(k);
    const ResultTable part = train_log_table(train(t, o.threads).log, t.seed);
    if (k == 0) out = part;
    else out.append(part);
  }
  return out;
}

}  // namespace mhclab
