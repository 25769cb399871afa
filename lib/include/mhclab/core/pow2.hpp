#pragma once
// Exact scaling by powers of two: the arithmetic of every value kept as x̂·2^K with an integer binary exponent K
// (SPEC §4: products and states are "kept with a separate log scale"): ScaledNumber below, and for matrices
// analysis/scaled_matrix.hpp. Used by analysis/scaled_matrix (depth products), analysis/depth_stream (the streaming
// engine's points), analysis/normalised_chain and topk (normalised spectra) and model/propagation (states, gradients,
// the Jacobian's factors and the report's numbers).
//
// Multiplying by 2^e is exact whenever the result is a normal double. Every function here rounds at most once
// (into the subnormal range), so x̂·2^K converts to the correctly rounded double, which is ±inf or 0 only when the
// value itself lies beyond the double range.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#include <Eigen/Core>

namespace mhclab {

/// log10(2).
inline constexpr double kLog10Of2 = 0.30102999566398119521;

/// e with x = f·2^e, f ∈ [1/2, 1) (std::frexp's exponent; 0 for x = 0; x must be finite).
[[nodiscard]] inline long binary_exponent(double x) {
  int e = 0;
  (void)std::frexp(x, &e);
  return e;
}

/// e clamped to ±4000: beyond that every finite non-zero double (|x| ∈ [2^−1074, 2^1024)) gives 0 or ±inf anyway.
[[nodiscard]] inline int clamp_shift(long e) { return static_cast<int>(std::clamp<long>(e, -4000, 4000)); }

/// x·2^e with one rounding, for any e (ldexp's result; for |e| ≤ 1000 a multiplication by the exact power, the
/// same correctly rounded product, faster).
[[nodiscard]] inline double times_pow2(double x, long e) {
  if (e >= -1000 && e <= 1000) return x * std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);
  return std::ldexp(x, clamp_shift(e));
}

/// a ← a·2^e in place, for an Eigen matrix, vector or block (each entry rounded at most once).
template <class A>
void scale_by_pow2(A&& a, long e) {
  if (e == 0) return;
  if (e >= -1000 && e <= 1000) {
    a *= std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);  // vectorised, same products
  } else {
    a = a.unaryExpr([e](double v) { return times_pow2(v, e); });
  }
}

/// The entries of an Eigen matrix, vector or expression times 2^e, as a new matrix (the argument is not changed).
template <class A>
[[nodiscard]] typename A::PlainObject times_pow2(const Eigen::MatrixBase<A>& a, long e) {
  typename A::PlainObject out = a;
  scale_by_pow2(out, e);
  return out;
}

/// log10|x̂·2^K| = log10|x̂| + K·log10 2 (−inf for x̂ = 0 or K = −inf, the exactly zero value).
[[nodiscard]] inline double log10_times_pow2(double xhat, double K) {
  if (xhat == 0.0 || K == -HUGE_VAL) return -HUGE_VAL;
  return std::log10(std::fabs(xhat)) + K * kLog10Of2;
}

/// A number x̂·2^K with an integer binary exponent: the scalar form of analysis/scaled_matrix.hpp's ScaledMatrix (an
/// exactly zero number has x̂ = 0; K is then irrelevant).
struct ScaledNumber {
  double hat = 0.0;
  long exponent = 0;

  /// The correctly rounded double (±inf / 0 only when the number lies beyond the double range).
  [[nodiscard]] double value() const { return times_pow2(hat, exponent); }
  /// log10|x̂·2^K| (finite for every non-zero number; −inf for zero).
  [[nodiscard]] double log10_abs() const { return log10_times_pow2(hat, static_cast<double>(exponent)); }
};

}  // namespace mhclab
