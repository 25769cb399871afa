// Converged projections onto the Birkhoff polytope. See mhclab/mixing/birkhoff_projection.hpp for the math and the
// equation numbers (E*), (V*), (P*).
#include "mhclab/mixing/birkhoff_projection.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Cholesky>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

namespace {
constexpr double kArmijo = 1e-4;     // σ: sufficient decrease of (E6)
constexpr int kMaxHalvings = 40;     // smallest step tried: 2⁻⁴⁰ ≈ 1e-12
constexpr int kFallbackSweeps = 3;   // Sinkhorn sweeps after a failed line search
constexpr double kExpand = 0.1;      // a full step reducing the merit by less than this factor is expanded
constexpr int kMaxDoublings = 60;    // largest expanded step: 2⁶⁰·d
// λ of (V2), absolute (Lap(W) of a doubly stochastic H has diagonal ≤ 1). Weak cuts of the column graph (tiny
// entries) give Lap(W) eigenvalues far below round-off; unregularised, the u-sized rounding of the right side along
// them yields β ~ u/eigenvalue, and α + β then cancels to garbage. The exact right side along a cut is bounded by
// the cut weight (it is the divergence of the flow W_jk·(dH_ij − dH_ik)), so damping modes with eigenvalue ≲ λ
// changes dZ only through the tiny entries across the cut, while β's noise stays ≲ n·u/λ ≈ 1e-4·n (rounding
// u·|β| in dZ); modes with eigenvalue μ ≫ λ keep a relative accuracy λ/μ.
constexpr double kVjpRegularization = 1e-12;
constexpr int kVjpRefinements = 2;  // iterative-refinement steps of (V2) against the unregularised Laplacian

double max_row_error(const Mat& H) { return (H.rowwise().sum().array() - 1.0).abs().maxCoeff(); }
double max_col_error(const Mat& H) { return (H.colwise().sum().array() - 1.0).abs().maxCoeff(); }

void check_square(const Mat& M, const char* who, const char* what) {
  if (M.rows() != M.cols() || M.rows() < 1)
    throw InputError(std::string(who) + ": " + what + " must be a non-empty square matrix; got " +
                     std::to_string(M.rows()) + "x" + std::to_string(M.cols()));
  if (!M.allFinite()) {
    Index i = 0, j = 0;
    while (std::isfinite(M(i, j)))
      if (++j == M.cols()) j = 0, ++i;  // first non-finite entry in row-major order
    throw InputError(std::string(who) + ": non-finite entry " + what + "[" + std::to_string(i) + "," +
                     std::to_string(j) + "] = " + format_double(M(i, j)));
  }
}

// ---- entropic projection ------------------------------------------------------------------------------
// L = log H (n×n); folding a potential into L keeps it the exponent of the current matrix.

/// Row update folded into L: L_i· ← L_i· − LSE_j L_ij (rows of exp(L) sum to 1). False when a row is all −∞ or NaN.
bool fold_rows(Mat& L) {
  const Index n = L.rows();
  for (Index i = 0; i < n; ++i) {
    const double mx = L.row(i).maxCoeff();
    if (!std::isfinite(mx)) return false;
    double s = 0.0;
    for (Index j = 0; j < n; ++j) s += std::exp(L(i, j) - mx);
    const double lse = mx + std::log(s);
    for (Index j = 0; j < n; ++j) L(i, j) -= lse;
  }
  return true;
}

/// Column update folded into L: L_·j ← L_·j − LSE_i L_ij.
bool fold_cols(Mat& L) {
  const Index n = L.rows();
  for (Index j = 0; j < n; ++j) {
    const double mx = L.col(j).maxCoeff();
    if (!std::isfinite(mx)) return false;
    double s = 0.0;
    for (Index i = 0; i < n; ++i) s += std::exp(L(i, j) - mx);
    const double lse = mx + std::log(s);
    for (Index i = 0; i < n; ++i) L(i, j) -= lse;
  }
  return true;
}

/// Solves the grounded-Laplacian system (M_JJ + λI)·x_J = rhs_J, x_{n−1} = 0, where M = diag(Σ_{k≠j} B_jk) − B is
/// the (not necessarily symmetric) Laplacian of non-negative off-diagonal weights B (n×n; the diagonal of B is not
/// used), J = {0..n−2} and λ = reg_rel·tr(M_JJ)/(n−1) + reg_abs. M_JJ has off-diagonals −B_jk and row sums
/// ground_j = B_{j,n−1} ≥ 0. It is factored by GTH-style elimination (Kron reduction): every pivot is formed as
/// ground_p + λ + Σ_{k>p} B_pk and every update B_jk += B_jp·B_pk/pivot, ground_j += B_jp·ground_p/pivot adds
/// non-negative numbers, so the factors keep full relative accuracy even when the weights span hundreds of orders of
/// magnitude (an LDLT of the assembled matrix would lose the small eigenvalues to cancellation on the diagonal).
/// False when a pivot is not positive or the solution is not finite.
bool grounded_laplacian_solve(Mat B, const Vec& rhs, double reg_rel, double reg_abs, Vec& x) {
  const Index n = B.rows();
  const Index m = n - 1;
  x = Vec::Zero(n);
  if (m == 0) return true;
  Vec ground = B.col(n - 1).head(m);
  double trace = 0.0;
  for (Index j = 0; j < m; ++j) {
    double row = ground[j];
    for (Index k = 0; k < m; ++k)
      if (k != j) row += B(j, k);
    trace += row;
  }
  ground.array() += reg_rel * trace / static_cast<double>(m) + reg_abs;
  Vec pivot(m);
  Vec b = rhs.head(m);
  for (Index p = 0; p < m; ++p) {
    double d = ground[p];
    for (Index k = p + 1; k < m; ++k) d += B(p, k);
    if (!(d > 0.0) || !std::isfinite(d)) return false;
    pivot[p] = d;
    for (Index j = p + 1; j < m; ++j) {
      const double f = B(j, p) / d;  // −(elimination multiplier)
      if (f == 0.0) continue;
      for (Index k = p + 1; k < m; ++k)
        if (k != j) B(j, k) += f * B(p, k);
      ground[j] += f * ground[p];
      b[j] += f * b[p];
    }
  }
  for (Index p = m - 1; p >= 0; --p) {
    double t = b[p];
    for (Index k = p + 1; k < m; ++k) t += B(p, k) * x[k];
    x[p] = t / pivot[p];
  }
  return x.allFinite();
}

/// y = M·x for the Laplacian M of grounded_laplacian_solve, x_{n−1} = 0: y_j = Σ_{k≠j} B_jk·(x_j − x_k) for j ∈ J,
/// y_{n−1} = 0 (differences, so no cancellation against a separately formed diagonal).
Vec grounded_laplacian_apply(const Mat& B, const Vec& x) {
  const Index n = B.rows();
  Vec y = Vec::Zero(n);
  for (Index j = 0; j + 1 < n; ++j)
    for (Index k = 0; k < n; ++k)
      if (k != j) y[j] += B(j, k) * (x[j] - x[k]);
  return y;
}

/// Row-normalised state (rows of P = exp(L) sum to 1): log column sums ℓ_j = LSE_i L_ij = log c_j and the merit
/// ‖ℓ_J‖₂ of (E6).
struct EntropicState {
  Mat L, P;
  Vec logc;
  double merit = 0.0;
};

/// Builds the state from an L whose rows are not yet normalised. False on a non-finite value.
bool make_state(Mat L, EntropicState& s) {
  if (!fold_rows(L)) return false;
  const Index n = L.rows();
  s.P = L.array().exp();
  s.logc.resize(n);
  for (Index j = 0; j < n; ++j) {
    const double mx = L.col(j).maxCoeff();
    double sum = 0.0;
    for (Index i = 0; i < n; ++i) sum += std::exp(L(i, j) - mx);
    s.logc[j] = mx + std::log(sum);
  }
  s.L = std::move(L);
  s.merit = s.logc.head(n - 1).norm();
  return s.P.allFinite() && std::isfinite(s.merit);
}

/// Newton direction (E5) for ℓ(v) = 0: (I − S)_JJ·d_J = −ℓ_J with S = QᵀP, Q_ij = P_ij/c_j (column-normalised).
/// I − S = diag(1/c)·Lap(W) is the Jacobian of ℓ in v; S is row-stochastic, so I − S is the Laplacian of the
/// weights S (GTH-accurate solve). d_{n−1} = 0.
bool newton_direction(const EntropicState& s, double reg, Vec& d) {
  const Index n = s.P.rows();
  Mat Q(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) Q(i, j) = std::exp(s.L(i, j) - s.logc[j]);
  return grounded_laplacian_solve(Q.transpose() * s.P, -s.logc, reg, 0.0, d);
}

/// Line search along d on the merit m(t) = ‖ℓ_J(v + t·d)‖₂ (E6):
///   m(1) ≤ 0.1·m(0) (the quadratic regime)             → accept t = 1;
///   m(1) ≤ (1 − σ)·m(0)                                → under-stepping far from the solution: double t while m
///                                                          keeps decreasing (up to 2⁶⁰) and accept the best;
///   otherwise                                          → halve t until m(t) ≤ (1 − σ·t)·m(0) (σ = 1e-4, t ≥ 2⁻⁴⁰).
/// False when no t passes.
bool entropic_line_search(const EntropicState& s, const Vec& d, EntropicState& next) {
  const Index m = d.size() - 1;
  auto trial_at = [&](double t, EntropicState& tr) {
    Mat Lt = s.L;
    for (Index j = 0; j < m; ++j) Lt.col(j).array() += t * d[j];
    return make_state(std::move(Lt), tr);
  };
  EntropicState tr;
  if (trial_at(1.0, tr) && tr.merit <= (1.0 - kArmijo) * s.merit) {
    if (tr.merit > kExpand * s.merit) {
      double t = 1.0;
      EntropicState bigger;
      for (int k = 0; k < kMaxDoublings; ++k) {
        t *= 2.0;
        if (!trial_at(t, bigger) || !(bigger.merit < tr.merit)) break;
        tr = std::move(bigger);
      }
    }
    next = std::move(tr);
    return true;
  }
  double t = 1.0;
  for (int k = 0; k < kMaxHalvings; ++k) {
    t *= 0.5;
    if (trial_at(t, tr) && tr.merit <= (1.0 - kArmijo * t) * s.merit) {
      next = std::move(tr);
      return true;
    }
  }
  return false;
}

EntropicProjectionResult entropic_issue(std::string why, const EntropicProjectionResult& so_far) {
  EntropicProjectionResult r;
  r.status = ProjectionStatus::NumericalIssue;
  r.iterations = so_far.iterations;
  r.sinkhorn_fallback_sweeps = so_far.sinkhorn_fallback_sweeps;
  r.issue = std::move(why);
  return r;
}

EntropicProjectionResult entropic_forward(const Mat& Z, const NewtonProjectionOptions& o) {
  const Index n = Z.rows();
  EntropicProjectionResult out;
  const double target = o.tol * static_cast<double>(n);
  EntropicState s;
  if (!make_state((Z.array() - Z.maxCoeff()) / o.tau, s))
    return entropic_issue("non-finite row potential: (Z − max Z)/tau overflows to −inf on a whole row", out);
  auto error = [&] { return std::max(max_row_error(s.P), max_col_error(s.P)); };
  bool converged = error() <= target;
  while (!converged && out.iterations < o.max_iters) {
    ++out.iterations;
    Vec d;
    EntropicState next;
    // (E5) with Levenberg–Marquardt damping λ = regularization·min(1, ‖ℓ_J‖₂)·tr/(n−1), vanishing at the solution.
    const bool stepped = newton_direction(s, o.regularization * std::min(1.0, s.merit), d) &&
                         entropic_line_search(s, d, next);
    if (stepped) {
      s = std::move(next);
    } else {
      // Newton made no progress (round-off floor or a far, badly scaled start): log-domain Sinkhorn sweeps.
      Mat L = s.L;
      for (int k = 0; k < kFallbackSweeps; ++k) {
        if (!fold_cols(L) || !fold_rows(L)) return entropic_issue("non-finite potential in a Sinkhorn fallback sweep", out);
        ++out.sinkhorn_fallback_sweeps;
      }
      if (!make_state(std::move(L), s)) return entropic_issue("non-finite potential in a Sinkhorn fallback sweep", out);
    }
    converged = error() <= target;
  }
  if (!s.P.allFinite()) return entropic_issue("non-finite entry in the result", out);
  out.row_err = max_row_error(s.P);
  out.col_err = max_col_error(s.P);
  out.status = converged ? ProjectionStatus::Converged : ProjectionStatus::MaxIterations;
  out.H = std::move(s.P);
  return out;
}

// ---- Euclidean projection ------------------------------------------------------------------------------

/// H(a, b) = (A − a1ᵀ − 1bᵀ)₊ of (P1).
Mat positive_part(const Mat& A, const Vec& a, const Vec& b) {
  const Index n = A.rows();
  Mat H(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) H(i, j) = std::max(0.0, A(i, j) - a[i] - b[j]);
  return H;
}

/// Dual point: multipliers x = (a, b) (length 2n), H(x) (P1), ∇θ (P3) and ‖∇θ‖₂ (without the gauge entry).
struct DualState {
  Vec x, grad;
  Mat H;
  double merit = 0.0;
};

bool make_dual(const Mat& A, Vec x, DualState& s) {
  const Index n = A.rows();
  s.H = positive_part(A, x.head(n), x.tail(n));
  s.grad.resize(2 * n);
  s.grad.head(n) = s.H.rowwise().sum().array() - 1.0;
  s.grad.tail(n) = s.H.colwise().sum().transpose().array() - 1.0;
  s.merit = s.grad.head(2 * n - 1).norm();
  s.x = std::move(x);
  return s.H.allFinite() && std::isfinite(s.merit);
}

/// Semismooth Newton direction (M_S + μI)·δ = ∇θ on the 2n−1 free multipliers (P3); δ_{2n−1} = 0 (gauge b_{n−1}).
bool dual_newton_direction(const DualState& s, Vec& delta) {
  const Index n = s.H.rows();
  const Index m = 2 * n - 1;
  Mat M = Mat::Zero(m, m);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      if (!(s.H(i, j) > 0.0)) continue;
      M(i, i) += 1.0;
      if (j < n - 1) {
        M(n + j, n + j) += 1.0;
        M(i, n + j) = 1.0;
        M(n + j, i) = 1.0;
      }
    }
  M.diagonal().array() += std::min(1.0, s.merit);
  const Eigen::LDLT<Mat> ldlt(M);
  if (ldlt.info() != Eigen::Success) return false;
  delta = Vec::Zero(2 * n);
  delta.head(m) = ldlt.solve(s.grad.head(m));
  return delta.allFinite();
}

