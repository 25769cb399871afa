// analysis/format_scaled.hpp: decimal text beyond the double range (SPEC §4).
#include "mhclab/core/format.hpp"
#include "mhclab/analysis/format_scaled.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace mhclab {
namespace {

}  // namespace

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

std::string format_metric(double value, double log10_abs) {
  if (std::isnan(value)) return "nan";
  const bool exact = (std::isfinite(value) && std::fabs(value) >= DBL_MIN) ||
                     (value == 0.0 && log10_abs == -HUGE_VAL) || (std::isinf(value) && log10_abs == HUGE_VAL) ||
                     std::isnan(log10_abs);
  if (exact) return format_double(value);
  if (!std::isfinite(log10_abs)) return format_double(value);  // inconsistent pair: keep the double
  return format_scaled(log10_abs, std::signbit(value) ? -1 : 1);
}

}  // namespace mhclab
