// plot/gnuplot.hpp: the data blocks and script written for plain and aggregate tables (series, filters, log10
// substitution, bands, facets), the error messages, and — when gnuplot is installed — the rendered figures.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/plot/gnuplot.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::read_text;
using mhclab::test::TempDir;
namespace fs = std::filesystem;

namespace {

/// Sets an environment variable for the scope, restoring the previous value (or its absence) after.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old) ::setenv(name.c_str(), old->c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

/// No gnuplot for the scope: data and script only (fast, and independent of the machine).
ScopedEnv no_gnuplot() { return ScopedEnv("MHCLAB_GNUPLOT", "/nonexistent/gnuplot"); }

bool gnuplot_available() {
  if (const char* v = std::getenv("MHCLAB_GNUPLOT"); v && *v) return fs::exists(v);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    if (fs::exists(dirs.substr(start, end - start) + "/gnuplot")) return true;
    start = end + 1;
  }
  return false;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t p = 0; (p = text.find(part, p)) != std::string::npos; p += part.size()) ++n;
  return n;
}

/// A plain `depth`-like table: seed, depth, kind, gain, log10_gain (seed 1 has an empty gain at depth 2).
Table plain_table() {
  Table t;
  t.header = {"seed", "depth", "kind", "gain", "log10_gain"};
  for (int seed : {0, 1})
    for (int depth : {3, 1, 2})
      for (const char* kind : {"prefix", "suffix"}) {
        const double g = (seed + 1) * depth * (kind[0] == 's' ? 10.0 : 1.0);
        std::string gain = std::to_string(g);
        if (seed == 1 && depth == 2) gain = "";
        t.rows.push_back({std::to_string(seed), std::to_string(depth), kind, gain, std::to_string(std::log10(g))});
      }
  return t;
}

/// An aggregate table: eta, depth, metric, count, mean, sd, median, q05, q95, ci95_lo, ci95_hi.
Table aggregate_table() {
  Table t;
  t.header = {"eta", "depth", "metric", "count", "mean", "sd", "median", "q05", "q95", "ci95_lo", "ci95_hi"};
  for (const char* eta : {"0.1", "0.01"})
    for (int depth = 1; depth <= 3; ++depth)
      for (const char* metric : {"gain", "log10_gain", "rank"}) {
        const double m = depth * (eta[2] == '1' ? 2.0 : 1.0);
        auto s = [](double v) { return std::to_string(v); };
        const bool no_band = std::string(metric) == "rank";
        t.rows.push_back({eta, std::to_string(depth), metric, "4", s(m), "0.5", s(m), s(m - 0.5), s(m + 0.5),
                          no_band ? "" : s(m - 0.25), no_band ? "" : s(m + 0.25)});
      }
  return t;
}

