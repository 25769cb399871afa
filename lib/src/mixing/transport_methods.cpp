// TBP (arXiv 2605.21724; SPEC §2, §2.1): the sequential transportation-polytope chart, H = tbp_chart(θ, n)
// (mixing/transport_chart.hpp), θ the (n−1)×(n−1) logits row-major, (n−1)² parameters, exactly doubly
// stochastic with entries ≥ 0 for every θ. n = 1: H = [[1]], no parameters.
// Inits (SPEC §2):
//   authors  θ = 0 (the authors' code). Not identity-like: every X = (lo + hi)/2, so H is symmetric with
//            H[i, i] = 1/3 + 4^{−i}/6 and H[i, j] = H[i, i]·2^{−(j−i)} for i ≤ j ≤ n−2, the last column equal
//            to column n−2 and the last row to row n−2 (n = 4: first row [.5, .25, .125, .125]);
//   identity θ = tbp_params_from_matrix(H₀), H₀ = (1−ε)I + εJ/n, which needs ε > 0 (an interior point).
//
// Recursive TBP (arXiv 2605.21724; SPEC §2, §2.2): H = rtbp_chart(θ, n) (mixing/transport_chart.hpp), the
// authors' general recursive block construction for every n ≥ 1 (even n: 2×2 blocks of size n/2; odd n: last
// row and column, then size n−1), (n−1)² parameters consumed left to right, exactly doubly stochastic with
// entries ≥ 0 for every θ. n = 1: H = [[1]], no parameters.
// Inits (SPEC §2):
//   authors  θ = 0 (the authors' code): H = J/n for n = 2^k (each block mass and split is the midpoint of an
//            interval that is symmetric for uniform margins); other n give another fixed matrix, e.g. n = 3:
//            [[.375, .375, .25], [.375, .375, .25], [.25, .25, .5]];
//   identity θ = rtbp_params_from_matrix(H₀), H₀ = (1−ε)I + εJ/n, which needs ε > 0 (an interior point).
//
// Both are the same Method over a different chart (mixing/transport_chart.hpp): one class, two factories.
#include "mhclab/mixing/transport_chart.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {
using Chart = Mat (*)(const Vec&, Index, std::vector<ChartInterval>*);
using InverseChart = Vec (*)(const Mat&, double);
using ChartVjp = Vec (*)(const Vec&, Index, const Mat&);

class TransportChartMethod final : public Method {
 public:
  TransportChartMethod(MethodId id, Index n, Chart chart, InverseChart inverse, ChartVjp vjp)
      : id_(id), n_(n), chart_(chart), inverse_(inverse), vjp_(vjp) {}
  MethodId id() const override { return id_; }
  Index n() const override { return n_; }
  Index num_params() const override { return (n_ - 1) * (n_ - 1); }
  bool exact_ds() const override { return true; }
  Vec init_params(InitKind kind, double eps) const override {
    if (kind == InitKind::Authors) return Vec::Zero(num_params());
    check_init_eps(eps, true);  // ε = 0 is I, a vertex: no finite logits
    return inverse_(identity_target(n_, eps), 1e-9);
  }
  MixResult build(const Vec& theta) const override { return {chart_(theta, n_, nullptr), std::nullopt}; }
  /// Reverse mode through the chart's walk (tbp_chart_vjp / rtbp_chart_vjp: active branches of max/min).
  Vec build_vjp(const Vec& theta, const Mat& dH) const override { return vjp_(theta, n_, dH); }
  /// The chart's exact inverse on a positive doubly stochastic H (as the identity init uses).
  std::optional<Vec> build_inverse(const Mat& H) const override {
    if (!check_ds_target(*this, H)) return std::nullopt;
    return inverse_(H, kInverseInnerTol);
  }

 private:
  MethodId id_;
  Index n_;
  Chart chart_;
  InverseChart inverse_;
  ChartVjp vjp_;
};
}  // namespace

std::unique_ptr<Method> make_tbp(const MethodOptions& o) {
  return std::make_unique<TransportChartMethod>(MethodId::TBP, o.n, &tbp_chart, &tbp_params_from_matrix,
                                                &tbp_chart_vjp);
}
std::unique_ptr<Method> make_rtbp(const MethodOptions& o) {
  return std::make_unique<TransportChartMethod>(MethodId::RTBP, o.n, &rtbp_chart, &rtbp_params_from_matrix,
                                                &rtbp_chart_vjp);
}
}  // namespace mhclab::detail
