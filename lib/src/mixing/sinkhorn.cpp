// Sinkhorn–Knopp (SPEC §3, §3.2). See mhclab/mixing/sinkhorn.hpp for the conventions.
#include "mhclab/core/format.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {
/// Rounding of the emulated formats: `acc` after every elementary operation, `store` for every stored
/// intermediate (an operation's result rounded to the accumulate format, then to the storage format).
struct Rounding {
  Precision storage = Precision::FP64;
  Precision accumulate = Precision::FP64;
  [[nodiscard]] double acc(double x) const { return round_to(x, accumulate); }
  [[nodiscard]] double store(double x) const { return round_to(round_to(x, accumulate), storage); }
  [[nodiscard]] double input(double x) const { return round_to(x, storage); }
};

Rounding make_rounding(const SinkhornOptions& o) {
  Rounding r;
  r.storage = o.precision;
  r.accumulate = o.precision == Precision::FP64   ? Precision::FP64
                 : o.accumulate == Accumulate::Same ? o.precision
                                                    : Precision::FP32;
  return r;
}

double marginal_error(const Mat& H) { return std::max(row_error(H), col_error(H)); }

/// One transformation of the exp-domain matrix after M⁰: a normalisation of the rows or columns with ε added to
/// each denominator (den_eps; 0 for a softmax's own denominator), or ε added to every entry.
struct ExpStep {
  enum class Kind { Normalise, AddEps } kind = Kind::Normalise;
  bool by_rows = false;
  double den_eps = 0.0;
};

/// What the backward (sinkhorn_vjp) needs from a forward run; filled only when a trace is passed.
///   exp domain: M[0] = M⁰ (the exponentials: exp((Z − max Z)/τ), or for a softmax start exp((Z − m)/τ) with m
///               the per-column/row max), M[h] = the matrix after steps[h − 1];
///   log domain: u[h], v[h] = the potentials after the h-th update (u[0] = v[0] = 0), tau[k] = τ_k of
///               iteration k (k = 0..t−1).
struct SinkhornTrace {
  std::vector<Mat> M;
  std::vector<ExpStep> steps;
  std::vector<Vec> u, v;
  std::vector<double> tau;
};

SinkhornResult issue(std::string why, int iterations) {
  SinkhornResult r;
  r.summary.status = SinkhornStatus::NumericalIssue;
  r.summary.iterations = iterations;
  r.summary.issue = std::move(why);
  return r;
}

// ---- exp domain (with precision emulation) --------------------------------------------------------
// Normalises the columns (by_rows = false) or rows (true) of M in place, dividing by (sum + den_eps): sums
// accumulated left to right, each addition rounded to the accumulate format; each quotient rounded and stored.
bool normalise(Mat& M, bool by_rows, double den_eps, const Rounding& R, std::string& why) {
  const Index n = M.rows();
  for (Index a = 0; a < n; ++a) {
    double s = 0.0;
    for (Index b = 0; b < n; ++b) s = R.acc(s + (by_rows ? M(a, b) : M(b, a)));
    if (den_eps != 0.0) s = R.acc(s + den_eps);
    if (!(s > 0.0) || !std::isfinite(s)) {
      why = std::string(by_rows ? "row " : "column ") + std::to_string(a) + " sum is " + format_double(s) +
            " (exp underflow or overflow); use --domain log";
      return false;
    }
    for (Index b = 0; b < n; ++b) {
      double& x = by_rows ? M(a, b) : M(b, a);
      x = R.store(x / s);
    }
  }
  return true;
}

