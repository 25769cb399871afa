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
#include <mutex>
#include <ostream>
#include <thread>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/run_manifest.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/kind_registry.hpp"
#include "mhclab/sweep/aggregate.hpp"
#include "mhclab/sweep/figures.hpp"

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

/// The kind's request for point `p`: its configuration set by name, its seed, one thread (points run in parallel).
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

/// A finished point's record, written after its rows: "bytes=N fnv1a64=H". A point counts as done on --resume only
/// when its rows file matches its record, so a truncated or edited points/<id>.csv is run again, not merged.
std::string point_record(const std::vector<std::string>& chunks) {
  std::uint64_t h = 0xCBF29CE484222325ULL, bytes = 0;
  for (const std::string& c : chunks) {
    bytes += c.size();
    for (const unsigned char ch : c) {
      h ^= ch;
      h *= 0x100000001B3ULL;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "bytes=%llu fnv1a64=%016llx\n", static_cast<unsigned long long>(bytes),
                static_cast<unsigned long long>(h));
  return buf;
}

bool point_done(const fs::path& dir, const SweepPoint& p) {
  const fs::path csv = dir / "points" / (p.id + ".csv"), rec = dir / "points" / (p.id + ".done");
  if (!fs::exists(csv) || !fs::exists(rec) || !fs::exists(dir / "points" / (p.id + ".seconds"))) return false;
  if (point_record({read_file_bytes(csv.string())}) == read_file_bytes(rec.string())) return true;
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
      if (f.path().filename().string().find(".tmp.") != std::string::npos) stale.push_back(f.path());
    for (const fs::path& f : stale) fs::remove(f, ec);
  }
}

/// An exclusive lock on a results directory (flock on the directory itself) for as long as a run writes into it,
/// so two runs into one directory cannot interleave their files. The kernel releases it when the owner dies; the
/// owner's record (lock.json: pid, host, start) is for the message a second run gets, and is removed at the end.
class DirLock {
 public:
  explicit DirLock(const fs::path& dir, bool record = false) : record_(record ? dir / "lock.json" : fs::path()) {
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
      char host[256] = {};
      (void)::gethostname(host, sizeof host - 1);
      nlohmann::ordered_json j;
      j["pid"] = static_cast<long>(::getpid());
      j["host"] = std::string(host);
      j["started"] = utc_now();
      write_file_atomically(record_.string(), j.dump() + "\n");
    }
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock() {
    std::error_code ec;
    if (!record_.empty()) fs::remove(record_, ec);
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }

 private:
  fs::path record_;
  int fd_ = -1;
};