/// Exact line search of the concave piecewise quadratic θ(x + t·δ) (P2), t ≥ 0. With X = A − a1ᵀ − 1bᵀ and
/// Δ = δa·1ᵀ + 1·δbᵀ its slope ψ(t) = Σ_ij Δ_ij·(X_ij − t·Δ_ij)₊ − 1ᵀδ is continuous, non-increasing and piecewise
/// linear: only its slope −Σ_{active} Δ_ij² changes, at the breakpoints t = X_ij/Δ_ij where an entry enters or
/// leaves the support. Starting from ψ(0) = ∇θᵀδ (taken from the gradient: no cancellation) and sweeping the
/// breakpoints in order gives the root t* of ψ, the maximiser along δ. Returns 0 when ψ(0) ≤ 0 and +∞ when ψ stays
/// positive (excluded for a bounded dual).
double exact_dual_step(const Mat& A, const Vec& x, const Vec& delta, double slope0) {
  const Index n = A.rows();
  struct Event {
    double t, dcurv;
  };
  std::vector<Event> events;
  double curv = 0.0;  // Σ_{active} Δ_ij² on the current piece
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < n; ++i) {
      const double X = A(i, j) - x[i] - x[n + j];
      const double D = delta[i] + delta[n + j];
      if (D == 0.0) continue;
      if (X > 0.0 || (X == 0.0 && D < 0.0)) {
        curv += D * D;
        if (D > 0.0) events.push_back({X / D, -D * D});  // leaves the support at t = X/D
      } else if (D < 0.0) {
        events.push_back({X / D, D * D});  // enters at t = X/D > 0
      }
    }
  if (!(slope0 > 0.0)) return 0.0;
  std::sort(events.begin(), events.end(), [](const Event& l, const Event& r) { return l.t < r.t; });
  double t = 0.0, psi = slope0;
  for (const Event& e : events) {
    const double at = psi - curv * (e.t - t);
    if (at <= 0.0) return t + psi / curv;
    t = e.t;
    psi = at;
    curv += e.dcurv;
  }
  return curv > 0.0 ? t + psi / curv : INFINITY;
}

