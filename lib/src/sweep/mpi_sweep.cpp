// A sweep over MPI ranks: see mhclab/sweep/mpi_sweep.hpp.
#include "mhclab/sweep/mpi_sweep.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/run_manifest.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "sweep/sweep_detail.hpp"

#ifdef MHCLAB_HAVE_MPI
#include <mpi.h>
#endif

namespace mhclab {

namespace fs = std::filesystem;

std::vector<std::string> lost_tasks(const std::string& dir) {  // declared in sweep/mpi_sweep.hpp
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path in = fs::path(dir) / "inflight";
  if (!fs::is_directory(in, ec)) return out;
  std::vector<fs::path> files;
  for (const fs::directory_entry& f : fs::directory_iterator(in, ec))
    if (f.path().extension() == ".json") files.push_back(f.path());
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    try {
      const nlohmann::json j = nlohmann::json::parse(read_file_bytes(f.string()));
      out.push_back("point " + j.at("task").get<std::string>() + " (rank " + std::to_string(j.at("rank").get<int>()) +
                    " on host " + j.at("host").get<std::string>() + ", since " + j.at("since").get<std::string>() + ")");
    } catch (const std::exception&) {
      out.push_back("point " + f.stem().string() + " (unreadable record)");
    }
  }
  return out;
}

#ifndef MHCLAB_HAVE_MPI

bool mpi_available() { return false; }

SweepSummary run_sweep_mpi(const Experiment&, const std::vector<SweepPoint>&, const SweepOptions&, long) {
  throw InputError("--mpi: this mhclab was built without MPI (apt-get install libopenmpi-dev openmpi-bin, then "
                   "configure and build again)");
}

#else

bool mpi_available() { return true; }

namespace {

using J = nlohmann::ordered_json;

enum Tag : int { kReady = 1, kTask = 2 };

/// One unit of work: a whole point (part = -1) or seeds [first, first + count) of it as part `part`.
struct Task {
  std::size_t point = 0;
  long part = -1;
  long parts = 1;
  long first = 0, count = 0;
  double cost = 0;
  [[nodiscard]] std::string name(const std::vector<SweepPoint>& points) const {
    return points[point].id + (part < 0 ? std::string() : ".part" + std::to_string(part));
  }
};

void send_text(const std::string& s, int dest, int tag) {
  MPI_Send(s.data(), static_cast<int>(s.size()), MPI_CHAR, dest, tag, MPI_COMM_WORLD);
}

std::string recv_text(int source, int tag, MPI_Status* status) {
  MPI_Status probe;
  MPI_Probe(source, tag, MPI_COMM_WORLD, &probe);
  int size = 0;
  MPI_Get_count(&probe, MPI_CHAR, &size);
  std::string s(static_cast<std::size_t>(size), '\0');
  MPI_Recv(s.data(), size, MPI_CHAR, probe.MPI_SOURCE, probe.MPI_TAG, MPI_COMM_WORLD, status);
  return s;
}

/// Whether every rank got past a collective step; the first rank's message otherwise (so all ranks throw it).
void agree(const std::string& local_error, int rank) {
  int bad = local_error.empty() ? 0 : 1, any = 0;
  MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any == 0) return;
  int who = bad ? rank : 1 << 30, first = 0;
  MPI_Allreduce(&who, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  std::string msg = local_error;
  int len = static_cast<int>(msg.size());
  MPI_Bcast(&len, 1, MPI_INT, first, MPI_COMM_WORLD);
  msg.resize(static_cast<std::size_t>(len));
  MPI_Bcast(msg.data(), len, MPI_CHAR, first, MPI_COMM_WORLD);
  throw InputError(msg);
}

/// The tasks of the points not yet done, largest estimated cost first (ties: grid order, then part).
std::vector<Task> make_tasks(const Experiment& e, const std::vector<SweepPoint>& points, const fs::path& dir,
                             const SweepOptions& o, long split) {
  std::vector<Task> tasks;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const SweepPoint& p = points[i];
    if (o.resume && detail::point_done(dir, p)) continue;
    const double cost = point_cost(e, p);
    const ConfigValue* s = p.find("seeds");
    const ConfigValue* agg = p.find("aggregate");
    const long seeds = s ? std::stol(s->text) : 1;
    const bool splittable = split > 0 && seeds > split && !(agg && agg->text == "true");
    if (!splittable) {
      tasks.push_back({i, -1, 1, 0, seeds, cost});
      continue;
    }
    const long parts = (seeds + split - 1) / split;
    for (long k = 0; k < parts; ++k) {
      const long first = k * split, count = std::min(split, seeds - first);
      tasks.push_back({i, k, parts, first, count, cost * static_cast<double>(count) / static_cast<double>(seeds)});
    }
  }
  std::stable_sort(tasks.begin(), tasks.end(), [](const Task& a, const Task& b) { return a.cost > b.cost; });
  return tasks;
}