SinkhornResult sinkhorn_exp(const Mat& Z, const SinkhornOptions& o, SinkhornTrace* trace = nullptr) {
  const Rounding R = make_rounding(o);
  const Index n = Z.rows();
  const bool rows_first = o.order == SinkhornOrder::RowThenCol;
  const double eps = R.input(o.eps_value());
  const double den_eps =
      o.eps_placement == EpsPlacement::Both || o.eps_placement == EpsPlacement::Denominators ? eps : 0.0;
  const bool add_eps = eps != 0.0 && (o.eps_placement == EpsPlacement::Both || o.eps_placement == EpsPlacement::AfterStart);
  const bool softmax = o.start == SinkhornStart::SoftmaxRows || o.start == SinkhornStart::SoftmaxCols;
  const bool softmax_rows = o.start == SinkhornStart::SoftmaxRows;
  // exp underflow threshold: (Z − max)/τ below ln(smallest normal) of the format (−708 / −87.3). A softmax start
  // lets entries underflow (towards 0) as torch.softmax does: only its per-vector maximum must be representable.
  const double threshold = o.precision == Precision::FP64 ? -708.0 : std::log(static_cast<double>(FLT_MIN));
  Mat Zs(n, n);
  for (Index k = 0; k < Z.size(); ++k) Zs.data()[k] = R.input(Z.data()[k]);
  const double tau = R.acc(o.tau);
  Vec shift = Vec::Constant(n, Zs.maxCoeff());  // exp: the global max; softmax: per column or per row
  if (o.start == SinkhornStart::SoftmaxCols) shift = Zs.colwise().maxCoeff().transpose();
  if (softmax_rows) shift = Zs.rowwise().maxCoeff();
  Mat M(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) {
      const double s = R.acc(R.acc(Zs(i, j) - shift[softmax_rows ? i : j]) / tau);
      if (!softmax && s < threshold)
        return issue("(Z[" + std::to_string(i) + "," + std::to_string(j) + "] - max Z)/tau = " + format_double(s) +
                         " < " + format_double(threshold) + ": exp underflows in " +
                         std::string(precision_table.to_string(o.precision)) + "; use --domain log",
                     0);
      M(i, j) = R.store(std::exp(s));
    }
  if (trace) trace->M.push_back(M);
  std::string why;
  auto step = [&](const ExpStep& st) {
    if (st.kind == ExpStep::Kind::AddEps) {
      for (Index k = 0; k < M.size(); ++k) M.data()[k] = R.store(M.data()[k] + eps);
    } else if (!normalise(M, st.by_rows, st.den_eps, R, why)) {
      return false;
    }
    if (trace) {
      trace->M.push_back(M);
      trace->steps.push_back(st);
    }
    return true;
  };
  // The softmax's own normalisation (no ε), then ε on the entries.
  if (softmax && !step({ExpStep::Kind::Normalise, softmax_rows, 0.0})) return issue(why, 0);
  if (add_eps && !step({ExpStep::Kind::AddEps, false, 0.0})) return issue(why, 0);
  const bool merged_first_half = softmax && softmax_rows == rows_first;
  SinkhornResult out;
  int t = 0;
  bool converged = false;
  for (t = 1; t <= o.iterations; ++t) {
    if (!(t == 1 && merged_first_half) && !step({ExpStep::Kind::Normalise, rows_first, den_eps})) return issue(why, t);
    if (!step({ExpStep::Kind::Normalise, !rows_first, den_eps})) return issue(why, t);
    if (o.tol > 0.0 && marginal_error(M) < o.tol) {
      converged = true;
      break;
    }
  }
  if (!M.allFinite()) return issue("non-finite entry in the result", t);
  out.summary.iterations = converged ? t : o.iterations;
  out.summary.status = o.tol == 0.0 ? SinkhornStatus::FixedIterations
                       : converged  ? SinkhornStatus::Converged
                                    : SinkhornStatus::MaxIterations;
  out.H = std::move(M);
  return out;
}
// ---- log domain ---------------------------------------------------------------------------------
// Dual potentials in units of Z: log H_ij = (K_ij + u_i + v_j)/τ with K = Z − max Z.
// Column update v_j = −τ·LSE_i((K_ij + u_i)/τ); row update u_i = −τ·LSE_j((K_ij + v_j)/τ).
double lse(const double* x, Index n) {
  double mx = -INFINITY;
  for (Index k = 0; k < n; ++k) mx = std::max(mx, x[k]);
  double s = 0.0;
  for (Index k = 0; k < n; ++k) s += std::exp(x[k] - mx);
  return mx + std::log(s);
}

Mat log_domain_matrix(const Mat& K, const Vec& u, const Vec& v, double tau) {
  const Index n = K.rows();
  Mat H(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) H(i, j) = std::exp((K(i, j) + u[i] + v[j]) / tau);
  return H;
}

