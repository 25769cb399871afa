#pragma once
// Batched Sinkhorn–Knopp for many small matrices at once (structure of arrays, SIMD over matrices).
//
// Semantics: exactly those of the scalar `sinkhorn()` (mixing/sinkhorn.hpp, SPEC §3) restricted to the
// exp domain, fp64, constant τ and a fixed number of iterations (tol = 0, status `fixed_iterations`):
//
//   M⁰ = exp((Z − max Z)/τ)                     (global max of each matrix; (Z_ij − max)/τ by division,
//                                               or by multiplication with 1/τ when τ is a power of two:
//                                               the same number bit for bit)
//   t times: normalise columns then rows (col_then_row, mHC paper Eq. (9)), or rows then columns
//            (row_then_col); every sum accumulated left to right, s = ((x₀ + x₁) + x₂) + …
//
// Two documented differences from `sinkhorn()`, both at the last-bit level:
//   * a normalisation multiplies by the reciprocal 1/s (one division per column/row) instead of dividing
//     each entry by s: each normalised entry may differ from x/s by one rounding (≤ 1 ulp);
//   * exp is `exp_nonpositive` below (≤ 1 ulp from the exact value on [−708, 0], so ≤ 2 ulp from std::exp)
//     instead of libm's exp, so that it vectorises.
//   Measured against `sinkhorn()` (20000 draws per case, n = 4, t = 20, both orders, τ ∈ {1, 0.25}, N(0,1)
//   and N(0,3²) logits): max |H_batch − H_scalar| ≤ 5.6e-16 (the tests assert ≤ 1e-14). Exactness is kept:
//   with col_then_row every row sum of the result is within 4u = 4.4e-16 of 1 (rows normalised last; the
//   tests assert ≤ 4·n·u), with row_then_col every column sum.
//
// Numerical issues (SPEC §3: never returned as numbers): a matrix with some (Z_ij − max Z)/τ < −708
// (fp64 exp underflow; also NaN logits and infinities) or a non-finite result gets status
// `numerical_issue` and an all-zero H. (With the max shift and entries ≥ e^−708 every column/row sum
// is ≥ e^−708, so the reciprocals never overflow; the final finiteness test is a safety net.)
//
// Memory layout (inputs and outputs alike): `count` matrices of n×n doubles, C order (row-major),
//   matrix k, entry (i, j)  at  k·n² + i·n + j,   H[i, j] = weight from stream j into stream i
// (paper orientation). Internally blocks of 16 matrices (n ≤ 4; 8 for n > 4) are transposed into arrays
// indexed [entry][lane] so that every arithmetic operation is a SIMD instruction over 8 matrices
// (AVX-512 with -march=native on this project's machines; narrower ISAs split the lane loops), with two
// independent registers per entry for n ≤ 4 to hide the latency of the sum → reciprocal → scale chain.
//
// Threads: `threads` std::threads (core/parallel.hpp) over contiguous chunks of whole blocks. Every matrix is computed by
// the same lane code independently of its neighbours, so the results are bitwise identical for any
// thread count (tested).
#include <cstdint>
#include <span>

#include "mhclab/core/types.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

inline constexpr int kSinkhornBatchMaxN = 8;   ///< largest n of the batched kernel (templated on n = 1..8)

/// The subset of SinkhornOptions that the batched kernel implements (exp domain, fp64, tol = 0).
struct SinkhornBatchOptions {
  int n = 4;                                       ///< matrix size, 1 ≤ n ≤ kSinkhornBatchMaxN
  int iterations = 20;                             ///< t ≥ 1 (column, row) iterations, all run
  double tau = 1.0;                                ///< temperature τ > 0: M⁰ = exp((Z − max Z)/τ)
  SinkhornOrder order = SinkhornOrder::ColThenRow;
  int threads = 1;                                 ///< worker threads (0 = all cores); results do not depend on it

  /// Throws InputError with a precise message, e.g. "sinkhorn_batch.n = 9; must be in 1..8".
  void validate() const;
};

struct SinkhornBatchSummary {
  Index count = 0;             ///< matrices projected
  Index numerical_issues = 0;  ///< matrices with status numerical_issue (their H is all zeros)
  Index first_issue = -1;      ///< index of the first such matrix, −1 when none
};

/// True when `o` is the iteration this kernel implements: exp domain, fp64, constant τ, tol = 0 (all iterations
/// run), the plain start without ε (SinkhornOptions::plain). Callers that hold a method also check n ≤
/// kSinkhornBatchMaxN and that no modifiers apply.
[[nodiscard]] bool sinkhorn_batch_supports(const SinkhornOptions& o) noexcept;

/// Projects `count = Z.size() / n²` matrices (layout above).
///   Z       count·n² logits (finite for a regular result)
///   H       count·n² outputs (may not alias Z)
///   status  count entries (FixedIterations or NumericalIssue), or an empty span when not wanted
/// Throws InputError when the sizes do not fit or the options are invalid.
SinkhornBatchSummary sinkhorn_batch(std::span<const double> Z, std::span<double> H, std::span<SinkhornStatus> status,
                                    const SinkhornBatchOptions& options);

/// The vectorisable e^x of the batched kernel, for x ∈ [−708, 0] (the exp-domain range after the max
/// shift; results there are normal numbers in [e^−708 ≈ 3.3e−308, 1], exp(0) = 1 exactly).
///   k = round(x·log₂e) (via the 1.5·2⁵² shifter), r = x − k·ln2_hi − k·ln2_lo (Cody–Waite, ln2_hi with
///   32 significant bits so k·ln2_hi and the first subtraction are exact, |r| ≤ 0.3466),
///   e^r = 1 + (r + r²·q(r)) with q the degree-11 Taylor tail (truncation < 5e-18 relative),
///   2^k by writing k + 1023 into the exponent field.
/// Error ≤ 1 ulp from the exact e^x; measured against glibc's exp on a 2·10⁷-point grid of [−708, 0]:
/// 90.6 % identical, the rest 1 ulp apart (the tests assert ≤ 2 ulp).
/// Outside [−708, 0] the result is unspecified (x is not range-checked here: the kernel flags and
/// clamps such inputs before calling it).
[[nodiscard]] double exp_nonpositive(double x) noexcept;

}  // namespace mhclab