EuclideanProjectionResult euclidean_issue(std::string why, int iterations) {
  EuclideanProjectionResult r;
  r.status = ProjectionStatus::NumericalIssue;
  r.iterations = iterations;
  r.issue = std::move(why);
  return r;
}
}  // namespace

void NewtonProjectionOptions::validate() const {
  const std::string who = "entropic_projection: ";
  if (!(tau > 0.0) || !std::isfinite(tau)) throw InputError(who + "tau = " + format_double(tau) + "; must be > 0 and finite");
  if (max_iters < 1) throw InputError(who + "max_iters = " + std::to_string(max_iters) + "; must be ≥ 1");
  if (!(tol >= 0.0) || !std::isfinite(tol)) throw InputError(who + "tol = " + format_double(tol) + "; must be ≥ 0 and finite");
  if (!(regularization >= 0.0) || !std::isfinite(regularization))
    throw InputError(who + "regularization = " + format_double(regularization) + "; must be ≥ 0 and finite");
}

void EuclideanProjectionOptions::validate() const {
  const std::string who = "euclidean_projection: ";
  if (max_iters < 1) throw InputError(who + "max_iters = " + std::to_string(max_iters) + "; must be ≥ 1");
  if (!(tol >= 0.0) || !std::isfinite(tol)) throw InputError(who + "tol = " + format_double(tol) + "; must be ≥ 0 and finite");
}

