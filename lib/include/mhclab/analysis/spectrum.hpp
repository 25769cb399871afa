#pragma once
// Dense spectra of depth products (SPEC §4, optional outputs "all eigenvalues (long rows
// depth,kind,index,re,im) and singular values") for the three kinds of product of SPEC §1:
//   layer   H_l;   prefix  M_l = H_l ··· H_1 (newest on the left);   suffix  S_l = H_L ··· H_l.
// Every H_l is n×n in the paper orientation (H[i, j] = weight from stream j into stream i); H_1 = stack[0].
//
// Products are kept as ScaledMatrix (analysis/scaled_matrix.hpp), value = M̂·2^K with max|M̂| ∈ [1/2, 1), and
// updated incrementally exactly like depth_metrics (prefix forwards with left_multiply, suffix backwards from l = L
// with right_multiply: L products per kind). The spectrum of the value is that of M̂ scaled by 2^K, so a
// DepthSpectrum stores the eigenvalues λ̂ and singular values σ̂ of M̂ plus the integer exponent K: nothing
// overflows or underflows at any depth; λ = λ̂·2^K exactly (one rounding, core/pow2.hpp), and
// log10|λ| = log10|λ̂| + K·log10 2 is finite whenever λ̂ ≠ 0.
//
// Solvers: eigenvalues by Eigen::EigenSolver (real Schur / Francis QR) on M̂; singular values by
// Eigen::JacobiSVD for n ≤ 16 (most accurate), Eigen::BDCSVD above (the same choice as depth_metrics).
// Resolution (SPEC §4): a dense solve of M̂ resolves singular values and eigenvalue moduli only down to about
// n·ε·σ̂_max (ε = DBL_EPSILON); smaller values are rounding noise of the right order of magnitude, not
// accurate values. They are still reported (the SPEC's long rows list all n values); resolution_floor()
// gives the threshold. A value is exactly zero (log10 = −inf in the CSV) only when the solver returns an
// exact 0 (e.g. the zero product, or an exactly singular small matrix).
//
// Sorting (deterministic, eigenvalue_order()): eigenvalues by modulus descending; ties (equal moduli, e.g. a
// complex-conjugate pair, or ±x) by real part descending, then by imaginary part descending (so a conjugate
// pair lists +im first). Singular values descending.
//
// CSV (long format, one row per value; the CLI writes the returned string atomically):
//   eigenvalues      depth,kind,index,re,im,abs,log10_abs
//   singular values  depth,kind,index,value,log10_value
// depth = l (1-based) of the product, kind = product_kind_table name (layer|prefix|suffix), index = 1-based
// position in the sorted order. Linear cells (re, im, abs, value) are `%.17g` of the double when it is
// representable and are written from the log form otherwise (`1.2345e+4139`, format_metric), so a finite
// non-zero value is never printed as inf or 0. log10 cells are `%.17g` (−inf only for an exact zero).
#include <complex>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

/// Which parts of the spectrum depth_spectra computes (each costs one O(n³) solve per depth and kind).
struct SpectrumOptions {
  bool eigenvalues = true;      ///< all n eigenvalues of every product
  bool singular_values = true;  ///< all n singular values of every product
};

/// The spectrum of one product value = M̂·2^K (M̂ n×n): λ_i = λ̂_i·2^K, σ_i = σ̂_i·2^K.
struct DepthSpectrum {
  Index depth = 0;                ///< l (1-based) of the product; for the end-to-end top-k (topk.hpp) L
  long exponent = 0;              ///< K (the exactly zero product: M̂ = 0, so λ̂ = σ̂ = 0, and K = 0)
  Eigen::VectorXcd eigenvalues;   ///< λ̂_i of M̂, sorted (eigenvalue_order); empty when not computed
  Vec singular_values;            ///< σ̂_i of M̂, descending; empty when not computed

  /// K·log10 2.
  [[nodiscard]] double log10_scale() const;
  /// log10|λ_i| = log10|λ̂_i| + K·log10 2 (−inf iff λ̂_i = 0, e.g. the zero product). i 0-based.
  [[nodiscard]] double log10_abs_eigenvalue(Index i) const;
  /// λ_i as a complex double (components ±inf / 0 beyond the double range). i 0-based.
  [[nodiscard]] std::complex<double> eigenvalue(Index i) const;
  /// log10 σ_i = log10 σ̂_i + log10_scale() (−inf iff σ̂_i = 0). i 0-based.
  [[nodiscard]] double log10_singular_value(Index i) const;
  /// σ_i as a double (inf / 0 beyond the double range). i 0-based.
  [[nodiscard]] double singular_value(Index i) const;
  /// Resolution floor of the dense solve in units of M̂: n·ε·σ̂_1 (0 when singular values were not computed).
  [[nodiscard]] double resolution_floor() const;
};

/// Throws InputError unless every factor of `stack` is n×n (n ≥ 1, the n of H_1) with finite entries; `what`
/// starts the message ("spectra: H_3 is 4x5; expected 4x4 like H_1"). An empty stack passes.
void validate_square_stack(const std::vector<Mat>& stack, std::string_view what);

/// The permutation that sorts `values` by the rule above: order[j] = index into `values` of the j-th value
/// (modulus descending, then real part descending, then imaginary part descending). NaNs sort last.
[[nodiscard]] std::vector<Index> eigenvalue_order(const Eigen::VectorXcd& values);

/// All eigenvalues of a square A (unordered). Eigen's real Schur QR allows 40·n sweeps, which some highly
/// structured products (deep KromHC stacks near J/n) exceed: retries with 100× the budget, then with the
/// complex Schur solver. Throws ComputeError "<who>: the eigenvalue solver did not converge" only if all fail.
[[nodiscard]] Eigen::VectorXcd eigenvalues_robust(const Mat& A, const char* who);

/// Spectrum of one scaled product (n×n, n ≥ 1). depth is left 0. Throws ComputeError if the eigen solver
/// fails to converge.
[[nodiscard]] DepthSpectrum product_spectrum(const ScaledMatrix& product, const SpectrumOptions& options = {});

/// One entry per depth l = 1..L (entry l−1, depth = l) of the `kind` products of `stack` (H_1 = stack[0]),
/// computed incrementally. An empty stack gives an empty vector. Throws InputError unless all factors are
/// n×n (n ≥ 1, the same n) with finite entries; ComputeError if an eigen solve fails.
[[nodiscard]] std::vector<DepthSpectrum> depth_spectra(const std::vector<Mat>& stack, ProductKind kind,
                                                       const SpectrumOptions& options = {});

/// The spectra of one kind of product, as written to the CSV tables.
struct SpectrumTable {
  ProductKind kind = ProductKind::Prefix;
  std::vector<DepthSpectrum> spectra;  ///< one per depth (each carries its depth)
};

/// CSV header of the eigenvalue table: "depth,kind,index,re,im,abs,log10_abs".
[[nodiscard]] const std::vector<std::string>& eigenvalue_columns();
/// CSV header of the singular value table: "depth,kind,index,value,log10_value".
[[nodiscard]] const std::vector<std::string>& singular_value_columns();

/// The whole eigenvalue table (header line + one line per eigenvalue, '\n'-terminated), tables in the given
/// order, depths in the order stored, index 1..n. Spectra without eigenvalues contribute no rows.
[[nodiscard]] std::string eigenvalue_csv(const std::vector<SpectrumTable>& tables);
/// The whole singular value table (header line + one line per singular value, '\n'-terminated).
[[nodiscard]] std::string singular_value_csv(const std::vector<SpectrumTable>& tables);

}  // namespace mhclab
