#pragma once
// A matrix kept with a separate scale (SPEC §4: "products are kept with a separate log scale so nothing overflows
// or underflows at any depth") — the one scaled-matrix type of the library: depth products (analysis/
// depth_metrics, topk, spectrum, lyapunov) and the propagation model's states and gradients (model/propagation).
//
//   value = M · 2^exponent,  M any shape (products: n×n, paper orientation, SPEC §1; states: n×C), exponent an
//   integer (core/pow2.hpp).
//
// Invariant after every operation: either max_ij |M_ij| ∈ [1/2, 1), or M is exactly zero and exponent = 0 (an
// exactly zero value). Renormalisation divides M by a power of two, which is exact, so keeping the scale apart adds
// no rounding to M: a product's M equals, bit for bit up to the scale, the plain double product (when the latter
// does not over/underflow), and the exponent is an exact integer at any depth. So the only error of a deep product
// is that of the multiplications themselves (≲ L·n·u relative for well-conditioned factors). The natural-log form
// log_scale() = fl(exponent·ln 2) (one rounding) is what the depth metrics combine with log|M| (their log10 columns'
// bytes are pinned by the experiments); the spectra use the exponent itself.
//
// Products (SPEC §1):
//   prefix  M_l = H_l ··· H_1:  start from identity(n), then left_multiply(H_l) for l = 1..L;
//   suffix  S_l = H_L ··· H_l:  start from identity(n), then right_multiply(H_l) for l = L..1 (backwards).
#include <cmath>
#include <limits>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct ScaledMatrix {
  Mat M;              ///< max|M_ij| ∈ [1/2, 1), or exactly zero
  long exponent = 0;  ///< K: value = M·2^K (0 for the zero value)

  /// I_n with max|M| ∈ [1/2, 1): M = I/2, exponent 1.
  [[nodiscard]] static ScaledMatrix identity(Index n);
  /// A (n×n, finite entries) in scaled form. Throws InputError for a non-square A or non-finite entries.
  [[nodiscard]] static ScaledMatrix from_matrix(const Mat& A);

  [[nodiscard]] Index n() const { return M.rows(); }
  /// The value is exactly zero (M = 0).
  [[nodiscard]] bool is_zero() const;
  /// fl(exponent·ln 2), the natural log of the scale (−inf for the zero value).
  [[nodiscard]] double log_scale() const;
  /// log_scale()·log10(e) (−inf for the zero value).
  [[nodiscard]] double log10_scale() const;
  /// The plain matrix M·2^K, each entry rounded at most once; entries beyond the double range become ±inf or 0.
  [[nodiscard]] Mat value() const;

  /// Prefix update: value ← H · value (H n×n, finite; multiplies from the left, "newest on the left").
  void left_multiply(const Mat& H);
  /// Suffix update: value ← value · H (H n×n, finite; multiplies from the right).
  void right_multiply(const Mat& H);

  /// Restores the invariant after M was changed in place: takes the binary exponent of max|M| into the exponent
  /// (exact scaling of M); an all-zero M sets exponent = 0. Throws ComputeError if M has a non-finite entry.
  void renormalize();
};

/// m · e^{log_scale} as a double without spurious overflow or underflow on the way (splits log_scale into
/// k·ln 2 + f, |f| ≤ ln 2 / 2, and applies 2^k exactly): ±inf / 0 only when the result itself is beyond the double
/// range. A binary scale log_scale = fl(k·ln 2) (ScaledMatrix::log_scale()) gives m·2^k
/// exactly. m = 0 or log_scale = −inf give 0.
[[nodiscard]] double scaled_value(double m, double log_scale);

}  // namespace mhclab
