// Running an experiment: see mhclab/sweep/sweep.hpp.
#include "mhclab/sweep/sweep.hpp"

#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <ostream>
#include <thread>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/hash.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/build_info.hpp"
#include "mhclab/core/run_manifest.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/kind_registry.hpp"
#include "mhclab/sweep/aggregate.hpp"
#include "mhclab/sweep/figures.hpp"
#include "mhclab/sweep/mpi_sweep.hpp"
#include "sweep/sweep_detail.hpp"

namespace mhclab {

namespace fs = std::filesystem;

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

/// True if `msg` names `word` as a whole word.
bool mentions(const std::string& msg, const std::string& word) {
  for (std::size_t p = msg.find(word); p != std::string::npos; p = msg.find(word, p + 1)) {
    const bool left = p == 0 || !is_word_char(msg[p - 1]) || word.front() == '-';
    const std::size_t e = p + word.size();
    const bool right = e >= msg.size() || !is_word_char(msg[e]);
    if (left && right) return true;
  }
  return false;
}

/// A configuration value as a CSV cell: list values ("5,20") are written with ';' ("5;20").
std::string cell_text(std::string text) {
  std::replace(text.begin(), text.end(), ',', ';');
  return text;
}

std::string snake(std::string key) {
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

/// The message of a failed point check, located at the key it names (file:line), else at the point. The axes'
/// keys (last in the configuration) are tried first: what varies is the likelier culprit.
std::string locate(const Experiment& e, const SweepPoint& p, const std::string& msg) {
  const std::string desc = "point " + p.id + " (" + p.describe(axis_keys(e)) + ")";
  for (auto it = p.config.rbegin(); it != p.config.rend(); ++it) {
    const ConfigValue& v = *it;
    if (mentions(msg, "--" + v.key) || mentions(msg, snake(v.key)) || mentions(msg, v.key))
      return e.where(v.line) + "key '" + v.key + "' = " + v.text + ", " + desc + ": " + msg;
  }
  return e.where(0) + desc + ": " + msg;
}

}  // namespace

namespace detail {

std::unique_ptr<KindRequest> point_request(const Experiment& e, const SweepPoint& p) {
  std::unique_ptr<KindRequest> r = make_kind_request(e.kind);
  for (const ConfigValue& v : p.config) r->options().set(v.key, v.text);
  r->options().set("seed", std::to_string(p.seed));
  r->options().set("threads", "1");
  return r;
}


nlohmann::ordered_json config_json(const std::vector<ConfigValue>& config) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const ConfigValue& v : config) j[v.key] = v.text;
  return j;
}

/// The resolved grid; its text is the resume fingerprint.
nlohmann::ordered_json grid_json(const Experiment& e, const std::vector<SweepPoint>& points) {
  nlohmann::ordered_json j;
  j["name"] = e.name;
  j["kind"] = e.kind;
  j["experiment_seed"] = e.seed;
  j["seed_keys"] = e.has_seed_keys ? nlohmann::ordered_json(e.seed_keys) : nlohmann::ordered_json("all");
  j["base"] = config_json(e.base);
  nlohmann::ordered_json axes = nlohmann::ordered_json::array();
  for (const SweepAxis& a : e.axes) {
    nlohmann::ordered_json ax;
    ax["keys"] = a.keys;
    nlohmann::ordered_json vals = nlohmann::ordered_json::array();
    for (const auto& setting : a.values) {
      nlohmann::ordered_json s = nlohmann::ordered_json::array();
      for (const ConfigValue& v : setting) s.push_back(v.text);
      vals.push_back(s);
    }
    ax["values"] = vals;
    axes.push_back(ax);
  }
  j["axes"] = axes;
  nlohmann::ordered_json ex = nlohmann::ordered_json::array();
  for (const ExcludeRule& r : e.excludes) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, texts] : r.match) m[k] = texts;
    ex.push_back(m);
  }
  j["exclude"] = ex;
  nlohmann::ordered_json pts = nlohmann::ordered_json::array();
  for (const SweepPoint& p : points) {
    nlohmann::ordered_json q;
    q["index"] = p.index;
    q["id"] = p.id;
    q["seed"] = p.seed;
    const ConfigValue* s = p.find("seeds");
    q["seeds"] = s ? std::stol(s->text) : 1L;
    q["config"] = config_json(p.config);
    pts.push_back(q);
  }
  j["points"] = pts;
  return j;
}

