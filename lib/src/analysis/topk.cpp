// analysis/topk.hpp: matrix-free top-k eigenvalues / singular values of the end-to-end product (Spectra).
#include "mhclab/analysis/topk.hpp"
#include "mhclab/analysis/subspace_svd.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

// Spectra 1.0.1 is header-only and only this file includes it (the public header exposes no Spectra type).
// No #pragma GCC diagnostic guard is needed: checked warning-free with the project's flags (-O3 -Wall -Wextra
// -Wpedantic -march=native, GCC 12) both from /usr/include (a system directory) and as a plain -I include.
// The CMake side needs no find_package: /usr/include is on the default include path.
#include <Spectra/GenEigsSolver.h>

#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/pow2.hpp"

namespace mhclab {
namespace {

SolveStatus status_of(Spectra::CompInfo info) {
  switch (info) {
    case Spectra::CompInfo::Successful: return SolveStatus::Converged;
    case Spectra::CompInfo::NotConverging: return SolveStatus::NotConverging;
    case Spectra::CompInfo::NumericalIssue: return SolveStatus::NumericalIssue;
    case Spectra::CompInfo::NotComputed: return SolveStatus::NotComputed;
  }
  return SolveStatus::NumericalIssue;
}


/// Dense top-k of the scaled product P (hat values of P.M, k first of the sorted order).
void dense_eigen(const ScaledMatrix& P, Index k, bool vectors, Eigen::VectorXcd& vals, Eigen::MatrixXcd& vecs) {
  Eigen::EigenSolver<Mat> es(P.M, vectors);
  if (es.info() != Eigen::Success) throw ComputeError("top-k (dense): the eigenvalue solver did not converge");
  const std::vector<Index> order = eigenvalue_order(es.eigenvalues());
  vals.resize(k);
  if (vectors) vecs.resize(P.n(), k);
  for (Index j = 0; j < k; ++j) {
    const Index o = order[static_cast<std::size_t>(j)];
    vals[j] = es.eigenvalues()[o];
    if (vectors) vecs.col(j) = es.eigenvectors().col(o).normalized();
  }
}

void dense_singular(const ScaledMatrix& P, Index k, bool vectors, Vec& vals, Mat& vecs) {
  const unsigned opts = vectors ? static_cast<unsigned>(Eigen::ComputeFullV) : 0u;
  if (P.n() <= 16) {
    Eigen::JacobiSVD<Mat> svd(P.M, opts);
    vals = svd.singularValues().head(k);
    if (vectors) vecs = svd.matrixV().leftCols(k);
  } else {
    Eigen::BDCSVD<Mat> svd(P.M, opts);
    vals = svd.singularValues().head(k);
    if (vectors) vecs = svd.matrixV().leftCols(k);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Options

Index TopkOptions::ncv_for(Index n) const {
  if (ncv != 0) return ncv;
  return std::min(n, std::max<Index>(2 * k + 1, 20));
}

void TopkOptions::validate(Index n) const {
  if (k < 1 || k > n)
    throw InputError("topk.k = " + std::to_string(k) + "; must satisfy 1 ≤ k ≤ n = " + std::to_string(n));
  const Index lo = std::min(k + 2, n);
  if (ncv != 0 && (ncv < lo || ncv > n))
    throw InputError("topk.ncv = " + std::to_string(ncv) + "; must be 0 (default min(n, max(2k+1, 20))) or satisfy " +
                     std::to_string(lo) + " ≤ ncv ≤ n = " + std::to_string(n) + " (k+2 ≤ ncv ≤ n)");
  if (max_iter < 1) throw InputError("topk.max_iter = " + std::to_string(max_iter) + "; must be ≥ 1");
  if (!(tol > 0.0) || !std::isfinite(tol))
    throw InputError("topk.tol = " + format_double(tol) + "; must be finite and > 0");
}

// ---------------------------------------------------------------------------------------------------------
// topk_spectrum

TopkResult topk_spectrum(const std::vector<Mat>& stack, const TopkOptions& options) {
  if (stack.empty()) throw InputError("top-k: the stack is empty; need at least one factor");
  validate_square_stack(stack, "top-k");
  const Index n = stack.front().rows();
  options.validate(n);
  const Index k = options.k;

  TopkResult r;
  r.n = n;
  r.depth = static_cast<Index>(stack.size());
  r.spectrum.depth = r.depth;
  r.eigen.requested = options.eigenvalues ? k : 0;
  r.singular.requested = options.singular_values ? k : 0;

  bool zero_factor = false;
  for (const Mat& H : stack) zero_factor = zero_factor || (H.array() == 0.0).all();
  const bool dense_eigen_part = options.eigenvalues && (zero_factor || k > n - 2);
  const bool dense_singular_part = options.singular_values && (zero_factor || k > n - 1);
  const bool krylov_eigen = options.eigenvalues && !dense_eigen_part;
  const bool krylov_singular = options.singular_values && !dense_singular_part;

  // ---- dense fallback (tiny n or the zero product): M̂ as a ScaledMatrix ----
  ScaledMatrix P;
  if (dense_eigen_part || dense_singular_part) {
    P = ScaledMatrix::identity(n);
    for (const Mat& H : stack) P.left_multiply(H);  // M_l = H_l·M_{l−1}
    if (dense_eigen_part) {
      dense_eigen(P, k, options.vectors, r.spectrum.eigenvalues, r.eigenvectors);
      r.eigen.status = SolveStatus::Dense;
      r.eigen.converged = k;
    }
    if (dense_singular_part) {
      dense_singular(P, k, options.vectors, r.spectrum.singular_values, r.right_singular_vectors);
      r.singular.status = SolveStatus::Dense;
      r.singular.converged = k;
    }
  }
  if (!krylov_eigen && !krylov_singular) {
    // Both parts dense (or none requested: the exponent stays 0).
    if (dense_eigen_part || dense_singular_part) r.spectrum.exponent = P.exponent;
    return r;
  }

  // ---- matrix-free ----
  const StackFactors factors(stack);
  NormalisedChain op(factors, product_probe(n));  // non-const: Spectra takes OpType&
  r.spectrum.exponent = static_cast<long>(op.exponent_sum());
  if (dense_eigen_part || dense_singular_part) {
    // Re-express the dense hat values in the operator's scale: factor 2^{K_dense − K_op}, exact (a zero product —
    // non-zero factors can still multiply to 0 — has zero hats, which stay 0).
    const long shift = P.exponent - static_cast<long>(op.exponent_sum());
    if (dense_eigen_part) {
      Eigen::VectorXd re = r.spectrum.eigenvalues.real(), im = r.spectrum.eigenvalues.imag();
      scale_by_pow2(re, shift);
      scale_by_pow2(im, shift);
      for (Index i = 0; i < re.size(); ++i) r.spectrum.eigenvalues[i] = {re[i], im[i]};
    }
    if (dense_singular_part) scale_by_pow2(r.spectrum.singular_values, shift);
  }
  const Index ncv = options.ncv_for(n);

  if (krylov_eigen) {
    const std::int64_t before = op.applications();
    try {
      Spectra::GenEigsSolver<NormalisedChain> eigs(op, k, ncv);
      eigs.init();
      const Index nconv = eigs.compute(Spectra::SortRule::LargestMagn, options.max_iter, options.tol,
                                       Spectra::SortRule::LargestMagn);
      r.eigen.status = status_of(eigs.info());
      r.eigen.iterations = eigs.num_iterations();
      const Eigen::VectorXcd vals = eigs.eigenvalues();  // the converged ones
      Eigen::MatrixXcd vecs;
      if (options.vectors) vecs = eigs.eigenvectors();
      if (!vals.allFinite() || (options.vectors && !vecs.allFinite())) {
        r.eigen.status = SolveStatus::NumericalIssue;
        r.eigen.issue = "non-finite Ritz value or vector";
      } else {
        const std::vector<Index> order = eigenvalue_order(vals);
        r.spectrum.eigenvalues.resize(vals.size());
        if (options.vectors) r.eigenvectors.resize(n, vals.size());
        for (Index j = 0; j < vals.size(); ++j) {
          const Index o = order[static_cast<std::size_t>(j)];
          r.spectrum.eigenvalues[j] = vals[o];
          if (options.vectors) r.eigenvectors.col(j) = vecs.col(o).normalized();
        }
        r.eigen.converged = std::min<Index>(nconv, vals.size());
      }
    } catch (const std::exception& e) {
      r.eigen.status = SolveStatus::NumericalIssue;
      r.eigen.issue = e.what();
    }
    if (r.eigen.status == SolveStatus::NumericalIssue) {
      r.spectrum.eigenvalues.resize(0);
      r.eigenvectors.resize(0, 0);
      r.eigen.converged = 0;
    }
    r.eigen.applications = op.applications() - before;
  }

  if (krylov_singular) {
    const std::int64_t before = op.applications();
    try {
      // Block subspace iteration on M̂ and M̂ᵀ (analysis/subspace_svd.hpp), not Spectra's SymEigsSolver on the
      // Gram operator: the latter is wrong on the numerically low-rank products deep stacks give.
      SubspaceSvdOptions so;
      so.k = k;
      so.max_iter = options.max_iter;
      so.tol = options.tol;
      so.vectors = options.vectors;
      const SubspaceSvdResult sv = subspace_svd(
          n, [&](const double* x, double* y) { op.perform_op(x, y); },
          [&](const double* x, double* y) { op.perform_transpose(x, y); }, so);
      r.singular.iterations = sv.iterations;
      if (!sv.finite) {
        r.singular.status = SolveStatus::NumericalIssue;
        r.singular.issue = "non-finite value from the product operator";
      } else {
        r.singular.status = sv.converged ? SolveStatus::Converged : SolveStatus::NotConverging;
        // like Spectra's solvers: only the values that passed the residual test
        r.singular.converged = sv.converged_count;
        r.spectrum.singular_values = sv.sigma.head(sv.converged_count);
        if (options.vectors) r.right_singular_vectors = sv.right_vectors.leftCols(sv.converged_count);
      }
    } catch (const std::exception& e) {
      r.singular.status = SolveStatus::NumericalIssue;
      r.singular.issue = e.what();
    }
    if (r.singular.status == SolveStatus::NumericalIssue) {
      r.spectrum.singular_values.resize(0);
      r.right_singular_vectors.resize(0, 0);
      r.singular.converged = 0;
    }
    r.singular.applications = (op.applications() - before) / 2;
  }
  return r;
}

}  // namespace mhclab