SinkhornResult sinkhorn_log(const Mat& Z, const SinkhornOptions& o, SinkhornTrace* trace = nullptr) {
  const Index n = Z.rows();
  const Mat K = Z.array() - Z.maxCoeff();
  Vec u = Vec::Zero(n), v = Vec::Zero(n);
  std::vector<double> buf(static_cast<std::size_t>(n));
  const int T = o.iterations;
  const bool geometric = o.schedule == TauSchedule::Geometric && o.tau < 1.0 && T > 1;
  auto col_update = [&](double tau) {
    for (Index j = 0; j < n; ++j) {
      for (Index i = 0; i < n; ++i) buf[static_cast<std::size_t>(i)] = (K(i, j) + u[i]) / tau;
      v[j] = -tau * lse(buf.data(), n);
    }
  };
  auto row_update = [&](double tau) {
    for (Index i = 0; i < n; ++i) {
      for (Index j = 0; j < n; ++j) buf[static_cast<std::size_t>(j)] = (K(i, j) + v[j]) / tau;
      u[i] = -tau * lse(buf.data(), n);
    }
  };
  auto record = [&] {
    if (!trace) return;
    trace->u.push_back(u);
    trace->v.push_back(v);
  };
  record();
  int t = 0;
  bool converged = false;
  for (t = 1; t <= T; ++t) {
    // ε-scaling: τ_k = τ^{k/(t−1)}, k = t − 1 = 0..T−1 (from 1 down to τ).
    const double tau_k = geometric ? (t == T ? o.tau : std::pow(o.tau, static_cast<double>(t - 1) / (T - 1))) : o.tau;
    if (trace) trace->tau.push_back(tau_k);
    if (o.order == SinkhornOrder::ColThenRow) {
      col_update(tau_k);
      record();
      row_update(tau_k);
    } else {
      row_update(tau_k);
      record();
      col_update(tau_k);
    }
    record();
    if (!u.allFinite() || !v.allFinite()) return issue("non-finite dual potential", t);
    if (o.tol > 0.0 && tau_k == o.tau && marginal_error(log_domain_matrix(K, u, v, o.tau)) < o.tol) {
      converged = true;
      break;
    }
  }
  SinkhornResult out;
  out.H = log_domain_matrix(K, u, v, o.tau);
  if (!out.H.allFinite()) return issue("non-finite entry in the result", t);
  out.summary.iterations = converged ? t : T;
  out.summary.status = o.tol == 0.0 ? SinkhornStatus::FixedIterations
                       : converged  ? SinkhornStatus::Converged
                                    : SinkhornStatus::MaxIterations;
  return out;
}

// ---- backward ------------------------------------------------------------------------------------
// Reverse of one exp-domain normalisation Y = diag(s + ε)⁻¹X (rows; s = X1) or X·diag(s + ε)⁻¹ (columns;
// s = 1ᵀX): with Ȳ the adjoint of Y, X̄_ij = (Ȳ_ij − Σ_k Ȳ_ik Y_ik)/(s_i + ε) (rows), the transpose for columns.
void normalise_backward(Mat& G, const Mat& X, const Mat& Y, bool by_rows, double den_eps) {
  const Index n = X.rows();
  for (Index a = 0; a < n; ++a) {
    double s = den_eps, d = 0.0;
    for (Index b = 0; b < n; ++b) {
      s += by_rows ? X(a, b) : X(b, a);
      d += by_rows ? G(a, b) * Y(a, b) : G(b, a) * Y(b, a);
    }
    for (Index b = 0; b < n; ++b) {
      double& g = by_rows ? G(a, b) : G(b, a);
      g = (g - d) / s;
    }
  }
}

// dZ for the exp domain: reverse through the steps (adding ε passes the adjoint through unchanged), then
// M⁰ = exp((Z − shift)/τ) gives Z̄ = M̄⁰ ∘ M⁰/τ. The shift (global max, or the per-vector max of a softmax start
// along the side of its own normalisation) cancels in the first normalisation, as for the global max (see
// sinkhorn_vjp), so it is not differentiated.
Mat backward_exp(const SinkhornTrace& tr, const SinkhornOptions& o, const Mat& dH) {
  Mat G = dH;  // adjoint of the current matrix, n×n
  for (std::size_t h = tr.steps.size(); h >= 1; --h) {
    const ExpStep& st = tr.steps[h - 1];
    if (st.kind == ExpStep::Kind::Normalise) normalise_backward(G, tr.M[h - 1], tr.M[h], st.by_rows, st.den_eps);
  }
  return G.cwiseProduct(tr.M[0]) / o.tau;
}