EntropicProjectionResult entropic_projection(const Mat& Z, const NewtonProjectionOptions& options) {
  options.validate();
  check_square(Z, "entropic_projection", "logits Z");
  return entropic_forward(Z, options);
}

Mat entropic_projection_vjp(const Mat& Z, const NewtonProjectionOptions& options, const Mat& dH) {
  options.validate();
  check_square(Z, "entropic_projection_vjp", "logits Z");
  if (dH.rows() != Z.rows() || dH.cols() != Z.cols())
    throw InputError("entropic_projection_vjp: dH is " + std::to_string(dH.rows()) + "x" + std::to_string(dH.cols()) +
                     "; expected the logits' shape " + std::to_string(Z.rows()) + "x" + std::to_string(Z.cols()));
  check_square(dH, "entropic_projection_vjp", "dH");
  const EntropicProjectionResult r = entropic_forward(Z, options);
  if (r.status == ProjectionStatus::NumericalIssue)
    throw ComputeError("entropic projection backward: the forward has status numerical_issue (" + r.issue + ")");
  const Mat& H = r.H;
  // (V2): Lap(W)·β = Γᵀ1 − HᵀΓ1 with β_{n−1} = 0, then α = Γ1 − Hβ; (V1): dZ = H ∘ (dH − α1ᵀ − 1βᵀ)/τ.
  const Mat Gamma = dH.cwiseProduct(H);
  const Vec gr = Gamma.rowwise().sum();
  const Vec gc = Gamma.colwise().sum().transpose();
  const Mat W = H.transpose() * H;
  const Vec rhs = gc - H.transpose() * gr;
  Vec beta, step;
  bool ok = grounded_laplacian_solve(W, rhs, 0.0, kVjpRegularization, beta);
  // Iterative refinement against the unregularised Lap(W): removes λ's bias λ/μ from the modes with μ ≫ λ (one step
  // leaves (λ/μ)²) and leaves the damped modes μ ≲ λ damped.
  for (int k = 0; ok && k < kVjpRefinements; ++k) {
    ok = grounded_laplacian_solve(W, rhs - grounded_laplacian_apply(W, beta), 0.0, kVjpRegularization, step);
    beta += step;
  }
  if (!ok || !beta.allFinite())
    throw ComputeError("entropic projection backward: the reduced Hessian is singular (non-finite solution)");
  const Vec alpha = gr - H * beta;
  Mat dZ(H.rows(), H.cols());
  for (Index j = 0; j < H.cols(); ++j)
    for (Index i = 0; i < H.rows(); ++i) dZ(i, j) = H(i, j) * (dH(i, j) - alpha[i] - beta[j]) / options.tau;
  if (!dZ.allFinite()) throw ComputeError("entropic projection backward: non-finite entry in dZ");
  return dZ;
}

