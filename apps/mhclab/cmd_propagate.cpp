// `mhclab propagate` (CLI.md, SPEC §5): runs the multi-stream layer model (model/propagation.hpp) on the H_res
// stacks of any generator and writes one CSV row per seed, step and depth l = 0..L:
//   seed,step,layer,energy,log10_energy,stream_energy_1..n,log10_stream_energy_1..n,stream_sum_dev,
//   log10_stream_sum_dev,grad_norm,log10_grad_norm
// and, with --jacobian-topk K, jacobian_sigma_1..K, jacobian_log10_sigma_1..K, jacobian_resolved_1..K,
// jacobian_status, jacobian_iterations on the row l = L (empty on the others): the top singular values of
// ∂X_L/∂X_0 through Spectra. Linear columns beyond the double range are written from the log form.
// Seeds run in parallel; rows are written in seed order, so the output does not depend on --threads.
#include <fmt/core.h>

#include <cmath>

#include "commands.hpp"
#include "mhclab/analysis/metric_cell.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/model/propagation.hpp"

namespace mhclab::app {

namespace {
struct PropagateCli {
  MethodCli method;
  GeneratorCli gen;
  long layers = 0;
  long width = 64;
  std::string branch = "linear";
  std::string branch_norm = "rms";
  double gain = 1.0;
  long jacobian_topk = 0;
  std::string out;
  int threads = 0;
};

std::string lin(double value, double log10_abs) { return MetricCell::number(value, log10_abs).format(); }

void append_rows(std::string& out, const std::string& lead, const PropagationSummary& s, Index n, Index k) {
  for (const PropagationRow& r : s.rows) {
    out += lead + std::to_string(r.layer) + ',' + lin(r.energy, r.log10_energy) + ',' + g17(r.log10_energy);
    for (Index i = 0; i < n; ++i) out += ',' + lin(r.stream_energy[i], r.log10_stream_energy[i]);
    for (Index i = 0; i < n; ++i) out += ',' + g17(r.log10_stream_energy[i]);
    out += ',' + lin(r.stream_sum_dev, r.log10_stream_sum_dev) + ',' + g17(r.log10_stream_sum_dev);
    out += ',' + lin(r.grad_norm, r.log10_grad_norm) + ',' + g17(r.log10_grad_norm);
    if (k > 0) {
      const bool last = r.layer + 1 == static_cast<Index>(s.rows.size());
      const JacobianSpectrum& j = *s.jacobian;
      const auto have = static_cast<Index>(j.log10_sigma.size());
      for (Index i = 0; i < k; ++i)
        out += ',' + (last && i < have ? lin(std::pow(10.0, j.log10_sigma[i]), j.log10_sigma[i]) : std::string());
      for (Index i = 0; i < k; ++i) out += ',' + (last && i < have ? g17(j.log10_sigma[i]) : std::string());
      for (Index i = 0; i < k; ++i)
        out += ',' + (last && i < have ? std::string(j.resolved[i] ? "true" : "false") : std::string());
      out += ',' + (last ? std::string(spectrum_status_table.to_string(j.status)) : std::string());
      out += ',' + (last ? std::to_string(j.iterations) : std::string());
    }
    out += '\n';
  }
}

std::string header(Index n, Index k) {
  std::vector<std::string> cols{"seed", "step", "layer", "energy", "log10_energy"};
  for (Index i = 1; i <= n; ++i) cols.push_back("stream_energy_" + std::to_string(i));
  for (Index i = 1; i <= n; ++i) cols.push_back("log10_stream_energy_" + std::to_string(i));
  for (const char* c : {"stream_sum_dev", "log10_stream_sum_dev", "grad_norm", "log10_grad_norm"}) cols.push_back(c);
  if (k > 0) {
    for (const char* base : {"jacobian_sigma_", "jacobian_log10_sigma_", "jacobian_resolved_"})
      for (Index i = 1; i <= k; ++i) cols.push_back(base + std::to_string(i));
    cols.push_back("jacobian_status");
    cols.push_back("jacobian_iterations");
  }
  std::string h;
  for (std::size_t i = 0; i < cols.size(); ++i) h += (i ? "," : "") + cols[i];
  return h + "\n";
}

PropagationOptions propagation_options(const PropagateCli& c) {
  PropagationOptions po;
  po.width = c.width;
  po.branch = branch_table.from_string(c.branch);
  po.norm = branch_norm_table.from_string(c.branch_norm);
  po.gain = c.gain;
  po.jacobian_topk = c.jacobian_topk;
  po.validate();
  return po;
}

void check_propagate(const PropagateCli& c) {
  const MethodOptions mo = c.method.resolve();
  (void)make_method(mo);
  (void)c.gen.resolve(c.method, c.layers);
  (void)propagation_options(c);
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
}

std::string propagate_csv(const PropagateCli& c) {
  const MethodOptions mo = c.method.resolve();
  const auto method = make_method(mo);
  const StackOptions so = c.gen.resolve(c.method, c.layers);
  const PropagationOptions po = propagation_options(c);
  const auto S = static_cast<Index>(c.gen.seeds);
  std::vector<std::string> text(static_cast<std::size_t>(S));
  parallel_for(S, c.threads, [&](Index k) {
    const std::uint64_t seed = c.gen.seed + static_cast<std::uint64_t>(k);
    for (const GeneratedStack& g : generate_stacks(*method, so, seed)) {
      if (g.lead_shape.size() != 1) throw InputError(so.input + ": propagate reads a (layer, …) stack");
      const PropagationSummary s = propagate(g.H, mo.method, po, seed);
      append_rows(text[static_cast<std::size_t>(k)], std::to_string(seed) + ',' + std::to_string(g.step) + ',', s,
                  mo.n, po.jacobian_topk);
    }
  });
  std::string csv = header(mo.n, po.jacobian_topk);
  for (const std::string& t : text) csv += t;
  return csv;
}

int run_propagate(const PropagateCli& c) {
  emit(c.out, propagate_csv(c));
  if (!c.out.empty())
    fmt::print(stderr, "mhclab propagate: method {} n = {} C = {}, {} seed(s), wrote {}\n", c.method.method, c.method.n,
               c.width, c.gen.seeds, c.out);
  return 0;
}
}  // namespace

VerbFunctions declare_propagate(CLI::App* sub) {
  auto c = std::make_shared<PropagateCli>();
  c->method.add_to(sub);
  c->gen.add_to(sub);
  sub->add_option("--layers", c->layers, "Number of layers L (file generator: 0 = as in the file)");
  sub->add_option("--width", c->width, "Stream width C")->capture_default_str();
  sub->add_option("--branch", c->branch, "Branch nonlinearity φ: " + branch_table.names())->capture_default_str();
  sub->add_option("--branch-norm", c->branch_norm, "Branch input norm: " + branch_norm_table.names())
      ->capture_default_str();
  sub->add_option("--gain", c->gain, "Branch gain g (0 = zero branch)")->capture_default_str();
  sub->add_option("--jacobian-topk", c->jacobian_topk, "Top singular values of dX_L/dX_0 (Spectra; 0 = none)")
      ->capture_default_str();
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--threads", c->threads, "Threads over seeds (0 = all cores; results do not depend on it)")
      ->capture_default_str();
  return {[c] { check_propagate(*c); }, [c] { return propagate_csv(*c); }, [c] { return run_propagate(*c); }};
}

void setup_propagate(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("propagate", "Energy, stream sums and gradient norms through the SPEC §5 layer model");
  r.add(sub, declare_propagate(sub).run);
}

}  // namespace mhclab::app
