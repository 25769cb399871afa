// `mhclab conform` (mixing/conform.hpp): checks a kernel's mHC outputs (and optionally its gradients) against
// mhclab's exact fp64 reference of the same variant. Prints one line per column (mean, median, q99, max over the
// batch), then `pass`, or the variants the diagnosis tried and `FAIL: <diagnosis>: <message>`; --out writes the
// per-matrix table (CSV). Exit codes: 0 pass, 1 fail (the output does not conform), 2 bad usage or input.
#include <fmt/core.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/conform.hpp"

namespace mhclab::app {

namespace {
struct ConformCli {
  ConformOptions o;
  InitKind init = InitKind::Authors;  // bound by bind_method_options, then removed (conform reads its logits)
  double init_eps = 0.0;
  OptionSet options;
  ConformFiles files;
  std::string out;
};

int run_conform(ConformCli& c, bool n_given) {
  check_output_paths({{"logits", c.files.logits},
                      {"output", c.files.output},
                      {"grad-in", c.files.grad_in},
                      {"grad", c.files.grad}},
                     {{"out", c.out}});
  check_csv_outputs({{"out", c.out}});
  const ConformInputs in = read_conform_inputs(c.files, n_given ? c.o.method.n : 0);
  c.o.method.n = in.logits.front().rows();
  const ConformResult r = conform(c.o, in);
  if (!c.out.empty()) emit(c.out, conform_table(r).to_csv());

  const MethodOptions& m = c.o.method;
  fmt::print("conform: method={} n={} batch={} layout={} tolerance={} output_values={}{}\n",
             method_table.to_string(m.method), r.n, r.batch, layout_table.to_string(c.o.layout), g17(c.o.tolerance),
             precision_table.to_string(r.output_precision), r.gradients ? " gradients=yes" : "");
  fmt::print("{:<16} {:>12} {:>12} {:>12} {:>12}\n", "column", "mean", "median", "q99", "max");
  for (const ConformColumnSummary& s : r.summary)
    fmt::print("{:<16} {:>12.4g} {:>12.4g} {:>12.4g} {:>12.4g}\n", s.column, s.mean, s.median, s.q99, s.max);
  if (r.pass) {
    fmt::print("pass\n");
    return 0;
  }
  for (const ConformVariant& v : r.variants)
    fmt::print("variant {:<32} median={:.4g} max={:.4g} variant_vs_reference={:.4g} ({})\n", v.name, v.median, v.max,
               v.ref_max, conform_diagnosis_table.to_string(v.diagnosis));
  fmt::print("FAIL: {}: {}\n", conform_diagnosis_table.to_string(r.diagnosis), r.message);
  return 1;
}
}  // namespace

void setup_conform(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand(
      "conform", "Check a kernel's mHC outputs (and gradients) against mhclab's exact fp64 reference; exit 1 on failure");
  auto c = std::make_shared<ConformCli>();
  bind_method_options(c->options, c->o.method, c->init, c->init_eps);
  c->options.remove({"init", "init-eps", "init-tau"});
  c->options.bind("layout", c->o.layout, layout_table,
                  "Layout of the kernel's output (and grad-in) matrices: to_from (paper orientation) or from_to "
                  "(e.g. DeepSeek-V4's comb[from, to]; transposed before comparing)");
  c->options.bind("tolerance", c->o.tolerance,
                  "Pass when max|output - reference| (and the gradient error) <= tolerance (fp32 kernels reach ~1e-5, "
                  "bf16 ~1e-3)");
  bind_threads_option(c->options, c->o.threads, "matrices");
  add_option_set(sub, c->options);
  sub->add_option("--logits", c->files.logits,
                  "The kernel's input logits, (B, n, n) or (n, n), .npy or .csv: the method's n x n parameter matrix "
                  "(mhc: Z[to, from]; dsv4: L[from, to] as the checkpoint stores it); n is taken from it unless --n is given")
      ->required();
  sub->add_option("--output", c->files.output, "The kernel's output matrices, same shape as --logits, in --layout")
      ->required();
  sub->add_option("--grad-in", c->files.grad_in, "Upstream gradient dL/d(output) fed to the kernel's backward (in --layout)");
  sub->add_option("--grad", c->files.grad, "The kernel's dL/dlogits (in the logits' layout); with --grad-in");
  sub->add_option("--out", c->out, "Write the per-matrix errors to FILE.csv");
  r.add(sub, [c, sub] { return run_conform(*c, sub->count("--n") > 0); });
}

}  // namespace mhclab::app