// dZ for the log domain. H = exp((K + u1ᵀ + 1vᵀ)/τ). A column update v_j = −τ_k·LSE_i((K_ij + u_i)/τ_k) has
// ∂v_j/∂K_ij = ∂v_j/∂u_i = −P_ij with P = exp((K + u1ᵀ + 1v_newᵀ)/τ_k) (column-stochastic: the softmax the LSE
// takes); the old v is overwritten (its adjoint becomes 0). A row update is the transpose.
Mat backward_log(const SinkhornTrace& tr, const Mat& K, const SinkhornOptions& o, const Mat& H, const Mat& dH) {
  const Index n = K.rows();
  const Mat G = dH.cwiseProduct(H) / o.tau;  // adjoint of (K + u1ᵀ + 1vᵀ) through H's exp
  Mat dK = G;
  Vec du = G.rowwise().sum(), dv = G.colwise().sum().transpose();
  const bool col_first = o.order == SinkhornOrder::ColThenRow;
  for (std::size_t h = tr.u.size() - 1; h >= 1; --h) {
    const double tau_k = tr.tau[(h - 1) / 2];
    const bool col_update = (h % 2 == 1) == col_first;
    const Vec& u = tr.u[h];
    const Vec& v = tr.v[h];
    if (col_update) {
      for (Index j = 0; j < n; ++j) {
        for (Index i = 0; i < n; ++i) {
          const double p = std::exp((K(i, j) + u[i] + v[j]) / tau_k);
          dK(i, j) -= p * dv[j];
          du[i] -= p * dv[j];
        }
      }
      dv.setZero();
    } else {
      for (Index j = 0; j < n; ++j) {
        for (Index i = 0; i < n; ++i) {
          const double q = std::exp((K(i, j) + u[i] + v[j]) / tau_k);
          dK(i, j) -= q * du[i];
          dv[j] -= q * du[i];
        }
      }
      du.setZero();
    }
  }
  return dK;
}

Vec row_sums(const Mat& H) { return H.rowwise().sum(); }
Vec col_sums(const Mat& H) { return H.colwise().sum().transpose(); }
}  // namespace

void SinkhornOptions::validate() const {
  if (iterations < 1) throw InputError("iters = " + std::to_string(iterations) + "; must be ≥ 1");
  if (!(tau > 0.0) || !std::isfinite(tau)) throw InputError("tau = " + format_double(tau) + "; must be > 0 and finite");
  if (!(tol >= 0.0) || !std::isfinite(tol)) throw InputError("tol = " + format_double(tol) + "; must be ≥ 0 and finite");
  if (schedule == TauSchedule::Geometric && domain == SinkhornDomain::Exp)
    throw InputError("tau-schedule = geometric needs domain = log (warm-started potentials); got domain = exp");
  if (precision != Precision::FP64 && domain == SinkhornDomain::Log)
    throw InputError("precision = " + std::string(precision_table.to_string(precision)) +
                     " is emulated in the exp domain only (SPEC §3.2's operations); use --domain exp");
  if (eps && !(*eps >= 0.0 && *eps < 1.0))
    throw InputError("eps = " + format_double(*eps, "%g") + "; must be in [0, 1)");
  if (projection == SinkhornProjection::Newton) {
    if (start == SinkhornStart::SoftmaxRows || start == SinkhornStart::SoftmaxCols || eps_value() != 0.0)
      throw InputError("projection = newton is the converged projection of exp(Z/τ): it takes start exp and eps = 0");
    if (precision != Precision::FP64)
      throw InputError("projection = newton runs in fp64; precision emulation is for the Sinkhorn iteration");
    return;
  }
  if (!plain() && domain == SinkhornDomain::Log)
    throw InputError("start = " + std::string(sinkhorn_start_table.to_string(start)) + ", eps = " +
                     format_double(eps_value(), "%g") +
                     ": the deployed variants (softmax start, ε) run in the exp domain only; use --domain exp");
}

SinkhornOptions with_dsv4_preset(SinkhornOptions o) {
  if (o.start == SinkhornStart::Auto) o.start = SinkhornStart::SoftmaxCols;
  if (!o.eps) o.eps = 1e-6;
  return o;
}

