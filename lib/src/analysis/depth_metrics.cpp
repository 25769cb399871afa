// analysis/depth_metrics.hpp: SPEC §4 metrics of layer / prefix / suffix products.
#include "mhclab/core/format.hpp"
#include "mhclab/analysis/depth_metrics.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/core/error.hpp"

namespace mhclab {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kLog10e = std::numbers::log10e;

/// Singular values of A (n×n), descending. JacobiSVD (most accurate) for small n, BDCSVD above.
Vec singular_values(const Mat& A) {
  if (A.rows() <= 16) return Eigen::JacobiSVD<Mat>(A).singularValues();
  return Eigen::BDCSVD<Mat>(A).singularValues();
}

/// |eigenvalues| of A, descending (with the fallbacks of eigenvalues_robust).
Vec eigen_moduli(const Mat& A) {
  Vec m = eigenvalues_robust(A, "depth metrics").cwiseAbs();
  std::sort(m.data(), m.data() + m.size(), [](double a, double b) { return a > b; });
  return m;
}

/// x = x̂·e^s: linear double and log10|x|.
struct Scaled {
  double value;
  double log10_abs;
};
Scaled scaled(double xhat, double s) {
  return {scaled_value(xhat, s), xhat == 0.0 ? -kInf : std::log10(std::fabs(xhat)) + s * kLog10e};
}

/// log10 of a signed value: log10 x for x > 0, −inf for 0, NaN for x < 0.
double log10_positive(double xhat, const Scaled& x) {
  if (xhat > 0) return x.log10_abs;
  if (xhat == 0) return -kInf;
  return kNaN;
}

/// max_i |v_i − 1| for v = v̂·e^s (v̂ the margins of M̂), with the log10 of the result. Rows whose v_i is
/// beyond the double range contribute log10|v_i| (|v − 1| = |v| to relative 1e-300 there).
Scaled margin_error(const Vec& vhat, double s) {
  Scaled r{0.0, -kInf};
  for (Index i = 0; i < vhat.size(); ++i) {
    const double v = scaled_value(vhat[i], s);
    Scaled t{};
    if (std::isfinite(v)) {
      t.value = std::fabs(v - 1.0);
      t.log10_abs = t.value == 0.0 ? -kInf : std::log10(t.value);
    } else {
      t.value = kInf;
      t.log10_abs = std::log10(std::fabs(vhat[i])) + s * kLog10e;
    }
    r.value = std::max(r.value, t.value);
    r.log10_abs = std::max(r.log10_abs, t.log10_abs);
  }
  return r;
}

/// value(P) − B = A·e^{t}: for s ≥ 0, A = M̂ − e^{−s}B, t = s (no overflow); for s < 0, A = value(P) − B, t = 0
/// (entries of value(P) are < 1; underflow there is harmless next to B's entries).
Mat shifted(const ScaledMatrix& P, const Mat& B, double& t) {
  if (P.is_zero()) {
    t = 0.0;
    return -B;
  }
  if (P.log_scale() >= 0.0) {
    t = P.log_scale();
    return P.M - scaled_value(1.0, -P.log_scale()) * B;
  }
  t = 0.0;
  return P.value() - B;
}

Scaled log_form(double norm, double t) {
  return {scaled_value(norm, t), norm == 0.0 ? -kInf : std::log10(norm) + t * kLog10e};
}

void validate_stack(const std::vector<Mat>& stack) {
  if (stack.empty()) return;
  const Index n = stack.front().rows();
  if (n < 1) throw InputError("depth metrics: H_1 is empty; expected n×n with n ≥ 1");
  for (std::size_t l = 0; l < stack.size(); ++l) {
    const Mat& H = stack[l];
    if (H.rows() != n || H.cols() != n)
      throw InputError("depth metrics: H_" + std::to_string(l + 1) + " is " + std::to_string(H.rows()) + "x" +
                       std::to_string(H.cols()) + "; expected " + std::to_string(n) + "x" + std::to_string(n) +
                       " like H_1");
    if (!H.allFinite()) throw InputError("depth metrics: H_" + std::to_string(l + 1) + " has a non-finite entry");
  }
}

Mat centred_factor(const Mat& H) {
  const auto n = static_cast<double>(H.rows());
  return (H.array() - 1.0 / n).matrix();
}

}  // namespace

void validate_kinds(const std::vector<ProductKind>& kinds, const std::string& field) {
  if (kinds.empty()) throw InputError(field + " is empty; expected one or more of " + product_kind_table.names());
  for (std::size_t a = 0; a < kinds.size(); ++a)
    for (std::size_t b = a + 1; b < kinds.size(); ++b)
      if (kinds[a] == kinds[b])
        throw InputError(field + " lists '" + std::string(product_kind_table.to_string(kinds[a])) + "' twice");
}

