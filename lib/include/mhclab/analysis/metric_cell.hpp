#pragma once
// One cell of a metric table (depth metrics, Sinkhorn columns, Lyapunov columns), kept as a number with its
// log form rather than as text, so tables can be aggregated (token averages, seeds) before they are written.
// Writers format cells with MetricCell::format (SPEC §4: linear values beyond the double range are written
// from the log form, e.g. `1.2345e+4139`; never inf/0 for a finite non-zero value).
#include <cmath>
#include <limits>
#include <string>
#include <utility>

namespace mhclab {

struct MetricCell {
  enum class Kind { Empty, Number, Flag, Text };
  Kind kind = Kind::Empty;
  /// Number: the value as a double (±inf / ±0 when the true value is beyond the double range).
  double value = 0.0;
  /// Number: log10 of the true magnitude when the double may be out of range (then format() writes the log
  /// form if needed); NaN when `value` is always exact (dimensionless columns, log10 columns, counts).
  double log10_abs = std::numeric_limits<double>::quiet_NaN();
  bool flag = false;  ///< Flag
  std::string text;   ///< Text (e.g. a Sinkhorn status)

  [[nodiscard]] static MetricCell number(double v, double log10_abs = std::numeric_limits<double>::quiet_NaN()) {
    MetricCell c;
    c.kind = Kind::Number;
    c.value = v;
    c.log10_abs = log10_abs;
    return c;
  }
  [[nodiscard]] static MetricCell boolean(bool b) {
    MetricCell c;
    c.kind = Kind::Flag;
    c.flag = b;
    return c;
  }
  [[nodiscard]] static MetricCell label(std::string s) {
    MetricCell c;
    c.kind = Kind::Text;
    c.text = std::move(s);
    return c;
  }
  [[nodiscard]] bool has_log_form() const { return kind == Kind::Number && !std::isnan(log10_abs); }

  /// CSV text: Number → `%.17g`, or the log form beyond the double range (analysis/format_scaled.hpp);
  /// Flag → true/false; Text as is; Empty → "".
  [[nodiscard]] std::string format() const;
};

}  // namespace mhclab
