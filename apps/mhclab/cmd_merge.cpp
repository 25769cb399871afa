// `mhclab merge DIR... --out DIR` (CLI.md): the shards of one sweep (`mhclab run FILE --shard k/N`) merged into the
// results a single process writes (sweep/sweep.hpp merge_shards).
#include <fmt/core.h>

#include <memory>

#include "commands.hpp"
#include "mhclab/sweep/sweep.hpp"

namespace mhclab::app {

void setup_merge(CLI::App& app, Registry& r) {
  auto o = std::make_shared<MergeOptions>();
  auto quiet = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand("merge", "Merge the shard directories of `mhclab run --shard k/N` into one result");
  sub->add_option("shards", o->shard_dirs, "The shard directories (any order)")->required();
  sub->add_option("--out", o->out_dir, "Results directory (rows.csv, aggregates.csv as one process writes them)")
      ->required();
  sub->add_flag("--force", o->force, "Delete an existing results directory first");
  sub->add_flag("--quiet", *quiet, "No summary on stderr");
  r.add(sub, [o, quiet] {
    o->command_line = "mhclab merge";
    for (const std::string& d : o->shard_dirs) o->command_line += " " + d;
    o->command_line += " --out " + o->out_dir;
    const SweepSummary s = merge_shards(*o);
    if (!*quiet) {
      fmt::print(stderr, "mhclab merge: {} shard(s), {} point(s), {} rows, {} aggregate rows, {} figure file(s) -> {}\n",
                 o->shard_dirs.size(), s.points, s.rows, s.aggregate_rows, s.figures.size(), o->out_dir);
      if (!s.plot_message.empty()) fmt::print(stderr, "mhclab merge: warning: {}\n", s.plot_message);
    }
    return 0;
  });
}

}  // namespace mhclab::app
