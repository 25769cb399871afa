// Cayley (JPmHC-style orthogonal mixing; SPEC §12): Θ ∈ R^{n×n} (θ row-major, n² parameters), A = Θ − Θᵀ,
//   exact (cayley_steps = 0)   H = (I − (α/2)A)⁻¹(I + (α/2)A)            orthogonal, det +1, not mean preserving;
//   k steps (cayley_steps = k) Y₀ = I + αA, Y_{m+1} = I + (α/2)A(I + Y_m), H = Y_k   (JPmHC's fixed-point
//                               approximation, as arash-shahmansoori/edelta src/models/jpmhc.py iterates it; its
//                               fixed point is the exact transform; for (α/2)‖A‖₂ < 1 the error to it contracts
//                               by (α/2)‖A‖₂ per step, so H is orthogonal only to that order; beyond, the iteration
//                               diverges and H is far from orthogonal).
// α = MethodOptions::alpha. Inits: authors and identity Θ = 0 (H = I); H₀ = (1−ε)I + εJ/n is not orthogonal for
// ε > 0, so the identity init gives I, the orthogonal matrix nearest H₀ (H₀ is symmetric positive definite, its
// polar factor is I), at ‖H₀ − I‖_F = ε√(n−1).
// Inverse chart (exact variant): an orthogonal target without eigenvalue −1 has (α/2)A = (I + H)⁻¹(H − I), and
// Θ = A/2 (skew, so Θ − Θᵀ = A); other targets (not orthogonal, det −1, or the k-step variant) are outside.
#include "mixing/cayley_transform.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

class Cayley final : public Method {
 public:
  Cayley(Index n, double alpha, Index steps) : n_(n), alpha_(alpha), steps_(steps) {}
  MethodId id() const override { return MethodId::Cayley; }
  Index n() const override { return n_; }
  Index num_params() const override { return n_ * n_; }
  bool exact_ds() const override { return false; }
  bool mean_preserving() const override { return false; }
  bool orthogonal() const override { return steps_ == 0; }
  Vec init_params(InitKind, double eps) const override {
    check_init_eps(eps, false);
    return Vec::Zero(n_ * n_);
  }

  MixResult build(const Vec& theta) const override {
    const Mat Bm = (0.5 * alpha_) * skew_part(logits_matrix(theta, n_));
    if (steps_ == 0) return {cayley(Bm), std::nullopt};
    const Mat I = Mat::Identity(n_, n_);
    Mat Y = I + 2.0 * Bm;
    for (Index m = 0; m < steps_; ++m) Y = I + Bm * (I + Y);
    return {std::move(Y), std::nullopt};
  }

  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    const Mat Bm = (0.5 * alpha_) * skew_part(logits_matrix(theta, n_));
    Mat dB;
    if (steps_ == 0) {
      dB = cayley_vjp(Bm, cayley(Bm), dH);
    } else {
      // Unrolled: Y_{m+1} = I + B(I + Y_m) gives dB += G_{m+1}(I + Y_m)ᵀ and G_m = BᵀG_{m+1}; Y₀ = I + 2B.
      const Mat I = Mat::Identity(n_, n_);
      std::vector<Mat> Y{I + 2.0 * Bm};
      for (Index m = 0; m < steps_; ++m) Y.push_back(I + Bm * (I + Y.back()));
      Mat G = dH;
      dB = Mat::Zero(n_, n_);
      for (Index m = steps_; m >= 1; --m) {
        dB += G * (I + Y[static_cast<std::size_t>(m - 1)]).transpose();
        G = Bm.transpose() * G;
      }
      dB += 2.0 * G;
    }
    const Mat dTheta = skew_part_vjp((0.5 * alpha_) * dB);
    return row_major_vec(dTheta);
  }

  std::optional<Vec> build_inverse(const Mat& H) const override {
    if (steps_ != 0) return std::nullopt;
    const std::optional<Mat> Bm = cayley_inverse(H, 1e-9 * static_cast<double>(n_));
    if (!Bm) return std::nullopt;
    const Mat Theta = *Bm / alpha_;  // (α/2)(Θ − Θᵀ) = B with Θ = B/α skew
    return row_major_vec(Theta);
  }

 private:
  Index n_;
  double alpha_;
  Index steps_;
};

}  // namespace

std::unique_ptr<Method> make_cayley(const MethodOptions& o) {
  return std::make_unique<Cayley>(o.n, o.alpha, o.cayley_steps);
}

}  // namespace mhclab::detail
