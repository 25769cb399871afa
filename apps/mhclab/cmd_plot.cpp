// `mhclab plot RESULTS.csv --x COL --y COL [--group COL] [--facet COL]… [--where COL=VALUE]… [--band B]
// [--logx] [--logy] [--title T] [--xlabel T] [--ylabel T] [--out FIG.png|.svg|.pdf]` (CLI.md): one figure from a
// result table with gnuplot (mhclab/plot/gnuplot.hpp). An aggregate table (columns `metric` and `mean`) plots
// metrics with a band; any other table plots columns. --out defaults to `<csv stem>_<y…>.png` next to the CSV;
// its extension picks the format; the gnuplot script (.gp) and data (.dat) go next to it with the same stem.
// Without gnuplot, the script and data are still written and a warning says how to render them.
#include <fmt/core.h>

#include <filesystem>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/plot/gnuplot.hpp"

namespace mhclab::app {

namespace {
namespace fs = std::filesystem;

struct PlotCli {
  std::string csv;
  std::string x;
  std::vector<std::string> y;
  std::string group;
  std::vector<std::string> facet;
  std::vector<std::string> where;
  std::string band = "ci95";
  bool logx = false;
  bool logy = false;
  std::string title, xlabel, ylabel;
  std::string out;
};

/// A file stem made of the characters PlotSpec::name allows (others become '_').
std::string safe_stem(std::string s) {
  for (char& c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      c = '_';
  return s;
}

int run_plot(const PlotCli& c) {
  const Table table = read_table(c.csv);
  const fs::path out = c.out.empty()
                           ? fs::path(c.csv).parent_path() / (safe_stem(fs::path(c.csv).stem().string() + "_" +
                                                                        joined(c.y, "_")) + ".png")
                           : fs::path(c.out);
  const std::string ext = out.extension().string();
  if (ext != ".png" && ext != ".svg" && ext != ".pdf")
    throw InputError("--out '" + out.string() + "': expected a .png, .svg or .pdf file name");
  if (const std::string stem = out.stem().string(); stem.empty() || safe_stem(stem) != stem)
    throw InputError("--out '" + out.string() + "': the file name may hold only letters, digits, '_', '.', '-'");

  PlotSpec spec;
  spec.name = out.stem().string();
  spec.x = c.x;
  spec.y = c.y;
  spec.group = c.group;
  spec.facet = c.facet;
  for (const std::string& w : c.where) {
    const std::size_t eq = w.find('=');
    if (eq == std::string::npos || eq == 0) throw InputError("--where '" + w + "': expected COL=VALUE");
    spec.where.emplace_back(w.substr(0, eq), w.substr(eq + 1));
  }
  spec.band = c.band;
  spec.logx = c.logx;
  spec.logy = c.logy;
  spec.title = c.title;
  spec.xlabel = c.xlabel;
  spec.ylabel = c.ylabel;
  spec.formats = {ext.substr(1)};
  const std::string dir = out.parent_path().string();

  const PlotSummary s = render_plot(table, spec, dir);
  if (s.rendered) {
    fmt::print(stderr, "mhclab plot: wrote {}\n", joined(s.files, ", "));
    if (!s.message.empty()) fmt::print(stderr, "mhclab plot: gnuplot says: {}\n", s.message);
  } else {
    fmt::print(stderr, "mhclab plot: warning: {}; wrote {} only (render with `gnuplot {}.gp` in {})\n", s.message,
               joined(s.files, ", "), spec.name, dir.empty() ? "." : dir);
  }
  return 0;
}
}  // namespace

void setup_plot(CLI::App& app, Registry& r) {
  auto c = std::make_shared<PlotCli>();
  CLI::App* sub = app.add_subcommand("plot", "Plot columns (or aggregate metrics) of a result CSV with gnuplot");
  sub->add_option("results", c->csv, "Result CSV (a table of `depth`, `propagate`, … or an aggregate)")->required();
  sub->add_option("--x", c->x, "x column")->required();
  sub->add_option("--y", c->y, "y column(s), or metric(s) of an aggregate table (repeatable or comma-separated)")
      ->required()
      ->delimiter(',')
      ->allow_extra_args(false);
  sub->add_option("--group", c->group, "One line per distinct value of this column (legend)");
  sub->add_option("--facet", c->facet, "One panel per distinct value(s) of this column (repeatable)")
      ->delimiter(',')
      ->allow_extra_args(false);
  sub->add_option("--where", c->where, "Keep rows with COL == VALUE (as text or as numbers; repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--band", c->band, "Aggregate tables: band ci95|quantiles|none")->capture_default_str();
  sub->add_flag("--logx", c->logx, "Log x axis (uses the log10_<x> column on a linear axis when there is one)");
  sub->add_flag("--logy", c->logy, "Log y axis (uses the log10_<y> column/metric on a linear axis when there is one)");
  sub->add_option("--title", c->title, "Figure title");
  sub->add_option("--xlabel", c->xlabel, "x axis label (default: the x column)");
  sub->add_option("--ylabel", c->ylabel, "y axis label (default: the y names)");
  sub->add_option("--out", c->out, "Figure FIG.png|.svg|.pdf (default <csv stem>_<y>.png next to the CSV); "
                                   "FIG's stem .gp and .dat are written next to it");
  r.add(sub, [c] { return run_plot(*c); });
}

}  // namespace mhclab::app
