// `mhclab run EXPERIMENT.toml` (CLI.md): a sweep over the options of one experiment kind (sweep/sweep.hpp). Each grid
// point sets the kind's options by name (kinds/kind_registry.hpp) and runs its library function, so an experiment
// file and the command line accept exactly the same names and values, and the kind's validation names the key.
#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/sweep/mpi_sweep.hpp"
#include "mhclab/sweep/slurm.hpp"
#include "mhclab/sweep/sweep.hpp"

namespace mhclab::app {

namespace {
struct RunCli {
  std::string experiment;
  std::string out;
  std::string shard;
  bool mpi = false;
  long split_seeds = 0;
  std::string emit_slurm;
  SlurmOptions slurm;
  int threads = 0;
  bool resume = false, dry_run = false, force = false, quiet = false;
};

/// Set by the first SIGTERM/SIGUSR1/SIGINT (Slurm's pre-emption warning, scancel --signal, Ctrl-C): the runner starts
/// no new point, writes the running ones and returns (exit 75, resumable); a second signal ends the process at once —
/// except with --mpi, where a rank can receive the same signal twice (from Slurm and forwarded by mpirun) and must not
/// die in the middle of a task: there the handler stays, and mpirun or scancel end the job.
std::atomic<bool> g_stop{false};  // NOLINT: a signal handler's flag
volatile std::sig_atomic_t g_signal = 0;  // NOLINT
volatile std::sig_atomic_t g_keep_handler = 0;  // NOLINT: --mpi

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  g_stop.store(true);
  if (g_keep_handler == 0) std::signal(sig, SIG_DFL);
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
  // First, so that a pre-emption signal that arrives while the grid is being resolved is not fatal.
  g_keep_handler = c.mpi ? 1 : 0;
  for (const int sig : {SIGTERM, SIGUSR1, SIGINT}) std::signal(sig, on_stop_signal);
  const Experiment e = read_experiment(c.experiment);
  const std::vector<SweepPoint> points = resolve_sweep(e);
  if (g_stop.load()) {
    fmt::print(stderr, "mhclab run: {}: interrupted by signal {} before the first point\n", e.name, static_cast<int>(g_signal));
    return 75;
  }
  std::optional<ShardSpec> shard;
  if (!c.shard.empty()) shard = ShardSpec::parse(c.shard);
  if (!c.emit_slurm.empty()) {
    if (shard || c.mpi || c.dry_run) throw InputError("--emit-slurm writes scripts only; not with --shard, --mpi or --dry-run");
    SlurmOptions so = c.slurm;
    so.dir = c.emit_slurm;
    so.out = c.out;
    const SlurmScripts scripts = slurm_scripts(e, points, c.experiment, so);
    write_slurm_scripts(scripts, so);
    fmt::print("mhclab run: {} point(s) in {} shard(s): wrote {}/shards.sbatch, merge.sbatch and submit.sh; submit with\n"
               "  bash {}/submit.sh\n",
               points.size(), scripts.shards, so.dir, so.dir);
    return 0;
  }
  if (c.dry_run) {
    if (!shard) {
      fmt::print("{}", describe_sweep(e, points));
      return 0;
    }
    // The shard's points only (the split is a pure function of the grid: every shard can print its own).
    const std::vector<std::size_t> mine = assign_shards(e, points, shard->count)[shard->index];
    std::vector<SweepPoint> subset;
    for (const std::size_t i : mine) subset.push_back(points[i]);
    fmt::print("shard {}: {} of {} point(s)\n{}", shard->text(), subset.size(), points.size(), describe_sweep(e, subset));
    return 0;
  }
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
  SweepOptions o;
  o.out_dir = c.out.empty() ? "results/" + e.name + (shard ? "_shard" + std::to_string(shard->index) : "") : c.out;
  o.shard = shard;
  o.threads = c.threads;
  o.resume = c.resume;
  o.force = c.force;
  o.progress = !c.quiet && isatty(STDERR_FILENO) == 1;
  o.fail_after = fail_after_from_env();
  o.command_line = command_line;
  o.stop = &g_stop;
  if (c.split_seeds != 0 && !c.mpi) throw InputError("--split-seeds splits points over MPI ranks; use it with --mpi");
  const SweepSummary s = c.mpi ? run_sweep_mpi(e, points, o, c.split_seeds) : run_sweep(e, points, o);
  if (s.rank != 0) return 0;  // MPI: rank 0 reports
  if (s.interrupted) {
    fmt::print(stderr, "mhclab run: {}: interrupted by signal {} after {} of {} point(s); the finished points are kept in "
                       "{}; run again with --resume\n",
               e.name, static_cast<int>(g_signal), s.ran + s.reused, s.points, o.out_dir);
    return 75;
  }
  if (!c.quiet) {
    if (shard)
      fmt::print(stderr, "mhclab run: {}: shard {}: {} of {} point(s) ({} run, {} reused), {:.1f} s on {} thread(s) -> {} "
                         "(merge the shards with mhclab merge)\n",
                 e.name, shard->text(), s.points, points.size(), s.ran, s.reused, s.wall_seconds,
                 resolve_threads(c.threads), o.out_dir);
    else
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
  sub->add_option("--shard", c->shard,
                  "Run shard k of N (k/N, 0-based): a deterministic split of the grid balanced by estimated cost; "
                  "combine the N directories with mhclab merge");
  sub->add_flag("--mpi", c->mpi,
                "Run over MPI ranks (mpirun -np K): rank 0 hands out points, largest first; the others compute them "
                "with --threads each; results byte-identical to one process");
  sub->add_option("--split-seeds", c->split_seeds,
                  "With --mpi: split points of more than S seeds into seed ranges of at most S (0 = never)")
      ->capture_default_str();
  sub->add_option("--emit-slurm", c->emit_slurm,
                  "Write Slurm scripts into DIR instead of running: a job array of shards (--resume, requeued on "
                  "pre-emption) and a dependent merge job; submit with DIR/submit.sh (--out: the merged results)");
  sub->add_option("--shards", c->slurm.shards, "--emit-slurm: number of shards N (0 = min(points, 64))")
      ->capture_default_str();
  sub->add_option("--array-parallelism", c->slurm.parallelism, "--emit-slurm: at most P array tasks at once (0 = no limit)")
      ->capture_default_str();
  sub->add_option("--time", c->slurm.time, "--emit-slurm: time limit of each task")->capture_default_str();
  sub->add_option("--partition", c->slurm.partition, "--emit-slurm: partition (default: the cluster's)");
  sub->add_option("--cpus-per-task", c->slurm.cpus_per_task, "--emit-slurm: CPUs (threads) per shard")
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
    if (!c->shard.empty()) cmd += " --shard " + c->shard;
    if (c->mpi) cmd += " --mpi";
    if (c->split_seeds != 0) cmd += " --split-seeds " + std::to_string(c->split_seeds);
    if (!c->emit_slurm.empty()) cmd += " --emit-slurm " + c->emit_slurm;
    return run_run(*c, cmd);
  });
}

}  // namespace mhclab::app
