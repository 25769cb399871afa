// go-mHC, generalised orthostochastic mixing (arXiv 2604.02309; itstorque/go-mHC toy_models/dynamics.ipynb, class
// GeneralizedUnistochastic; SPEC §12). Θ ∈ R^{ns×ns}
// (θ row-major, (ns)² parameters, s = MethodOptions::go_s), X = Θ − Θᵀ, U = cayley(X) = (I − X)⁻¹(I + X)
// (mixing/cayley_transform.hpp), and
//   H[i, j] = (1/s) Σ_{k,l < s} U[i·s + k, j·s + l]²        (paper orientation: block (i, j) of U feeds i from j).
// Exactly doubly stochastic with entries ≥ 0 for every Θ: row i of H sums the squares of s whole rows of the
// orthogonal U, divided by s (and the same for columns). s = 1 gives the orthostochastic matrices; Θ = 0 gives I.
// This is the notebook's map, applied there in the paper orientation (DatasetModel.get_Y_YTilde: y_i = Σ_j H[i, j]x_j).
// The README ("Mathematical Procedure") writes the Cayley factor as (I − A)(I + A)⁻¹, the transpose of
// the notebook's U for the same Θ, so its H is the notebook's Hᵀ: mhclab pins the notebook's form (the family is
// the same: Θ ↦ Θᵀ maps one to the other).
// Inits: authors and identity Θ = 0 (H = I). The authors draw Θ at random (torch.rand, U[0, 1) entries), which in
// mhclab is the `random` generator around this init. H₀ = (1−ε)I + εJ/n is not reached by Θ = 0 for ε > 0 and no
// closed-form preimage is known: the identity init gives I, at ‖H₀ − I‖_F = ε√(n−1). No inverse chart.
#include "mixing/cayley_transform.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

class GoMHC final : public Method {
 public:
  GoMHC(Index n, Index s) : n_(n), s_(s), m_(n * s) {}
  MethodId id() const override { return MethodId::GoMHC; }
  Index n() const override { return n_; }
  Index num_params() const override { return m_ * m_; }
  bool exact_ds() const override { return true; }
  Vec init_params(InitKind, double eps) const override {
    check_init_eps(eps, false);
    return Vec::Zero(m_ * m_);
  }

  MixResult build(const Vec& theta) const override {
    const Mat U = cayley(skew_part(logits_matrix(theta, m_)));
    Mat H = Mat::Zero(n_, n_);
    const double inv_s = 1.0 / static_cast<double>(s_);
    for (Index i = 0; i < n_; ++i)
      for (Index j = 0; j < n_; ++j) H(i, j) = inv_s * U.block(i * s_, j * s_, s_, s_).squaredNorm();
    return {std::move(H), std::nullopt};
  }

  /// dU[i·s + k, j·s + l] = (2/s)·U[i·s + k, j·s + l]·dH[i, j], then the Cayley and skew backward.
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    const Mat X = skew_part(logits_matrix(theta, m_));
    const Mat U = cayley(X);
    Mat dU(m_, m_);
    const double two_s = 2.0 / static_cast<double>(s_);
    for (Index a = 0; a < m_; ++a)
      for (Index b = 0; b < m_; ++b) dU(a, b) = two_s * U(a, b) * dH(a / s_, b / s_);
    const Mat dTheta = skew_part_vjp(cayley_vjp(X, U, dU));
    return row_major_vec(dTheta);
  }

 private:
  Index n_, s_, m_;
};

}  // namespace

std::unique_ptr<Method> make_go_mhc(const MethodOptions& o) { return std::make_unique<GoMHC>(o.n, o.go_s); }

}  // namespace mhclab::detail