/// Runs the points not yet done; returns how many ran.
std::size_t run_points(const Experiment& e, const std::vector<SweepPoint>& points,
                       const fs::path& dir, const SweepOptions& o) {
  std::vector<const SweepPoint*> todo;
  for (const SweepPoint& p : points)
    if (!o.resume || !point_done(dir, p)) todo.push_back(&p);
  Progress progress(o.progress, points.size(), points.size() - todo.size());
  std::atomic<std::size_t> next{0}, finished{0};
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::mutex mu;
  auto worker = [&] {
    while (!stop) {
      const std::size_t k = next++;
      if (k >= todo.size()) return;
      const SweepPoint& p = *todo[k];
      try {
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<std::string> csv = point_request(e, p)->csv();
        const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        write_file_atomically((dir / "points" / (p.id + ".seconds")).string(), format_double(secs) + "\n");
        write_file_atomically((dir / "points" / (p.id + ".csv")).string(),
                              std::vector<std::string_view>(csv.begin(), csv.end()));
        write_file_atomically((dir / "points" / (p.id + ".done")).string(), point_record(csv));
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
  return todo.size();
}

struct Merged {
  std::size_t rows = 0, aggregate_rows = 0;
};

/// rows.csv, aggregates.csv and timings.csv from the point files, in grid order.
Merged merge(const Experiment& e, const std::vector<SweepPoint>& points, const fs::path& dir) {
  // Configuration columns: the point's keys in snake_case (prefixed config_ if a verb column has that name).
  std::vector<Table> tables;
  tables.reserve(points.size());
  std::vector<std::string> columns;  // union of verb columns, first appearance
  for (const SweepPoint& p : points) {
    const std::string path = (dir / "points" / (p.id + ".csv")).string();
    tables.push_back(parse_table(read_file_bytes(path), path));
    for (const std::string& c : tables.back().header)
      if (std::find(columns.begin(), columns.end(), c) == columns.end()) columns.push_back(c);
  }
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
  std::vector<std::string> prefix(points.size());
  for (std::size_t i = 0; i < points.size(); ++i) {
    prefix[i] = points[i].id;
    for (const ConfigValue& v : points[i].config) prefix[i] += "," + cell_text(v.text);
  }
  // rows.csv
  write_file_atomically((dir / "rows.csv").string(), [&](std::ostream& os) {
    std::vector<std::string> h = head;
    h.insert(h.end(), columns.begin(), columns.end());
    os << joined(h, ",") << '\n';
    for (std::size_t i = 0; i < points.size(); ++i) {
      const Table& t = tables[i];
      std::vector<long> at;
      for (const std::string& c : columns) at.push_back(t.find(c));
      for (const auto& r : t.rows) {
        os << prefix[i];
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
    for (std::size_t i = 0; i < points.size(); ++i) {
      AggregateOptions ao;
      for (const std::string& k : row_keys)
        if (tables[i].find(k) >= 0) ao.group_columns.push_back(k);
      if (ao.group_columns.size() != row_keys.size())
        throw ComputeError("point " + points[i].id + ": its rows lack one of the columns " + joined(row_keys, ", "));
      for (const std::string& metric : e.aggregate_metrics)
        if (tables[i].find(metric) >= 0) {
          ao.metrics.push_back(metric);
          metrics_seen.push_back(metric);
        }
      if (!e.aggregate_metrics.empty() && ao.metrics.empty()) continue;
      const Table a = aggregate_over_seeds(tables[i], ao);
      for (const auto& r : a.rows) {
        os << prefix[i] << ',' << joined(r, ",") << '\n';
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
    for (std::size_t i = 0; i < points.size(); ++i) {
      std::string s = read_file_bytes((dir / "points" / (points[i].id + ".seconds")).string());
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      os << prefix[i] << ',' << s << '\n';
    }
  });
  return m;
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
    for (const std::string& k : keys) out += "," + cell_text(p.find(k)->text);
    out += "\n";
  }
  return out;
}

SweepSummary run_sweep(const Experiment& e, const std::vector<SweepPoint>& points, const SweepOptions& o) {
  if (o.out_dir.empty()) throw InputError("run: no output directory");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string started = utc_now();
  const fs::path dir(o.out_dir);
  const nlohmann::ordered_json grid = grid_json(e, points);
  {
    // A directory in use by another run is neither deleted (--force) nor resumed.
    std::error_code ec;
    if (fs::is_directory(dir, ec)) DirLock probe(dir);
  }
  prepare_dir(dir, grid.dump(2) + "\n", o);
  const DirLock lock(dir, true);
  remove_stale_temporaries(dir);
  SweepSummary s;
  s.points = points.size();
  s.ran = run_points(e, points, dir, o);
  s.reused = s.points - s.ran;
  const Merged m = merge(e, points, dir);
  s.rows = m.rows;
  s.aggregate_rows = m.aggregate_rows;
  write_file_atomically((dir / "experiment.toml").string(), read_file_bytes(e.file));
  const FiguresSummary f = render_figures(e, dir.string());
  s.figures = f.files;
  s.plot_message = f.message;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  using J = nlohmann::ordered_json;
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
      {"rows", J(s.rows).dump()},
      {"aggregate_rows", J(s.aggregate_rows).dump()},
      {"figures", J(s.figures).dump()},
  };
  if (!f.message.empty()) fields.emplace_back("figures_note", J(f.message).dump());
  fields.emplace_back("resolved", grid.dump());
  write_file_atomically((dir / "manifest.json").string(), manifest_json(fields));
  return s;
}

}  // namespace mhclab
