#pragma once
// A depth product kept with a separate log scale (SPEC §4: "products are kept with a separate log scale so
// nothing overflows or underflows at any depth").
//
//   value = M · e^{log_scale},  M n×n (paper orientation, SPEC §1), log_scale natural log.
//
// Invariant after every operation: either max_ij |M_ij| ∈ [1/2, 1) and log_scale is finite, or M is exactly
// zero and log_scale = −inf (an exactly zero product: the only case with a non-finite log_scale).
// Renormalisation divides M by a power of two, which is exact, so keeping the scale apart adds no rounding to
// M: M_l equals, bit for bit up to the scale, the plain double product (when the latter does not over/under-
// flow). log_scale does not accumulate rounding either: the updates keep it at fl(K·ln 2) for the total
// binary exponent K (one rounding at any depth; a caller's non-dyadic start value is carried along as an
// offset), and scaled_value() recovers 2^K exactly from it. So the only error of a deep product is that of
// the multiplications themselves (≲ L·n·u relative for well-conditioned factors).
//
// Products (SPEC §1):
//   prefix  M_l = H_l ··· H_1:  start from identity(n), then left_multiply(H_l) for l = 1..L;
//   suffix  S_l = H_L ··· H_l:  start from identity(n), then right_multiply(H_l) for l = L..1 (backwards).
#include <cmath>
#include <limits>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct ScaledMatrix {
  Mat M;                   ///< n×n, max|M_ij| ∈ [1/2, 1), or exactly zero
  double log_scale = 0.0;  ///< natural log of the scale; −inf iff M is exactly zero

  /// I_n with max|M| ∈ [1/2, 1): M = I/2, log_scale = ln 2.
  [[nodiscard]] static ScaledMatrix identity(Index n);
  /// A (n×n, finite entries) in scaled form. Throws InputError for a non-square A or non-finite entries.
  [[nodiscard]] static ScaledMatrix from_matrix(const Mat& A);

  [[nodiscard]] Index n() const { return M.rows(); }
  [[nodiscard]] bool is_zero() const { return log_scale == -std::numeric_limits<double>::infinity(); }
  /// log_scale / ln 10 (−inf for the zero product).
  [[nodiscard]] double log10_scale() const;
  /// The plain matrix M·e^{log_scale}; entries beyond the double range become ±inf or (sub)normal/zero.
  [[nodiscard]] Mat value() const;

  /// Prefix update: value ← H · value (H n×n, finite; multiplies from the left, "newest on the left").
  void left_multiply(const Mat& H);
  /// Suffix update: value ← value · H (H n×n, finite; multiplies from the right).
  void right_multiply(const Mat& H);

  /// Restores the invariant after M was changed in place: takes the binary exponent of max|M| into
  /// log_scale (exact scaling of M); an all-zero M sets log_scale = −inf. Throws ComputeError if M has a
  /// non-finite entry.
  void renormalize();
};

/// m · e^{log_scale} as a double without spurious overflow or underflow on the way (splits log_scale into
/// k·ln 2 + f, |f| ≤ ln 2 / 2, and applies 2^k exactly with ldexp): ±inf / 0 only when the result itself is
/// beyond the double range. m = 0 or log_scale = −inf give 0.
[[nodiscard]] double scaled_value(double m, double log_scale);

}  // namespace mhclab