/// The lines of block `index` of a .dat text (comments and blank lines dropped).
std::vector<std::string> block(const std::string& dat, std::size_t index) {
  std::vector<std::string> out;
  std::size_t k = 0, blanks = 0, pos = 0;
  bool seen = false;
  while (pos < dat.size()) {
    std::size_t end = dat.find('\n', pos);
    if (end == std::string::npos) end = dat.size();
    const std::string line = dat.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      ++blanks;
      continue;
    }
    if (blanks >= 2 && seen) ++k;
    blanks = 0;
    if (line[0] == '#') continue;
    seen = true;
    if (k == index) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_SUITE("plot_gnuplot") {

TEST_CASE("plot: a plain table, grouped and filtered, one block per series sorted by x") {
  const auto env = no_gnuplot();
  TempDir dir("mhclab_test_plot_");
  PlotSpec spec;
  spec.name = "gain";
  spec.x = "depth";
  spec.y = {"gain"};
  spec.group = "seed";
  spec.where = {{"kind", "suffix"}};
  const PlotSummary s = render_plot(plain_table(), spec, dir.path.string());
  CHECK_FALSE(s.rendered);
  CHECK_MESSAGE_HAS(s.message, "MHCLAB_GNUPLOT", "/nonexistent/gnuplot");
  REQUIRE(s.files.size() == 2);
  CHECK(s.files[0] == dir.file("gain.dat"));
  CHECK(s.files[1] == dir.file("gain.gp"));
  CHECK(dir.entries() == std::vector<std::string>{"gain.dat", "gain.gp"});

  const std::string dat = read_text(dir.file("gain.dat"));
  CHECK(count(dat, "# series ") == 2);
  CHECK_MESSAGE_HAS(dat, "# series 0: seed=0; y=gain\n", "# series 1: seed=1; y=gain\n");
  CHECK(count(dat, "\n\n\n# series 1") == 1);  // two blank lines before block 1
  CHECK(block(dat, 0) == std::vector<std::string>{"1 10 NaN NaN", "2 20 NaN NaN", "3 30 NaN NaN"});
  CHECK(block(dat, 1) == std::vector<std::string>{"1 20 NaN NaN", "3 60 NaN NaN"});  // empty gain skipped

  const std::string gp = read_text(dir.file("gain.gp"));
  CHECK_MESSAGE_HAS(gp, "data = 'gain.dat'", "formats = 'png svg'", "do for [fmt in formats]",
                    "set terminal pngcairo size", "enhanced font ',10'", "set terminal svg", "set terminal pdfcairo",
                    "set output 'gain.'.fmt\n", "set grid", "set xlabel 'depth' noenhanced",
                    "set ylabel 'gain' noenhanced", "title 'seed' noenhanced", "data index 0 using 1:2",
                    "data index 1 using 1:2", "title '0' noenhanced", "title '1' noenhanced", "where kind=suffix");
  CHECK(count(gp, "lc rgb '#1f77b4'") == 1);
  CHECK(count(gp, "lc rgb '#ff7f0e'") == 1);
  CHECK(count(gp, "filledcurves") == 0);
  CHECK(count(gp, "multiplot") == 0);
  CHECK(count(gp, "logscale") == 0);
  CHECK(count(gp, ".tmp") == 0);

  // numeric equality in filters: "1.0" selects seed 1; formats are looped over as given
  spec.where = {{"kind", "prefix"}, {"seed", "1.0"}};
  spec.formats = {"pdf"};
  (void)render_plot(plain_table(), spec, dir.path.string());
  const std::string dat2 = read_text(dir.file("gain.dat"));
  CHECK(count(dat2, "# series ") == 1);
  CHECK(block(dat2, 0) == std::vector<std::string>{"1 2 NaN NaN", "3 6 NaN NaN"});
  CHECK_MESSAGE_HAS(read_text(dir.file("gain.gp")), "formats = 'pdf'");
}

TEST_CASE("plot: logy plots the log10_ column on a linear axis, else a log scale without points <= 0") {
  const auto env = no_gnuplot();
  TempDir dir("mhclab_test_plot_");
  PlotSpec spec;
  spec.name = "lg";
  spec.x = "depth";
  spec.y = {"gain"};
  spec.where = {{"kind", "prefix"}, {"seed", "0"}};
  spec.logy = true;
  (void)render_plot(plain_table(), spec, dir.path.string());
  std::string gp = read_text(dir.file("lg.gp"));
  CHECK_MESSAGE_HAS(gp, "set ylabel 'log10 gain' noenhanced", "unset key");
  CHECK(count(gp, "logscale") == 0);
  CHECK_MESSAGE_HAS(read_text(dir.file("lg.dat")), "y=log10_gain", "\n2 0.30103");

  // a value beyond the double range: skipped as a number, plottable from its log10 column
  Table big = plain_table();
  big.rows[0][3] = "1e+4139";  // seed 0, depth 3, prefix
  big.rows[0][4] = "4139";
  (void)render_plot(big, spec, dir.path.string());
  CHECK(block(read_text(dir.file("lg.dat")), 0).back() == "3 4139 NaN NaN");
  spec.logy = false;
  (void)render_plot(big, spec, dir.path.string());
  CHECK(block(read_text(dir.file("lg.dat")), 0) == std::vector<std::string>{"1 1 NaN NaN", "2 2 NaN NaN"});
  spec.logy = true;

  // no log10_ column: logscale, and a non-positive value is dropped
  Table t = plain_table();
  t.header[4] = "other";
  t.rows[0][3] = "-1";  // seed 0, depth 3, prefix
  (void)render_plot(t, spec, dir.path.string());
  gp = read_text(dir.file("lg.gp"));
  CHECK_MESSAGE_HAS(gp, "set logscale y", "set ylabel 'gain' noenhanced");
  CHECK(block(read_text(dir.file("lg.dat")), 0) == std::vector<std::string>{"1 1 NaN NaN", "2 2 NaN NaN"});

  // several y: substituted only when every y has its log10_ column (one axis cannot mix both)
  spec.y = {"gain", "seed"};
  (void)render_plot(plain_table(), spec, dir.path.string());
  gp = read_text(dir.file("lg.gp"));
  CHECK_MESSAGE_HAS(gp, "set logscale y", "set ylabel 'gain, seed' noenhanced");
  CHECK_MESSAGE_HAS(read_text(dir.file("lg.dat")), "# series 0: y=gain\n");
  CHECK(count(read_text(dir.file("lg.dat")), "# series ") == 1);  // seed = 0 is dropped on the log axis
  spec.y = {"gain"};

  // logx: log10_depth column substituted, axis label "log10 depth"
  t = plain_table();
  t.header[4] = "log10_depth";
  spec.logy = false;
  spec.logx = true;
  (void)render_plot(t, spec, dir.path.string());
  CHECK_MESSAGE_HAS(read_text(dir.file("lg.gp")), "set xlabel 'log10 depth' noenhanced");
}

TEST_CASE("plot: an aggregate table plots the mean of each metric with its band") {
  const auto env = no_gnuplot();
  TempDir dir("mhclab_test_plot_");
  PlotSpec spec;
  spec.name = "agg";
  spec.x = "depth";
  spec.y = {"gain", "rank"};
  spec.group = "eta";
  (void)render_plot(aggregate_table(), spec, dir.path.string());
  const std::string dat = read_text(dir.file("agg.dat"));
  CHECK(count(dat, "# series ") == 4);  // (gain, rank) × (0.1, 0.01)
  CHECK_MESSAGE_HAS(dat, "# series 0: eta=0.1; y=gain", "# series 1: eta=0.01; y=gain", "# series 2: eta=0.1; y=rank");
  CHECK(block(dat, 0) == std::vector<std::string>{"1 2 1.75 2.25", "2 4 3.75 4.25", "3 6 5.75 6.25"});
  CHECK(block(dat, 2) == std::vector<std::string>{"1 2 NaN NaN", "2 4 NaN NaN", "3 6 NaN NaN"});  // empty band
  std::string gp = read_text(dir.file("agg.gp"));
  CHECK(count(gp, "with filledcurves") == 2);  // gain only
  CHECK_MESSAGE_HAS(gp, "data index 0 using 1:3:4 with filledcurves lc rgb '#1f77b4' fs transparent solid 0.2 noborder",
                    "title '0.1: gain' noenhanced", "title '0.01: rank' noenhanced", "dt 1", "dt 2",
                    "set ylabel 'gain, rank (mean, 95% CI)' noenhanced");
  // the same colour for a group value across y's
  CHECK(count(gp, "lc rgb '#1f77b4'") == 3);  // band + two lines of eta = 0.1

  spec.band = "quantiles";
  spec.y = {"gain"};
  (void)render_plot(aggregate_table(), spec, dir.path.string());
  CHECK(block(read_text(dir.file("agg.dat")), 1) ==
        std::vector<std::string>{"1 1 0.5 1.5", "2 2 1.5 2.5", "3 3 2.5 3.5"});

  spec.band = "none";
  (void)render_plot(aggregate_table(), spec, dir.path.string());
  CHECK(count(read_text(dir.file("agg.gp")), "filledcurves") == 0);
  CHECK(block(read_text(dir.file("agg.dat")), 0) == std::vector<std::string>{"1 2 NaN NaN", "2 4 NaN NaN", "3 6 NaN NaN"});

  // logy: the log10_gain metric replaces gain
  spec.band = "ci95";
  spec.logy = true;
  spec.where = {{"eta", "0.01"}};
  (void)render_plot(aggregate_table(), spec, dir.path.string());
  CHECK_MESSAGE_HAS(read_text(dir.file("agg.dat")), "# series 0: eta=0.01; y=log10_gain");
  gp = read_text(dir.file("agg.gp"));
  CHECK_MESSAGE_HAS(gp, "set ylabel 'log10 gain (mean, 95% CI)' noenhanced");
  CHECK(count(gp, "logscale") == 0);
}

TEST_CASE("plot: facets give a multiplot grid with one panel per combination") {
  const auto env = no_gnuplot();
  TempDir dir("mhclab_test_plot_");
  PlotSpec spec;
  spec.name = "fac";
  spec.x = "depth";
  spec.y = {"gain"};
  spec.group = "seed";
  spec.facet = {"kind"};
  spec.title = "gain_by kind";
  (void)render_plot(plain_table(), spec, dir.path.string());
  const std::string gp = read_text(dir.file("fac.gp"));
  CHECK_MESSAGE_HAS(gp, "set multiplot layout 1,2 title 'gain_by kind' noenhanced", "set title 'kind=prefix' noenhanced",
                    "set title 'kind=suffix' noenhanced", "unset multiplot", "set key tmargin");
  CHECK(count(gp, "  plot \\") == 2);
  const std::string dat = read_text(dir.file("fac.dat"));
  CHECK(count(dat, "# series ") == 4);
  CHECK_MESSAGE_HAS(dat, "# series 0: kind=prefix; seed=0; y=gain", "# series 3: kind=suffix; seed=1; y=gain");
  // seed 0 has the same colour in both panels
  CHECK(count(gp, "lc rgb '#1f77b4'") == 2);

  // two facet columns, three combinations → 2×2 grid; a quote in a title is doubled
  spec.facet = {"kind", "seed"};
  spec.group.clear();
  spec.title = "it's";
  Table t = plain_table();
  t.rows.erase(t.rows.begin());  // still every combination: 4 panels
  (void)render_plot(t, spec, dir.path.string());
  const std::string gp2 = read_text(dir.file("fac.gp"));
  CHECK_MESSAGE_HAS(gp2, "set multiplot layout 2,2 title 'it''s' noenhanced", "set title 'kind=suffix, seed=1' noenhanced");

  // a line break in a cell (possible in a Table built in code) cannot break out of a comment or a string
  t = plain_table();
  t.rows[0][2] = "pre\nplot 'x'";
  spec.facet = {"kind"};
  (void)render_plot(t, spec, dir.path.string());
  CHECK_MESSAGE_HAS(read_text(dir.file("fac.gp")), "set title 'kind=pre plot ''x''' noenhanced",
                    "#   index 0: kind=pre plot 'x'; y=gain");
  CHECK(count(read_text(dir.file("fac.gp")), "\nplot 'x'") == 0);
  CHECK(count(read_text(dir.file("fac.dat")), "\nplot 'x'") == 0);
}

TEST_CASE("plot: validate() and the selection name the plot and the field") {
  const auto env = no_gnuplot();
  TempDir dir("mhclab_test_plot_");
  PlotSpec ok;
  ok.name = "a";
  ok.x = "depth";
  ok.y = {"gain"};
  CHECK_NOTHROW(ok.validate());
  auto error_of = [&](auto edit) {
    PlotSpec s = ok;
    edit(s);
    return input_error_of([&] { (void)render_plot(plain_table(), s, dir.path.string()); });
  };
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.band = "x"; }), "plot 'a': band = 'x'; expected ci95|quantiles|none");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.name = "a/b"; }), "plot 'a/b': name = 'a/b'; expected letters");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.name = ""; }), "name = ''");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.x = ""; }), "plot 'a': x is empty");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.y.clear(); }), "plot 'a': y is empty");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.y = {"gain", "gain"}; }), "y = 'gain' appears twice");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.formats = {"jpg"}; }), "plot 'a': format = 'jpg'; expected png|svg|pdf");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.formats = {}; }), "formats is empty");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.formats = {"png", "png"}; }), "format 'png' appears twice");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.title = "a\nb"; }), "plot 'a': title holds a control character");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.where = {{"", "1"}}; }), "empty column name");

  // unknown columns, metrics; nothing left
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.y = {"gian"}; }), "plot 'a': no column 'gian'; columns are seed, depth");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.x = "step"; }), "plot 'a': no column 'step'");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.group = "method"; }), "plot 'a': no column 'method'");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.facet = {"eta"}; }), "plot 'a': no column 'eta'");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.where = {{"rho", "0"}}; }), "plot 'a': no column 'rho'");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.where = {{"kind", "layer"}}; }),
                    "plot 'a': no rows match (where kind=layer)");
  CHECK_MESSAGE_HAS(error_of([](PlotSpec& s) { s.y = {"kind"}; }), "plot 'a': no rows match (no where filters)",
                    "none of the 12 rows");
  CHECK_MESSAGE_HAS(input_error_of([&] {
                      PlotSpec s = ok;
                      s.y = {"gains"};
                      (void)render_plot(aggregate_table(), s, dir.path.string());
                    }),
                    "plot 'a': no metric 'gains' in the aggregate table; metrics are gain, log10_gain, rank");
  CHECK(dir.entries().empty());  // errors before anything is written
}

