// `mhclab analyze` (CLI.md): the SPEC §4 metrics of a stack of L matrices (or parameter vectors turned into
// matrices by --method), one CSV row per depth and kind: `depth,kind,` + analysis::depth_metric_columns(),
// plus `lyap_1..lyap_k` (running Lyapunov estimates, natural log per layer; filled on prefix rows) with
// --lyapunov. Written atomically to --out, or to stdout.
// Not built yet (depth-analysis issue): --token-average, --eigenvalues, --singular-values, --topk.
#include <fmt/core.h>

#include <sstream>

#include "commands.hpp"
#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/lyapunov.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/matrix_file.hpp"

namespace mhclab::app {

namespace {
struct AnalyzeCli {
  MethodCli method;
  std::string input;
  std::string input_kind = "matrices";
  std::string layout = "to_from";
  std::string out;
  bool lyapunov = false;
};

std::vector<Mat> load_stack(const AnalyzeCli& c) {
  const InputKind kind = input_kind_table.from_string(c.input_kind);
  const Layout layout = layout_table.from_string(c.layout);
  if (kind == InputKind::Matrices) {
    StackReadOptions o;
    o.kind = kind;
    o.layout = layout;
    return read_stack(c.input, o).matrices;
  }
  const MethodOptions mo = c.method.resolve();
  const auto method = make_method(mo);
  StackOptions s;
  s.kind = GeneratorKind::File;
  s.input = c.input;
  s.input_kind = kind;
  s.layout = layout;
  s.modifiers = mo.modifiers;
  return generate_stacks(*method, s, 0).front().H;
}

int run_analyze(const AnalyzeCli& c) {
  const std::vector<Mat> stack = load_stack(c);
  if (stack.empty()) throw InputError(c.input + ": the stack holds no matrices");
  const Index n = stack.front().rows();
  std::vector<Vec> lyap;
  if (c.lyapunov) lyap = lyapunov_exponents(stack).running;
  std::ostringstream csv;
  csv.precision(17);
  csv << "depth,kind";
  for (const auto& col : depth_metric_columns()) csv << ',' << col;
  if (c.lyapunov)
    for (Index k = 1; k <= n; ++k) csv << ",lyap_" << k;
  csv << '\n';
  for (const auto& [kind, name] : product_kind_table.entries) {
    const std::vector<DepthMetrics> rows = depth_metrics(stack, kind);
    for (std::size_t l = 0; l < rows.size(); ++l) {
      csv << (l + 1) << ',' << name;
      for (const auto& cell : depth_metric_row(rows[l])) csv << ',' << cell;
      if (c.lyapunov)
        for (Index k = 0; k < n; ++k) {
          csv << ',';
          if (kind == ProductKind::Prefix) csv << g17(lyap[l][k]);
        }
      csv << '\n';
    }
  }
  if (c.out.empty()) {
    fmt::print("{}", csv.str());
  } else {
    write_file_atomically(c.out, csv.str());
    fmt::print(stderr, "mhclab analyze: {} layers, n = {}, wrote {}\n", stack.size(), n, c.out);
  }
  return 0;
}
}  // namespace

void setup_analyze(CLI::App& app, Registry& r) {
  auto c = std::make_shared<AnalyzeCli>();
  CLI::App* sub = app.add_subcommand("analyze", "SPEC §4 metrics of a stack of matrices (layer, prefix, suffix)");
  c->method.add_to(sub);
  sub->add_option("--input", c->input, "Stack file (.npy (L,n,n) / (L,p), or long-form .csv)")->required();
  sub->add_option("--input-kind", c->input_kind, "What the trailing axes hold: " + input_kind_table.names())
      ->capture_default_str();
  sub->add_option("--layout", c->layout, "to_from (paper orientation) or from_to (transpose on read)")
      ->capture_default_str();
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_flag("--lyapunov", c->lyapunov, "Add running Lyapunov exponents lyap_1 >= ... (QR/Benettin)");
  r.add(sub, [c] { return run_analyze(*c); });
}

}  // namespace mhclab::app