double unit_margin_tolerance(Index n) { return 64.0 * static_cast<double>(n) * (DBL_EPSILON / 2); }

bool has_unit_margins(const std::vector<Mat>& stack) {
  for (const Mat& H : stack) {
    const double tol = unit_margin_tolerance(H.rows());
    if (H.size() == 0) return false;
    if ((H.rowwise().sum().array() - 1.0).abs().maxCoeff() > tol) return false;
    if ((H.colwise().sum().array() - 1.0).abs().maxCoeff() > tol) return false;
  }
  return true;
}

DepthMetricGroups DepthMetricGroups::for_columns(const std::vector<std::string>& columns) {
  DepthMetricGroups g{false, false, false, false, false, false};
  for (const std::string& c0 : columns) {
    const std::string c = c0.rfind("log10_", 0) == 0 ? c0.substr(6) : c0;
    if (c.rfind("fwd_gain", 0) == 0 || c.rfind("bwd_gain", 0) == 0) g.gains = true;
    else if (c == "row_err" || c == "col_err" || c == "min_entry") g.margins = true;
    else if (c == "sigma_max" || c == "sigma_min" || c == "cond" || c == "effective_rank" ||
             c == "sigma_min_resolved" || c == "cond_resolved" || c == "sigma_ratio" || c == "sigma_ratio_resolved")
      g.singular = true;
    else if (c == "spectral_radius" || c == "lambda2" || c == "spectral_radius_resolved" || c == "lambda2_resolved")
      g.eigen = true;
    else if (c == "dist_identity") g.dist_identity = true;
    else if (c == "collapse" || c == "collapse_centred" || c == "collapse_rate") g.collapse = true;
  }
  return g;
}

