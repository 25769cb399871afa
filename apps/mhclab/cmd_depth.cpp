// `mhclab depth` (CLI.md): a shell over the depth experiment kind (kinds/depth.hpp): generates L matrices per seed
// (SPEC §6 generators) and writes their depth table — the columns of `analyze` (report/depth_table.hpp) with
// `seed,step` first, or only the --kinds and --metrics asked for. Bitwise identical output for any --threads.
// --save-matrices FILE writes the generated H (paper orientation, modifiers applied): shape (L, n, n) for one
// seed and one step, else (seed, step, layer, n, n) (.npy, or long-form CSV `seed,step,layer,i,j,value`).
#include <fmt/core.h>

#include <cstdio>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/kinds/depth.hpp"

namespace mhclab::app {

namespace {
struct DepthCli {
  MethodCli method;
  GeneratorCli gen;
  long layers = 0;
  SelectionCli selection;
  std::string engine = "auto";
  std::string out;
  std::string save_matrices;
  bool lyapunov = false;
  bool aggregate = false;
  int threads = 0;

  [[nodiscard]] DepthKindOptions resolve() const {
    DepthKindOptions o;
    o.method = method.resolve();
    o.stack = gen.resolve(method, layers);
    o.seeds = gen.seeds;
    o.first_seed = gen.seed;
    selection.apply(o.table);
    o.table.lyapunov = lyapunov;
    o.engine = depth_engine_table.from_string(engine);
    o.aggregate = aggregate;
    o.threads = threads;
    o.validate();
    return o;
  }
};

/// The generated matrices of every seed (regenerated: the generators are pure functions of the seed).
void save_matrices(const DepthKindOptions& o, const std::string& path) {
  const auto method = make_method(o.method);
  std::vector<std::vector<GeneratedStack>> kept(static_cast<std::size_t>(o.seeds));
  parallel_for(o.seeds, o.threads, [&](Index k) {
    kept[static_cast<std::size_t>(k)] = generate_stacks(*method, o.stack, o.first_seed + static_cast<std::uint64_t>(k));
  });
  std::vector<Mat> mats;
  for (const auto& stacks : kept)
    for (const auto& g : stacks) mats.insert(mats.end(), g.H.begin(), g.H.end());
  const std::size_t K = kept.front().size(), L = kept.front().front().count();
  if (o.seeds == 1 && K == 1) write_stack(path, mats, {"layer"}, {L});
  else write_stack(path, mats, {"seed", "step", "layer"}, {static_cast<std::size_t>(o.seeds), K, L});
}

int run_depth(const DepthCli& c) {
  const DepthKindOptions o = c.resolve();
  const DepthKindResult r = depth_kind_csv(o);
  if (c.out.empty())
    for (const std::string& chunk : r.chunks) std::fwrite(chunk.data(), 1, chunk.size(), stdout);
  else
    r.write(c.out);
  const bool save = !c.save_matrices.empty();
  if (save) save_matrices(o, c.save_matrices);
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
  c->selection.add_to(sub);
  sub->add_option("--engine", c->engine,
                  "auto|dense|stream: stream (SIMD over seeds, O(n²) memory per thread) takes mhc (exp, fp64, "
                  "constant tau, tol 0), generator random and only gains/sigma_max metrics; auto picks it when "
                  "the request fits; the engines agree to round-off (1e-12 relative), not bit for bit")
      ->capture_default_str();
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--save-matrices", c->save_matrices, "Also write the generated matrices (.npy or .csv)");
  sub->add_flag("--lyapunov", c->lyapunov, "Add running Lyapunov exponents lyap_1 >= ... (QR/Benettin)");
  sub->add_flag("--aggregate", c->aggregate,
                "Write per (step, depth, kind) the statistics over seeds (count, mean, sd, median, q05, q95, 95% CI; "
                "as a sweep's aggregates.csv) instead of the rows");
  sub->add_option("--threads", c->threads, "Threads over seeds (0 = all cores; results do not depend on it)")
      ->capture_default_str();
  return {[c] { (void)c->resolve(); }, [c] { return depth_kind_csv(c->resolve()).csv(); },
          [c] { return run_depth(*c); }};
}

void setup_depth(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("depth", "Generate L matrices per seed and write their SPEC §4 depth metrics");
  r.add(sub, declare_depth(sub).run);
}

}  // namespace mhclab::app
