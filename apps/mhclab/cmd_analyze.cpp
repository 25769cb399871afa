// `mhclab analyze` (CLI.md): a shell over the analyze kind (kinds/analyze.hpp): the SPEC §4 metrics of a stack file,
// one CSV row per depth and kind, written atomically to --out or to stdout; --eigenvalues FILE and
// --singular-values FILE write the spectra, and the top-k solver's report goes to stderr.
#include <fmt/core.h>

#include <cmath>
#include <memory>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/analyze.hpp"

namespace mhclab::app {

namespace {
struct AnalyzeCli {
  AnalyzeKindOptions o;
  OptionSet options;
  std::string out;
  std::string eigenvalues;
  std::string singular_values;
  std::string gates;
  bool method_given = false;  ///< --method on the command line (else --checkpoint implies dsv4)
};

int run_analyze(AnalyzeCli& c) {
  check_output_paths({{"input", c.o.input}, {"checkpoint", c.o.checkpoint}},
                     {{"out", c.out}, {"eigenvalues", c.eigenvalues}, {"singular-values", c.singular_values},
                      {"gates", c.gates}});
  check_csv_outputs({{"out", c.out}, {"eigenvalues", c.eigenvalues}, {"singular-values", c.singular_values},
                     {"gates", c.gates}});
  if (!c.gates.empty() && c.o.checkpoint.empty())
    throw InputError("--gates writes a checkpoint's pre/post gates; give --checkpoint");
  if (!c.o.checkpoint.empty() && !c.method_given) c.o.method.method = MethodId::Dsv4;
  c.o.eigenvalues = !c.eigenvalues.empty();
  c.o.singular_values = !c.singular_values.empty();
  const AnalyzeKindResult r = analyze_kind(c.o);
  emit(c.out, r.csv);
  if (c.o.eigenvalues) emit(c.eigenvalues, r.eigenvalue_csv);
  if (c.o.singular_values) emit(c.singular_values, r.singular_value_csv);
  if (!c.gates.empty()) emit(c.gates, r.gates_csv);
  if (!r.checkpoint_summary.empty()) fmt::print(stderr, "mhclab analyze: checkpoint {}: {}\n", c.o.checkpoint, r.checkpoint_summary);
  if (r.topk) {
    const TopkResult& t = *r.topk;
    const Index k = c.o.topk > 0 ? c.o.topk : std::min<Index>(6, r.n);  // the automatic K (kinds/analyze.hpp)
    fmt::print(stderr, "mhclab analyze: top-{} of the end-to-end product (L = {}): eigenvalues {} ({} iterations), "
               "singular values {} ({} iterations)\n", k, t.depth, solve_status_table.to_string(t.eigen.status), t.eigen.iterations,
               solve_status_table.to_string(t.singular.status), t.singular.iterations);
    if (!c.o.eigenvalues && !c.o.singular_values)
      for (Index i = 0; i < t.singular.converged; ++i)
        fmt::print(stderr, "  sigma_{} = {} (log10 {})   |lambda_{}| = {}\n", i + 1, g17(t.spectrum.singular_value(i)),
                   g17(t.spectrum.log10_singular_value(i)), i + 1,
                   i < t.eigen.converged ? g17(std::abs(t.spectrum.eigenvalue(i))) : std::string("-"));
  }
  if (!c.out.empty()) fmt::print(stderr, "mhclab analyze: {} matrices, n = {}, wrote {}\n", r.matrices, r.n, c.out);
  return 0;
}
}  // namespace

void setup_analyze(CLI::App& app, Registry& r) {
  auto c = std::make_shared<AnalyzeCli>();
  CLI::App* sub = app.add_subcommand("analyze", "SPEC §4 metrics of a stack of matrices (layer, prefix, suffix)");
  bind_analyze_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--eigenvalues", c->eigenvalues, "Write all eigenvalues per depth and kind (CSV)");
  sub->add_option("--singular-values", c->singular_values, "Write all singular values per depth and kind (CSV)");
  sub->add_option("--gates", c->gates, "--checkpoint: write the sites' pre/post gates (CSV)");
  r.add(sub, [c, sub] {
    c->method_given = sub->count("--method") > 0;
    return run_analyze(*c);
  });
}

}  // namespace mhclab::app
