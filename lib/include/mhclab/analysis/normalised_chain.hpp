#pragma once
// The normalised matrix-free operator of mhclab (SPEC §4: "Matrix-free operators apply normalised factors H_l/s_l
// and report log σ = Σ log s_l + log σ̂"): a chain of L linear maps A_1..A_L on R^d, applied as
//
//   Â = Â_L ··· Â_1,   Â_l = 2^{−k_l}·A_l,   A = 2^{K}·Â with K = Σ_l k_l (an exact integer),
//
// so the top values of A are those of Â times 2^K, and Â neither overflows nor underflows however fast the chain
// grows or decays. Two chains use it: the end-to-end product of a stack (analysis/topk.hpp, A_l = H_l) and the
// end-to-end Jacobian of the layer model (model/propagation.hpp, A_l = ∂X_{l+1}/∂X_l).
//
// Calibration (one rule for every chain). A caller-given probe p_0 ∈ R^d (non-zero) is put in normal form
// (max|p| ∈ [1/2, 1), an exact power-of-two scaling) and pushed through the chain; for l = 1..L:
//   b_l  = bound_exponent(l): ‖A_l‖₂ ≤ 2^{b_l} (none ⇔ A_l = 0 exactly);
//   A_l p_{l−1} = 2^{e_l}·P_l with ‖P_l‖ ∈ [1/2, 1) in the factor's norm          (the factor's exact scaled apply)
//   k_l  = max(e_l, b_l − kChainBoundSlack),  p_l = 2^{e_l − k_l}·P_l             (the probe stays at O(1) or below)
//   A_l p_{l−1} = 0 with A_l ≠ 0 (p_{l−1} in the kernel): k_l = b_l and p_l = normal form of p_0 (restart; any
//        positive s_l is valid, only the O(1) norm is then not guaranteed);
//   A_l = 0: k_l = 0 and the chain is zero (zero() is true; A = 0).
// The probe follows the dominant directions of the chain, as Krylov and subspace vectors do, so ‖Â‖ is O(1) at any
// depth. The slack rule caps what one normalised factor can do to any vector: ‖Â_l‖₂ ≤ 2^{kChainBoundSlack}, so a
// factor that nearly annihilates the probe cannot blow up the other directions past the double range.
//
// The factor owns its arithmetic (ChainFactors): it applies 2^{−k}·A_l in whatever order keeps the intermediate
// values finite (a huge stack factor is pre-scaled; a layer's Jacobian is a sum of pieces with separate exponents).
// StackFactors below is the chain of a stack's matrices (the end-to-end product M = H_L···H_1); the layer Jacobians'
// factors live with the layer model (model/propagation.cpp).
//
// Not thread-safe: the operator holds mutable work vectors and an application counter (one solve at a time).
#include <cstdint>
#include <optional>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

/// The slack of the calibration's bound rule: k_l ≥ b_l − kChainBoundSlack.
inline constexpr long kChainBoundSlack = 64;

/// The factors A_1..A_L (index l = 0..L−1) of a chain on R^d.
class ChainFactors {
 public:
  virtual ~ChainFactors() = default;
  [[nodiscard]] virtual Index dim() const = 0;     ///< d ≥ 1
  [[nodiscard]] virtual Index length() const = 0;  ///< L ≥ 1
  /// b with ‖A_l‖₂ ≤ 2^b (any valid upper bound), or nullopt iff A_l = 0 exactly.
  [[nodiscard]] virtual std::optional<long> bound_exponent(Index l) const = 0;
  /// y = 2^{−e}·A_l x with ‖y‖ ∈ [1/2, 1) in the factor's norm (StackFactors: the 2-norm, in which the solvers
  /// normalise their vectors; the layer Jacobians: the max norm of their n×C states), e returned; y = 0 and e = 0 when
  /// A_l x = 0. Exact up to the rounding of A_l x itself (the scaling is by powers of two).
  [[nodiscard]] virtual long apply_normalised(Index l, const Vec& x, Vec& y) const = 0;
  /// y = 2^{−k}·A_l x (y does not alias x).
  virtual void apply(Index l, long k, const Vec& x, Vec& y) const = 0;
  /// y = 2^{−k}·A_lᵀ x (y does not alias x).
  virtual void apply_transpose(Index l, long k, const Vec& x, Vec& y) const = 0;
};

