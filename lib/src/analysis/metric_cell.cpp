// analysis/metric_cell.hpp: formatting of one table cell.
#include "mhclab/analysis/metric_cell.hpp"

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

std::string MetricCell::format() const {
  switch (kind) {
    case Kind::Empty: return {};
    case Kind::Number: return has_log_form() ? format_metric(value, log10_abs) : format_double(value);
    case Kind::Flag: return flag ? "true" : "false";
    case Kind::Text: return text;
  }
  return {};
}

}  // namespace mhclab
