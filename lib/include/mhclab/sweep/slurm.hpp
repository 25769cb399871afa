#pragma once
// Slurm job arrays for a sweep (CLI.md `mhclab run FILE --emit-slurm DIR [...]`): the scripts that run the N shards of
// sweep/shard.hpp as one array job and merge them in a dependent job, written into DIR:
//   shards.sbatch   #SBATCH --array=0-(N−1)[%P]: task k runs `mhclab run FILE --shard k/N --out DIR/shard_k --resume`
//                   with --threads = its CPUs. Pre-emption: `--signal=B:USR1@S` asks Slurm to signal the batch shell S
//                   seconds before the time limit (scancel --signal=USR1 --batch or a pre-empting scheduler do the
//                   same); the shell passes it on, mhclab lets the running points finish, writes them, and exits 75;
//                   the task then requeues itself (`scontrol requeue`, --requeue) and its next start resumes: nothing
//                   half-written remains (every file is written atomically) and finished points are kept.
//   merge.sbatch    `mhclab merge DIR/shard_0 … --out OUT --force`, submitted with --dependency=afterok on the array.
//   submit.sh       submits both (sbatch --parsable) and prints the job ids.
// Logs go to DIR/logs/. Paths in the scripts are absolute (jobs start in another directory) and single-quoted.
#include <cstddef>
#include <string>
#include <vector>

#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"

namespace mhclab {

struct SlurmOptions {
  std::string dir;                 ///< where the scripts, shard directories and logs go (required)
  std::string out;                 ///< the merged results (default DIR/merged)
  std::string mhclab;              ///< the binary the jobs run (default: this process's executable)
  std::size_t shards = 0;          ///< N array tasks; 0 = min(points, 64)
  std::size_t parallelism = 0;     ///< at most P tasks at once (%P); 0 = no limit
  std::string time = "01:00:00";   ///< --time of each task (and of the merge)
  std::string partition;           ///< --partition; empty = the cluster's default
  int cpus_per_task = 1;           ///< --cpus-per-task (the shard's --threads)
  int signal_seconds = 120;        ///< --signal=B:USR1@S
  void validate() const;           ///< InputError naming the option
};

struct SlurmScripts {
  std::size_t shards = 0;  ///< N used
  std::string array, merge, submit;  ///< the three files' text
};

/// The scripts' text for `experiment_path` (made absolute) and its resolved grid.
[[nodiscard]] SlurmScripts slurm_scripts(const Experiment& e, const std::vector<SweepPoint>& points,
                                         const std::string& experiment_path, const SlurmOptions& options);

/// Writes DIR/shards.sbatch, DIR/merge.sbatch and DIR/submit.sh (executable) atomically, and creates DIR/logs.
void write_slurm_scripts(const SlurmScripts& scripts, const SlurmOptions& options);

}  // namespace mhclab
