#pragma once
// Lyapunov exponents of a depth product M_L = H_L ··· H_1 (SPEC §4, optional output "Lyapunov exponents
// (QR/Benettin) lyap_1 ≥ lyap_2 ≥ …, natural log, per layer"), by QR re-orthonormalisation (Benettin et al.
// 1980; Eckmann–Ruelle 1985, §III.F "discrete QR method"). Every H_l is n×n in the paper orientation
// (H[i, j] = weight from stream j into stream i), and the product is the `prefix` product of SPEC §1
// (newest factor on the left).
//
// Algorithm (k ≤ n directions):
//   start basis   Q_0 = the first k columns of I_n                                   (n×k; documented choice:
//                 it is deterministic, and with it the column-1 sum is exactly log‖M_L e_1‖ and, for k = n,
//                 the column sums add up to log|det M_L|)
//   each layer    A_l = (H_l / 2^{e_l}) Q_{l−1}                                       (n×k)
//                 [Q_l, R_l] = QR(A_l)  (Eigen HouseholderQR, thin: Q_l n×k with orthonormal columns,
//                                        R_l k×k upper triangular, sign fixed so that diag(R_l) ≥ 0)
//                 s_j += log R_l,jj + e_l·ln 2                                        (j = 1..k, natural log)
//   where 2^{e_l} is the power of two with max|H_l|/2^{e_l} ∈ [1/2, 1) (exact scaling: no overflow in the
//   QR at any magnitude of H_l; e_l = 0 for H_l = 0). Limit: within ONE factor, entries below
//   max|H_l|·2^-1074 flush to zero (a single factor with a dynamic range beyond the double range; the
//   product's range is unlimited).
//   Exactly (R̃_l = 2^{e_l} R_l): M_L Q_0 = Q_L · R̃_L ··· R̃_1, so s = log diag(R_L ··· R_1) (a triangular product's diagonal is
//   the product of the diagonals). Hence, for Q_0 = I:
//     - Σ_{j ≤ m} s_j = log of the m-volume of M_L's first m columns, i.e. log|det M_L| for m = k = n;
//     - s_1 = log‖M_L e_1‖.
//   These `log_r_sums` are the log-singular-value-like quantities of SPEC §4: they are accumulated in log
//   form, so they stay RESOLVED at any depth (a dense SVD of M_L only resolves σ_j down to ≈1e-15·σ_max);
//   sorted, they equal log σ_j(M_L) up to an O(1) (depth-independent, generically) offset, not exactly.
//   Exponents: lyap_j = s_j / L (natural log, per layer).
//
// Ordering: QR without pivoting keeps the column order; Benettin's columns come out ordered
// (lyap_1 ≥ lyap_2 ≥ …) only asymptotically, and for an input such as diag(1, 2) the column order is never
// the sorted order. The result carries BOTH: `exponents_qr` (QR column order, the Benettin quantities) and
// `exponents` (the same values sorted descending, SPEC's lyap_1 ≥ lyap_2 ≥ …). `running` is sorted too.
//
// Singular factors: an exactly zero R_l,jj (the factor maps the j-th direction of the current basis into the
// span of the previous ones, e.g. a zero column hit by Q_0 = I) gives s_j = −inf from then on (log 0 =
// −inf; −inf + finite = −inf), so lyap_j = −inf: the lost direction. The other columns stay finite (the QR
// completes the basis with some orthonormal direction). The results never contain NaN or +inf. A
// near-singular factor whose R_jj is tiny but not exactly zero (rounding) gives a large negative finite value.
#include <cstdint>
#include <vector>

#include <Eigen/QR>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct LyapunovOptions {
  Index k = 0;          ///< number of exponents/directions, 0 ≤ k ≤ n; 0 = all n
  bool running = true;  ///< lyapunov_exponents: also record the per-depth estimates (LyapunovResult::running)

  /// Throws InputError with a precise message ("lyapunov.k = -1; must be ≥ 0 (0 = all n)").
  void validate() const;
};

/// Results for a stack of L ≥ 1 factors, k directions.
struct LyapunovResult {
  Vec exponents;             ///< k: lyap_1 ≥ … ≥ lyap_k = sorted(log_r_sums)/L (natural log per layer; −inf = lost)
  Vec exponents_qr;          ///< k: log_r_sums / L in QR column order (unsorted)
  Vec log_r_sums;            ///< k: s_j = Σ_l log R_l,jj in QR column order (log-singular-value-like, resolved)
  std::vector<Vec> running;  ///< L entries (empty if !options.running): entry l−1 = sorted s(l)/l after layer l
                             ///< (the convergence curve; L·k doubles of memory — stream instead for huge L)
  std::int64_t layers = 0;   ///< L
};

/// Streaming form: push H_1, H_2, … one at a time (no stack kept). n is fixed by the first push.
/// State: Q (n×k) and s (k). Not thread-safe (one accumulator per thread).
class LyapunovAccumulator {
 public:
  /// Validates the options (InputError).
  explicit LyapunovAccumulator(const LyapunovOptions& options = {});

  /// One layer: Q, R = QR(H Q), s += log diag R. H: n×n, finite entries; n ≥ 1 and the same n as the first
  /// push, options.k ≤ n; otherwise throws InputError (and the state is unchanged).
  void push(const Mat& H);

  [[nodiscard]] std::int64_t layers() const { return layers_; }  ///< L pushed so far
  [[nodiscard]] Index n() const { return n_; }                    ///< 0 before the first push
  [[nodiscard]] Index k() const { return k_; }                    ///< 0 before the first push
  [[nodiscard]] const Vec& log_r_sums() const { return s_; }      ///< k, QR column order
  [[nodiscard]] const Mat& basis() const { return Q_; }           ///< Q_L (n×k, orthonormal columns)
  /// s / L in QR column order. Throws InputError if nothing was pushed.
  [[nodiscard]] Vec exponents_qr() const;
  /// s / L sorted descending (lyap_1 ≥ …). Throws InputError if nothing was pushed.
  [[nodiscard]] Vec exponents() const;
  /// The full result so far (running empty). Throws InputError if nothing was pushed.
  [[nodiscard]] LyapunovResult result() const;

 private:
  LyapunovOptions options_;
  Index n_ = 0;
  Index k_ = 0;
  std::int64_t layers_ = 0;
  Mat Q_;   // n×k
  Vec s_;   // k
  Mat A_;   // n×k work space
  Mat Qn_;  // n×k work space
  Eigen::HouseholderQR<Mat> qr_;
};

/// Lyapunov exponents of stack[L−1] ··· stack[0] (H_1 = stack[0]). Throws InputError for an empty stack,
/// non-square or mismatched factors, non-finite entries, or invalid options.
[[nodiscard]] LyapunovResult lyapunov_exponents(const std::vector<Mat>& stack, const LyapunovOptions& options = {});

}  // namespace mhclab