/// A results directory of ours (so --force may delete it): its sweep.json is the grid record run_sweep writes first
/// (an object naming the experiment, its kind and its points). Another tool's manifest.json or a stray sweep.json
/// does not qualify.
bool is_results_dir(const fs::path& d) {
  std::error_code ec;
  if (!fs::is_regular_file(d / "sweep.json", ec)) return false;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file_bytes((d / "sweep.json").string()));
    return j.is_object() && j.contains("name") && j.contains("kind") && j.contains("points") && j["points"].is_array();
  } catch (const std::exception&) {
    return false;
  }
}

void prepare_dir(const fs::path& dir, const std::string& grid_text, const SweepOptions& o) {
  const bool exists = fs::exists(dir);
  if (exists && !fs::is_directory(dir)) throw InputError("--out " + dir.string() + " exists and is not a directory");
  const bool empty = !exists || fs::is_empty(dir);
  if (!empty) {
    if (o.resume) {
      if (!fs::exists(dir / "sweep.json"))
        throw InputError("--resume: " + dir.string() + " holds no sweep.json; it is not an interrupted run");
      if (read_file_bytes((dir / "sweep.json").string()) != grid_text)
        throw InputError("--resume: " + dir.string() +
                         " was started with a different grid (experiment or mhclab changed); use --force to start over");
    } else if (o.force) {
      if (!is_results_dir(dir))
        throw InputError("--force: " + dir.string() + " does not look like an mhclab results directory "
                         "(no sweep.json grid record of mhclab run); refusing to delete it");
      fs::remove_all(dir);
    } else {
      throw InputError("--out " + dir.string() + " already exists; use --force to overwrite or --resume to continue");
    }
  }
  fs::create_directories(dir / "points");
  write_file_atomically((dir / "sweep.json").string(), grid_text);
}

std::string grid_record(const Experiment& e, const std::vector<SweepPoint>& points) {
  return grid_json(e, points).dump(2) + "\n";
}

namespace {
/// The .done record of bytes handed over piece by piece.
class RecordHasher {
 public:
  void add(std::string_view piece) {
    bytes_ += piece.size();
    hash_ = fnv1a64(piece, hash_);
  }
  [[nodiscard]] std::string record() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "bytes=%llu fnv1a64=%016llx\n", static_cast<unsigned long long>(bytes_),
                  static_cast<unsigned long long>(hash_));
    return buf;
  }

 private:
  std::uint64_t hash_ = kFnv1a64Offset, bytes_ = 0;
};
}  // namespace

std::string write_point_rows(const fs::path& dir, const std::string& name,
                             const std::function<void(const ByteSink&)>& produce) {
  RecordHasher h;
  write_file_atomically_streamed((dir / "points" / (name + ".csv")).string(), [&](const ByteSink& file) {
    produce([&](std::string_view piece) {
      h.add(piece);
      file(piece);
    });
  });
  return h.record();
}

void finish_point(const fs::path& dir, const std::string& name, const std::string& record, double seconds) {
  write_file_atomically((dir / "points" / (name + ".seconds")).string(), format_double(seconds) + "\n");
  write_file_atomically((dir / "points" / (name + ".done")).string(), record);
}

}  // namespace detail