Mat affine_marginal_projection(const Mat& A) {
  check_square(A, "affine_marginal_projection", "A");
  const Index n = A.rows();
  const double nn = static_cast<double>(n);
  const Vec R = A.rowwise().sum().array() - 1.0;              // A1 − 1
  const Vec C = A.colwise().sum().transpose().array() - 1.0;  // Aᵀ1 − 1
  const double sigma = R.sum();                                // 1ᵀA1 − n
  Mat H = A;
  H.colwise() -= R / nn;
  H.rowwise() -= C.transpose() / nn;
  H.array() += sigma / (nn * nn);
  return H;
}

EuclideanProjectionResult euclidean_projection(const Mat& A, const EuclideanProjectionOptions& options) {
  options.validate();
  check_square(A, "euclidean_projection", "A");
  const Index n = A.rows();
  const double nn = static_cast<double>(n);
  EuclideanProjectionResult out;
  // Start (P4): a = (A1 − 1)/n, b = (Aᵀ1 − 1 − (σ/n)1)/n, shifted by the gauge so that b_{n−1} = 0.
  Vec x(2 * n);
  const Vec R = A.rowwise().sum().array() - 1.0;
  const Vec C = A.colwise().sum().transpose().array() - 1.0;
  x.head(n) = R / nn;
  x.tail(n) = (C.array() - R.sum() / nn) / nn;
  const double shift = x[2 * n - 1];
  x.head(n).array() += shift;
  x.tail(n).array() -= shift;
  DualState s;
  if (!make_dual(A, std::move(x), s)) return euclidean_issue("non-finite entry in the affine projection", 0);
  auto error = [&] { return std::max(s.grad.head(n).cwiseAbs().maxCoeff(), s.grad.tail(n).cwiseAbs().maxCoeff()); };
  bool converged = error() <= options.tol;
  while (!converged && out.iterations < options.max_iters) {
    ++out.iterations;
    // Semismooth Newton direction, or the gradient when it is not an ascent direction; exact step along it.
    Vec delta;
    if (!dual_newton_direction(s, delta) || !(s.grad.dot(delta) > 0.0)) {
      delta = s.grad;
      ++out.gradient_fallback_steps;
    }
    const double t = exact_dual_step(A, s.x, delta, s.grad.dot(delta));
    DualState next;
    if (!std::isfinite(t) || !make_dual(A, s.x + t * delta, next))
      return euclidean_issue("non-finite dual multiplier (unbounded line search)", out.iterations);
    s = std::move(next);
    converged = error() <= options.tol;
  }
  out.row_err = max_row_error(s.H);
  out.col_err = max_col_error(s.H);
  out.distance = (s.H - A).norm();
  if (!std::isfinite(out.distance)) return euclidean_issue("non-finite distance ‖H − A‖_F", out.iterations);
  out.status = converged ? ProjectionStatus::Converged : ProjectionStatus::MaxIterations;
  out.H = std::move(s.H);
  return out;
}

}  // namespace mhclab
