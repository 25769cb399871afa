// Slurm job arrays for a sweep: see mhclab/sweep/slurm.hpp.
#include "mhclab/sweep/slurm.hpp"

#include <algorithm>
#include <filesystem>

#include "mhclab/core/build_info.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

namespace fs = std::filesystem;

namespace {
/// A shell word: single-quoted, with ' written as '\''.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string absolute(const std::string& p) { return fs::absolute(fs::path(p)).lexically_normal().string(); }

std::string self_exe() {
  std::error_code ec;
  const fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("mhclab") : p.string();
}

/// A value for an #SBATCH line: no spaces, quotes or line breaks (Slurm does not unquote them).
void check_word(const std::string& key, const std::string& v) {
  if (v.find_first_of(" \t\n\r'\"") != std::string::npos)
    throw InputError(key + " = '" + v + "'; expected a single word (no blanks or quotes)");
}
}  // namespace

void SlurmOptions::validate() const {
  if (dir.empty()) throw InputError("emit-slurm: a directory is required");
  if (cpus_per_task < 1) throw InputError("cpus-per-task = " + std::to_string(cpus_per_task) + "; must be ≥ 1");
  if (signal_seconds < 1) throw InputError("signal-seconds = " + std::to_string(signal_seconds) + "; must be ≥ 1");
  check_word("time", time);
  check_word("partition", partition);
  if (time.empty()) throw InputError("time is empty; expected a Slurm time limit such as 01:00:00");
}

SlurmScripts slurm_scripts(const Experiment& e, const std::vector<SweepPoint>& points,
                           const std::string& experiment_path, const SlurmOptions& o) {
  o.validate();
  SlurmScripts s;
  s.shards = o.shards > 0 ? o.shards : std::min<std::size_t>(points.size(), 64);
  if (s.shards > points.size())
    throw InputError("shards = " + std::to_string(s.shards) + "; the grid has only " + std::to_string(points.size()) +
                     " point(s)");
  const std::string dir = absolute(o.dir);
  const std::string out = o.out.empty() ? dir + "/merged" : absolute(o.out);
  const std::string exe = o.mhclab.empty() ? self_exe() : absolute(o.mhclab);
  const std::string exp = absolute(experiment_path);
  const std::string N = std::to_string(s.shards);
  const BuildInfo b = build_info();
  const std::string origin = "# Written by mhclab " + b.version + " (" + b.commit + ") for experiment " + e.name + " (" +
                             exp + "): " + std::to_string(points.size()) + " point(s) in " + N + " shard(s).\n";
  std::string head = "#SBATCH --time=" + o.time + "\n";
  if (!o.partition.empty()) head += "#SBATCH --partition=" + o.partition + "\n";

  s.array = "#!/bin/bash\n#SBATCH --job-name=mhclab-" + e.name + "\n#SBATCH --array=0-" + std::to_string(s.shards - 1) +
            (o.parallelism > 0 ? "%" + std::to_string(o.parallelism) : std::string()) + "\n#SBATCH --cpus-per-task=" +
            std::to_string(o.cpus_per_task) + "\n" + head + "#SBATCH --output=" + dir +
            "/logs/shard_%a.log\n#SBATCH --open-mode=append\n#SBATCH --requeue\n#SBATCH --signal=B:USR1@" +
            std::to_string(o.signal_seconds) + "\n" + origin +
            "# One shard per array task; --resume makes a requeued or resubmitted task run only its missing points.\n"
            "set -u\n"
            "k=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is an array task}\n"
            "echo \"mhclab shard $k/" + N + " on $(hostname) at $(date -u +%FT%TZ) (job ${SLURM_JOB_ID:-?})\"\n" +
            quoted(exe) + " run " + quoted(exp) + " --shard \"$k/" + N + "\" --out " + quoted(dir + "/shard_") +
            "\"$k\" --resume --threads \"${SLURM_CPUS_PER_TASK:-1}\" --quiet &\n"
            "child=$!\n"
            "# Pre-emption: pass the signal on; mhclab finishes the running points and exits 75.\n"
            "trap 'kill -USR1 \"$child\" 2>/dev/null' USR1 TERM\n"
            "while :; do\n"
            "  wait \"$child\"; rc=$?\n"
            "  kill -0 \"$child\" 2>/dev/null || break\n"
            "done\n"
            "wait \"$child\" 2>/dev/null; last=$?; [ \"$last\" -ne 127 ] && rc=$last\n"
            "# 75: mhclab stopped after its running points; 138/143: killed by USR1/TERM before it could catch them (at\n"
            "# start-up). Either way every finished point is on disk and nothing is half-written: requeue and resume.\n"
            "if [ \"$rc\" -eq 75 ] || [ \"$rc\" -eq 138 ] || [ \"$rc\" -eq 143 ]; then\n"
            "  echo \"mhclab shard $k/" + N + ": interrupted; requeueing (the next start resumes)\"\n"
            "  scontrol requeue \"${SLURM_ARRAY_JOB_ID}_${k}\" && exit 0\n"
            "fi\n"
            "exit \"$rc\"\n";

  std::string dirs;
  for (std::size_t k = 0; k < s.shards; ++k) dirs += " " + quoted(dir + "/shard_" + std::to_string(k));
  s.merge = "#!/bin/bash\n#SBATCH --job-name=mhclab-" + e.name + "-merge\n#SBATCH --cpus-per-task=1\n" + head +
            "#SBATCH --output=" + dir + "/logs/merge.log\n" + origin + "set -eu\n" + quoted(exe) + " merge" + dirs +
            " --out " + quoted(out) + " --force\n";

  s.submit = "#!/bin/bash\n" + origin +
             "# Submits the shards as one array job and the merge as a job that starts when every shard succeeded.\n"
             "set -euo pipefail\n"
             "cd " + quoted(dir) + "\n"
             "array=$(sbatch --parsable shards.sbatch)\n"
             "array=${array%%;*}\n"
             "merge=$(sbatch --parsable --dependency=afterok:\"$array\" merge.sbatch)\n"
             "merge=${merge%%;*}\n"
             "echo \"shards: job $array (array 0-" + std::to_string(s.shards - 1) + "), merge: job $merge -> " + out +
             "\"\n"
             "echo \"$array $merge\" > jobs.txt\n";
  return s;
}

void write_slurm_scripts(const SlurmScripts& s, const SlurmOptions& o) {
  const fs::path dir(o.dir);
  std::error_code ec;
  fs::create_directories(dir / "logs", ec);
  if (ec) throw InputError("emit-slurm: cannot create " + (dir / "logs").string() + ": " + ec.message());
  write_file_atomically((dir / "shards.sbatch").string(), s.array);
  write_file_atomically((dir / "merge.sbatch").string(), s.merge);
  write_file_atomically((dir / "submit.sh").string(), s.submit);
  fs::permissions(dir / "submit.sh", fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                  fs::perm_options::add, ec);
}

}  // namespace mhclab
