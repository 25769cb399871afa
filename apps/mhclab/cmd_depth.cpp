// `mhclab depth` (CLI.md): a shell over the depth experiment kind (kinds/depth.hpp): generates L matrices per seed
// (SPEC §6 generators) and writes their depth table — the columns of `analyze` (report/depth_table.hpp) with
// `seed,step` first, or only the --kinds and --metrics asked for. Bitwise identical output for any --threads.
// --save-matrices FILE writes the generated H (paper orientation, modifiers applied): shape (L, n, n) for one
// seed and one step, else (seed, step, layer, n, n) (.npy, or long-form CSV `seed,step,layer,i,j,value`).
#include <fmt/core.h>

#include <cstdio>
#include <string_view>
#include <memory>

#include "commands.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/depth.hpp"

namespace mhclab::app {

namespace {
struct DepthCli {
  DepthKindOptions o;
  OptionSet options;
  std::string out;
  std::string save_matrices;
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
  check_output_paths({{"input", c.o.stack.input}}, {{"out", c.out}, {"save-matrices", c.save_matrices}});
  check_csv_outputs({{"out", c.out}});
  if (c.out.empty()) {
    (void)write_depth_kind_csv(c.o, [](std::string_view b) { std::fwrite(b.data(), 1, b.size(), stdout); });
  } else {
    write_file_atomically_streamed(c.out, [&](const ByteSink& sink) { (void)write_depth_kind_csv(c.o, sink); });
  }
  const bool save = !c.save_matrices.empty();
  if (save) save_matrices(c.o, c.save_matrices);
  if (!c.out.empty() || save)
    fmt::print(stderr, "mhclab depth: method {} n = {}, {} seed(s){}{}\n", method_table.to_string(c.o.method.method),
               c.o.method.n, c.o.seeds, c.out.empty() ? "" : ", wrote " + c.out,
               save ? ", saved " + c.save_matrices : "");
  return 0;
}
}  // namespace

void setup_depth(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("depth", "Generate L matrices per seed and write their SPEC §4 depth metrics");
  auto c = std::make_shared<DepthCli>();
  bind_depth_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--save-matrices", c->save_matrices, "Also write the generated matrices (.npy or .csv)");
  r.add(sub, [c] { return run_depth(*c); });
}

}  // namespace mhclab::app
