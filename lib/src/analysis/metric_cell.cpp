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
    case Kind::Number: if (std::isnan(value) && !has_log_form()) return {};
      return has_log_form() ? format_metric(value, log10_abs) : format_double(value);
    case Kind::Flag: return flag ? "true" : "false";
    case Kind::Text: return text;
  }
  return {};
}

}  // namespace mhclab
