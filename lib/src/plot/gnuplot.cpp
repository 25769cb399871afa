// Figures with gnuplot: see mhclab/plot/gnuplot.hpp.
#include "mhclab/plot/gnuplot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string in_quotes(const std::string& s) { return "'" + s + "'"; }

bool valid_name(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

bool has_control(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

/// `s` with control characters (line breaks, tabs, …) as spaces: safe in a comment line or a string literal.
std::string one_line(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

/// A gnuplot single-quoted string literal: no escapes inside except '' for a quote.
std::string gp_string(const std::string& s) {
  std::string out = "'";
  for (char c : one_line(s)) {
    if (c == '\'') out += "''";
    else out += c;
  }
  out += '\'';
  return out;
}

/// Shortest round-trip form of a finite double; "NaN" otherwise.
std::string number(double x) {
  if (!std::isfinite(x)) return "NaN";
  char buf[64];
  const auto [p, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return ec == std::errc() ? std::string(buf, p) : format_double(x);
}

bool cells_equal(const std::string& cell, const std::string& value) {
  if (cell == value) return true;
  const auto a = table_number(cell), b = table_number(value);
  return a && b && *a == *b;
}

// ---- selection ---------------------------------------------------------------------------------------------

struct Point {
  double x = 0, y = 0, lo = kNaN, hi = kNaN;
};

struct Series {
  std::size_t panel = 0, y = 0, group = 0;  ///< indices into Selection::panels / ys / groups
  std::vector<Point> points;
  bool band = false;                         ///< some point has both band ends
};

struct Selection {
  bool aggregate = false;
  std::string x_plotted;                  ///< x or log10_<x>
  bool x_log10 = false;                   ///< x_plotted is the log10 column
  std::vector<std::string> ys;            ///< y or log10_<y>, per spec.y
  bool y_log10 = false;                   ///< ys are the log10_ columns / metrics (logy, all of them exist)
  std::vector<std::string> panels;        ///< facet titles "eta=0.1, rho=0" (one "" without facets)
  std::vector<std::string> groups;        ///< group values (one "" without group)
  std::vector<Series> series;             ///< ordered by (panel, y, group)
  bool any_band = false;
};

std::string where_text(const PlotSpec& spec) {
  if (spec.where.empty()) return "(no where filters)";
  std::vector<std::string> parts;
  for (const auto& [col, value] : spec.where) parts.push_back(col + "=" + value);
  return one_line("(where " + joined(parts, ", ") + ")");
}

Selection select(const Table& t, const PlotSpec& spec) {
  const std::string what = "plot " + in_quotes(spec.name);
  Selection s;
  s.aggregate = t.find("metric") >= 0 && t.find("mean") >= 0;

  // x (always a column)
  (void)t.column(spec.x, what);
  s.x_plotted = spec.x;
  if (spec.logx && t.find("log10_" + spec.x) >= 0) {
    s.x_plotted = "log10_" + spec.x;
    s.x_log10 = true;
  }
  const std::size_t xcol = t.column(s.x_plotted, what);
  const bool xscale = spec.logx && !s.x_log10;

  std::vector<std::size_t> where_cols;
  for (const auto& w : spec.where) where_cols.push_back(t.column(w.first, what));
  std::vector<std::size_t> facet_cols;
  for (const auto& f : spec.facet) facet_cols.push_back(t.column(f, what));
  const long group_col = spec.group.empty() ? -1 : static_cast<long>(t.column(spec.group, what));
  std::vector<std::size_t> group_with_cols;
  for (const std::string& g : spec.group_with) group_with_cols.push_back(t.column(g, what));

  // y: columns, or metrics of an aggregate table
  std::size_t metric_col = 0, mean_col = 0;
  long lo_col = -1, hi_col = -1;
  std::vector<std::size_t> ycols;
  if (s.aggregate) {
    metric_col = t.column("metric", what);
    mean_col = t.column("mean", what);
    if (spec.band != "none") {
      lo_col = t.find(spec.band == "ci95" ? "ci95_lo" : "q05");
      hi_col = t.find(spec.band == "ci95" ? "ci95_hi" : "q95");
      if (lo_col < 0 || hi_col < 0) lo_col = hi_col = -1;
    }
    std::vector<std::string> metrics;
    for (const auto& r : t.rows)
      if (metric_col < r.size() && std::find(metrics.begin(), metrics.end(), r[metric_col]) == metrics.end())
        metrics.push_back(r[metric_col]);
    auto has_metric = [&](const std::string& m) { return std::find(metrics.begin(), metrics.end(), m) != metrics.end(); };
    bool all_log10 = spec.logy;
    for (const std::string& y : spec.y) {
      if (!has_metric(y))
        throw InputError(what + ": no metric " + in_quotes(y) + " in the aggregate table; metrics are " +
                         joined(metrics, ", "));
      all_log10 = all_log10 && has_metric("log10_" + y);
    }
    s.y_log10 = all_log10;
    for (const std::string& y : spec.y) s.ys.push_back(all_log10 ? "log10_" + y : y);
  } else {
    bool all_log10 = spec.logy;
    for (const std::string& y : spec.y) {
      (void)t.column(y, what);
      all_log10 = all_log10 && t.find("log10_" + y) >= 0;
    }
    s.y_log10 = all_log10;
    for (const std::string& y : spec.y) {
      s.ys.push_back(all_log10 ? "log10_" + y : y);
      ycols.push_back(t.column(s.ys.back(), what));
    }
  }
  const bool yscale = spec.logy && !s.y_log10;

  std::map<std::string, std::size_t> panel_index, group_index;
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, std::vector<Point>> points;
  std::size_t matched = 0;
  for (std::size_t r = 0; r < t.rows.size(); ++r) {
    const std::vector<std::string>& row = t.rows[r];
    if (row.size() != t.header.size())
      throw InputError(what + ": table row " + std::to_string(r + 1) + " has " + std::to_string(row.size()) +
                       " cells; the header has " + std::to_string(t.header.size()));
    bool pass = true;
    for (std::size_t k = 0; k < where_cols.size() && pass; ++k) pass = cells_equal(row[where_cols[k]], spec.where[k].second);
    if (!pass) continue;
    ++matched;
    const auto x = table_number(row[xcol]);
    if (!x || (xscale && *x <= 0)) continue;
    for (std::size_t k = 0; k < s.ys.size(); ++k) {
      if (s.aggregate && row[metric_col] != s.ys[k]) continue;
      const auto y = table_number(row[s.aggregate ? mean_col : ycols[k]]);
      if (!y || (yscale && *y <= 0)) continue;
      Point p{*x, *y, kNaN, kNaN};
      if (lo_col >= 0) {
        const auto lo = table_number(row[static_cast<std::size_t>(lo_col)]);
        const auto hi = table_number(row[static_cast<std::size_t>(hi_col)]);
        if (lo && hi && !(yscale && (*lo <= 0 || *hi <= 0))) {
          p.lo = *lo;
          p.hi = *hi;
        }
      }
      // first contributing appearance fixes the order of panels and groups (and so the colours)
      std::vector<std::string> fparts;
      for (std::size_t f = 0; f < facet_cols.size(); ++f) fparts.push_back(spec.facet[f] + "=" + row[facet_cols[f]]);
      const std::string ptitle = joined(fparts, ", ");
      const auto [pit, pnew] = panel_index.emplace(ptitle, s.panels.size());
      if (pnew) s.panels.push_back(ptitle);
      std::string gvalue = group_col >= 0 ? row[static_cast<std::size_t>(group_col)] : "";
      for (std::size_t g = 0; g < group_with_cols.size(); ++g)
        gvalue += " " + spec.group_with[g] + "=" + row[group_with_cols[g]];
      const auto [git, gnew] = group_index.emplace(gvalue, s.groups.size());
      if (gnew) s.groups.push_back(gvalue);
      points[{pit->second, k, git->second}].push_back(p);
    }
  }
  if (points.empty()) {
    std::string msg = what + ": no rows match " + where_text(spec);
    if (matched > 0) {
      msg += ": none of the " + std::to_string(matched) + " rows has a number in x " + in_quotes(s.x_plotted) +
             " and y " + joined(s.ys, "|", "'", "'");
      if (spec.logx || spec.logy) msg += " (> 0 on a log axis)";
    }
    throw InputError(msg);
  }
  for (auto& [key, pts] : points) {
    Series ser;
    std::tie(ser.panel, ser.y, ser.group) = key;
    std::stable_sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
    ser.band = std::any_of(pts.begin(), pts.end(), [](const Point& p) { return std::isfinite(p.lo); });
    s.any_band = s.any_band || ser.band;
    ser.points = std::move(pts);
    s.series.push_back(std::move(ser));
  }
  return s;
}

// ---- output text -------------------------------------------------------------------------------------------

std::string series_label(const Selection& s, const PlotSpec& spec, const Series& ser) {
  std::vector<std::string> parts;
  if (!spec.facet.empty()) parts.push_back(s.panels[ser.panel]);
  if (!spec.group.empty()) parts.push_back(spec.group + "=" + s.groups[ser.group]);
  parts.push_back("y=" + s.ys[ser.y]);
  return one_line(joined(parts, "; "));
}

std::string data_text(const Selection& s, const PlotSpec& spec) {
  std::string out = "# mhclab plot " + in_quotes(spec.name) + ": " + std::to_string(s.series.size()) +
                    " series, one block each (gnuplot `index k`); columns: x y lo hi (lo, hi: band; NaN = none)\n";
  for (std::size_t k = 0; k < s.series.size(); ++k) {
    const Series& ser = s.series[k];
    if (k) out += "\n\n";
    out += "# series " + std::to_string(k) + ": " + series_label(s, spec, ser) + "\n";
    out += "# " + one_line(s.x_plotted + " " + s.ys[ser.y]) + " lo hi\n";
    for (const Point& p : ser.points)
      out += number(p.x) + " " + number(p.y) + " " + number(p.lo) + " " + number(p.hi) + "\n";
  }
  return out;
}

/// Colour k of `count`: matplotlib's tab10 up to 10 values, else evenly spaced hues.
std::string colour(std::size_t k, std::size_t count) {
  static constexpr const char* tab10[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                          "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  if (count <= 10) return tab10[k];
  const double h = 6.0 * static_cast<double>(k) / static_cast<double>(count), s = 0.75, v = 0.85;
  const double c = v * s, xx = c * (1 - std::fabs(std::fmod(h, 2.0) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(h)) {
    case 0: r = c, g = xx; break;
    case 1: r = xx, g = c; break;
    case 2: g = c, b = xx; break;
    case 3: g = xx, b = c; break;
    case 4: r = xx, b = c; break;
    default: r = c, b = xx; break;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", static_cast<int>(std::lround(255 * (r + m))),
                static_cast<int>(std::lround(255 * (g + m))), static_cast<int>(std::lround(255 * (b + m))));
  return buf;
}

struct FigureSize {
  int width = 900, height = 600;  ///< pixels (png, svg); pdf: /120 inches
};

FigureSize figure_size(std::size_t panels, std::size_t cols, std::size_t rows, bool title) {
  if (panels <= 1) return {};
  return {static_cast<int>(std::min<std::size_t>(cols * 560, 2800)),
          static_cast<int>(std::min<std::size_t>(rows * 400 + (title ? 40 : 0), 2800))};
}

/// The script; `output_suffix` is appended to every output name ("" for the .gp the user keeps).
std::string script_text(const Selection& s, const PlotSpec& spec, const std::string& output_suffix) {
  const std::string dat = spec.name + ".dat";
  const std::size_t P = s.panels.size();
  const auto cols = static_cast<std::size_t>(std::ceil(std::sqrt(static_cast<double>(P))));
  const std::size_t rows = (P + cols - 1) / cols;
  const FigureSize size = figure_size(P, cols, rows, !spec.title.empty());
  const bool several_y = spec.y.size() > 1;
  const bool multiplot = !spec.facet.empty();

  std::string xlabel = spec.xlabel, ylabel = spec.ylabel;
  if (xlabel.empty()) xlabel = s.x_log10 ? "log10 " + spec.x : spec.x;
  if (ylabel.empty()) {
    std::vector<std::string> names;
    for (const std::string& y : spec.y) names.push_back(s.y_log10 ? "log10 " + y : y);
    ylabel = joined(names, ", ");
    if (s.any_band) ylabel += spec.band == "ci95" ? " (mean, 95% CI)" : " (mean, q05-q95)";
    else if (s.aggregate) ylabel += " (mean)";
  }

  std::string o;
  o += "# " + spec.name + ".gp: written by mhclab (plot " + in_quotes(spec.name) + ").\n";
  o += "# Re-run in this directory with: gnuplot " + spec.name + ".gp\n";
  o += "# Data: " + dat + ", one block per series (`index k`), columns x y lo hi (lo, hi: band; NaN = none).\n";
  o += std::string("# Table: ") + (s.aggregate ? "aggregate (y = metrics, line = mean, band = " + spec.band + ")" : "plain") +
       "; x = " + one_line(s.x_plotted) + "; filters " + where_text(spec) + "\n";
  o += "# Series:\n";
  for (std::size_t k = 0; k < s.series.size(); ++k)
    o += "#   index " + std::to_string(k) + ": " + series_label(s, spec, s.series[k]) + " (" +
         std::to_string(s.series[k].points.size()) + " points)\n";
  o += "\n";
  o += "data = " + gp_string(dat) + "\n";
  o += "formats = " + gp_string(joined(spec.formats, " ")) + "  # any of: png svg pdf\n\n";

  o += "set grid\n";
  o += "set tics out nomirror\n";
  o += "set border 3\n";
  if (spec.group.empty() && !several_y) o += "unset key\n";
  else {
    // one panel: key at the right; a grid of panels: above each panel, so that all panels keep the same width
    o += multiplot ? "set key tmargin center horizontal Left reverse noautotitle"
                   : "set key outside right top vertical Left reverse noautotitle";
    if (!spec.group.empty()) o += " title " + gp_string(spec.group) + " noenhanced";
    o += "\n";
  }
  o += "set xlabel " + gp_string(xlabel) + " noenhanced\n";
  o += "set ylabel " + gp_string(ylabel) + " noenhanced\n";
  if (spec.logx && !s.x_log10) o += "set logscale x\nset format x '10^{%L}'\n";
  if (spec.logy && !s.y_log10)
    o += "set logscale y\nset format y '10^{%L}'\n";
  if (!multiplot && !spec.title.empty()) o += "set title " + gp_string(spec.title) + " noenhanced\n";
  o += "\n";

  const std::string sz = std::to_string(size.width) + "," + std::to_string(size.height);
  char pdf[64];
  std::snprintf(pdf, sizeof pdf, "%.2fin,%.2fin", size.width / 120.0, size.height / 120.0);
  o += "do for [fmt in formats] {\n";
  o += "  if (fmt eq 'png') {\n";
  o += "    set terminal pngcairo size " + sz + " enhanced font ',10' background rgb 'white'\n";
  o += "  } else {\n";
  o += "    if (fmt eq 'svg') {\n";
  o += "      set terminal svg size " + sz + " dynamic enhanced font ',10' background rgb 'white'\n";
  o += "    } else {\n";
  o += "      set terminal pdfcairo size " + std::string(pdf) + " enhanced font ',10'\n";
  o += "    }\n";
  o += "  }\n";
  o += "  set output " + gp_string(spec.name + ".") + ".fmt" +
       (output_suffix.empty() ? "" : "." + gp_string(output_suffix)) + "\n";
  if (multiplot) {
    o += "  set multiplot layout " + std::to_string(rows) + "," + std::to_string(cols);
    if (!spec.title.empty()) o += " title " + gp_string(spec.title) + " noenhanced font ',12'";
    o += "\n";
  }
  for (std::size_t p = 0; p < P; ++p) {
    if (multiplot) o += "  set title " + gp_string(s.panels[p]) + " noenhanced\n";
    std::vector<std::string> bands, lines;
    for (std::size_t k = 0; k < s.series.size(); ++k) {
      const Series& ser = s.series[k];
      if (ser.panel != p) continue;
      // a colour per group value (the same in every panel and for every y); without groups, a colour per y
      const std::string lc = " lc rgb '" + (spec.group.empty() ? colour(ser.y, spec.y.size())
                                                                : colour(ser.group, s.groups.size())) + "'";
      const std::string idx = "data index " + std::to_string(k);
      if (ser.band) bands.push_back(idx + " using 1:3:4 with filledcurves" + lc + " fs transparent solid 0.2 noborder notitle");
      std::string title;
      if (!spec.group.empty()) title = s.groups[ser.group].empty() ? "(empty)" : s.groups[ser.group];
      if (several_y) title += (title.empty() ? "" : ": ") + spec.y[ser.y];
      std::string line =
          idx + " using 1:2 with " +
          (spec.style == "points"
               ? "points pt " + std::to_string(ser.group % 13 + 1) + " ps 1.1"
               : (ser.points.size() <= 30 ? std::string("linespoints pt 7 ps 0.6") : std::string("lines"))) +
          " lw 1.5" + lc;
      if (several_y) line += " dt " + std::to_string(ser.y % 5 + 1);
      line += title.empty() ? std::string(" notitle") : " title " + gp_string(title) + " noenhanced";
      lines.push_back(line);
    }
    bands.insert(bands.end(), lines.begin(), lines.end());
    o += "  plot \\\n";
    for (std::size_t k = 0; k < bands.size(); ++k) o += "    " + bands[k] + (k + 1 < bands.size() ? ", \\\n" : "\n");
  }
  if (multiplot) o += "  unset multiplot\n";
  o += "  set output\n";
  o += "}\n";
  return o;
}

// ---- running gnuplot ---------------------------------------------------------------------------------------

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

/// The gnuplot executable, or nullopt with the reason in `why`.
std::optional<std::string> find_gnuplot(std::string& why) {
  if (const char* env = std::getenv("MHCLAB_GNUPLOT"); env && *env) {
    if (is_executable(env)) return std::string(env);
    why = "MHCLAB_GNUPLOT = '" + std::string(env) + "' is not an executable file";
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  const std::string dirs = path && *path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string d = dirs.substr(start, end - start);
    const std::string candidate = (d.empty() ? std::string(".") : d) + "/gnuplot";
    if (is_executable(candidate)) return candidate;
    start = end + 1;
  }
  why = "gnuplot not found on PATH (install gnuplot, or set MHCLAB_GNUPLOT to its path)";
  return std::nullopt;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct RunResult {
  int status = 0;      ///< waitpid status
  std::string output;  ///< stdout + stderr
};

/// Runs `gnuplot /dev/stdin` in `dir` with `script` as stdin (an unnamed temporary file, so gnuplot reads it
/// as a file: an error stops it, with the line number) and its stdout/stderr captured likewise.
RunResult run_gnuplot(const std::string& exe, const std::string& dir, const std::string& script) {
  File in(std::tmpfile()), out(std::tmpfile());
  if (!in || !out) throw ComputeError(std::string("cannot create a temporary file for gnuplot: ") + std::strerror(errno));
  if (std::fwrite(script.data(), 1, script.size(), in.get()) != script.size() || std::fflush(in.get()) != 0)
    throw ComputeError(std::string("cannot write gnuplot's input: ") + std::strerror(errno));
  const int in_fd = ::fileno(in.get()), out_fd = ::fileno(out.get());
  ::lseek(in_fd, 0, SEEK_SET);
  const std::string wd = dir.empty() ? "." : dir;
  static constexpr char kChdirFailed[] = "mhclab: cannot enter the plot directory\n";
  static constexpr char kExecFailed[] = "mhclab: cannot execute gnuplot\n";
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw ComputeError(std::string("cannot start gnuplot: ") + std::strerror(errno));
  if (pid == 0) {  // child: async-signal-safe calls only
    // gnuplot dies with mhclab: an orphan must not go on writing figures after its parent was killed.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
    // mhclab ignores SIGXFSZ (a write beyond a file-size limit is then a clean error), and an ignored signal stays
    // ignored across exec: give gnuplot the default back, so that it dies instead of writing a truncated figure.
    ::signal(SIGXFSZ, SIG_DFL);
    if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(out_fd, 2) < 0) ::_exit(127);
    if (::chdir(wd.c_str()) != 0) {
      [[maybe_unused]] const auto n = ::write(2, kChdirFailed, sizeof kChdirFailed - 1);
      ::_exit(127);
    }
    ::execl(exe.c_str(), exe.c_str(), "/dev/stdin", static_cast<char*>(nullptr));
    [[maybe_unused]] const auto n = ::write(2, kExecFailed, sizeof kExecFailed - 1);
    ::_exit(127);
  }
  RunResult r;
  while (::waitpid(pid, &r.status, 0) < 0) {
    if (errno != EINTR) throw ComputeError(std::string("waiting for gnuplot: ") + std::strerror(errno));
  }
  ::lseek(out_fd, 0, SEEK_SET);
  char buf[4096];
  for (ssize_t n; (n = ::read(out_fd, buf, sizeof buf)) > 0;) r.output.append(buf, static_cast<std::size_t>(n));
  return r;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == '\n' || s[b] == ' ')) ++b;
  return s.substr(b);
}

/// gnuplot names its input "/dev/stdin"; the line numbers are those of <name>.gp, so name that.
std::string as_script_messages(std::string text, const std::string& script_name) {
  const std::string from = "\"/dev/stdin\"", to = "\"" + script_name + "\"";
  for (std::size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += to.size()) text.replace(p, from.size(), to);
  return trimmed(std::move(text));
}

/// Whether a rendered figure is complete: a PNG ends with its IEND chunk, an SVG with </svg>, a PDF with %%EOF. A
/// full disk can leave gnuplot's output truncated without gnuplot reporting it; such a figure is never renamed.
bool complete_figure(const std::string& path, const std::string& format) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  const std::streamoff size = f.tellg();
  const std::streamoff n = std::min<std::streamoff>(size, 64);
  std::string tail(static_cast<std::size_t>(n), '\0');
  f.seekg(size - n);
  if (!f.read(tail.data(), n)) return false;
  if (format == "png") {
    static const std::string iend("\x00\x00\x00\x00IEND\xae\x42\x60\x82", 12);
    return tail.size() >= iend.size() && tail.compare(tail.size() - iend.size(), iend.size(), iend) == 0;
  }
  if (format == "svg") return trimmed(tail).size() >= 6 && trimmed(tail).ends_with("</svg>");
  if (format == "pdf") return tail.find("%%EOF") != std::string::npos;
  return true;
}

/// Removes the listed files at scope exit (the temporary figures; a renamed one is already gone).
struct RemoveAtExit {
  std::vector<std::string> paths;
  ~RemoveAtExit() {
    for (const auto& p : paths) {
      std::error_code ec;
      fs::remove(p, ec);
    }
  }
};

void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

}  // namespace

void PlotSpec::validate() const {
  const std::string what = "plot " + in_quotes(name);
  if (!valid_name(name)) throw InputError(what + ": name = " + in_quotes(name) + "; expected letters, digits, '_', '.', '-' (a file stem)");
  if (x.empty()) throw InputError(what + ": x is empty; expected a column name");
  if (y.empty()) throw InputError(what + ": y is empty; expected at least one column or metric name");
  for (std::size_t k = 0; k < y.size(); ++k) {
    if (y[k].empty()) throw InputError(what + ": y[" + std::to_string(k) + "] is empty; expected a column or metric name");
    for (std::size_t j = 0; j < k; ++j)
      if (y[j] == y[k]) throw InputError(what + ": y = " + in_quotes(y[k]) + " appears twice");
  }
  for (std::size_t k = 0; k < facet.size(); ++k)
    if (facet[k].empty()) throw InputError(what + ": facet[" + std::to_string(k) + "] is empty; expected a column name");
  for (const auto& [col, value] : where)
    if (col.empty()) throw InputError(what + ": where '=" + value + "' has an empty column name; expected COL=VALUE");
  if (band != "ci95" && band != "quantiles" && band != "none")
    throw InputError(what + ": band = " + in_quotes(band) + "; expected ci95|quantiles|none");
  if (!group_with.empty() && group.empty())
    throw InputError(what + ": group_with needs a group column");
  if (style != "lines" && style != "points")
    throw InputError(what + ": style = " + in_quotes(style) + "; expected lines|points");
  if (formats.empty()) throw InputError(what + ": formats is empty; expected one or more of png|svg|pdf");
  for (std::size_t k = 0; k < formats.size(); ++k) {
    if (formats[k] != "png" && formats[k] != "svg" && formats[k] != "pdf")
      throw InputError(what + ": format = " + in_quotes(formats[k]) + "; expected png|svg|pdf");
    for (std::size_t j = 0; j < k; ++j)
      if (formats[j] == formats[k]) throw InputError(what + ": format " + in_quotes(formats[k]) + " appears twice");
  }
  for (const auto& [field, text] : {std::pair<const char*, const std::string*>{"title", &title},
                                    {"xlabel", &xlabel}, {"ylabel", &ylabel}})
    if (has_control(*text)) throw InputError(what + ": " + field + " holds a control character (line break, tab, …)");
}

PlotSummary render_plot(const Table& data, const PlotSpec& spec, const std::string& dir) {
  spec.validate();
  const Selection sel = select(data, spec);
  const fs::path base(dir);
  const std::string dat = (base / (spec.name + ".dat")).string(), gp = (base / (spec.name + ".gp")).string();
  PlotSummary summary;
  write_file_atomically(dat, data_text(sel, spec));
  summary.files.push_back(dat);
  write_file_atomically(gp, script_text(sel, spec, ""));
  summary.files.push_back(gp);

  const std::optional<std::string> exe = find_gnuplot(summary.message);
  if (!exe) return summary;

  const std::string suffix = ".tmp" + std::to_string(::getpid());
  RemoveAtExit temps;
  for (const std::string& f : spec.formats) temps.paths.push_back((base / (spec.name + "." + f + suffix)).string());
  const RunResult run = run_gnuplot(*exe, dir, script_text(sel, spec, suffix));
  const std::string messages = as_script_messages(run.output, spec.name + ".gp");
  if (WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGXFSZ)
    throw InputError((base / spec.name).string() + "." + spec.formats.front() +
                     ": cannot write: File too large (gnuplot stopped at the file-size limit)");
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    const std::string how = WIFEXITED(run.status) ? "exit status " + std::to_string(WEXITSTATUS(run.status))
                                                  : "signal " + std::to_string(WTERMSIG(run.status));
    throw ComputeError("plot " + in_quotes(spec.name) + ": gnuplot (" + *exe + ") failed with " + how +
                       (messages.empty() ? std::string() : ":\n" + messages));
  }
  for (std::size_t k = 0; k < spec.formats.size(); ++k) {
    const std::string& tmp = temps.paths[k];
    const std::string fig = (base / (spec.name + "." + spec.formats[k])).string();
    std::error_code ec;
    if (!fs::is_regular_file(tmp, ec) || fs::file_size(tmp, ec) == 0)
      throw ComputeError("plot " + in_quotes(spec.name) + ": gnuplot (" + *exe + ") wrote no " + fig +
                         (messages.empty() ? std::string() : ":\n" + messages));
    if (!complete_figure(tmp, spec.formats[k]))
      throw InputError(fig + ": cannot write: gnuplot's " + spec.formats[k] +
                       " output is incomplete (disk full or file-size limit?)");
    fsync_file(tmp);
    fs::rename(tmp, fig, ec);
    if (ec) throw InputError(fig + ": cannot write: " + ec.message());
    summary.files.push_back(fig);
  }
  summary.rendered = true;
  summary.message = messages;
  return summary;
}

}  // namespace mhclab
