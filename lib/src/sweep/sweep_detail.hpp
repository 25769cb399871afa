#pragma once
// The sweep runner's parts shared by its drivers (sweep.cpp: one process and shards; mpi_sweep.cpp: MPI ranks).
// Private to the library.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/io/atomic_file.hpp"
#include "mhclab/kinds/kind_registry.hpp"
#include "mhclab/sweep/sweep.hpp"

namespace mhclab::detail {

namespace fs = std::filesystem;

/// The kind's request for point `p`: its configuration set by name, its seed, one thread (points run in parallel;
/// a caller may set "threads", "seeds" and "seed" again).
[[nodiscard]] std::unique_ptr<KindRequest> point_request(const Experiment& e, const SweepPoint& p);
/// The grid record (sweep.json's text; the resume fingerprint).
[[nodiscard]] std::string grid_record(const Experiment& e, const std::vector<SweepPoint>& points);
/// Creates, resumes (same grid only) or replaces (force, our directories only) a results directory.
void prepare_dir(const fs::path& dir, const std::string& grid_text, const SweepOptions& o);
/// Removes the temporaries of killed writers and the seed-range parts of split points (points/<id>.part<k>.*) left by
/// an interrupted MPI run: parts are joined within one run and never reused (call while holding the directory's lock).
void remove_stale_temporaries(const fs::path& dir);
/// True when points/<id>.csv matches its .done record (else it runs again).
[[nodiscard]] bool point_done(const fs::path& dir, const SweepPoint& p);
/// points/<name>.csv from what `produce` hands to its sink, streamed (atomically); returns its .done record.
[[nodiscard]] std::string write_point_rows(const fs::path& dir, const std::string& name,
                                           const std::function<void(const ByteSink&)>& produce);
/// points/<name>.seconds, then points/<name>.done holding `record` (what makes the point count), each atomically.
void finish_point(const fs::path& dir, const std::string& name, const std::string& record, double seconds);
/// "bytes=N fnv1a64=H" of the chunks (a .done record).
[[nodiscard]] std::string point_record(const std::vector<std::string>& chunks);
[[nodiscard]] std::string host_name();

/// After the points ran: rows.csv, aggregates.csv, timings.csv, figures and manifest.json (with `extra` fields, e.g.
/// the MPI ranks); fills the rows/figures fields of `s`.
void finish_sweep(const Experiment& e, const std::vector<SweepPoint>& points, const fs::path& dir, const SweepOptions& o,
                  SweepSummary& s, const std::string& started, std::chrono::steady_clock::time_point t0,
                  const std::vector<std::pair<std::string, std::string>>& extra);

/// An exclusive lock on a results directory (flock on the directory itself) for as long as a run writes into it,
/// so two runs into one directory cannot interleave their files. The kernel releases it when the owner dies; the
/// owner's record (lock.json: pid, host, start; with `record`) is for the message a second run gets, and is removed
/// at the end. InputError when another run holds it.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir, bool record = false);
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

 private:
  fs::path record_;
  int fd_ = -1;
};

}  // namespace mhclab::detail