namespace {
using namespace detail;  // NOLINT: this file's own helpers

class Progress {
 public:
  Progress(bool on, std::size_t total, std::size_t done) : on_(on), total_(total), done_(done), start_done_(done) {}
  void tick() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    if (done_ < total_ && now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(now - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done_ - start_done_) / secs : 0.0;
    const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    const int width = 30;
    const int filled = static_cast<int>(width * static_cast<double>(done_) / static_cast<double>(total_));
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(static_cast<std::size_t>(width), '.');
    std::fprintf(stderr, "\r[%s] %zu/%zu points  %.2f points/s  ETA %02d:%02d ", bar.c_str(), done_, total_, rate,
                 static_cast<int>(eta) / 60, static_cast<int>(eta) % 60);
    if (done_ == total_) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool on_;
  std::size_t total_, done_, start_done_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now(), last_{};
};

}  // namespace

namespace detail {

/// A finished point's record, written after its rows: "bytes=N fnv1a64=H". A point counts as done on --resume only
/// when its rows file matches its record, so a truncated or edited points/<id>.csv is run again, not merged.
std::string point_record(const std::vector<std::string>& chunks) {
  RecordHasher h;
  for (const std::string& c : chunks) h.add(c);
  return h.record();
}

bool point_done(const fs::path& dir, const SweepPoint& p) {
  const fs::path csv = dir / "points" / (p.id + ".csv"), rec = dir / "points" / (p.id + ".done");
  if (!fs::exists(csv) || !fs::exists(rec) || !fs::exists(dir / "points" / (p.id + ".seconds"))) return false;
  // The record of the rows file, read in pieces (a large point is never held whole).
  RecordHasher h;
  {
    std::ifstream in(csv, std::ios::binary);
    std::string piece(std::size_t{1} << 20, '\0');
    while (in) {
      in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
      h.add(std::string_view(piece.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) return false;
  }
  if (h.record() == read_file_bytes(rec.string())) return true;
  std::fprintf(stderr, "mhclab run: point %s: points/%s.csv does not match its record (truncated or edited); running "
               "it again\n", p.id.c_str(), p.id.c_str());
  return false;
}

/// Temporary files of writers that were killed (io/atomic_file.hpp names them <file>.tmp.<pid>.<n>); removed while
/// the run holds the directory's lock, so no live writer owns them.
void remove_stale_temporaries(const fs::path& dir) {
  for (const fs::path& d : {dir, dir / "points"}) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    std::vector<fs::path> stale;
    for (const fs::directory_entry& f : fs::directory_iterator(d, ec))
      if (const std::string name = f.path().filename().string();
          name.find(".tmp.") != std::string::npos || (d != dir && name.find(".part") != std::string::npos))
        stale.push_back(f.path());
    for (const fs::path& f : stale) fs::remove(f, ec);
  }
}

}  // namespace detail

namespace {

struct PointsRun {
  std::size_t todo = 0;  ///< points of `mine` not done before the run
  std::size_t ran = 0;   ///< of those, the points that ran (fewer when stopped)
};

/// Runs the points of `mine` (grid indices) not yet done.
PointsRun run_points(const Experiment& e, const std::vector<SweepPoint>& points, const std::vector<std::size_t>& mine,
                       const fs::path& dir, const SweepOptions& o) {
  std::vector<const SweepPoint*> todo;
  for (const std::size_t i : mine)
    if (!o.resume || !point_done(dir, points[i])) todo.push_back(&points[i]);
  Progress progress(o.progress, mine.size(), mine.size() - todo.size());
  std::atomic<std::size_t> next{0}, finished{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    while (!stop && !(o.stop != nullptr && o.stop->load())) {
      const std::size_t k = next++;
      if (k >= todo.size()) return;
      const SweepPoint& p = *todo[k];
      try {
        const auto t0 = std::chrono::steady_clock::now();
        const std::unique_ptr<KindRequest> r = point_request(e, p);
        const std::string record = write_point_rows(dir, p.id, [&](const ByteSink& sink) { r->write_csv(sink); });
        finish_point(dir, p.id, record, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) {
          const std::string where = e.where(0) + "point " + p.id + " (" + p.describe(axis_keys(e)) + "): ";
          if (dynamic_cast<const InputError*>(&ex)) error = std::make_exception_ptr(InputError(where + ex.what()));
          else error = std::make_exception_ptr(ComputeError(where + ex.what()));
        }
        stop = true;
        return;
      }
      progress.tick();
      const std::size_t f = ++finished;
      if (o.fail_after >= 0 && f >= static_cast<std::size_t>(o.fail_after)) {
        std::fprintf(stderr, "\nmhclab run: MHCLAB_FAIL_AFTER=%ld: aborting after %zu point(s)\n", o.fail_after, f);
        std::fflush(stderr);
        std::_Exit(75);
      }
    }
  };
  if (o.fail_after == 0) {
    std::fprintf(stderr, "mhclab run: MHCLAB_FAIL_AFTER=0: aborting before the first point\n");
    std::_Exit(75);
  }
  const int t = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(resolve_threads(o.threads)),
                                                       std::max<std::size_t>(todo.size(), 1)));
  std::vector<std::thread> pool;
  for (int w = 1; w < t; ++w) pool.emplace_back(worker);
  worker();
  for (std::thread& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  return {todo.size(), finished.load()};
}

struct Merged {
  std::size_t rows = 0, aggregate_rows = 0;
};

/// The header line of a point file (without reading the rest).
std::vector<std::string> point_header(const fs::path& csv) {
  std::string first;
  {
    std::ifstream in(csv, std::ios::binary);
    if (!in) throw InputError(csv.string() + ": cannot read the point file");
    std::getline(in, first);
  }
  return parse_table(first + "\n", csv.string()).header;
}

/// rows.csv, aggregates.csv and timings.csv from the point files (`dir_of(p)`/points/<id>.csv), in grid order. One
/// point's table is in memory at a time: headers first (the union of columns), then rows, then aggregates.
Merged merge(const Experiment& e, const std::vector<SweepPoint>& points, const fs::path& dir,
             const std::function<fs::path(const SweepPoint&)>& dir_of) {
  const auto csv_of = [&](const SweepPoint& p) { return dir_of(p) / "points" / (p.id + ".csv"); };
  const auto table_of = [&](const SweepPoint& p) {
    const std::string path = csv_of(p).string();
    return parse_table(read_file_bytes(path), path);
  };
  // Configuration columns: the point's keys in snake_case (prefixed config_ if a verb column has that name).
  std::vector<std::string> columns;  // union of verb columns, first appearance
  for (const SweepPoint& p : points)
    for (const std::string& c : point_header(csv_of(p)))
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  std::vector<std::string> config_cols;
  for (const ConfigValue& v : points.front().config) {
    std::string c = snake(v.key);
    if (std::find(columns.begin(), columns.end(), c) != columns.end() || c == "point_id") c = "config_" + c;
    config_cols.push_back(c);
  }
  std::vector<std::string> head{"point_id"};
  head.insert(head.end(), config_cols.begin(), config_cols.end());
  std::vector<std::string> row_keys;
  for (const std::string& k : experiment_kind(e.kind).row_keys)
    if (std::find(columns.begin(), columns.end(), k) != columns.end()) row_keys.push_back(k);

  std::vector<std::string> metrics_seen;
  Merged m;
  const auto prefix = [](const SweepPoint& p) {
    std::string s = p.id;
    for (const ConfigValue& v : p.config) {
      s += ',';
      s += cell_text(v.text);
    }
    return s;
  };
  // rows.csv
  write_file_atomically((dir / "rows.csv").string(), [&](std::ostream& os) {
    std::vector<std::string> h = head;
    h.insert(h.end(), columns.begin(), columns.end());
    os << joined(h, ",") << '\n';
    for (const SweepPoint& p : points) {
      const Table t = table_of(p);
      const std::string pre = prefix(p);
      std::vector<long> at;
      for (const std::string& c : columns) at.push_back(t.find(c));
      for (const auto& r : t.rows) {
        os << pre;
        for (long a : at) {
          os << ',';
          if (a >= 0) os << r[static_cast<std::size_t>(a)];
        }
        os << '\n';
        ++m.rows;
      }
    }
  });
  // aggregates.csv: per point (groups never span points), then prefixed with the point's configuration.
  write_file_atomically((dir / "aggregates.csv").string(), [&](std::ostream& os) {
    std::vector<std::string> h = head;
    h.insert(h.end(), row_keys.begin(), row_keys.end());
    for (const char* s : {"metric", "count", "mean", "sd", "median", "q05", "q95", "ci95_lo", "ci95_hi"}) h.push_back(s);
    os << joined(h, ",") << '\n';
    for (const SweepPoint& p : points) {
      const Table t = table_of(p);
      AggregateOptions ao;
      for (const std::string& k : row_keys)
        if (t.find(k) >= 0) ao.group_columns.push_back(k);
      if (ao.group_columns.size() != row_keys.size())
        throw ComputeError("point " + p.id + ": its rows lack one of the columns " + joined(row_keys, ", "));
      for (const std::string& metric : e.aggregate_metrics)
        if (t.find(metric) >= 0) {
          ao.metrics.push_back(metric);
          metrics_seen.push_back(metric);
        }
      if (!e.aggregate_metrics.empty() && ao.metrics.empty()) continue;
      const Table a = aggregate_over_seeds(t, ao);
      const std::string pre = prefix(p);
      for (const auto& r : a.rows) {
        os << pre << ',' << joined(r, ",") << '\n';
        ++m.aggregate_rows;
      }
    }
  });
  for (const std::string& metric : e.aggregate_metrics)
    if (std::find(metrics_seen.begin(), metrics_seen.end(), metric) == metrics_seen.end())
      throw InputError(e.where(0) + "[aggregate] metrics names '" + metric + "', a column no point produced; columns are " +
                       joined(columns, ", "));
  // timings.csv
  write_file_atomically((dir / "timings.csv").string(), [&](std::ostream& os) {
    std::vector<std::string> h = head;
    h.push_back("seconds");
    os << joined(h, ",") << '\n';
    for (const SweepPoint& p : points) {
      std::string secs = read_file_bytes((dir_of(p) / "points" / (p.id + ".seconds")).string());
      while (!secs.empty() && (secs.back() == '\n' || secs.back() == '\r')) secs.pop_back();
      os << prefix(p) << ',' << secs << '\n';
    }
  });
  return m;
}

}  // namespace

// ---- detail: the directory lock (sweep_detail.hpp) ----
detail::DirLock::DirLock(const fs::path& dir, bool record) : record_(record ? dir / "lock.json" : fs::path()) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) throw InputError("--out " + dir.string() + ": cannot open the directory to lock it: " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      std::string owner;
      try {
        const nlohmann::json j = nlohmann::json::parse(read_file_bytes((dir / "lock.json").string()));
        owner = " (pid " + std::to_string(j.at("pid").get<long>()) + " on " + j.at("host").get<std::string>() +
                ", since " + j.at("started").get<std::string>() + ")";
      } catch (const std::exception&) {
      }
      throw InputError("--out " + dir.string() + ": another mhclab run" + owner + " is writing into this directory "
                       "(it holds the directory's lock); wait for it or choose another --out");
    }
    throw InputError("--out " + dir.string() + ": cannot lock the directory: " + std::strerror(err));
  }
  if (!record_.empty()) {
    nlohmann::ordered_json j;
    j["pid"] = static_cast<long>(::getpid());
    j["host"] = host_name();
    j["started"] = utc_now();
    write_file_atomically(record_.string(), j.dump() + "\n");
  }
}
detail::DirLock::~DirLock() {
  std::error_code ec;
  if (!record_.empty()) fs::remove(record_, ec);
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

std::string detail::host_name() {
  char host[256] = {};
  (void)::gethostname(host, sizeof host - 1);
  return host;
}

namespace {

/// FNV-1a 64 of the grid record's text, as 16 hex digits: the grid's identity in shard.json and merge messages.
std::string grid_hash(const std::string& grid_text) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(grid_text)));
  return buf;
}

}  // namespace

