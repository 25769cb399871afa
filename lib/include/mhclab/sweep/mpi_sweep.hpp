#pragma once
// A sweep over MPI ranks (CLI.md `mpirun -np K mhclab run FILE --mpi --out DIR`): every rank calls run_sweep_mpi with
// the same experiment and options. With K = 1 it is run_sweep. With K ≥ 2:
//   rank 0    prepares DIR (lock, sweep.json, --resume checks) and hands out tasks dynamically, largest estimated cost
//             first (sweep/shard.hpp point_cost; ties in grid order) — to the other ranks and to a worker thread of
//             its own, so K ranks compute on K processes; it polls for requests (MPI_Iprobe every 2 ms) rather than
//             spinning in a blocking receive. When all are done it merges rows.csv, aggregates.csv, figures and the
//             manifest (ranks and their hosts) exactly as run_sweep does;
//   rank ≥ 1  asks for a task, runs it with the kind's own threads (SweepOptions::threads; results never depend on
//             them), writes the point files into DIR (a directory all ranks see), reports back, asks again.
// A task is a whole point, or — with split_seeds = S > 0, for a point of more than S seeds — a range of at most S of
// its seeds (`seeds` and `seed` of the range): the parts are written as points/<id>.part<k>.csv and joined by rank 0
// into the point's file (header once, rows in seed order), which is the point's single-process output byte for byte
// because every kind's rows are per seed, in seed order, each seed a pure function of its index. Points whose rows
// are not per seed (depth with aggregate) are never split.
// Losses: rank 0 records each task it hands out (inflight/<task>.json: rank, host, time) and removes the record when
// the task reports done. If a rank dies, mpirun ends the job; the next `--resume` run (with or without MPI) names the
// points of the leftover records as lost and runs them again (finished points are kept).
// Pre-emption: when SweepOptions::stop is set on rank 0 (`mhclab run` sets it on SIGTERM/SIGUSR1/SIGINT; mpirun
// forwards SIGUSR1 to the ranks, and Slurm signals every task), rank 0 hands out no new task, the running ones finish
// and are written, every rank returns, and rank 0's summary says `interrupted` (nothing merged); `--resume` continues.
// Requires a build with MPI (MHCLAB_HAVE_MPI; Debian: libopenmpi-dev); mpi_available() says whether this one has it.
#include <vector>

#include "mhclab/sweep/sweep.hpp"

namespace mhclab {

/// True when this build can run sweeps over MPI.
[[nodiscard]] bool mpi_available();

/// Runs the sweep over the ranks of MPI_COMM_WORLD (initialising and finalising MPI when the caller has not). Every
/// rank returns the summary (rank ≥ 1: the points it ran). InputError as run_sweep (on every rank), and for
/// split_seeds < 0; ComputeError naming the point when a task fails on any rank.
SweepSummary run_sweep_mpi(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& options,
                           long split_seeds = 0);

/// The leftover in-flight records of DIR (a run that lost ranks): one line per task, "point <id> (rank r on host h,
/// since t)". Empty when none.
[[nodiscard]] std::vector<std::string> lost_tasks(const std::string& dir);

}  // namespace mhclab
