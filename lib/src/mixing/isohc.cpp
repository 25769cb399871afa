// IsoHC (mean-preserving orthogonal mixing; SPEC §12). Only a blog post describes IsoHC and no code is public:
// this definition is mhclab's, inferred from that description. Θ ∈ R^{(n−1)×(n−1)} (θ row-major, (n−1)²
// parameters), R = cayley(Θ − Θᵀ) = (I − A)⁻¹(I + A) (mixing/cayley_transform.hpp), B the Helmert basis of 1^⊥,
//   H = J/n + B R Bᵀ.
// H is orthogonal (HᵀH = J/n + B RᵀR Bᵀ = J/n + BBᵀ = I) and mean preserving on both sides (H1 = 1, 1ᵀH = 1ᵀ, as
// Bᵀ1 = 0); entries may be negative; det H = det R = +1. n = 1: H = [1], no parameters.
// Inits: authors and identity Θ = 0 (H = I); H₀ = (1−ε)I + εJ/n = J/n + (1−ε)BBᵀ is not orthogonal for ε > 0, so
// the identity init gives I, the nearest matrix of the family (R = I is the polar factor of (1−ε)I).
// Inverse chart: an orthogonal mean-preserving target H gives R = BᵀHB orthogonal, and Θ = A/2 with A the skew
// preimage of R (cayley_inverse); targets that are not (det −1, an eigenvalue −1 of R, or off by more than 1e-9·n)
// are outside.
#include "mixing/cayley_transform.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

class IsoHC final : public Method {
 public:
  explicit IsoHC(Index n) : n_(n), m_(n - 1), B_(helmert_basis(n)) {}
  MethodId id() const override { return MethodId::IsoHC; }
  Index n() const override { return n_; }
  Index num_params() const override { return m_ * m_; }
  bool exact_ds() const override { return false; }
  bool mean_preserving() const override { return true; }
  bool orthogonal() const override { return true; }
  Vec init_params(InitKind, double eps) const override {
    check_init_eps(eps, false);
    return Vec::Zero(m_ * m_);
  }

  MixResult build(const Vec& theta) const override {
    Mat H = Mat::Constant(n_, n_, 1.0 / static_cast<double>(n_));
    if (m_ > 0) H += B_ * cayley(skew_part(logits_matrix(theta, m_))) * B_.transpose();
    return {std::move(H), std::nullopt};
  }

  /// dR = Bᵀ dH B, then the Cayley and skew backward.
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    if (m_ == 0) return Vec();
    const Mat A = skew_part(logits_matrix(theta, m_));
    const Mat dTheta = skew_part_vjp(cayley_vjp(A, cayley(A), B_.transpose() * dH * B_));
    return row_major_vec(dTheta);
  }

  std::optional<Vec> build_inverse(const Mat& H) const override {
    const double tol = 1e-9 * static_cast<double>(n_);
    const Vec one = Vec::Ones(n_);
    if (!((H * one - one).cwiseAbs().maxCoeff() <= tol && (H.transpose() * one - one).cwiseAbs().maxCoeff() <= tol))
      return std::nullopt;  // not mean preserving
    if (m_ == 0) return Vec();
    const std::optional<Mat> A = cayley_inverse(B_.transpose() * H * B_, tol);
    if (!A) return std::nullopt;
    const Mat Theta = 0.5 * *A;
    return row_major_vec(Theta);
  }

 private:
  Index n_, m_;
  Mat B_;  ///< n × (n−1) Helmert basis
};

}  // namespace

std::unique_ptr<Method> make_isohc(const MethodOptions& o) { return std::make_unique<IsoHC>(o.n); }

}  // namespace mhclab::detail