DepthMetrics product_metrics(const ScaledMatrix& P, const ScaledMatrix* centred, const DepthMetricGroups& groups,
                             Index factors) {
  const Index n = P.n();
  if (n < 1 || P.M.cols() != n) throw InputError("depth metrics: product must be n×n with n ≥ 1");
  if (factors < 1) throw InputError("depth metrics: a product of " + std::to_string(factors) + " factors; must be ≥ 1");
  if (centred != nullptr && (centred->n() != n || centred->M.cols() != n))
    throw InputError("depth metrics: centred product has a different size than the product");
  const double s = P.log_scale();  // −inf for the zero product: every x̂ is then 0 and scaled() gives 0 / −inf
  const Mat& M = P.M;
  DepthMetrics r;

  // Gains (SPEC §1): margins of M̂, scaled.
  const Vec rows = M.rowwise().sum(), cols = M.colwise().sum().transpose();
  if (groups.gains) {
    const Vec rows_abs = M.cwiseAbs().rowwise().sum(), cols_abs = M.cwiseAbs().colwise().sum().transpose();
    const double fmax = rows.cwiseAbs().maxCoeff(), bmax = cols.cwiseAbs().maxCoeff();
    const double fmin = rows.minCoeff(), bmin = cols.minCoeff();
    const auto fg = scaled(fmax, s), bg = scaled(bmax, s), fm = scaled(fmin, s), bm = scaled(bmin, s);
    const auto fa = scaled(rows_abs.maxCoeff(), s), ba = scaled(cols_abs.maxCoeff(), s);
    r.fwd_gain = fg.value, r.log10_fwd_gain = fg.log10_abs;
    r.bwd_gain = bg.value, r.log10_bwd_gain = bg.log10_abs;
    r.fwd_gain_min = fm.value, r.log10_fwd_gain_min = log10_positive(fmin, fm), r.log10_abs.fwd_gain_min = fm.log10_abs;
    r.bwd_gain_min = bm.value, r.log10_bwd_gain_min = log10_positive(bmin, bm), r.log10_abs.bwd_gain_min = bm.log10_abs;
    r.fwd_gain_abs = fa.value, r.log10_fwd_gain_abs = fa.log10_abs;
    r.bwd_gain_abs = ba.value, r.log10_bwd_gain_abs = ba.log10_abs;
  }
  if (groups.margins) {
    const auto re = margin_error(rows, s), ce = margin_error(cols, s);
    r.row_err = re.value, r.log10_abs.row_err = re.log10_abs;
    r.col_err = ce.value, r.log10_abs.col_err = ce.log10_abs;
    const auto me = scaled(M.minCoeff(), s);
    r.min_entry = me.value, r.log10_abs.min_entry = me.log10_abs;
  }

  // Singular values of M̂ and the resolution floor f = n·ε·σ̂_max (the eigen group needs the floor).
  const bool need_sv = groups.singular || groups.eigen;
  const Vec sv = need_sv ? singular_values(M) : Vec();
  const double smax = need_sv ? sv[0] : 0.0, floor = static_cast<double>(n) * DBL_EPSILON * smax;
  if (groups.singular) {
    const auto sm = scaled(smax, s);
    r.sigma_max = sm.value, r.log10_sigma_max = sm.log10_abs;
    const double smin_raw = sv[n - 1];
    if (P.is_zero()) {  // exact zero: σ_min = 0, cond = +inf (both exact)
      r.sigma_min = 0.0, r.log10_sigma_min = -kInf;
      r.cond = kInf, r.log10_cond = kInf;
    } else {
      r.sigma_min_resolved = r.cond_resolved = smin_raw > floor;
      const double smin = r.sigma_min_resolved ? smin_raw : floor;
      const auto sn = scaled(smin, s);
      r.sigma_min = sn.value, r.log10_sigma_min = sn.log10_abs;
      r.cond = smax / smin, r.log10_cond = std::log10(smax) - std::log10(smin);
    }
    const double total = sv.sum();
    if (total > 0) {
      double h = 0.0;
      for (Index i = 0; i < n; ++i) {
        const double p = sv[i] / total;
        if (p > 0) h -= p * std::log(p);
      }
      r.effective_rank = std::exp(h);
    }
    // σ₂/σ₁ is scale free: from M̂, floored at n·ε like σ_min.
    if (n == 1) {
      r.sigma_ratio = kNaN;
      r.sigma_ratio_resolved = false;
    } else if (!P.is_zero()) {
      r.sigma_ratio_resolved = sv[1] > floor;
      r.sigma_ratio = (r.sigma_ratio_resolved ? sv[1] : floor) / smax;
    }
  }

  // Eigenvalue moduli of M̂.
  if (groups.eigen) {
    const Vec ev = eigen_moduli(M);
    const double lam1 = ev[0];
    r.spectral_radius_resolved = P.is_zero() || lam1 > floor;
    const auto sr = scaled(r.spectral_radius_resolved ? lam1 : floor, s);
    r.spectral_radius = sr.value, r.log10_spectral_radius = sr.log10_abs;
    if (n == 1) {
      r.lambda2 = r.log10_lambda2 = kNaN;
      r.lambda2_resolved = false;
    } else {
      r.lambda2_resolved = P.is_zero() || ev[1] > floor;
      const auto l2 = scaled(r.lambda2_resolved ? ev[1] : floor, s);
      r.lambda2 = l2.value, r.log10_lambda2 = l2.log10_abs;
    }
  }

  // dist_identity = ‖M − I‖_F.
  if (groups.dist_identity) {
    double t = 0.0;
    const Mat A = shifted(P, Mat::Identity(n, n), t);
    const auto d = log_form(A.norm(), t);
    r.dist_identity = d.value, r.log10_dist_identity = d.log10_abs;
  }

  // collapse = σ_max(M − J/n): centred product when given, else dense.
  if (groups.collapse) {
    Scaled c{};
    if (centred != nullptr) {
      c = centred->is_zero() ? Scaled{0.0, -kInf} : scaled(singular_values(centred->M)[0], centred->log_scale());
      r.collapse_centred = true;
    } else {
      double t = 0.0;
      const Mat A = shifted(P, Mat::Constant(n, n, 1.0 / static_cast<double>(n)), t);
      c = log_form(singular_values(A)[0], t);
    }
    r.collapse = c.value, r.log10_collapse = c.log10_abs;
    r.collapse_rate = c.value == 0.0 && c.log10_abs == -kInf ? 0.0
                                                             : std::pow(10.0, c.log10_abs / static_cast<double>(factors));
  }
  return r;
}

