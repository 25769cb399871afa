// sHC, spectral-sphere hyper-connections (arXiv 2603.20896; 6zHAOyi/s2HC litgpt/hyper_conn/shc.py, class
// SHyperConnections, __init__ and width_connection; SPEC §12), its static part. m = n − 1, k = m(m−1)/2;
// θ = [u (k), v (k), x (m)], m² parameters, in the authors' order (their static_alpha_residual):
//   A_U = the skew matrix whose strict upper triangle (row-major) is tanh(u), A_V likewise from v;
//   U = (I + A_U)⁻¹(I − A_U), V = (I + A_V)⁻¹(I − A_V) (the authors' Cayley convention, = cayley(−A) of
//   mixing/cayley_transform.hpp); σ = tanh(x) ∈ (−1, 1)^m; B the n × m Helmert basis of 1^⊥ (the authors' Uz).
// The authors build E = U·diag(σ)·Vᵀ and mix with H_code = J/n + B·E·Bᵀ in the [from, to] layout (new stream t =
// Σ_j H_code[j, t]·x_j), so in the paper orientation
//   H = H_codeᵀ = J/n + B·V·diag(σ)·Uᵀ·Bᵀ.
// The authors' learnable scales of the skew entries (γ_u, γ_v, 1 at init) are fixed at 1, and their dynamic
// (per-token) part is not modelled: θ is the static logits. H1 = 1 and 1ᵀH = 1ᵀ exactly (Bᵀ1 = 0), the singular
// values of H are 1 (on 1/√n) and |σ_k| < 1, so ‖H‖₂ = 1; entries may be negative. n = 1: H = [1], no parameters.
// Inits: authors u = v = 0, x = 4 (σ = tanh 4, the authors' init: H = J/n + tanh(4)·(I − J/n), near I); identity
// u = v = 0, x = atanh(1 − ε): H = J/n + (1−ε)BBᵀ = H₀ exactly (needs ε > 0: σ = 1 is the boundary).
// No inverse chart (U, V and σ of an SVD are not unique, and need det +1 factors without eigenvalue −1).
#include <cmath>

#include "mixing/cayley_transform.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

class SHC final : public Method {
 public:
  explicit SHC(Index n) : n_(n), m_(n - 1), k_((n - 1) * (n - 2) / 2), B_(helmert_basis(n)) {}
  MethodId id() const override { return MethodId::SHC; }
  Index n() const override { return n_; }
  Index num_params() const override { return m_ * m_; }
  bool exact_ds() const override { return false; }
  bool mean_preserving() const override { return true; }
  Vec init_params(InitKind kind, double eps) const override {
    Vec theta = Vec::Zero(num_params());
    if (kind == InitKind::Authors) {
      theta.tail(m_).setConstant(kAuthorsLogit);
      return theta;
    }
    check_init_eps(eps, m_ > 0);
    theta.tail(m_).setConstant(std::atanh(1.0 - eps));
    return theta;
  }

  MixResult build(const Vec& theta) const override {
    Mat H = Mat::Constant(n_, n_, 1.0 / static_cast<double>(n_));
    if (m_ == 0) return {std::move(H), std::nullopt};
    const Parts p = parts(theta);
    H += B_ * p.V * p.sigma.asDiagonal() * p.U.transpose() * B_.transpose();
    return {std::move(H), std::nullopt};
  }

  /// dM = Bᵀ dH B for M = V diag(σ) Uᵀ: dV = dM U diag(σ), dU = dMᵀ V diag(σ), dσ_k = (Vᵀ dM U)_kk,
  /// dx = dσ ⊙ (1 − σ²); U = cayley(−A_U): dA_U = −cayley_vjp(−A_U, U, dU), then the strict upper triangle of
  /// dA_U − dA_Uᵀ times tanh'(u) = 1 − tanh²(u) (and the same for V).
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    Vec d(num_params());
    if (m_ == 0) return d;
    const Parts p = parts(theta);
    const Mat dM = B_.transpose() * dH * B_;
    const Mat dV = dM * p.U * p.sigma.asDiagonal();
    const Mat dU = dM.transpose() * p.V * p.sigma.asDiagonal();
    const Vec dsigma = (p.V.transpose() * dM * p.U).diagonal();
    const Mat dAu = -skew_part_vjp(cayley_vjp(-p.Au, p.U, dU));
    const Mat dAv = -skew_part_vjp(cayley_vjp(-p.Av, p.V, dV));
    Index e = 0;
    for (Index a = 0; a < m_; ++a)
      for (Index b = a + 1; b < m_; ++b, ++e) {
        d[e] = dAu(a, b) * (1.0 - p.Au(a, b) * p.Au(a, b));
        d[k_ + e] = dAv(a, b) * (1.0 - p.Av(a, b) * p.Av(a, b));
      }
    d.tail(m_) = dsigma.cwiseProduct((1.0 - p.sigma.array().square()).matrix());
    return d;
  }

 private:
  static constexpr double kAuthorsLogit = 4.0;  ///< the authors' σ logits at init
  struct Parts {
    Mat Au, Av, U, V;
    Vec sigma;
  };
  /// The skew matrix with strict upper triangle tanh(t) (row-major).
  Mat skew_of(const Vec& theta, Index offset) const {
    Mat A = Mat::Zero(m_, m_);
    Index e = offset;
    for (Index a = 0; a < m_; ++a)
      for (Index b = a + 1; b < m_; ++b, ++e) {
        A(a, b) = std::tanh(theta[e]);
        A(b, a) = -A(a, b);
      }
    return A;
  }
  Parts parts(const Vec& theta) const {
    Parts p;
    p.Au = skew_of(theta, 0);
    p.Av = skew_of(theta, k_);
    p.U = cayley(-p.Au);
    p.V = cayley(-p.Av);
    p.sigma = theta.tail(m_).array().tanh().matrix();
    return p;
  }

  Index n_, m_, k_;
  Mat B_;  ///< n × (n−1) Helmert basis
};

}  // namespace

std::unique_ptr<Method> make_shc(const MethodOptions& o) { return std::make_unique<SHC>(o.n); }

}  // namespace mhclab::detail
