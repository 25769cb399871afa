// analysis/spectrum.hpp: dense per-depth eigenvalues and singular values (SPEC §4 optional outputs).
#include "mhclab/analysis/spectrum.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <numeric>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/pow2.hpp"

namespace mhclab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

/// log10|x̂| + t (t = K·log10 2, the log10 of the scale); −inf for x̂ = 0.
double log10_scaled(double xhat_abs, double t) {
  if (xhat_abs == 0.0) return -kInf;
  return std::log10(xhat_abs) + t;
}

/// The linear cell of x = x̂·2^K: %.17g when representable, the log form beyond the double range.
std::string linear_cell(double xhat, long K, double t) {
  xhat += 0.0;  // −0 → +0: a zero imaginary part is written "0"
  return format_metric(times_pow2(xhat, K), log10_scaled(std::fabs(xhat), t));
}

}  // namespace

void validate_square_stack(const std::vector<Mat>& stack, std::string_view what) {
  if (stack.empty()) return;
  const std::string w(what);
  const Index n = stack.front().rows();
  if (n < 1) throw InputError(w + ": H_1 is empty; expected n×n with n ≥ 1");
  for (std::size_t l = 0; l < stack.size(); ++l) {
    const Mat& H = stack[l];
    if (H.rows() != n || H.cols() != n)
      throw InputError(w + ": H_" + std::to_string(l + 1) + " is " + std::to_string(H.rows()) + "x" +
                       std::to_string(H.cols()) + "; expected " + std::to_string(n) + "x" + std::to_string(n) +
                       " like H_1");
    if (!H.allFinite()) throw InputError(w + ": H_" + std::to_string(l + 1) + " has a non-finite entry");
  }
}

double DepthSpectrum::log10_scale() const { return static_cast<double>(exponent) * kLog10Of2; }

double DepthSpectrum::log10_abs_eigenvalue(Index i) const {
  return log10_scaled(std::abs(eigenvalues[i]), log10_scale());
}

std::complex<double> DepthSpectrum::eigenvalue(Index i) const {
  return {times_pow2(eigenvalues[i].real(), exponent), times_pow2(eigenvalues[i].imag(), exponent)};
}

double DepthSpectrum::log10_singular_value(Index i) const {
  return log10_scaled(singular_values[i], log10_scale());
}

double DepthSpectrum::singular_value(Index i) const { return times_pow2(singular_values[i], exponent); }

double DepthSpectrum::resolution_floor() const {
  if (singular_values.size() == 0) return 0.0;
  return static_cast<double>(singular_values.size()) * DBL_EPSILON * singular_values[0];
}

std::vector<Index> eigenvalue_order(const Eigen::VectorXcd& values) {
  std::vector<Index> order(static_cast<std::size_t>(values.size()));
  std::iota(order.begin(), order.end(), Index{0});
  // Key (|λ|, re, im) compared lexicographically, all descending; NaN keys last. A strict weak order on the
  // values, so equal keys are equal values and std::stable_sort's result does not depend on the input order
  // except between identical values (which are indistinguishable).
  auto key_less = [&](Index a, Index b) {
    const std::complex<double> x = values[a], y = values[b];
    const bool nx = std::isnan(x.real()) || std::isnan(x.imag());
    const bool ny = std::isnan(y.real()) || std::isnan(y.imag());
    if (nx || ny) return !nx && ny;
    const double ax = std::abs(x), ay = std::abs(y);
    if (ax != ay) return ax > ay;
    if (x.real() != y.real()) return x.real() > y.real();
    return x.imag() > y.imag();
  };
  std::stable_sort(order.begin(), order.end(), key_less);
  return order;
}

Eigen::VectorXcd eigenvalues_robust(const Mat& A, const char* who) {
  Eigen::EigenSolver<Mat> es(A, /*computeEigenvectors=*/false);
  if (es.info() != Eigen::Success) {
    es.setMaxIterations(4000 * A.rows());
    es.compute(A, false);
  }
  if (es.info() == Eigen::Success) return es.eigenvalues();
  Eigen::ComplexEigenSolver<Mat> ces;
  ces.setMaxIterations(4000 * A.rows());
  ces.compute(A, false);
  if (ces.info() != Eigen::Success) throw ComputeError(std::string(who) + ": the eigenvalue solver did not converge");
  return ces.eigenvalues();
}