/// Runs one task on this rank and writes its files (a part: points/<id>.part<k>.{csv,seconds,done}).
void run_task(const Experiment& e, const std::vector<SweepPoint>& points, const Task& t, const fs::path& dir,
              int threads) {
  const SweepPoint& p = points[t.point];
  const auto t0 = std::chrono::steady_clock::now();
  const std::unique_ptr<KindRequest> r = detail::point_request(e, p);
  r->options().set("threads", std::to_string(threads));
  if (t.part >= 0) {
    r->options().set("seeds", std::to_string(t.count));
    r->options().set("seed", std::to_string(p.seed + static_cast<std::uint64_t>(t.first)));
  }
  // A part: points/<id>.part<k>.*, joined by rank 0.
  const std::string record = detail::write_point_rows(dir, t.name(points), [&](const ByteSink& sink) { r->write_csv(sink); });
  detail::finish_point(dir, t.name(points), record,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

/// Joins the parts of a split point into its file: the header once, then every part's rows in seed order; the
/// seconds are summed. Streams part by part.
void join_parts(const std::vector<SweepPoint>& points, const Task& t, const fs::path& dir) {
  const SweepPoint& p = points[t.point];
  double secs = 0;
  const std::string record = detail::write_point_rows(dir, p.id, [&](const ByteSink& sink) {
    for (long k = 0; k < t.parts; ++k) {
      const fs::path base = dir / "points" / (p.id + ".part" + std::to_string(k));
      const std::string text = read_file_bytes(base.string() + ".csv");
      std::string_view rows = text;
      if (k > 0) {
        const std::size_t nl = rows.find('\n');
        rows.remove_prefix(nl == std::string_view::npos ? rows.size() : nl + 1);
      }
      sink(rows);
      secs += std::stod(read_file_bytes(base.string() + ".seconds"));
    }
  });
  detail::finish_point(dir, p.id, record, secs);
  for (long k = 0; k < t.parts; ++k) {
    std::error_code ec;
    const fs::path base = dir / "points" / (p.id + ".part" + std::to_string(k));
    for (const char* ext : {".csv", ".seconds", ".done"}) fs::remove(base.string() + ext, ec);
  }
}

SweepSummary coordinate(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& o, long split,
                        int size, const std::vector<std::string>& hosts) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  const fs::path dir(o.out_dir);
  std::unique_ptr<detail::DirLock> lock;
  std::vector<Task> tasks;
  std::string error;
  try {
    {
      std::error_code ec;
      if (fs::is_directory(dir, ec)) detail::DirLock probe(dir);
    }
    detail::prepare_dir(dir, detail::grid_record(e, points), o);
    lock = std::make_unique<detail::DirLock>(dir, true);
    detail::remove_stale_temporaries(dir);
    for (const std::string& lost : lost_tasks(dir.string()))
      std::fprintf(stderr, "mhclab run: lost by an earlier run, running again: %s\n", lost.c_str());
    std::error_code ec;
    fs::remove_all(dir / "inflight", ec);
    fs::create_directories(dir / "inflight");
    write_file_atomically((dir / "experiment.toml").string(), read_file_bytes(e.file));
    tasks = make_tasks(e, points, dir, o, split);
  } catch (const std::exception& ex) {
    error = ex.what();
  }
  agree(error, 0);
  std::vector<long> parts_left(points.size(), 0);
  for (const Task& t : tasks)
    if (t.part >= 0) parts_left[t.point] = t.parts;
  // The queue, shared by this rank's own worker thread (rank 0 computes too) and the dispatch loop that serves the
  // other ranks; only the dispatch loop (this thread) calls MPI (MPI_THREAD_FUNNELED).
  std::mutex mu;
  std::vector<int> task_of_rank(static_cast<std::size_t>(size), -1);
  std::size_t next = 0, ran_points = 0;
  std::string failure;
  const auto take = [&](int w) -> int {  // the next task for rank w, or -1 (under mu)
    if (!failure.empty() || next >= tasks.size()) return -1;
    if (o.stop != nullptr && o.stop->load()) return -1;  // pre-empted: no new task; the running ones finish
    const Task& t = tasks[next];
    J rec;
    rec["task"] = t.name(points);
    rec["rank"] = w;
    rec["host"] = hosts[static_cast<std::size_t>(w)];
    rec["since"] = utc_now();
    write_file_atomically((dir / "inflight" / (t.name(points) + ".json")).string(), rec.dump() + "\n");
    task_of_rank[static_cast<std::size_t>(w)] = static_cast<int>(next);
    return static_cast<int>(next++);
  };
  const auto finish = [&](int w, const std::string& error) {  // rank w's task ended (under mu)
    const int k = task_of_rank[static_cast<std::size_t>(w)];
    if (k < 0) return;
    const Task& t = tasks[static_cast<std::size_t>(k)];
    std::error_code ec;
    fs::remove(dir / "inflight" / (t.name(points) + ".json"), ec);
    task_of_rank[static_cast<std::size_t>(w)] = -1;
    if (!error.empty()) {
      if (failure.empty()) failure = error;
      return;
    }
    if (t.part >= 0 && --parts_left[t.point] != 0) return;
    try {
      if (t.part >= 0) join_parts(points, t, dir);
      ++ran_points;
    } catch (const std::exception& ex) {
      if (failure.empty()) failure = "point " + points[t.point].id + ": joining its parts: " + ex.what();
    }
  };
  std::thread local([&] {
    while (true) {
      int k = -1;
      {
        const std::lock_guard<std::mutex> lock(mu);
        k = take(0);
      }
      if (k < 0) return;
      std::string error;
      try {
        run_task(e, points, tasks[static_cast<std::size_t>(k)], dir, o.threads);
      } catch (const std::exception& ex) {
        const Task& t = tasks[static_cast<std::size_t>(k)];
        error = "point " + points[t.point].id + " (" + points[t.point].describe(axis_keys(e)) + ") on rank 0: " + ex.what();
      }
      const std::lock_guard<std::mutex> lock(mu);
      finish(0, error);
    }
  });
  int active = size - 1;
  while (active > 0) {
    // Poll (not a blocking receive, which Open MPI spins on) so the local worker keeps its core.
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(MPI_ANY_SOURCE, kReady, MPI_COMM_WORLD, &flag, &st);
    if (!flag) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      continue;
    }
    const std::string msg = recv_text(st.MPI_SOURCE, kReady, &st);
    const int w = st.MPI_SOURCE;
    int k = -1;
    {
      const std::lock_guard<std::mutex> lock(mu);
      finish(w, msg);
      k = take(w);
    }
    if (k >= 0) {
      const Task& t = tasks[static_cast<std::size_t>(k)];
      send_text(std::to_string(t.point) + " " + std::to_string(t.part) + " " + std::to_string(t.parts) + " " +
                    std::to_string(t.first) + " " + std::to_string(t.count),
                w, kTask);
    } else {
      send_text("stop", w, kTask);
      --active;
    }
  }
  local.join();
  if (!failure.empty()) throw ComputeError(failure);
  std::error_code ec;
  fs::remove_all(dir / "inflight", ec);
  SweepSummary s;
  s.points = points.size();
  s.ran = ran_points;
  if (next < tasks.size()) {
    // Pre-empted (SweepOptions::stop): every task handed out has finished and is on disk; the rest were never
    // started. Nothing is merged; --resume (with or without MPI) continues. The parts of a split point that was not
    // completed are removed when that run starts (remove_stale_temporaries) and run again.
    std::vector<bool> todo(points.size(), false);
    for (const Task& t : tasks) todo[t.point] = true;
    s.reused = s.points - static_cast<std::size_t>(std::count(todo.begin(), todo.end(), true));
    s.interrupted = true;
    return s;
  }
  s.reused = s.points - s.ran;
  J ranks = J::array();
  for (int r = 0; r < size; ++r) ranks.push_back(J{{"rank", r}, {"host", hosts[static_cast<std::size_t>(r)]}});
  detail::finish_sweep(e, points, dir, o, s, started, t0,
                       {{"mpi", J{{"ranks", size}, {"split_seeds", split}, {"hosts", ranks}}.dump()}});
  return s;
}