std::vector<SweepPoint> resolve_sweep(const Experiment& e) {
  const KindInfo* info = nullptr;
  std::string names;
  for (const KindInfo& k : experiment_kinds()) {
    if (k.name == e.kind) info = &k;
    names += (names.empty() ? "" : "|") + k.name;
  }
  if (info == nullptr) throw InputError(e.where(0) + "[experiment] kind = '" + e.kind + "'; expected " + names);
  std::vector<OptionSchema> schema;
  const std::unique_ptr<KindRequest> probe = make_kind_request(e.kind);  // outlives the loop over its options
  for (const OptionSpec& o : probe->options().specs())
    schema.push_back({o.key, o.type == OptionType::Flag, o.type == OptionType::Boolean});
  check_keys(e, schema, info->reserved);
  std::vector<SweepPoint> points = expand_grid(e);
  for (const SweepPoint& p : points) {
    try {
      point_request(e, p)->validate();
    } catch (const InputError& ex) {
      throw InputError(locate(e, p, ex.what()));
    }
  }
  return points;
}

std::string describe_sweep(const Experiment& e, const std::vector<SweepPoint>& points) {
  std::string out = "experiment " + e.name + " (" + e.file + "), kind " + e.kind + ", " + std::to_string(points.size()) +
                    " point(s)\n";
  out += "base: ";
  for (std::size_t k = 0; k < e.base.size(); ++k) out += (k ? ", " : "") + e.base[k].key + "=" + e.base[k].text;
  out += "\nindex,point_id,seed";
  const std::vector<std::string> keys = axis_keys(e);
  for (const std::string& k : keys) out += "," + k;
  out += "\n";
  for (const SweepPoint& p : points) {
    out += std::to_string(p.index) + "," + p.id + "," + std::to_string(p.seed);
    for (const std::string& k : keys) {
      out += ',';
      out += cell_text(p.find(k)->text);
    }
    out += "\n";
  }
  return out;
}