double row_error(const Mat& H) {
  return H.size() == 0 ? 0.0 : (H.rowwise().sum().array() - 1.0).abs().maxCoeff();
}
double col_error(const Mat& H) {
  return H.size() == 0 ? 0.0 : (H.colwise().sum().array() - 1.0).abs().maxCoeff();
}

SinkhornResult sinkhorn(const Mat& Z, const SinkhornOptions& o) {
  o.validate();
  if (Z.rows() != Z.cols() || Z.rows() < 1)
    throw InputError("sinkhorn: logits must be a non-empty square matrix; got " + std::to_string(Z.rows()) + "x" +
                     std::to_string(Z.cols()));
  if (!Z.allFinite()) return issue("non-finite logit", 0);
  SinkhornResult r = o.domain == SinkhornDomain::Exp ? sinkhorn_exp(Z, o) : sinkhorn_log(Z, o);
  if (r.summary.status == SinkhornStatus::NumericalIssue) return r;
  r.summary.row_err = row_error(r.H);
  r.summary.col_err = col_error(r.H);
  if (o.precision != Precision::FP64) {
    // Truncation vs rounding (SPEC §3.2): the fp64 run at the same number of iterations.
    SinkhornOptions o64 = o;
    o64.precision = Precision::FP64;
    o64.tol = 0.0;
    o64.iterations = r.summary.iterations;
    const SinkhornResult r64 = sinkhorn_exp(Z, o64);
    if (r64.summary.status == SinkhornStatus::NumericalIssue) return issue("fp64 reference: " + r64.summary.issue, 0);
    r.summary.trunc_row_err = row_error(r64.H);
    r.summary.trunc_col_err = col_error(r64.H);
    r.summary.round_err_max = (r.H - r64.H).cwiseAbs().maxCoeff();
    r.summary.round_row_err = (row_sums(r.H) - row_sums(r64.H)).cwiseAbs().maxCoeff();
    r.summary.round_col_err = (col_sums(r.H) - col_sums(r64.H)).cwiseAbs().maxCoeff();
  } else {
    r.summary.trunc_row_err = r.summary.row_err;
    r.summary.trunc_col_err = r.summary.col_err;
  }
  return r;
}

Mat sinkhorn_vjp(const Mat& Z, const SinkhornOptions& options, const Mat& dH) {
  options.validate();
  if (Z.rows() != Z.cols() || Z.rows() < 1)
    throw InputError("sinkhorn_vjp: logits must be a non-empty square matrix; got " + std::to_string(Z.rows()) + "x" +
                     std::to_string(Z.cols()));
  if (dH.rows() != Z.rows() || dH.cols() != Z.cols())
    throw InputError("sinkhorn_vjp: dH is " + std::to_string(dH.rows()) + "x" + std::to_string(dH.cols()) +
                     "; expected the logits' shape " + std::to_string(Z.rows()) + "x" + std::to_string(Z.cols()));
  auto fail = [](const std::string& why) {
    return ComputeError("sinkhorn backward: the forward has status numerical_issue (" + why + ")");
  };
  if (!Z.allFinite()) throw fail("non-finite logit");
  // The iteration count of the forward as run (incl. an early stop by tol) is held fixed; emulated precision is
  // not differentiated: the fp64 map with that many iterations is (as SinkhornSummary's truncation figures).
  SinkhornOptions o = options;
  if (o.precision != Precision::FP64) {
    const SinkhornResult r = sinkhorn(Z, options);
    if (r.summary.status == SinkhornStatus::NumericalIssue) throw fail(r.summary.issue);
    o.precision = Precision::FP64;
    o.tol = 0.0;
    o.iterations = r.summary.iterations;
  }
  SinkhornTrace tr;
  if (o.domain == SinkhornDomain::Exp) {
    const SinkhornResult r = sinkhorn_exp(Z, o, &tr);
    if (r.summary.status == SinkhornStatus::NumericalIssue) throw fail(r.summary.issue);
    return backward_exp(tr, o, dH);
  }
  const SinkhornResult r = sinkhorn_log(Z, o, &tr);
  if (r.summary.status == SinkhornStatus::NumericalIssue) throw fail(r.summary.issue);
  const Mat K = Z.array() - Z.maxCoeff();
  return backward_log(tr, K, o, r.H, dH);
}

}  // namespace mhclab