SweepSummary work(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& o, int rank) {
  agree("", rank);  // rank 0 prepared the directory (or every rank throws its message)
  const fs::path dir(o.out_dir);
  SweepSummary s;
  s.rank = rank;
  std::string my_error;
  while (true) {
    send_text(my_error, 0, kReady);  // ready for a task; non-empty: the last task failed with this message
    my_error.clear();
    MPI_Status st;
    const std::string reply = recv_text(0, kTask, &st);
    if (reply == "stop") break;
    Task t;
    if (std::sscanf(reply.c_str(), "%zu %ld %ld %ld %ld", &t.point, &t.part, &t.parts, &t.first, &t.count) != 5 ||
        t.point >= points.size()) {
      my_error = "rank " + std::to_string(rank) + ": a task message it cannot read: '" + reply + "'";
      continue;
    }
    try {
      run_task(e, points, t, dir, o.threads);
      ++s.ran;
      if (o.fail_after >= 0 && s.ran >= static_cast<std::size_t>(o.fail_after)) {
        std::fprintf(stderr, "mhclab run: MHCLAB_FAIL_AFTER=%ld: rank %d aborting after %zu task(s)\n", o.fail_after,
                     rank, s.ran);
        std::fflush(stderr);
        std::_Exit(75);
      }
    } catch (const std::exception& ex) {
      my_error = "point " + points[t.point].id + " (" + points[t.point].describe(axis_keys(e)) + ") on rank " +
                 std::to_string(rank) + ": " + ex.what();
    }
  }
  return s;
}

}  // namespace