SweepSummary run_sweep(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& o) {
  if (o.out_dir.empty()) throw InputError("run: no output directory");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  const fs::path dir(o.out_dir);
  const std::string grid_text = grid_record(e, points);
  {
    // A directory in use by another run is neither deleted (--force) nor resumed.
    std::error_code ec;
    if (fs::is_directory(dir, ec)) DirLock probe(dir);
  }
  prepare_dir(dir, grid_text, o);
  const DirLock lock(dir, true);
  remove_stale_temporaries(dir);
  for (const std::string& lost : lost_tasks(dir.string()))  // an MPI run that lost ranks (sweep/mpi_sweep.hpp)
    std::fprintf(stderr, "mhclab run: lost by an earlier run, running again: %s\n", lost.c_str());
  {
    std::error_code ec;
    fs::remove_all(dir / "inflight", ec);
  }
  write_file_atomically((dir / "experiment.toml").string(), read_file_bytes(e.file));
  std::vector<std::size_t> mine(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) mine[i] = i;
  using J = nlohmann::ordered_json;
  J shard;
  if (o.shard) {
    mine = assign_shards(e, points, o.shard->count)[o.shard->index];
    const BuildInfo b = build_info();
    shard["shard"] = o.shard->index;
    shard["shards"] = o.shard->count;
    shard["grid_hash"] = grid_hash(grid_text);
    shard["version"] = b.version;
    shard["commit"] = b.commit;
    shard["host"] = host_name();
    shard["started"] = started;
    J ids = J::array();
    for (const std::size_t i : mine) ids.push_back(points[i].id);
    shard["points"] = ids;
    write_file_atomically((dir / "shard.json").string(), shard.dump(2) + "\n");
  }
  SweepSummary s;
  s.points = mine.size();
  const PointsRun run = run_points(e, points, mine, dir, o);
  s.ran = run.ran;
  s.reused = s.points - run.todo;
  if (run.ran < run.todo) {
    s.interrupted = true;  // pre-empted: the finished points are on disk; --resume continues
    return s;
  }
  std::vector<std::pair<std::string, std::string>> extra;
  if (o.shard) {
    shard["finished"] = utc_now();
    write_file_atomically((dir / "shard.json").string(), shard.dump(2) + "\n");
    extra.emplace_back("shard", J(o.shard->text()).dump());
  }
  finish_sweep(e, points, dir, o, s, started, t0, extra);
  return s;
}

