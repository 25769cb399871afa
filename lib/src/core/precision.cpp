#include "mhclab/core/precision.hpp"

#include <cfloat>
#include <cmath>

namespace mhclab {
namespace {
/// Round-to-nearest-even to `bits` significant bits with minimum normal exponent emin (x = m·2^e,
/// 1 ≤ m < 2, e ≥ emin normal) and overflow threshold 2^(emax+1).
double round_bits(double x, int bits, int emin, int emax) noexcept {
  if (x == 0.0 || !std::isfinite(x)) return x;
  const double a = std::fabs(x);
  int e2 = 0;
  (void)std::frexp(a, &e2);  // a = f·2^e2, f ∈ [0.5, 1) → exponent of a in [1,2) form is e2 − 1
  int e = e2 - 1;
  if (e < emin) e = emin;    // subnormal range: fixed quantum
  const double q = std::ldexp(1.0, e - (bits - 1));
  double r = std::nearbyint(a / q) * q;  // a/q is exact (power-of-two scaling); nearbyint = ties-to-even
  if (r >= std::ldexp(1.0, emax + 1)) r = INFINITY;
  return std::copysign(r, x);
}
}  // namespace

double round_to_narrow(double x, Precision p) noexcept {
  switch (p) {
    case Precision::FP64: return x;
    case Precision::FP32: return round_bits(x, 24, -126, 127);
    case Precision::BF16: return round_bits(x, 8, -126, 127);
  }
  return x;
}

double unit_roundoff(Precision p) noexcept {
  switch (p) {
    case Precision::FP64: return 0x1.0p-53;
    case Precision::FP32: return 0x1.0p-24;
    case Precision::BF16: return 0x1.0p-8;
  }
  return 0x1.0p-53;
}

double smallest_normal(Precision p) noexcept { return p == Precision::FP64 ? DBL_MIN : static_cast<double>(FLT_MIN); }

}  // namespace mhclab
