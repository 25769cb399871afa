// `mhclab depth` (CLI.md): generates L matrices per seed (SPEC §6 generators) and analyses them — the columns
// of `analyze` (report/depth_table.hpp) with `seed,step` first. Seeds run in parallel (--threads); every seed
// is a pure function of its index, and rows are written in (seed, step, kind, depth) order, so the output is
// bitwise identical for any thread count.
// --save-matrices FILE writes the generated H (paper orientation, modifiers applied): shape (L, n, n) for one
// seed and one step, else (seed, step, layer, n, n) (.npy, or long-form CSV `seed,step,layer,i,j,value`).
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/matrix_file.hpp"

namespace mhclab::app {

namespace {
struct DepthCli {
  MethodCli method;
  GeneratorCli gen;
  long layers = 0;
  std::string out;
  std::string save_matrices;
  bool lyapunov = false;
  int threads = 0;
};

void check_depth(const DepthCli& c) {
  const MethodOptions mo = c.method.resolve();
  (void)make_method(mo);
  (void)c.gen.resolve(c.method, mo, c.layers);
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
}

/// The CSV text (and the saved matrices with --save-matrices).
std::string depth_csv(const DepthCli& c) {
  const MethodOptions mo = c.method.resolve();
  const auto method = make_method(mo);
  const StackOptions so = c.gen.resolve(c.method, mo, c.layers);
  const auto S = static_cast<Index>(c.gen.seeds);
  DepthTableOptions table;
  table.lyapunov = c.lyapunov;
  table.sinkhorn_columns = mo.method == MethodId::MHC && !(so.kind == GeneratorKind::File &&
                                                           so.input_kind == InputKind::Matrices);
  const bool save = !c.save_matrices.empty();
  std::vector<std::string> text(static_cast<std::size_t>(S));
  std::vector<std::vector<GeneratedStack>> kept(save ? static_cast<std::size_t>(S) : 0);
  parallel_for(S, c.threads, [&](Index k) {
    const std::uint64_t seed = c.gen.seed + static_cast<std::uint64_t>(k);
    std::vector<GeneratedStack> stacks = generate_stacks(*method, so, seed);
    std::string& out = text[static_cast<std::size_t>(k)];
    for (const GeneratedStack& g : stacks) {
      if (g.lead_shape.size() != 1)
        throw InputError(so.input + ": depth reads a (layer, …) stack; use `mhclab analyze --token-average` for "
                                    "per-token stacks");
      const std::vector<LayerExtras> extras = sinkhorn_extras(mo.method, mo.n, g.thetas, g.sinkhorn);
      DepthTableOptions t = table;
      t.sinkhorn_columns = table.sinkhorn_columns && !extras.empty();
      if (t.sinkhorn_columns != table.sinkhorn_columns)
        throw ComputeError("seed " + std::to_string(seed) + ": missing Sinkhorn summaries");
      append_depth_rows(out, std::to_string(seed) + "," + std::to_string(g.step) + ",", depth_table(g.H, extras, t));
    }
    if (save) kept[static_cast<std::size_t>(k)] = std::move(stacks);
  });
  std::string csv = depth_csv_header({"seed", "step"}, depth_table_columns(mo.n, table));
  for (const std::string& t : text) csv += t;
  if (save) {
    std::vector<Mat> mats;
    for (const auto& stacks : kept)
      for (const auto& g : stacks) mats.insert(mats.end(), g.H.begin(), g.H.end());
    const std::size_t K = kept.front().size(), L = kept.front().front().count();
    if (S == 1 && K == 1) write_stack(c.save_matrices, mats, {"layer"}, {L});
    else write_stack(c.save_matrices, mats, {"seed", "step", "layer"}, {static_cast<std::size_t>(S), K, L});
  }
  return csv;
}

int run_depth(const DepthCli& c) {
  emit(c.out, depth_csv(c));
  const bool save = !c.save_matrices.empty();
  if (!c.out.empty() || save)
    fmt::print(stderr, "mhclab depth: method {} n = {}, {} seed(s){}{}\n", c.method.method, c.method.n, c.gen.seeds,
               c.out.empty() ? "" : ", wrote " + c.out, save ? ", saved " + c.save_matrices : "");
  return 0;
}
}  // namespace

VerbFunctions declare_depth(CLI::App* sub) {
  auto c = std::make_shared<DepthCli>();
  c->method.add_to(sub);
  c->gen.add_to(sub);
  sub->add_option("--layers", c->layers, "Number of layers L (file generator: 0 = as in the file)");
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--save-matrices", c->save_matrices, "Also write the generated matrices (.npy or .csv)");
  sub->add_flag("--lyapunov", c->lyapunov, "Add running Lyapunov exponents lyap_1 >= ... (QR/Benettin)");
  sub->add_option("--threads", c->threads, "Threads over seeds (0 = all cores; results do not depend on it)")
      ->capture_default_str();
  return {[c] { check_depth(*c); }, [c] { return depth_csv(*c); }, [c] { return run_depth(*c); }};
}

void setup_depth(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("depth", "Generate L matrices per seed and write their SPEC §4 depth metrics");
  r.add(sub, declare_depth(sub).run);
}

}  // namespace mhclab::app
