// analysis/metric_cell.hpp: formatting of one table cell.
#include "mhclab/analysis/metric_cell.hpp"

#include <cmath>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

std::string MetricCell::format() const {
  switch (kind) {
    case Kind::Empty: return {};
    // An undefined value (NaN, e.g. log10 of a negative minimum row sum) is an empty cell, never "nan".
    case Kind::Number: {
      std::string out;
      append_metric_cell(out, value, log10_abs);
      return out;
    }
    case Kind::Flag: return flag ? "true" : "false";
    case Kind::Text: return text;
  }
  return {};
}

}  // namespace mhclab
