#pragma once
// The figures of an experiment: each [[plot]] table (sweep/experiment.hpp) drawn from the results directory's
// aggregates.csv, rows.csv or timings.csv into <dir>/figures (plot/gnuplot.hpp), and <dir>/index.md listing them.
#include <string>
#include <vector>

#include "mhclab/sweep/experiment.hpp"

namespace mhclab {

struct FiguresSummary {
  std::vector<std::string> files;  ///< rendered figures (paths relative to the results directory)
  std::string message;             ///< why figures were not rendered (gnuplot missing), else empty
};

/// Throws InputError "<file>:<line>: plot 'name': …" for a plot that names a missing column or metric.
FiguresSummary render_figures(const Experiment& e, const std::string& dir);

}  // namespace mhclab