void detail::finish_sweep(const Experiment& e, const std::vector<SweepPoint>& points, const fs::path& dir,
                          const SweepOptions& o, SweepSummary& s, const std::string& started,
                          std::chrono::steady_clock::time_point t0,
                          const std::vector<std::pair<std::string, std::string>>& extra) {
  using J = nlohmann::ordered_json;
  FiguresSummary f;
  if (!o.shard) {  // a shard's rows are merged with the other shards' (merge_shards)
    const Merged m = merge(e, points, dir, [&](const SweepPoint&) { return dir; });
    s.rows = m.rows;
    s.aggregate_rows = m.aggregate_rows;
    f = render_figures(e, dir.string());
    s.figures = f.files;
    s.plot_message = f.message;
  }
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::pair<std::string, std::string>> fields{
      {"experiment",
       J{{"file", e.file}, {"name", e.name}, {"kind", e.kind}, {"description", e.description}}.dump()},
      {"command", J(o.command_line).dump()},
      {"threads", J(resolve_threads(o.threads)).dump()},
      {"started", J(started).dump()},
      {"finished", J(utc_now()).dump()},
      {"wall_seconds", J(s.wall_seconds).dump()},
      {"points_run", J(s.ran).dump()},
      {"points_reused", J(s.reused).dump()},
  };
  fields.insert(fields.end(), extra.begin(), extra.end());
  if (!o.shard) {
    fields.emplace_back("rows", J(s.rows).dump());
    fields.emplace_back("aggregate_rows", J(s.aggregate_rows).dump());
    fields.emplace_back("figures", J(s.figures).dump());
    if (!f.message.empty()) fields.emplace_back("figures_note", J(f.message).dump());
  }
  fields.emplace_back("resolved", grid_json(e, points).dump());
  write_file_atomically((dir / "manifest.json").string(), manifest_json(fields));
}

