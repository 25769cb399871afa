// The propagate kind: see mhclab/kinds/propagate.hpp.
#include "mhclab/kinds/propagate.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <algorithm>
#include <optional>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/memory_limit.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/kinds/common_options.hpp"

namespace mhclab {

namespace {
std::vector<ColumnSpec> propagate_columns(Index n, Index k) {
  std::vector<ColumnSpec> c{
      {"seed", ColumnType::Unsigned, "seed of the stack, the weights and the input X_0"},
      {"step", ColumnType::Integer, "generator snapshot step (drift, trained; 0 otherwise)"},
      {"layer", ColumnType::Integer, "depth l = 0..L (row 0 is the input X_0)"},
      {"energy", ColumnType::Real, "‖X_l‖_F² / ‖X_0‖_F²", true},
      {"log10_energy", ColumnType::Real, "log10 of energy"},
  };
  for (Index i = 1; i <= n; ++i)
    c.push_back({"stream_energy_" + std::to_string(i), ColumnType::Real, "‖X_l[i,:]‖² / ‖X_0‖_F² of stream i", true});
  for (Index i = 1; i <= n; ++i)
    c.push_back({"log10_stream_energy_" + std::to_string(i), ColumnType::Real, "log10 of stream_energy_i"});
  c.push_back({"stream_sum_dev", ColumnType::Real,
               "max_c |Σ_i X_l[i,c] − Σ_i X_0[i,c]| / max_c Σ_i |X_0[i,c]| (stream-sum drift)", true});
  c.push_back({"log10_stream_sum_dev", ColumnType::Real, "log10 of stream_sum_dev"});
  c.push_back({"grad_norm", ColumnType::Real, "‖∂ℒ/∂X_l‖_F for ℒ = ⟨R, X_L⟩", true});
  c.push_back({"log10_grad_norm", ColumnType::Real, "log10 of grad_norm"});
  c.push_back({"dominant_share", ColumnType::Real, "max_i ‖X_l[i,:]‖² / Σ_i ‖X_l[i,:]‖² (1/n balanced, 1 one stream)"});
  c.push_back({"stream_correlation", ColumnType::Real,
               "mean Pearson correlation of the stream pairs over the channels (1: collapsed onto the mean)"});
  for (Index i = 1; i <= n; ++i)
    c.push_back({"pre_" + std::to_string(i), ColumnType::Real, "read weight H_pre[i] of layer l (empty at l = L)"});
  for (Index i = 1; i <= n; ++i)
    c.push_back({"post_" + std::to_string(i), ColumnType::Real, "write weight H_post[i] of layer l (empty at l = L)"});
  if (k > 0) {
    for (Index i = 1; i <= k; ++i)
      c.push_back({"jacobian_sigma_" + std::to_string(i), ColumnType::Real, "σ_i of ∂X_L/∂X_0 (row l = L)", true});
    for (Index i = 1; i <= k; ++i)
      c.push_back({"jacobian_log10_sigma_" + std::to_string(i), ColumnType::Real, "log10 σ_i of ∂X_L/∂X_0"});
    for (Index i = 1; i <= k; ++i)
      c.push_back({"jacobian_resolved_" + std::to_string(i), ColumnType::Boolean,
                   "σ_i is above the resolution floor σ_1·√(nC·u)"});
    c.push_back({"jacobian_status", ColumnType::Text, "the top-k solve's outcome: " + solve_status_table.names()});
    c.push_back({"jacobian_iterations", ColumnType::Integer, "subspace iterations of the top-k solve"});
  }
  return c;
}

void add_rows(ResultTable& t, std::uint64_t seed, long step, const PropagationSummary& s, Index n, Index k) {
  for (const PropagationRow& r : s.rows) {
    t.add_row();
    std::size_t c = 0;
    t.set_unsigned(c++, seed);
    t.set_integer(c++, step);
    t.set_integer(c++, r.layer);
    t.set_real(c++, r.energy, r.log10_energy);
    t.set_real(c++, r.log10_energy);
    for (Index i = 0; i < n; ++i) t.set_real(c++, r.stream_energy[i], r.log10_stream_energy[i]);
    for (Index i = 0; i < n; ++i) t.set_real(c++, r.log10_stream_energy[i]);
    t.set_real(c++, r.stream_sum_dev, r.log10_stream_sum_dev);
    t.set_real(c++, r.log10_stream_sum_dev);
    t.set_real(c++, r.grad_norm, r.log10_grad_norm);
    t.set_real(c++, r.log10_grad_norm);
    if (std::isfinite(r.dominant_share)) t.set_real(c, r.dominant_share);
    ++c;
    if (std::isfinite(r.stream_correlation)) t.set_real(c, r.stream_correlation);
    ++c;
    for (Index i = 0; i < n; ++i, ++c)
      if (r.pre.size() == n) t.set_real(c, r.pre[i]);
    for (Index i = 0; i < n; ++i, ++c)
      if (r.post.size() == n) t.set_real(c, r.post[i]);
    if (k == 0) continue;
    const bool last = r.layer + 1 == static_cast<Index>(s.rows.size());
    if (!last) continue;  // the Jacobian columns stay empty
    const JacobianSpectrum& j = *s.jacobian;
    const auto have = static_cast<Index>(j.log10_sigma.size());
    for (Index i = 0; i < k; ++i, ++c)
      if (i < have) t.set_real(c, std::pow(10.0, j.log10_sigma[i]), j.log10_sigma[i]);
    for (Index i = 0; i < k; ++i, ++c)
      if (i < have) t.set_real(c, j.log10_sigma[i]);
    for (Index i = 0; i < k; ++i, ++c)
      if (i < have) t.set_boolean(c, j.resolved[i]);
    t.set_text(c++, std::string(solve_status_table.to_string(j.status)));
    t.set_integer(c++, j.iterations);
  }
}
}  // namespace

void PropagateKindOptions::validate() const {
  method.validate();
  stack.validate();
  propagation.validate();
  validate_runs(seeds, threads, &stack);
  if (!std::isfinite(dsv4_alpha)) throw InputError("dsv4-alpha is not finite");
  // Memory: the table (≈ 40 bytes per cell with its CSV text) and, per thread, one seed's stack and model: H and θ
  // per layer, the branch weights W_l (C×C) and the states X_l, ∂ℒ/∂X_l (n×C) of every layer; gate mode dsv4 adds
  // each site's fn ((2 + n)n × nC), ∂H/∂θ (n²×n²) and its cached state.
  if (stack.kind != GeneratorKind::File && stack.kind != GeneratorKind::Trained) {
    const double steps = stack.kind == GeneratorKind::Drift ? static_cast<double>(stack.steps.size()) : 1.0;
    const double L = static_cast<double>(stack.layers), n = static_cast<double>(method.n);
    const double C = static_cast<double>(propagation.width), k = static_cast<double>(propagation.jacobian_topk);
    const double cols = 7.0 + 2.0 * n + (k > 0 ? 3.0 * k + 2.0 : 0.0);
    const double table = static_cast<double>(seeds) * steps * (L + 1.0) * cols * 40.0;
    const double threads_used = std::min<double>(static_cast<double>(resolve_threads(threads)), static_cast<double>(seeds));
    const double site = propagation.gate_mode == GateMode::Dsv4 ? (2.0 + n) * n * n * C + n * n * n * n + 2.0 * n * C : 0.0;
    const double work = threads_used * L * 8.0 * (2.0 * n * n + C * C + 4.0 * n * C + site);
    char detail[128];
    std::snprintf(detail, sizeof detail, "%.3g GB of table; %.3g GB of stacks, weights and states", table / 1e9,
                  work / 1e9);
    check_memory("propagate: the request", table + work, memory_limit, detail, "fewer layers, seeds, steps or a smaller width");
  }
}

void bind_propagate_options(OptionSet& s, PropagateKindOptions& o) {
  bind_method_options(s, o.method, o.stack.init, o.stack.init_eps);
  bind_stack_options(s, o.stack);
  bind_seed_options(s, o.seeds, o.first_seed);
  s.bind("layers", o.stack.layers, "Number of layers L (file generator: 0 = as in the file)");
  s.bind("width", o.propagation.width, "Stream width C");
  s.bind("branch", o.propagation.branch, branch_table, "Branch nonlinearity φ");
  s.bind("branch-norm", o.propagation.norm, branch_norm_table, "Branch input norm");
  s.bind("gain", o.propagation.gain, "Branch gain g (0 = zero branch)");
  s.bind("jacobian-topk", o.propagation.jacobian_topk, "Top singular values of dX_L/dX_0 (subspace iteration; 0 = none)");
  s.bind("gate-mode", o.propagation.gate_mode, gate_mode_table,
         "static: fixed per-layer gates and H; dsv4: a DeepSeek-V4 block, gates and H recomputed from each state");
  s.bind("dsv4-alpha", o.dsv4_alpha,
         "gate-mode dsv4 without a checkpoint: the scale (alpha) of the synthesised sites' mixes (mHC init 0.01)");
  s.bind("memory-limit", o.memory_limit, "GB the request may use (0 = half of the machine's memory)");
  bind_threads_option(s, o.threads);
}

ResultTable propagate_kind(const PropagateKindOptions& o) {
  o.validate();
  const std::shared_ptr<const Method> method = make_method(o.method);
  const Index k = o.propagation.jacobian_topk;
  const std::vector<ColumnSpec> columns = propagate_columns(o.method.n, k);
  std::vector<ResultTable> parts(static_cast<std::size_t>(o.seeds), ResultTable(columns));
  PropagationOptions po = o.propagation;
  const bool dynamic = po.gate_mode == GateMode::Dsv4;
  if (dynamic) {
    if (o.method.method == MethodId::Dsv4) po.dsv4.comb = method;  // else propagate() refuses the method by name
    po.dsv4.hc_eps = o.stack.checkpoint.hc_eps;
    po.dsv4.norm_eps = o.stack.checkpoint.norm_eps;
  }
  // A checkpoint is read once: its sites' static gates (pre = σ(b) + hc_eps, post = 2σ(b)), or in gate mode dsv4 the
  // sites' tensors, from which every layer's gates are recomputed from its state.
  std::optional<CheckpointStack> checkpoint;
  if (o.stack.kind == GeneratorKind::Checkpoint) {
    if (!o.stack.checkpoint.hidden.empty())
      throw InputError("propagate: a checkpoint with hidden states gives per-token combs; propagate runs the layer "
                       "model's own states (drop hidden; gate-mode dsv4 recomputes the gates from them)");
    checkpoint = read_checkpoint_stack(o.stack.input, o.stack.checkpoint);
    if (dynamic) {
      po.dsv4.sites = read_checkpoint_sites(o.stack.input, o.stack.checkpoint, *checkpoint);
      const Index width = po.dsv4.sites.front().fn.cols() / checkpoint->n;
      if (width != po.width)
        throw InputError("propagate: width = " + std::to_string(po.width) + ", but the checkpoint's fn tensors have n·C = " +
                         std::to_string(width * checkpoint->n) + " columns (C = " + std::to_string(width) +
                         "); gate-mode dsv4 runs at the model's width: pass width " + std::to_string(width));
    } else if (po.gates.empty()) {
      for (const Dsv4Gates& g : checkpoint->gates) po.gates.push_back({g.pre, g.post});
    }
  }
  parallel_for(o.seeds, o.threads, [&](Index i) {
    const std::uint64_t seed = o.first_seed + static_cast<std::uint64_t>(i);
    const std::vector<GeneratedStack> stacks =
        checkpoint ? std::vector<GeneratedStack>{stack_from_checkpoint(*method, *checkpoint, seed, o.stack.layers)}
                   : generate_stacks(*method, o.stack, seed);
    for (const GeneratedStack& g : stacks) {
      if (g.lead_shape.size() != 1) throw InputError(o.stack.input + ": propagate reads a (layer, …) stack");
      // Synthesised sites are per seed; a checkpoint's are shared, never copied.
      PropagationOptions synthesised;
      const PropagationOptions* use = &po;
      if (dynamic && !checkpoint) {
        synthesised = po;
        use = &synthesised;
        // Synthesised sites whose static comb logits are the stack's θ ([from, to], row-major).
        if (g.thetas.size() != g.H.size())
          throw InputError("propagate: gate-mode dsv4 synthesises each site from the layer's comb logits θ; this "
                           "stack has matrices only (use a generator, or a checkpoint)");
        const Index n = o.method.n;
        std::vector<Mat> logits;
        logits.reserve(g.thetas.size());
        for (const Vec& t : g.thetas)
          logits.push_back(Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
              t.data(), n, n));
        synthesised.dsv4.sites = dsv4_synthetic_sites(logits, po.width, o.dsv4_alpha, seed);
      }
      const PropagationSummary s = propagate(g.H, o.method.method, *use, seed);
      add_rows(parts[static_cast<std::size_t>(i)], seed, g.step, s, o.method.n, k);
    }
  });
  ResultTable out(columns);
  for (const ResultTable& p : parts) out.append(p);
  return out;
}

}  // namespace mhclab
