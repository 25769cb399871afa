#pragma once
// Decimal text for numbers that may lie beyond the double range (SPEC §4: "linear columns beyond the double
// range are written from the log form (`1.2345e+4139`)"), so CSV writers never print inf or 0 for a finite
// non-zero value.
#include <string>

namespace mhclab {

/// sign·10^{log10_value} in scientific notation with an unbounded exponent, e.g. (4139.2685, +1) →
/// "1.85640597e+4139". The number of significant digits is what log10_value resolves: a double log10 value
/// L carries an absolute error ≈ u·|L|, i.e. a relative error ≈ ln(10)·u·|L| of the mantissa, so
/// digits = clamp(⌊−log10(ln(10)·u·|L| + 2u)⌋, 1, 17) (17 near L = 0, 11 at L ≈ 4000, 7 at L ≈ 1e7).
/// sign = 0 or log10_value = −inf give "0" ("-0" for a negative sign); log10_value = +inf gives "inf"/"-inf";
/// NaN gives "nan".
[[nodiscard]] std::string format_scaled(double log10_value, int sign);

/// A metric's linear value for a CSV cell: `%.17g` of `value` when that is exact — finite and normal, or an
/// exact zero/inf (log10_abs = ∓inf) — otherwise (value over/underflowed: ±inf, ±0 or subnormal while
/// log10_abs = log10|true value| is finite) format_scaled(log10_abs, sign of value). NaN gives "nan".
[[nodiscard]] std::string format_metric(double value, double log10_abs);

/// Appends the text of a metric cell (value, log10_abs) to `out`, the one rule of every table writer
/// (MetricCell::format, ResultTable's CSV): without a log form (log10_abs NaN) the `%.17g` of value, or nothing for
/// an undefined value (NaN: an empty cell, never "nan"); with one, format_metric(value, log10_abs).
void append_metric_cell(std::string& out, double value, double log10_abs);

}  // namespace mhclab