SweepSummary merge_shards(const MergeOptions& o) {
  if (o.out_dir.empty()) throw InputError("merge: --out is required");
  if (o.shard_dirs.empty()) throw InputError("merge: no shard directories given");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  using J = nlohmann::ordered_json;
  // Every directory: a finished shard of the same grid, made by the same mhclab.
  std::string grid_text;
  std::vector<J> shards;
  std::vector<std::size_t> seen_index;
  for (const std::string& d : o.shard_dirs) {
    const fs::path dir(d);
    if (!fs::is_regular_file(dir / "shard.json"))
      throw InputError("merge: " + d + " holds no shard.json; it is not the directory of a `mhclab run --shard k/N`");
    J sh;
    try {
      sh = J::parse(read_file_bytes((dir / "shard.json").string()));
      (void)sh.at("shard").get<std::size_t>();
      (void)sh.at("shards").get<std::size_t>();
      (void)sh.at("version").get<std::string>();
      (void)sh.at("commit").get<std::string>();
    } catch (const std::exception& ex) {
      throw InputError("merge: " + d + "/shard.json: not a shard record (" + ex.what() + ")");
    }
    const std::string text = read_file_bytes((dir / "sweep.json").string());
    if (shards.empty()) {
      grid_text = text;
    } else {
      if (text != grid_text)
        throw InputError("merge: " + d + " holds shard " + sh["shard"].dump() + " of a different grid (grid hash " +
                         grid_hash(text) + ") than " + o.shard_dirs.front() + " (" + grid_hash(grid_text) +
                         "); shards of one merge must come from one experiment file and one mhclab");
      const J& first = shards.front();
      if (sh["version"] != first["version"] || sh["commit"] != first["commit"])
        throw InputError("merge: " + d + " was made by mhclab " + sh["version"].get<std::string>() + " (" +
                         sh["commit"].get<std::string>() + "), " + o.shard_dirs.front() + " by " +
                         first["version"].get<std::string>() + " (" + first["commit"].get<std::string>() +
                         "); rerun the shards with one mhclab");
      if (sh["shards"] != first["shards"])
        throw InputError("merge: " + d + " is shard " + sh["shard"].dump() + " of " + sh["shards"].dump() + ", " +
                         o.shard_dirs.front() + " of " + first["shards"].dump() + "; shards of one merge use one N");
    }
    const auto k = sh["shard"].get<std::size_t>();
    if (std::find(seen_index.begin(), seen_index.end(), k) != seen_index.end())
      throw InputError("merge: shard " + std::to_string(k) + " is given twice (" + d + ")");
    seen_index.push_back(k);
    shards.push_back(sh);
  }
  // The experiment as the shards ran it, and its grid: it must be the grid they recorded.
  const fs::path first_dir(o.shard_dirs.front());
  const Experiment e = parse_experiment(read_file_bytes((first_dir / "experiment.toml").string()),
                                        (first_dir / "experiment.toml").string());
  const std::vector<SweepPoint> points = expand_grid(e);
  if (grid_json(e, points).dump(2) + "\n" != grid_text)
    throw InputError("merge: " + (first_dir / "experiment.toml").string() + " does not expand to the grid of " +
                     (first_dir / "sweep.json").string() + " (edited, or another mhclab)");
  // Each point in exactly one shard, finished there.
  std::vector<fs::path> home(points.size());
  std::vector<std::string> missing, doubled;
  for (std::size_t i = 0; i < points.size(); ++i) {
    std::vector<std::string> holders;
    for (const std::string& d : o.shard_dirs)
      if (fs::exists(fs::path(d) / "points" / (points[i].id + ".done")) && point_done(d, points[i])) {
        holders.push_back(d);
        home[i] = d;
      }
    const std::string name = points[i].id + " (" + points[i].describe(axis_keys(e)) + ")";
    if (holders.empty()) missing.push_back(name);
    if (holders.size() > 1) doubled.push_back(name + " in " + joined(holders, " and "));
  }
  const auto list = [](const std::vector<std::string>& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size() && i < 10; ++i) out += (i ? "; " : "") + v[i];
    if (v.size() > 10) out += "; … (" + std::to_string(v.size() - 10) + " more)";
    return out;
  };
  if (!missing.empty())
    throw InputError("merge: " + std::to_string(missing.size()) + " point(s) of " + std::to_string(points.size()) +
                     " are in no shard (not run, or interrupted: rerun that shard with --resume): " + list(missing));
  if (!doubled.empty())
    throw InputError("merge: " + std::to_string(doubled.size()) + " point(s) are in several shards: " + list(doubled));
  if (shards.size() != shards.front()["shards"].get<std::size_t>())
    std::fprintf(stderr, "mhclab merge: note: %zu of %zu shard directories given; every point was found\n",
                 shards.size(), shards.front()["shards"].get<std::size_t>());

  const fs::path dir(o.out_dir);
  for (const std::string& d : o.shard_dirs)
    if (fs::exists(dir) && fs::equivalent(dir, d)) throw InputError("merge: --out " + o.out_dir + " is one of the shards");
  {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) DirLock probe(dir);
  }
  SweepOptions prep;
  prep.force = o.force;
  prepare_dir(dir, grid_text, prep);
  const DirLock lock(dir, true);
  const Merged m = merge(e, points, dir, [&](const SweepPoint& p) { return home[static_cast<std::size_t>(&p - points.data())]; });
  write_file_atomically((dir / "experiment.toml").string(), read_file_bytes((first_dir / "experiment.toml").string()));
  const FiguresSummary f = render_figures(e, dir.string());
  SweepSummary s;
  s.points = points.size();
  s.reused = points.size();
  s.rows = m.rows;
  s.aggregate_rows = m.aggregate_rows;
  s.figures = f.files;
  s.plot_message = f.message;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  J list_shards = J::array();
  for (std::size_t k = 0; k < shards.size(); ++k) {
    J sh;
    sh["dir"] = o.shard_dirs[k];
    for (const char* key : {"shard", "shards", "host", "started", "finished", "version", "commit"})
      if (shards[k].contains(key)) sh[key] = shards[k][key];
    sh["points"] = shards[k].contains("points") ? shards[k]["points"].size() : 0;
    list_shards.push_back(sh);
  }
  std::vector<std::pair<std::string, std::string>> fields{
      {"experiment", J{{"file", e.file}, {"name", e.name}, {"kind", e.kind}, {"description", e.description}}.dump()},
      {"command", J(o.command_line).dump()},
      {"started", J(started).dump()},
      {"finished", J(utc_now()).dump()},
      {"wall_seconds", J(s.wall_seconds).dump()},
      {"shards", list_shards.dump()},
      {"grid_hash", J(grid_hash(grid_text)).dump()},
      {"rows", J(s.rows).dump()},
      {"aggregate_rows", J(s.aggregate_rows).dump()},
      {"figures", J(s.figures).dump()},
  };
  if (!f.message.empty()) fields.emplace_back("figures_note", J(f.message).dump());
  fields.emplace_back("resolved", J::parse(grid_text).dump());
  write_file_atomically((dir / "manifest.json").string(), manifest_json(fields));
  return s;
}

}  // namespace mhclab
