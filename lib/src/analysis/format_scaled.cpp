// analysis/format_scaled.hpp: decimal text beyond the double range (SPEC §4).
#include "mhclab/core/format.hpp"
#include "mhclab/analysis/format_scaled.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace mhclab {

std::string format_scaled(double log10_value, int sign) {
  if (std::isnan(log10_value)) return "nan";
  const char* minus = sign < 0 ? "-" : "";
  if (sign == 0 || log10_value == -HUGE_VAL) return std::string(minus) + "0";
  if (log10_value == HUGE_VAL) return std::string(minus) + "inf";
  constexpr double u = DBL_EPSILON / 2;
  const double rel = std::numbers::ln10 * u * std::fabs(log10_value) + 2 * u;
  const int digits = std::clamp(static_cast<int>(std::floor(-std::log10(rel))), 1, 17);
  double e = std::floor(log10_value);
  double mant = std::pow(10.0, log10_value - e);  // ∈ [1, 10)
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits - 1, mant);
  if (buf[0] == '1' && buf[1] == '0') {  // rounded up to 10.0…: renormalise
    mant /= 10.0;
    e += 1.0;
    std::snprintf(buf, sizeof buf, "%.*f", digits - 1, mant);
  }
  char out[96];
  std::snprintf(out, sizeof out, "%s%se%c%.0f", minus, buf, e < 0 ? '-' : '+', std::fabs(e));
  return out;
}

namespace {

/// Whether `value` itself is the number to write (see format_metric): finite and normal, or an exact zero/inf, or a
/// pair without a log form; also an inconsistent pair (a non-finite log10 that does not match the value).
bool double_is_exact(double value, double log10_abs) {
  return (std::isfinite(value) && std::fabs(value) >= DBL_MIN) || (value == 0.0 && log10_abs == -HUGE_VAL) ||
         (std::isinf(value) && log10_abs == HUGE_VAL) || !std::isfinite(log10_abs);
}

}  // namespace

std::string format_metric(double value, double log10_abs) {
  if (std::isnan(value)) return "nan";
  if (double_is_exact(value, log10_abs)) return format_double(value);
  return format_scaled(log10_abs, std::signbit(value) ? -1 : 1);
}

void append_metric_cell(std::string& out, double value, double log10_abs) {
  if (std::isnan(log10_abs)) {  // no log form: the double, or an empty cell for an undefined value
    if (!std::isnan(value)) append_double(out, value);
    return;
  }
  if (std::isnan(value)) {
    out += "nan";
  } else if (double_is_exact(value, log10_abs)) {
    append_double(out, value);
  } else {
    out += format_scaled(log10_abs, std::signbit(value) ? -1 : 1);
  }
}

}  // namespace mhclab
