// Circulant C-mHC (contactsebi/circulant-hyper-connections, code/exp_train.py; SPEC §12): θ = z ∈ Rⁿ,
// w = softmax(z), c = (1−γ)e₀ + γw (γ = MethodOptions::gamma ∈ (0, 1]; 1 = plain C-mHC, the paper's leaky schedule
// γ = β/(2L)), H[i, j] = c_{(j − i) mod n} (paper orientation). Exactly doubly stochastic with entries ≥ 0 for
// every z: every row and every column of H holds each c_d once, and Σ_d c_d = 1. Products of circulants are
// circulant; the eigenvalues of H are the DFT of c, λ_k = Σ_d c_d ω^{dk} (ω = e^{2πi/n}).
// Inits: authors z = 0 (c = (1−γ)e₀ + (γ/n)1; γ = 1 gives J/n); identity: c = the first row of H₀ =
// (1−ε)I + εJ/n, i.e. w = (c − (1−γ)e₀)/γ and z = log w (needs ε > 0, and γ > ε(n−1)/n so that w₀ > 0).
// Inverse chart: a doubly stochastic circulant target with c − (1−γ)e₀ > 0 entrywise has z = log((c − (1−γ)e₀)/γ).
#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

class Circulant final : public Method {
 public:
  Circulant(Index n, double gamma) : n_(n), gamma_(gamma) {}
  MethodId id() const override { return MethodId::Circulant; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_; }
  bool exact_ds() const override { return true; }

  Vec init_params(InitKind kind, double eps) const override {
    if (kind == InitKind::Authors) return Vec::Zero(n_);
    check_init_eps(eps, n_ > 1);  // ε = 0: w = e₀ has no finite logits (n = 1: z is irrelevant)
    const Vec c = identity_target(n_, eps).row(0).transpose();
    const std::optional<Vec> z = logits_of(c);
    if (!z)
      throw InputError("circulant identity init: gamma = " + format_double(gamma_, "%g") + " cannot reach H₀ with " +
                       "init-eps = " + format_double(eps, "%g") + " (needs γ > ε(n−1)/n)");
    return *z;
  }

  MixResult build(const Vec& theta) const override { return {circulant_matrix(coefficients(theta)), std::nullopt}; }

  /// dc_d = Σ_i dH[i, (i + d) mod n]; dw = γ·dc; softmax backward dz = w ⊙ (dw − ⟨w, dw⟩).
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    Vec dc = Vec::Zero(n_);
    for (Index i = 0; i < n_; ++i)
      for (Index d = 0; d < n_; ++d) dc[d] += dH(i, (i + d) % n_);
    const Vec w = softmax(theta);
    const Vec dw = gamma_ * dc;
    return w.cwiseProduct((dw.array() - w.dot(dw)).matrix());
  }

  std::optional<Vec> build_inverse(const Mat& H) const override {
    if (!check_ds_target(*this, H)) return std::nullopt;
    const Vec c = H.row(0).transpose();
    const double tol = 1e-9 * static_cast<double>(n_);
    if (!((circulant_matrix(c) - H).cwiseAbs().maxCoeff() <= tol)) return std::nullopt;  // not circulant
    return logits_of(c);
  }

 private:
  static Vec softmax(const Vec& z) {
    Vec w = (z.array() - z.maxCoeff()).exp();
    return w / w.sum();
  }
  Vec coefficients(const Vec& z) const {
    Vec c = gamma_ * softmax(z);
    c[0] += 1.0 - gamma_;
    return c;
  }
  Mat circulant_matrix(const Vec& c) const {
    Mat H(n_, n_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) H(i, j) = c[((j - i) % n_ + n_) % n_];
    return H;
  }
  /// z = log((c − (1−γ)e₀)/γ), or nullopt when an entry of w is not > 0.
  std::optional<Vec> logits_of(const Vec& c) const {
    Vec w = c / gamma_;
    w[0] -= (1.0 - gamma_) / gamma_;
    if (!(w.minCoeff() > 0.0)) return std::nullopt;
    return Vec(w.array().log().matrix());
  }

  Index n_;
  double gamma_;
};

}  // namespace

std::unique_ptr<Method> make_circulant(const MethodOptions& o) { return std::make_unique<Circulant>(o.n, o.gamma); }

}  // namespace mhclab::detail