DepthSpectrum product_spectrum(const ScaledMatrix& product, const SpectrumOptions& options) {
  const Index n = product.n();
  if (n < 1 || product.M.cols() != n) throw InputError("spectra: product must be n×n with n ≥ 1");
  DepthSpectrum out;
  out.exponent = product.exponent;  // 0 for the zero product
  if (product.is_zero()) {  // exact zeros whatever the solvers return for M = 0
    if (options.eigenvalues) out.eigenvalues = Eigen::VectorXcd::Zero(n);
    if (options.singular_values) out.singular_values = Vec::Zero(n);
    return out;
  }
  if (options.eigenvalues) {
    const Eigen::VectorXcd ev = eigenvalues_robust(product.M, "spectra");
    const std::vector<Index> order = eigenvalue_order(ev);
    out.eigenvalues.resize(n);
    for (Index j = 0; j < n; ++j) out.eigenvalues[j] = ev[order[static_cast<std::size_t>(j)]];
  }
  if (options.singular_values) {
    // Eigen returns singular values sorted descending (both solvers).
    if (n <= 16) out.singular_values = Eigen::JacobiSVD<Mat>(product.M).singularValues();
    else out.singular_values = Eigen::BDCSVD<Mat>(product.M).singularValues();
  }
  return out;
}

std::vector<DepthSpectrum> depth_spectra(const std::vector<Mat>& stack, ProductKind kind,
                                         const SpectrumOptions& options) {
  validate_square_stack(stack, "spectra");
  std::vector<DepthSpectrum> out(stack.size());
  if (stack.empty()) return out;
  const Index n = stack.front().rows();
  const std::size_t L = stack.size();
  auto store = [&](std::size_t l, const ScaledMatrix& P) {
    out[l] = product_spectrum(P, options);
    out[l].depth = static_cast<Index>(l + 1);
  };
  switch (kind) {
    case ProductKind::Layer:
      for (std::size_t l = 0; l < L; ++l) store(l, ScaledMatrix::from_matrix(stack[l]));
      break;
    case ProductKind::Prefix: {  // M_l = H_l·M_{l−1}
      ScaledMatrix P = ScaledMatrix::identity(n);
      for (std::size_t l = 0; l < L; ++l) {
        P.left_multiply(stack[l]);
        store(l, P);
      }
      break;
    }
    case ProductKind::Suffix: {  // S_l = S_{l+1}·H_l, from l = L down to 1
      ScaledMatrix P = ScaledMatrix::identity(n);
      for (std::size_t k = L; k-- > 0;) {
        P.right_multiply(stack[k]);
        store(k, P);
      }
      break;
    }
  }
  return out;
}

const std::vector<std::string>& eigenvalue_columns() {
  static const std::vector<std::string> c{"depth", "kind", "index", "re", "im", "abs", "log10_abs"};
  return c;
}

const std::vector<std::string>& singular_value_columns() {
  static const std::vector<std::string> c{"depth", "kind", "index", "value", "log10_value"};
  return c;
}

std::string eigenvalue_csv(const std::vector<SpectrumTable>& tables) {
  std::string s = joined(eigenvalue_columns(), ",");
  s += '\n';
  for (const SpectrumTable& t : tables) {
    const std::string kind(product_kind_table.to_string(t.kind));
    for (const DepthSpectrum& d : t.spectra) {
      const std::string prefix = std::to_string(d.depth) + "," + kind + ",";
      const double t10 = d.log10_scale();
      for (Index i = 0; i < d.eigenvalues.size(); ++i) {
        const std::complex<double> z = d.eigenvalues[i];
        const double a = std::abs(z);
        s += prefix;
        s += std::to_string(i + 1);
        s += ',';
        s += linear_cell(z.real(), d.exponent, t10);
        s += ',';
        s += linear_cell(z.imag(), d.exponent, t10);
        s += ',';
        s += linear_cell(a, d.exponent, t10);
        s += ',';
        s += format_double(log10_scaled(a, t10));
        s += '\n';
      }
    }
  }
  return s;
}

std::string singular_value_csv(const std::vector<SpectrumTable>& tables) {
  std::string s = joined(singular_value_columns(), ",");
  s += '\n';
  for (const SpectrumTable& t : tables) {
    const std::string kind(product_kind_table.to_string(t.kind));
    for (const DepthSpectrum& d : t.spectra) {
      const std::string prefix = std::to_string(d.depth) + "," + kind + ",";
      const double t10 = d.log10_scale();
      for (Index i = 0; i < d.singular_values.size(); ++i) {
        const double v = d.singular_values[i];
        s += prefix;
        s += std::to_string(i + 1);
        s += ',';
        s += linear_cell(v, d.exponent, t10);
        s += ',';
        s += format_double(log10_scaled(v, t10));
        s += '\n';
      }
    }
  }
  return s;
}

}  // namespace mhclab