/// Â = Π_l 2^{−k_l} A_l (calibrated as documented above) in Spectra's OpType concept (Scalar, rows(), cols(),
/// perform_op). Holds a reference to `factors`, which must outlive it. Throws InputError for d < 1, L < 1 or a probe
/// that is not a finite non-zero d-vector.
class NormalisedChain {
 public:
  using Scalar = double;

  NormalisedChain(const ChainFactors& factors, const Vec& probe);
  NormalisedChain(const ChainFactors&& factors, const Vec& probe) = delete;  // it keeps a reference to factors

  [[nodiscard]] Index rows() const { return d_; }
  [[nodiscard]] Index cols() const { return d_; }
  /// y = Âx (x, y: d doubles, may not alias): Â_1 first, Â_L last.
  void perform_op(const double* x_in, double* y_out) const;
  /// y = Âᵀx: Â_Lᵀ first, Â_1ᵀ last.
  void perform_transpose(const double* x_in, double* y_out) const;

  /// k_l, l = 1..L at index l−1.
  [[nodiscard]] const std::vector<long>& exponents() const { return exponents_; }
  /// K = Σ_l k_l: A = 2^K·Â (exact integer).
  [[nodiscard]] std::int64_t exponent_sum() const { return exponent_sum_; }
  [[nodiscard]] double log_scale() const;    ///< K·ln 2 (one rounding)
  [[nodiscard]] double log10_scale() const;  ///< K·log10 2 (one rounding)
  /// True when a factor is exactly zero (then A = 0 and Â = 0).
  [[nodiscard]] bool zero() const { return zero_; }
  /// Number of perform_op + perform_transpose calls so far.
  [[nodiscard]] std::int64_t applications() const { return applications_; }

 private:
  const ChainFactors* factors_;
  Index d_ = 0;
  std::vector<long> exponents_;
  std::int64_t exponent_sum_ = 0;
  bool zero_ = false;
  mutable Vec work_a_, work_b_;
  mutable std::int64_t applications_ = 0;
};

/// The factors H_1..H_L (stack[0] first, each n×n, paper orientation) of the end-to-end product as a chain on R^n,
/// calibrated in the 2-norm (Spectra's GenEigs returned a wrong "converged" λ_1 for a deep doubly stochastic stack,
/// n = 64, L = 200, when the same chain was calibrated in the max norm)
/// (analysis/normalised_chain.hpp). Holds a pointer to `stack`, which must outlive it. Throws InputError for an empty
/// stack or factors that are not n×n with finite entries.
class StackFactors final : public ChainFactors {
 public:
  explicit StackFactors(const std::vector<Mat>& stack);
  StackFactors(const StackFactors&) = delete;  // factors_ points into scaled_
  StackFactors& operator=(const StackFactors&) = delete;

  [[nodiscard]] Index dim() const override { return n_; }
  [[nodiscard]] Index length() const override { return static_cast<Index>(factors_.size()); }
  /// The exponent of ‖H_l‖_F (a bound of ‖H_l‖₂; nullopt for a zero factor).
  [[nodiscard]] std::optional<long> bound_exponent(Index l) const override;
  [[nodiscard]] long apply_normalised(Index l, const Vec& x, Vec& y) const override;
  void apply(Index l, long k, const Vec& x, Vec& y) const override;
  void apply_transpose(Index l, long k, const Vec& x, Vec& y) const override;

 private:
  Index n_ = 0;
  std::vector<long> pre_;            ///< the power of two taken out of a factor beyond 2^±500 (else 0)
  std::vector<const Mat*> factors_;  ///< H_l, or its scaled copy H_l/2^{pre_l} in scaled_
  std::vector<Mat> scaled_;          ///< copies of the factors beyond 2^±500 (rare)
  std::vector<std::optional<long>> bound_;
};

/// The calibration probe x_0 of a stack's chain (unit 2-norm, every entry positive): x_0,i ∝ 1 + w_i/2,
/// w_i = 2·frac((i+1)·φ) − 1 the Weyl sequence of the golden ratio φ = (√5−1)/2, so x_0 is never orthogonal to a
/// Perron vector.
[[nodiscard]] Vec product_probe(Index n);

}  // namespace mhclab
