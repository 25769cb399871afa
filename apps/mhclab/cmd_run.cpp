// `mhclab run EXPERIMENT.toml` (CLI.md): a sweep over the options of one verb (sweep/sweep.hpp). Each grid point
// is parsed by the verb's own CLI11 options from "--key=value" arguments, so an experiment file and the command
// line accept exactly the same names and values, and the verb's validation names the offending key.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/sweep/sweep.hpp"

namespace mhclab::app {

namespace {
struct RunCli {
  std::string experiment;
  std::string out;
  int threads = 0;
  bool resume = false, dry_run = false, force = false, quiet = false;
};

using Declare = VerbFunctions (*)(CLI::App*);

struct KindEntry {
  const char* name;
  Declare declare;
  std::vector<std::string> row_keys;  ///< columns naming a row within a point besides seed
  std::vector<std::string> reserved;  ///< options the runner sets, or that write files of their own
};

const std::vector<KindEntry>& kinds() {
  static const std::vector<KindEntry> k{
      {"depth", &declare_depth, {"step", "depth", "kind"}, {"seed", "out", "threads", "save-matrices", "aggregate"}},
      {"propagate", &declare_propagate, {"step", "layer"}, {"seed", "out", "threads"}},
      {"mix", &declare_mix, {}, {"seed", "out", "threads", "logits"}},
      {"train", &declare_train, {"step"}, {"seed", "out", "threads", "force"}},
      {"fit", &declare_fit, {}, {"seed", "out", "threads"}},
  };
  return k;
}

/// Parses a point's arguments with a fresh copy of the verb's options; returns the verb's functions.
VerbFunctions parse_point(Declare declare, const SweepPoint& p) {
  auto app = std::make_shared<CLI::App>("point");
  VerbFunctions f = declare(app.get());
  std::vector<std::string> args;
  const std::vector<std::string> a = p.arguments();
  for (std::size_t k = 0; k < a.size(); ++k) {
    // "--key=value" keeps values such as "-0.5" from being read as options.
    if (k + 1 < a.size() && a[k + 1].rfind("--", 0) != 0) {
      args.push_back(a[k] + "=" + a[k + 1]);
      ++k;
    } else {
      args.push_back(a[k]);
    }
  }
  args.emplace_back("--threads=1");
  std::reverse(args.begin(), args.end());  // CLI11 takes the vector in reverse order
  try {
    app->parse(args);
  } catch (const CLI::ParseError& e) {
    throw InputError(e.what());
  }
  // Keep the App (which owns the options struct bound to `f`) alive as long as the functions.
  return {[app, f] { f.check(); }, [app, f] { return f.csv(); }, [app, f] { return f.run(); }};
}

SweepKind make_kind(const std::string& name, const std::string& file) {
  for (const KindEntry& k : kinds()) {
    if (name != k.name) continue;
    SweepKind s;
    s.name = k.name;
    s.row_keys = k.row_keys;
    s.reserved = k.reserved;
    s.reserved.emplace_back("help");
    CLI::App probe("probe");
    (void)k.declare(&probe);
    for (const CLI::Option* o : probe.get_options()) {
      if (o->get_lnames().empty()) continue;
      s.options.push_back({o->get_lnames().front(), o->get_expected_max() == 0});
    }
    const Declare declare = k.declare;
    s.check = [declare](const SweepPoint& p) { parse_point(declare, p).check(); };
    s.run = [declare](const SweepPoint& p) { return parse_point(declare, p).csv(); };
    return s;
  }
  throw InputError(file + ": [experiment] kind = '" + name + "'; expected depth|propagate|mix|train|fit");
}

long fail_after_from_env() {
  const char* v = std::getenv("MHCLAB_FAIL_AFTER");
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long k = std::strtol(v, &end, 10);
  if (*end != '\0' || k < 0) throw InputError(std::string("MHCLAB_FAIL_AFTER = '") + v + "'; expected an integer ≥ 0");
  return k;
}

int run_run(const RunCli& c, const std::string& command_line) {
  const Experiment e = read_experiment(c.experiment);
  const SweepKind kind = make_kind(e.kind, c.experiment);
  const std::vector<SweepPoint> points = resolve_sweep(e, kind);
  if (c.dry_run) {
    fmt::print("{}", describe_sweep(e, points));
    return 0;
  }
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
  SweepOptions o;
  o.out_dir = c.out.empty() ? "results/" + e.name : c.out;
  o.threads = c.threads;
  o.resume = c.resume;
  o.force = c.force;
  o.progress = !c.quiet && isatty(STDERR_FILENO) == 1;
  o.fail_after = fail_after_from_env();
  o.command_line = command_line;
  const SweepSummary s = run_sweep(e, kind, points, o);
  if (!c.quiet) {
    fmt::print(stderr, "mhclab run: {}: {} point(s) ({} run, {} reused), {} rows, {} aggregate rows, {} figure file(s), "
                       "{:.1f} s on {} thread(s) -> {}\n",
               e.name, s.points, s.ran, s.reused, s.rows, s.aggregate_rows, s.figures.size(), s.wall_seconds,
               resolve_threads(c.threads), o.out_dir);
    if (!s.plot_message.empty()) fmt::print(stderr, "mhclab run: warning: {}\n", s.plot_message);
  }
  return 0;
}
}  // namespace

void setup_run(CLI::App& app, Registry& r) {
  auto c = std::make_shared<RunCli>();
  CLI::App* sub = app.add_subcommand("run", "Run an experiment file (TOML): a sweep, its aggregates and figures");
  sub->add_option("experiment", c->experiment, "Experiment file (experiments/<name>.toml)")->required();
  sub->add_option("--out", c->out, "Results directory (default results/<name>)");
  sub->add_option("--threads", c->threads, "Threads over grid points (0 = all cores; results do not depend on it)")
      ->capture_default_str();
  sub->add_flag("--resume", c->resume, "Continue an interrupted run in --out (finished points are kept)");
  sub->add_flag("--dry-run", c->dry_run, "Print the resolved grid (point ids, seeds) and exit");
  sub->add_flag("--force", c->force, "Delete an existing results directory first");
  sub->add_flag("--quiet", c->quiet, "No progress bar or summary on stderr");
  r.add(sub, [c, sub] {
    std::string cmd = "mhclab run " + c->experiment;
    for (const char* f : {"--resume", "--dry-run", "--force", "--quiet"})
      if (sub->count(f) > 0) cmd += std::string(" ") + f;
    if (!c->out.empty()) cmd += " --out " + c->out;
    if (c->threads != 0) cmd += " --threads " + std::to_string(c->threads);
    return run_run(*c, cmd);
  });
}

}  // namespace mhclab::app