SweepSummary run_sweep_mpi(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& o,
                           long split_seeds) {
  if (split_seeds < 0)
    throw InputError("split-seeds = " + std::to_string(split_seeds) + "; must be ≥ 0 (0 = never split a point)");
  if (o.shard) throw InputError("--mpi and --shard are exclusive (the ranks share out the whole grid)");
  if (o.out_dir.empty()) throw InputError("run: no output directory");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  struct Finalize {
    bool on;
    ~Finalize() {
      if (on) MPI_Finalize();
    }
  } finalize{initialized == 0};
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size == 1) return run_sweep(e, points, o);
  // Every rank's host, for the manifest and the in-flight records.
  char host[256] = {};
  const std::string me = detail::host_name();
  std::snprintf(host, sizeof host, "%s", me.c_str());
  std::vector<char> all(static_cast<std::size_t>(size) * sizeof host);
  MPI_Gather(host, sizeof host, MPI_CHAR, all.data(), sizeof host, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank != 0) return work(e, points, o, rank);
  std::vector<std::string> hosts;
  for (int r = 0; r < size; ++r) hosts.emplace_back(all.data() + static_cast<std::size_t>(r) * sizeof host);
  return coordinate(e, points, o, split_seeds, size, hosts);
}

#endif

}  // namespace mhclab