std::vector<DepthMetrics> depth_metrics(const std::vector<Mat>& stack, ProductKind kind,
                                        const DepthMetricGroups& groups) {
  validate_stack(stack);
  std::vector<DepthMetrics> out(stack.size());
  if (stack.empty()) return out;
  const Index n = stack.front().rows();
  const auto L = stack.size();
  switch (kind) {
    case ProductKind::Layer:
      for (std::size_t l = 0; l < L; ++l)
        out[l] = product_metrics(ScaledMatrix::from_matrix(stack[l]), nullptr, groups, 1);
      break;
    case ProductKind::Prefix: {  // M_l = H_l·M_{l−1}
      const bool centre = groups.collapse && has_unit_margins(stack);
      ScaledMatrix P = ScaledMatrix::identity(n), C;
      for (std::size_t l = 0; l < L; ++l) {
        P.left_multiply(stack[l]);
        if (centre) {
          if (l == 0) C = ScaledMatrix::from_matrix(centred_factor(stack[l]));
          else C.left_multiply(centred_factor(stack[l]));
        }
        out[l] = product_metrics(P, centre ? &C : nullptr, groups, static_cast<Index>(l + 1));
      }
      break;
    }
    case ProductKind::Suffix: {  // S_l = S_{l+1}·H_l, from l = L down to 1
      const bool centre = groups.collapse && has_unit_margins(stack);
      ScaledMatrix P = ScaledMatrix::identity(n), C;
      for (std::size_t k = L; k-- > 0;) {
        P.right_multiply(stack[k]);
        if (centre) {
          if (k == L - 1) C = ScaledMatrix::from_matrix(centred_factor(stack[k]));
          else C.right_multiply(centred_factor(stack[k]));
        }
        out[k] = product_metrics(P, centre ? &C : nullptr, groups, static_cast<Index>(L - k));
      }
      break;
    }
  }
  return out;
}

const std::vector<std::string>& depth_metric_columns() {
  static const std::vector<std::string> columns{
      "fwd_gain", "bwd_gain", "fwd_gain_min", "bwd_gain_min", "fwd_gain_abs", "bwd_gain_abs", "row_err",
      "col_err", "min_entry", "sigma_max", "sigma_min", "cond", "collapse", "spectral_radius", "lambda2",
      "dist_identity", "effective_rank", "sigma_ratio", "collapse_rate",
      "log10_fwd_gain", "log10_bwd_gain", "log10_fwd_gain_min", "log10_bwd_gain_min", "log10_fwd_gain_abs",
      "log10_bwd_gain_abs", "log10_sigma_max", "log10_sigma_min", "log10_cond", "log10_collapse",
      "log10_spectral_radius", "log10_lambda2", "log10_dist_identity",
      "sigma_min_resolved", "cond_resolved", "lambda2_resolved", "spectral_radius_resolved", "collapse_centred",
      "sigma_ratio_resolved"};
  return columns;
}

std::vector<MetricCell> depth_metric_cells(const DepthMetrics& m) {
  auto lin = [](double v, double log10_abs) { return MetricCell::number(v, log10_abs); };
  auto num = [](double v) { return MetricCell::number(v); };
  auto flag = [](bool b) { return MetricCell::boolean(b); };
  // effective_rank ∈ [1, n] and cond's scale cancels: their doubles are exact representations.
  return {lin(m.fwd_gain, m.log10_fwd_gain),
          lin(m.bwd_gain, m.log10_bwd_gain),
          lin(m.fwd_gain_min, m.log10_abs.fwd_gain_min),
          lin(m.bwd_gain_min, m.log10_abs.bwd_gain_min),
          lin(m.fwd_gain_abs, m.log10_fwd_gain_abs),
          lin(m.bwd_gain_abs, m.log10_bwd_gain_abs),
          lin(m.row_err, m.log10_abs.row_err),
          lin(m.col_err, m.log10_abs.col_err),
          lin(m.min_entry, m.log10_abs.min_entry),
          lin(m.sigma_max, m.log10_sigma_max),
          lin(m.sigma_min, m.log10_sigma_min),
          lin(m.cond, m.log10_cond),
          lin(m.collapse, m.log10_collapse),
          lin(m.spectral_radius, m.log10_spectral_radius),
          lin(m.lambda2, m.log10_lambda2),
          lin(m.dist_identity, m.log10_dist_identity),
          num(m.effective_rank),
          num(m.sigma_ratio),
          num(m.collapse_rate),
          num(m.log10_fwd_gain), num(m.log10_bwd_gain), num(m.log10_fwd_gain_min), num(m.log10_bwd_gain_min),
          num(m.log10_fwd_gain_abs), num(m.log10_bwd_gain_abs), num(m.log10_sigma_max), num(m.log10_sigma_min),
          num(m.log10_cond), num(m.log10_collapse), num(m.log10_spectral_radius), num(m.log10_lambda2),
          num(m.log10_dist_identity),
          flag(m.sigma_min_resolved), flag(m.cond_resolved), flag(m.lambda2_resolved),
          flag(m.spectral_radius_resolved), flag(m.collapse_centred), flag(m.sigma_ratio_resolved)};
}

std::vector<std::string> depth_metric_row(const DepthMetrics& m) {
  std::vector<std::string> row;
  for (const MetricCell& c : depth_metric_cells(m)) row.push_back(c.format());
  return row;
}

}  // namespace mhclab