TEST_CASE("plot: gnuplot renders PNG and SVG through temporary names; a missing or failing gnuplot") {
  TempDir dir("mhclab_test_plot_");
  PlotSpec spec;
  spec.name = "fig_1";
  spec.x = "depth";
  spec.y = {"gain", "log10_gain"};
  spec.group = "seed";
  spec.facet = {"kind"};
  spec.title = "suffix_gain";
  if (gnuplot_available()) {
    const PlotSummary s = render_plot(plain_table(), spec, dir.path.string());
    CHECK(s.rendered);
    CHECK(s.files == std::vector<std::string>{dir.file("fig_1.dat"), dir.file("fig_1.gp"), dir.file("fig_1.png"),
                                              dir.file("fig_1.svg")});
    CHECK(read_text(dir.file("fig_1.png")).substr(0, 4) == "\x89PNG");
    CHECK_MESSAGE_HAS(read_text(dir.file("fig_1.svg")), "<svg");
    CHECK(dir.entries() == std::vector<std::string>{"fig_1.dat", "fig_1.gp", "fig_1.png", "fig_1.svg"});

    // the aggregate path with bands renders too (pdf)
    PlotSpec agg;
    agg.name = "agg";
    agg.x = "depth";
    agg.y = {"gain"};
    agg.group = "eta";
    agg.logy = true;
    agg.formats = {"pdf"};
    CHECK(render_plot(aggregate_table(), agg, dir.path.string()).rendered);
    CHECK(read_text(dir.file("agg.pdf")).substr(0, 5) == "%PDF-");
  } else {
    MESSAGE("gnuplot not found: rendering not tested");
  }
  {
    TempDir dir2("mhclab_test_plot_");
    const ScopedEnv env("MHCLAB_GNUPLOT", dir2.file("no_such_gnuplot"));
    const PlotSummary s = render_plot(plain_table(), spec, dir2.path.string());
    CHECK_FALSE(s.rendered);
    CHECK_MESSAGE_HAS(s.message, "MHCLAB_GNUPLOT", "no_such_gnuplot", "not an executable");
    CHECK(dir2.entries() == std::vector<std::string>{"fig_1.dat", "fig_1.gp"});
  }
  if (fs::exists("/bin/false")) {  // a gnuplot that fails: ComputeError, no figure, no temporary left
    TempDir dir3("mhclab_test_plot_");
    const ScopedEnv env("MHCLAB_GNUPLOT", "/bin/false");
    CHECK_THROWS_AS((void)render_plot(plain_table(), spec, dir3.path.string()), ComputeError);
    CHECK(dir3.entries() == std::vector<std::string>{"fig_1.dat", "fig_1.gp"});
  }
}

}  // TEST_SUITE
