#pragma once
// Running an experiment (CLI.md `mhclab run`): grid points on all cores, one result file per point, then the
// merged tidy rows, aggregates over seeds, timings, figures and the manifest.
//
// Output directory:
//   sweep.json            the resolved grid (written first; `--resume` refuses a directory whose grid differs)
//   points/<id>.csv       one point's rows, streamed into a temporary file as they are computed and renamed
//                         when the point finishes (atomically; resume unit)
//   points/<id>.seconds   its wall time (computing and writing its rows)
//   points/<id>.done      "bytes=N fnv1a64=H" of points/<id>.csv, written last: `--resume` reuses a point only when
//                         its rows match this record (a truncated or edited file is run again)
//   rows.csv              point_id, the configuration columns, then the kind's columns (union over points;
//                         a column a point does not have is empty) — points in grid order; a list value
//                         such as steps = [5, 20] is written "5;20" so the cell holds no ','.
//   aggregates.csv        rows aggregated over seeds (sweep/aggregate.hpp)
//   timings.csv           point_id, configuration, seconds (wall time; the only output that varies run to run)
//   figures/<plot>.{png,svg,gp,dat}   the experiment's [[plot]] tables (plot/gnuplot.hpp)
//   index.md              the figures with their titles (for results/README.md)
//   experiment.toml       a copy of the experiment file
//   manifest.json         version, commit, build flags, resolved config, points and seeds, threads, wall time
// A run holds an exclusive lock on the directory (flock; its owner in lock.json while it runs) while it writes, so a
// second run into it is refused; temporary
// files of killed writers (*.tmp.*) are removed when a run starts.
// Determinism: every point is a pure function of its configuration and seed and runs single-threaded; rows.csv
// and aggregates.csv are byte-identical for any thread count, and after an interruption + `--resume`.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <optional>

#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"
#include "mhclab/sweep/shard.hpp"

namespace mhclab {

struct SweepOptions {
  std::string out_dir;        ///< required
  int threads = 0;            ///< workers over points (0 = all cores)
  bool resume = false;        ///< keep finished points of an interrupted run of the same grid
  bool force = false;         ///< delete an existing results directory first
  bool progress = false;      ///< progress bar on stderr (the caller decides: a terminal and not --quiet)
  long fail_after = -1;       ///< fault injection: _Exit after this many points finished (≥ 0)
  std::string command_line;   ///< recorded in the manifest
  /// Run only this shard's points (sweep/shard.hpp) into out_dir: sweep.json (the whole grid), shard.json (which
  /// shard, its points, the grid's hash, version, host, times), experiment.toml, points/ and manifest.json; rows,
  /// aggregates and figures are made by merge_shards from all shards.
  std::optional<ShardSpec> shard;
  /// Pre-emption: when the caller sets this flag (e.g. from a SIGTERM/SIGUSR1 handler), no new point starts; the
  /// points running finish and are written, and run_sweep returns with `interrupted` (nothing merged). A later
  /// --resume run continues from there.
  const std::atomic<bool>* stop = nullptr;
};

struct SweepSummary {
  std::size_t points = 0, ran = 0, reused = 0;
  std::size_t rows = 0, aggregate_rows = 0;
  std::vector<std::string> figures;   ///< rendered figure files
  std::string plot_message;           ///< why figures were not rendered, if any
  double wall_seconds = 0;
  int rank = 0;                       ///< the MPI rank that returned it (run_sweep_mpi), else 0
  bool interrupted = false;           ///< SweepOptions::stop was set: some points did not run, nothing was merged
};

struct MergeOptions {
  std::vector<std::string> shard_dirs;  ///< the directories of `run --shard k/N`, any order
  std::string out_dir;                  ///< required; created (or replaced with force, as run's --force)
  bool force = false;
  std::string command_line;             ///< recorded in the manifest
};

/// Merges the shards of one grid into out_dir: rows.csv and aggregates.csv byte-identical to a single-process run of
/// the same experiment (timings.csv, figures, index.md and manifest.json as well; the manifest lists the shards, their
/// hosts and times). Refuses (InputError naming them) directories of different grids or mhclab versions, a shard
/// given twice, and points that no shard finished or that several shards hold. Streams: one point's rows in memory.
SweepSummary merge_shards(const MergeOptions& options);

/// Checks keys against the kind's options (kinds/kind_registry.hpp; file:line messages) and every point (the kind's
/// own validation, located to the key's line).
[[nodiscard]] std::vector<SweepPoint> resolve_sweep(const Experiment& e);

/// The resolved grid as text for --dry-run: one line per point (index, id, seed, configuration).
[[nodiscard]] std::string describe_sweep(const Experiment& e, const std::vector<SweepPoint>& points);

/// Runs the points and writes the outputs listed above. InputError for a directory that exists without
/// --force/--resume, or whose grid differs on --resume.
/// Each point runs the kind's library function (make_kind_request: the point's configuration set by name, its
/// seed, one thread).
SweepSummary run_sweep(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& options);

}  // namespace mhclab
