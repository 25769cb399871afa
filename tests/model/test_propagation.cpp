// model/propagation.hpp: energy, stream sums, gradients and the end-to-end Jacobian of the §5 layer model.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/QR>
#include <Eigen/SVD>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/dsv4_site.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/propagation.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

constexpr double kU = 0x1.0p-53;  // unit round-off
constexpr double kLog10Two = 0.30102999566398119521;

Mat normal_matrix(RandomStream& rng, Index r, Index c, double scale = 1.0) {
  Mat A(r, c);
  rng.fill_normal(A, scale);
  return A;
}

/// L matrices I + s·G (generic, neither DS nor orthogonal).
std::vector<Mat> near_identity_stack(Index n, Index L, double s, std::uint64_t key) {
  RandomStream rng(key, Purpose::Test, {1});
  std::vector<Mat> H;
  for (Index l = 0; l < L; ++l) H.push_back(Mat::Identity(n, n) + normal_matrix(rng, n, n, s));
  return H;
}

/// L matrices ρ·Q_l with Q_l random orthogonal (QR of a Gaussian matrix).
std::vector<Mat> scaled_orthogonal_stack(Index n, Index L, double rho, std::uint64_t key) {
  RandomStream rng(key, Purpose::Test, {2});
  std::vector<Mat> H;
  for (Index l = 0; l < L; ++l) {
    const Mat G = normal_matrix(rng, n, n);
    const Mat Q = Eigen::HouseholderQR<Mat>(G).householderQ();
    H.push_back(rho * Q);
  }
  return H;
}

/// Random-θ stack of an exact-DS method.
std::vector<Mat> ds_stack(MethodId id, Index n, Index L, std::uint64_t key) {
  MethodOptions mo;
  mo.method = id;
  mo.n = n;
  const auto method = make_method(mo);
  RandomStream rng(key, Purpose::Test, {3});
  std::vector<Mat> H;
  for (Index l = 0; l < L; ++l) {
    Vec theta(method->num_params());
    rng.fill_normal(theta);
    H.push_back(mix(*method, theta).H);
  }
  return H;
}

double loss(const std::vector<Mat>& H, MethodId m, const PropagationOptions& o, std::uint64_t seed, const Mat& X,
            Index first) {
  const Mat XL = detail::forward_plain(H, m, o, seed, X, first);
  const Mat R = detail::readout(XL.rows(), XL.cols(), seed);
  return R.cwiseProduct(XL).sum();
}

/// Gate mode dsv4 on L synthesised sites (random comb logits of scale 1, fn of seed 7, the given α).
PropagationOptions dsv4_options(Index n, Index C, Index L, double alpha, std::uint64_t key) {
  RandomStream rng(key, Purpose::Test, {4});
  std::vector<Mat> logits;
  for (Index l = 0; l < L; ++l) logits.push_back(normal_matrix(rng, n, n));
  PropagationOptions o;
  o.width = C;
  o.gate_mode = GateMode::Dsv4;
  o.dsv4.sites = dsv4_synthetic_sites(logits, C, alpha, 7);
  return o;
}

/// The static stack of the sites (their H at zero mixes).
std::vector<Mat> dsv4_static_stack(const PropagationOptions& o, Index n) {
  MethodOptions mo;
  mo.method = MethodId::Dsv4;
  mo.n = n;
  const auto method = make_method(mo);
  std::vector<Mat> H;
  for (const Dsv4Site& s : o.dsv4.sites) H.push_back(method->mix(s.base.tail(n * n)).H);
  return H;
}

/// Central differences of ∂ℒ/∂X_l at X_l (step h), ℒ through forward_plain from layer l.
Mat fd_gradient(const std::vector<Mat>& H, MethodId m, const PropagationOptions& o, std::uint64_t seed, const Mat& Xl,
                Index l, double h) {
  Mat G(Xl.rows(), Xl.cols());
  for (Index i = 0; i < Xl.rows(); ++i)
    for (Index c = 0; c < Xl.cols(); ++c) {
      Mat Xp = Xl, Xm = Xl;
      Xp(i, c) += h;
      Xm(i, c) -= h;
      G(i, c) = (loss(H, m, o, seed, Xp, l) - loss(H, m, o, seed, Xm, l)) / (2 * h);
    }
  return G;
}

/// Central differences of the forward map X_0 ↦ X_L (nC×nC, column-major vec: entry (i, c) ↦ i + n·c).
Mat fd_jacobian(const std::vector<Mat>& H, MethodId m, const PropagationOptions& o, std::uint64_t seed, const Mat& X0,
                double h) {
  const Index n = X0.rows(), d = X0.size();
  Mat J(d, d);
  for (Index k = 0; k < d; ++k) {
    Mat Xp = X0, Xm = X0;
    Xp(k % n, k / n) += h;
    Xm(k % n, k / n) -= h;
    const Mat diff = (detail::forward_plain(H, m, o, seed, Xp, 0) - detail::forward_plain(H, m, o, seed, Xm, 0)) / (2 * h);
    J.col(k) = Eigen::Map<const Vec>(diff.data(), d);
  }
  return J;
}

bool finite_row(const PropagationRow& r) {
  return std::isfinite(r.log10_energy) && std::isfinite(r.log10_grad_norm) && r.log10_stream_energy.allFinite() &&
         !std::isnan(r.energy) && !std::isnan(r.grad_norm) && !std::isnan(r.log10_stream_sum_dev);
}

}  // namespace

TEST_SUITE("model") {

TEST_CASE("propagation: gradients equal central finite differences of the loss") {
  // Tolerance 1e-6 (normwise relative). Step h = 1e-6 with O(1) entries: rounding floor of the central
  // difference ≈ u·Σ|R∘X_L|/h ≈ 1e-16·20/1e-6 = 2e-9; truncation h²·|ℒ'''|/6 ≈ 1e-12; the tiny step also
  // makes crossing a relu kink (|Δz| ≈ 1e-6) improbable.
  const Index n = 3, C = 5, L = 4;
  const double h = 1e-6;
  for (Branch br : {Branch::Linear, Branch::Tanh, Branch::Relu}) {
    for (BranchNorm nm : {BranchNorm::Rms, BranchNorm::None}) {
      for (MethodId m : {MethodId::MHC, MethodId::HC}) {
        CAPTURE(branch_table.to_string(br));
        CAPTURE(branch_norm_table.to_string(nm));
        CAPTURE(method_table.to_string(m));
        PropagationOptions o;
        o.width = C;
        o.branch = br;
        o.norm = nm;
        o.gain = 0.8;
        const std::uint64_t seed = 11;
        const auto H = near_identity_stack(n, L, 0.3, 5);
        const auto tr = detail::propagation_trace(H, m, o, seed);
        const auto sum = propagate(H, m, o, seed);
        REQUIRE(tr.X.size() == L + 1);
        REQUIRE(tr.G.size() == L + 1);
        // the log-scaled forward pass equals the plain one
        const Mat XL = detail::forward_plain(H, m, o, seed, detail::initial_state(n, C, seed), 0);
        CHECK(test::max_abs_diff(tr.X[L].value(), XL) <= 1e-13 * XL.cwiseAbs().maxCoeff());
        for (Index l : {Index(0), Index(2), Index(3)}) {
          const Mat Gfd = fd_gradient(H, m, o, seed, tr.X[static_cast<std::size_t>(l)].value(), l, h);
          const Mat G = tr.G[static_cast<std::size_t>(l)].value();
          CAPTURE(l);
          CHECK((G - Gfd).norm() <= 1e-6 * Gfd.norm());
          MHCLAB_CHECK_NEAR(sum.rows[static_cast<std::size_t>(l)].grad_norm, Gfd.norm(), 0.0, 1e-6);
        }
        // row L: the gradient is R itself
        CHECK(sum.rows[L].grad_norm == detail::readout(n, C, seed).norm());
      }
    }
  }
}

TEST_CASE("propagation: resnet (n = 1) and H = I with a zero branch conserve energy exactly") {
  // Exact: H = [1] or I multiplies by 1, power-of-two renormalisation is exact, so every row is bit-exact.
  PropagationOptions o;
  o.width = 16;
  o.gain = 0.0;
  {
    const std::vector<Mat> H(50, Mat::Ones(1, 1));
    const auto s = propagate(H, MethodId::ResNet, o, 3);
    REQUIRE(s.rows.size() == 51);
    for (const auto& r : s.rows) {
      CHECK(r.energy == 1.0);
      CHECK(r.log10_energy == 0.0);
      CHECK(r.stream_sum_dev == 0.0);
      CHECK(r.grad_norm == s.rows.back().grad_norm);
    }
  }
  {
    const std::vector<Mat> H(40, Mat::Identity(4, 4));
    const auto s = propagate(H, MethodId::HC, o, 4);
    for (const auto& r : s.rows) {
      CHECK(r.energy == 1.0);
      MHCLAB_CHECK_NEAR(r.stream_energy.sum(), 1.0, 1e-15, 0.0);  // n = 4 terms: sum rounding ≤ 3u
      CHECK(r.stream_sum_dev == 0.0);
    }
  }
}

TEST_CASE("propagation: H = ρQ with a zero branch grows exactly like ρ^L, also far beyond the double range") {
  // ‖ρQX‖ = ρ‖X‖ exactly; the computed product adds ≈ n·u relative per layer, so the per-layer growth
  // (‖X_L‖/‖X_0‖)^{1/L} = ρ holds to ≈ 1e-15; tolerance 1e-10 relative. For L = 2000 the log10 columns carry
  // absolute errors ≈ L·n·u ≈ 1e-12; tolerance 1e-10 relative on log10 energy / (2L) = log10 ρ.
  PropagationOptions o;
  o.width = 8;
  o.gain = 0.0;
  const Index n = 4;
  for (double rho : {1.5, 0.5, 1.0}) {
    CAPTURE(rho);
    const Index L = 20;
    const auto s = propagate(scaled_orthogonal_stack(n, L, rho, 7), MethodId::MHC, o, 9);
    for (Index l = 1; l <= L; ++l) {
      const double growth = std::pow(s.rows[static_cast<std::size_t>(l)].energy, 0.5 / static_cast<double>(l));
      MHCLAB_CHECK_NEAR(growth, rho, 0.0, 1e-10);
    }
    // gradient: ‖G_l‖ = ρ^{L−l}‖R‖
    const double r_norm = s.rows[L].grad_norm;
    MHCLAB_CHECK_NEAR(s.rows[0].grad_norm, std::pow(rho, L) * r_norm, 0.0, 1e-12);
  }
  const Index Ldeep = test::test_size(2000, 400);
  for (double rho : {1.5, 0.5}) {
    CAPTURE(rho);
    const auto s = propagate(scaled_orthogonal_stack(n, Ldeep, rho, 8), MethodId::TBP, o, 10);
    REQUIRE(s.rows.size() == static_cast<std::size_t>(Ldeep + 1));
    const double lr = std::log10(rho);
    for (Index l = 1; l <= Ldeep; ++l) {
      const auto& r = s.rows[static_cast<std::size_t>(l)];
      REQUIRE(finite_row(r));
      MHCLAB_CHECK_NEAR(r.log10_energy / (2.0 * static_cast<double>(l)), lr, 0.0, 1e-10);
      // linear column: exact when representable, ±inf / 0 only beyond the double range
      if (std::fabs(r.log10_energy) < 300) MHCLAB_CHECK_NEAR(r.energy, std::pow(10.0, r.log10_energy), 0.0, 1e-12);
      if (r.log10_energy > 308.3) CHECK(std::isinf(r.energy));
      if (r.log10_energy < -324) CHECK(r.energy == 0.0);
    }
    MHCLAB_CHECK_NEAR(s.rows[0].log10_grad_norm - s.rows[Ldeep].log10_grad_norm,
                      static_cast<double>(Ldeep) * lr, 0.0, 1e-10);
    CHECK(std::fabs(s.rows.back().log10_energy) > (Ldeep >= 2000 ? 700.0 : 100.0));
  }
}

TEST_CASE("propagation: exact-DS stacks with a zero branch keep energy bounded and stream sums conserved") {
  // Bounds from the brief: E_{l+1} ≤ (1+4nu)²·E_l  (‖H‖₂ ≤ 1 for DS, + n·u for the product's rounding) and
  // |Σ_i X_{l+1}[i,c] − Σ_i X_l[i,c]| ≤ (col_err(H_l) + 4nu)·Σ_i |X_l[i,c]|  (1ᵀH = 1ᵀ up to col_err; the
  // product and this test's own sums add ≤ (2n−1)u). The power-of-two state scaling adds no rounding.
  PropagationOptions o;
  o.width = 8;
  o.gain = 0.0;
  const Index n = 4, L = 30;
  for (MethodId id : {MethodId::TBP, MethodId::MHCLite}) {
    CAPTURE(method_table.to_string(id));
    const auto H = ds_stack(id, n, L, 21);
    const auto tr = detail::propagation_trace(H, id, o, 5);
    const auto s = propagate(H, id, o, 5);
    for (Index l = 0; l < L; ++l) {
      const Mat X0 = tr.X[static_cast<std::size_t>(l)].value();
      const Mat X1 = tr.X[static_cast<std::size_t>(l + 1)].value();
      const double bound = (1 + 4 * n * kU) * (1 + 4 * n * kU);
      CHECK(X1.squaredNorm() <= bound * X0.squaredNorm());
      const Mat& Hl = H[static_cast<std::size_t>(l)];
      const double col_err = (Hl.colwise().sum().array() - 1.0).abs().maxCoeff();
      for (Index c = 0; c < o.width; ++c) {
        const double d = std::fabs(X1.col(c).sum() - X0.col(c).sum());
        CHECK(d <= (col_err + 4 * n * kU) * X0.col(c).cwiseAbs().sum());
      }
      CHECK(s.rows[static_cast<std::size_t>(l + 1)].energy <= s.rows[static_cast<std::size_t>(l)].energy * bound);
      CHECK(s.rows[static_cast<std::size_t>(l + 1)].stream_sum_dev <= 1e-13);
    }
  }
}

TEST_CASE("propagation: dense JVP Jacobian equals finite differences of the forward map") {
  // Central differences with h = 1e-6 on O(1) states: rounding ≈ u·|X_L|/h ≈ 1e-10, truncation ≈ h² ≈ 1e-12;
  // tolerance 1e-7 normwise relative.
  const Index n = 3, C = 4, L = 3;
  const double h = 1e-6;
  struct Case {
    Branch br;
    BranchNorm nm;
  };
  for (Case cs : {Case{Branch::Tanh, BranchNorm::Rms}, Case{Branch::Relu, BranchNorm::None},
                  Case{Branch::Tanh, BranchNorm::None}, Case{Branch::Linear, BranchNorm::Rms}}) {
    PropagationOptions o;
    o.width = C;
    o.branch = cs.br;
    o.norm = cs.nm;
    o.gain = 1.0;
    const auto H = near_identity_stack(n, L, 0.4, 13);
    const std::uint64_t seed = 17;
    const auto dj = detail::dense_jacobian(H, MethodId::MHC, o, seed);
    const Mat J = dj.J_hat * std::pow(10.0, dj.log10_scale);
    const Mat Jfd = fd_jacobian(H, MethodId::MHC, o, seed, detail::initial_state(n, C, seed), h);
    CAPTURE(branch_table.to_string(cs.br));
    CAPTURE(branch_norm_table.to_string(cs.nm));
    CHECK((J - Jfd).norm() <= 1e-7 * Jfd.norm());
  }
}

TEST_CASE("propagation (gate mode dsv4): fn = 0 gives exactly the static run with the sites' base gates") {
  // With fn = 0 every mix is 0, so each layer's gates and H are those of base alone and every gate derivative is
  // an exact zero: the trace, rows and dense Jacobian are bitwise those of the static run with the same H and gates.
  const Index n = 4, C = 5, L = 5;
  PropagationOptions dyn = dsv4_options(n, C, L, 0.7, 3);
  for (Dsv4Site& s : dyn.dsv4.sites) s.fn.setZero();
  dyn.branch = Branch::Tanh;
  dyn.gain = 0.9;
  const std::vector<Mat> H = dsv4_static_stack(dyn, n);
  PropagationOptions stat = dyn;
  stat.gate_mode = GateMode::Static;
  for (const Dsv4Site& s : dyn.dsv4.sites) {
    const Dsv4Gates g = dsv4_gates(Vec::Zero(s.base.size()), s.base, s.scale);
    stat.gates.push_back({g.pre, g.post});
  }
  const auto a = detail::propagation_trace(H, MethodId::Dsv4, dyn, 9);
  const auto b = detail::propagation_trace(H, MethodId::Dsv4, stat, 9);
  for (Index l = 0; l <= L; ++l) {
    const auto i = static_cast<std::size_t>(l);
    CHECK(a.X[i].exponent == b.X[i].exponent);
    CHECK(test::max_abs_diff(a.X[i].M, b.X[i].M) == 0.0);
    CHECK(a.G[i].exponent == b.G[i].exponent);
    CHECK(test::max_abs_diff(a.G[i].M, b.G[i].M) == 0.0);
  }
  const auto ja = detail::dense_jacobian(H, MethodId::Dsv4, dyn, 9);
  const auto jb = detail::dense_jacobian(H, MethodId::Dsv4, stat, 9);
  CHECK(ja.log10_scale == jb.log10_scale);
  CHECK(test::max_abs_diff(ja.J_hat, jb.J_hat) == 0.0);
}

TEST_CASE("propagation (gate mode dsv4): forward, gradients and Jacobian equal the plain model and finite differences") {
  // The per-token gates move with the state (α = 0.6: the mixes shift logits by O(0.6)); norm_eps = 0.3 makes ε of
  // (S1) matter at this scale, and X_0 = 2^K·X̂ with K = 2, so the scaled ε̂ = 2^−2K·ε is exercised. Tolerances as
  // in the static tests: h = 1e-6, rounding ≈ u·|ℒ|/h ≈ 2e-9 and truncation ≈ h² — 1e-6 (gradients), 1e-7
  // (Jacobian, normwise relative); the log-scaled forward equals the plain one to 1e-13 (round-off over L layers).
  const Index n = 3, C = 4, L = 3;
  const double h = 1e-6;
  struct Case {
    Branch br;
    BranchNorm nm;
    double gain;
    double norm_eps;
  };
  for (Case cs : {Case{Branch::Tanh, BranchNorm::Rms, 0.8, 1e-6}, Case{Branch::Linear, BranchNorm::None, 0.7, 0.3},
                  Case{Branch::Relu, BranchNorm::Rms, 1.1, 0.3}, Case{Branch::Linear, BranchNorm::Rms, 0.0, 1e-6}}) {
    CAPTURE(branch_table.to_string(cs.br));
    CAPTURE(branch_norm_table.to_string(cs.nm));
    CAPTURE(cs.gain);
    PropagationOptions o = dsv4_options(n, C, L, 0.6, 21);
    o.branch = cs.br;
    o.norm = cs.nm;
    o.gain = cs.gain;
    o.dsv4.norm_eps = cs.norm_eps;
    const auto H = dsv4_static_stack(o, n);
    const std::uint64_t seed = 5;
    const auto tr = detail::propagation_trace(H, MethodId::Dsv4, o, seed);
    const Mat X0 = detail::initial_state(n, C, seed);
    const Mat XL = detail::forward_plain(H, MethodId::Dsv4, o, seed, X0, 0);
    CHECK(test::max_abs_diff(tr.X[L].value(), XL) <= 1e-13 * XL.cwiseAbs().maxCoeff());
    // the gates really move: the run differs from the static one
    PropagationOptions stat = o;
    stat.gate_mode = GateMode::Static;
    CHECK(test::max_abs_diff(detail::forward_plain(H, MethodId::Dsv4, stat, seed, X0, 0), XL) > 1e-3);
    for (Index l : {Index(0), Index(1), Index(2)}) {
      const Mat Gfd = fd_gradient(H, MethodId::Dsv4, o, seed, tr.X[static_cast<std::size_t>(l)].value(), l, h);
      CAPTURE(l);
      CHECK((tr.G[static_cast<std::size_t>(l)].value() - Gfd).norm() <= 1e-6 * Gfd.norm());
    }
    const auto dj = detail::dense_jacobian(H, MethodId::Dsv4, o, seed);
    const Mat J = dj.J_hat * std::pow(10.0, dj.log10_scale);
    const Mat Jfd = fd_jacobian(H, MethodId::Dsv4, o, seed, X0, h);
    CHECK((J - Jfd).norm() <= 1e-7 * Jfd.norm());
  }
}

TEST_CASE("propagation (gate mode dsv4): rows report the gates of each state; deep growth stays finite") {
  const Index n = 4, C = 6;
  {
    PropagationOptions o = dsv4_options(n, C, 4, 0.5, 31);
    const auto H = dsv4_static_stack(o, n);
    const auto tr = detail::propagation_trace(H, MethodId::Dsv4, o, 2);
    const auto s = propagate(H, MethodId::Dsv4, o, 2);
    for (Index l = 0; l < 4; ++l) {
      const auto i = static_cast<std::size_t>(l);
      const Mat X = tr.X[i].value(), Xt = X.transpose();
      const Vec v = Eigen::Map<const Vec>(Xt.data(), Xt.size());
      const Dsv4Site& site = o.dsv4.sites[i];
      const Dsv4Gates g = dsv4_gates(dsv4_mixes(site.fn, v), site.base, site.scale);
      CHECK(test::max_abs_diff(s.rows[i].pre, g.pre) <= 1e-15);
      CHECK(test::max_abs_diff(s.rows[i].post, g.post) <= 1e-15);
    }
  }
  // A linear un-normalised branch of gain 3 grows the state by about a decade per layer, beyond the double range at
  // full size (L = 1500; 200 in the reduced sanitizer run); ε̂ = 2^−2K·ε underflows to its exact limit 0 and every
  // log10 column and the Jacobian's singular values stay finite.
  const Index L = test::test_size(1500, 200);
  PropagationOptions o = dsv4_options(n, C, L, 0.3, 33);
  o.branch = Branch::Linear;
  o.norm = BranchNorm::None;
  o.gain = 3.0;
  o.jacobian_topk = 2;
  const auto s = propagate(dsv4_static_stack(o, n), MethodId::Dsv4, o, 4);
  for (const auto& r : s.rows) REQUIRE(finite_row(r));
  CHECK(s.rows.back().log10_energy > 0.5 * static_cast<double>(L));
  REQUIRE(s.jacobian.has_value());
  for (double ls : s.jacobian->log10_sigma) CHECK(std::isfinite(ls));
  // The Jacobian of this deep block is numerically low rank (σ_2/σ_1 ≈ 1e-7 at L = 300): its top singular value
  // equals a dense SVD of the same normalised operator to 1e-12 in log10 (Spectra 1.0.1's Gram solve was off by
  // 10^50 here; see analysis/subspace_svd.hpp).
  PropagationOptions o3 = dsv4_options(n, C, 300, 0.3, 33);
  o3.branch = Branch::Linear;
  o3.norm = BranchNorm::None;
  o3.gain = 3.0;
  o3.jacobian_topk = 1;
  const auto H3 = dsv4_static_stack(o3, n);
  const auto s3 = propagate(H3, MethodId::Dsv4, o3, 4);
  REQUIRE(s3.jacobian.has_value());
  REQUIRE(s3.jacobian->converged);
  const auto dj = detail::dense_jacobian(H3, MethodId::Dsv4, o3, 4);
  const double ref = std::log10(Eigen::JacobiSVD<Mat>(dj.J_hat).singularValues()[0]) + dj.log10_scale;
  MHCLAB_CHECK_NEAR(s3.jacobian->log10_sigma[0], ref, 1e-12, 0.0);
}

TEST_CASE("propagation (gate mode dsv4): bad sites and options are rejected by name") {
  const Index n = 3, C = 4, L = 2;
  PropagationOptions o = dsv4_options(n, C, L, 0.1, 1);
  const auto H = dsv4_static_stack(o, n);
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, o, 1), doctest::Contains("use method dsv4 (got mhc)"),
                       InputError);
  PropagationOptions few = o;
  few.dsv4.sites.pop_back();
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::Dsv4, few, 1), doctest::Contains("1 sites for 2 layers"),
                       InputError);
  PropagationOptions wide = o;
  wide.width = 5;
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::Dsv4, wide, 1), doctest::Contains("C = width 5"), InputError);
  PropagationOptions both = o;
  both.gates.assign(2, static_pre_post(MethodId::Dsv4, n, 0));
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::Dsv4, both, 1), doctest::Contains("static gates"), InputError);
  PropagationOptions eps = o;
  eps.dsv4.norm_eps = 0.0;
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::Dsv4, eps, 1), doctest::Contains("norm-eps"), InputError);
  CHECK_THROWS_AS((void)dsv4_synthetic_sites({Mat::Ones(2, 3)}, 4, 0.1, 1), InputError);
}

TEST_CASE("propagation: Jacobian top-k singular values equal a dense SVD") {
  // Same normalised operator J̃ on both sides (dense built from the JVP, which the previous test checks against
  // finite differences). The subspace iteration's residual test (tol 1e-13) bounds |σ̂_i − σ_i| by ≈ 1e-13·σ_1 for
  // the well-separated top values; tolerance 1e-10·σ_1.
  const Index n = 4, L = 3, k = 6;
  std::vector<Index> widths = {16, 32, 64};
  if (test::kReduced) widths = {16};
  for (Index C : widths) {
    CAPTURE(C);
    PropagationOptions o;
    o.width = C;
    o.branch = Branch::Tanh;
    o.norm = BranchNorm::Rms;
    o.gain = 1.0;
    o.jacobian_topk = k;
    const auto H = ds_stack(MethodId::TBP, n, L, 31);
    const std::uint64_t seed = 23;
    const auto s = propagate(H, MethodId::TBP, o, seed);
    REQUIRE(s.jacobian.has_value());
    const JacobianSpectrum& js = *s.jacobian;
    CHECK(js.converged);
    CHECK(js.status == SolveStatus::Converged);
    CHECK(js.iterations >= 1);
    REQUIRE(js.log10_sigma.size() == static_cast<std::size_t>(k));
    const auto dj = detail::dense_jacobian(H, MethodId::TBP, o, seed);
    CHECK(dj.log10_scale == js.log10_scale);
    const Vec sv = Eigen::BDCSVD<Mat>(dj.J_hat).singularValues();
    for (Index i = 0; i < k; ++i) {
      CHECK(js.resolved[static_cast<std::size_t>(i)]);
      const double sigma_hat = std::pow(10.0, js.log10_sigma[static_cast<std::size_t>(i)] - js.log10_scale);
      MHCLAB_CHECK_NEAR(sigma_hat, sv[i], 1e-10 * sv[0], 0.0);
    }
  }
}

TEST_CASE("propagation: deep stacks do not overflow (ρQ Jacobian exact; drifting H with a branch)") {
  // ρQ_l with a zero branch: J = Π ρQ_l ⊗ I_C, every singular value is ρ^L: log10 σ_i = L·log10 ρ
  // (far beyond the double range for L = 2000). Round-off ≈ L·n·u in log; tolerance 1e-10 relative.
  const Index n = 4;
  const Index L = test::test_size(2000, 300);
  {
    PropagationOptions o;
    o.width = 4;
    o.gain = 0.0;
    o.jacobian_topk = 3;
    for (double rho : {1.5, 0.5}) {
      CAPTURE(rho);
      const auto s = propagate(scaled_orthogonal_stack(n, L, rho, 41), MethodId::MHC, o, 1);
      REQUIRE(s.jacobian.has_value());
      CHECK(s.jacobian->converged);
      REQUIRE(s.jacobian->log10_sigma.size() == 3);
      for (double ls : s.jacobian->log10_sigma)
        MHCLAB_CHECK_NEAR(ls, static_cast<double>(L) * std::log10(rho), 0.0, 1e-10);
    }
  }
  // A growing generic stack I + 0.5G with every branch kind: values leave the double range, all log10 columns
  // stay finite and the linear columns are ±inf/0 only beyond it.
  const auto H = near_identity_stack(n, L, 0.5, 43);
  for (Branch br : {Branch::Linear, Branch::Tanh, Branch::Relu}) {
    for (BranchNorm nm : {BranchNorm::Rms, BranchNorm::None}) {
      CAPTURE(branch_table.to_string(br));
      CAPTURE(branch_norm_table.to_string(nm));
      PropagationOptions o;
      o.width = 8;
      o.branch = br;
      o.norm = nm;
      o.gain = 1.0;
      o.jacobian_topk = 2;
      const auto s = propagate(H, MethodId::HC, o, 2);
      for (const auto& r : s.rows) REQUIRE(finite_row(r));
      CHECK(s.rows.back().log10_energy > 50.0);
      REQUIRE(s.jacobian.has_value());
      for (double ls : s.jacobian->log10_sigma) CHECK(std::isfinite(ls));
      CHECK(s.jacobian->log10_sigma.size() == 2);
    }
  }
  // Decaying ρQ (ρ = 0.5) with tanh and no norm: the state falls to ≈ 10^{−L/4}; tanh is evaluated in its
  // linear regime without underflow, so log10 energy keeps decreasing and stays finite.
  {
    PropagationOptions o;
    o.width = 8;
    o.branch = Branch::Tanh;
    o.norm = BranchNorm::None;
    o.gain = 0.1;
    const auto s = propagate(scaled_orthogonal_stack(n, L, 0.5, 44), MethodId::TBP, o, 3);
    for (const auto& r : s.rows) REQUIRE(finite_row(r));
    CHECK(s.rows.back().log10_energy < -0.2 * static_cast<double>(L));
  }
}

TEST_CASE("propagation: invalid input is rejected with InputError naming the option") {
  const std::vector<Mat> H(3, Mat::Identity(2, 2));
  PropagationOptions o;
  o.width = 4;
  CHECK_NOTHROW((void)propagate(H, MethodId::MHC, o, 1));
  {
    PropagationOptions b = o;
    b.width = 0;
    CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, b, 1), doctest::Contains("width = 0"), InputError);
  }
  {
    PropagationOptions b = o;
    b.jacobian_topk = -1;
    CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, b, 1), doctest::Contains("jacobian-topk = "), InputError);
    b.jacobian_topk = 8;  // = n·C
    CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, b, 1), doctest::Contains("jacobian-topk = "), InputError);
  }
  {
    PropagationOptions b = o;
    b.gain = std::numeric_limits<double>::infinity();
    CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, b, 1), doctest::Contains("gain is not finite"), InputError);
    b = o;
    b.jacobian_tol = 0.0;
    CHECK_THROWS_AS(b.validate(), InputError);
    b = o;
    b.jacobian_maxit = 0;
    CHECK_THROWS_AS(b.validate(), InputError);
  }
  std::vector<Mat> bad = H;
  bad[1] = Mat::Identity(3, 3);
  CHECK_THROWS_WITH_AS((void)propagate(bad, MethodId::MHC, o, 1), doctest::Contains("H_res[1]"), InputError);
  bad[1] = Mat::Ones(2, 3);
  CHECK_THROWS_AS((void)propagate(bad, MethodId::MHC, o, 1), InputError);
  bad[1] = Mat::Identity(2, 2);
  bad[1](0, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS((void)propagate(bad, MethodId::MHC, o, 1), InputError);
  CHECK_THROWS_AS((void)propagate(std::vector<Mat>{}, MethodId::MHC, o, 1), InputError);
  CHECK(branch_table.from_string("relu") == Branch::Relu);
  CHECK(branch_norm_table.from_string("none") == BranchNorm::None);
  CHECK_THROWS_AS((void)branch_table.from_string("gelu"), InputError);
}

TEST_CASE("propagation: a gain that overflows raises ComputeError naming the layer") {
  const std::vector<Mat> H(3, Mat::Identity(2, 2));
  PropagationOptions o;
  o.width = 64;  // among 64 z ~ N(0, 1) some |z| > 1.3, so post_k·g·z = 1.46·1e308·z exceeds DBL_MAX
  o.branch = Branch::Linear;
  o.gain = 1e308;
  CHECK_THROWS_WITH_AS((void)propagate(H, MethodId::MHC, o, 1), doctest::Contains("layer 0"), ComputeError);
}

TEST_CASE("propagation: same seed gives the same numbers, another seed others") {
  PropagationOptions o;
  o.width = 8;
  o.branch = Branch::Tanh;
  o.jacobian_topk = 3;
  const auto H = near_identity_stack(3, 10, 0.3, 51);
  const auto a = propagate(H, MethodId::MHC, o, 77);
  const auto b = propagate(H, MethodId::MHC, o, 77);
  const auto c = propagate(H, MethodId::MHC, o, 78);
  REQUIRE(a.rows.size() == b.rows.size());
  for (std::size_t l = 0; l < a.rows.size(); ++l) {
    CHECK(a.rows[l].energy == b.rows[l].energy);
    CHECK(a.rows[l].log10_energy == b.rows[l].log10_energy);
    CHECK(a.rows[l].stream_energy == b.rows[l].stream_energy);
    CHECK(a.rows[l].stream_sum_dev == b.rows[l].stream_sum_dev);
    CHECK(a.rows[l].grad_norm == b.rows[l].grad_norm);
  }
  CHECK(a.jacobian->log10_sigma == b.jacobian->log10_sigma);
  CHECK(a.jacobian->iterations == b.jacobian->iterations);
  CHECK(a.rows.back().energy != c.rows.back().energy);
  // the documented recipe: X_0 row-major from RandomStream(seed, State, {})
  RandomStream rng(77, Purpose::State, {});
  const Mat X0 = detail::initial_state(3, 8, 77);
  CHECK(X0(0, 0) == rng.normal());
  CHECK(X0(0, 1) == rng.normal());
}

TEST_CASE("propagation: collapse diagnostics (dominant share, stream correlation, pre/post) against the trace") {
  // dominant_share and stream_correlation are recomputed here from the traced states X_l (plain doubles, far inside
  // the range at L = 20), directly by their definitions: 1e-12 absolute (O(n·C·u) sums of O(1) ratios).
  PropagationOptions o;
  o.width = 16;
  const Index n = 4, L = 20;
  const auto H = ds_stack(MethodId::MHCLite, n, L, 31);
  const auto tr = detail::propagation_trace(H, MethodId::MHCLite, o, 9);
  const auto s = propagate(H, MethodId::MHCLite, o, 9);
  REQUIRE(s.rows.size() == static_cast<std::size_t>(L + 1));
  for (Index l = 0; l <= L; ++l) {
    const Mat X = tr.X[static_cast<std::size_t>(l)].value();
    const PropagationRow& r = s.rows[static_cast<std::size_t>(l)];
    INFO("layer " << l);
    Vec e(n);
    for (Index i = 0; i < n; ++i) e[i] = X.row(i).squaredNorm();
    MHCLAB_CHECK_NEAR(r.dominant_share, e.maxCoeff() / e.sum(), 1e-12, 0.0);
    CHECK(r.dominant_share >= 1.0 / static_cast<double>(n) - 1e-15);
    CHECK(r.dominant_share <= 1.0);
    double corr = 0.0;
    int pairs = 0;
    for (Index i = 0; i < n; ++i)
      for (Index j = i + 1; j < n; ++j, ++pairs) {
        const Vec a = X.row(i).transpose().array() - X.row(i).mean();
        const Vec b = X.row(j).transpose().array() - X.row(j).mean();
        corr += a.dot(b) / std::sqrt(a.squaredNorm() * b.squaredNorm());
      }
    MHCLAB_CHECK_NEAR(r.stream_correlation, corr / pairs, 1e-12, 0.0);
    if (l < L) {
      const PrePost pp = static_pre_post(MethodId::MHCLite, n, l);
      CHECK(r.pre == pp.pre);
      CHECK(r.post == pp.post);
    } else {
      CHECK(r.pre.size() == 0);
      CHECK(r.post.size() == 0);
    }
  }
  // Products that collapse onto the mean make the streams identical: J/n layers with a zero branch give
  // correlation 1 and a balanced share 1/n after one layer.
  PropagationOptions z = o;
  z.gain = 0.0;
  const std::vector<Mat> Jn(3, Mat::Constant(n, n, 1.0 / static_cast<double>(n)));
  const auto c = propagate(Jn, MethodId::MHC, z, 4);
  MHCLAB_CHECK_NEAR(c.rows[1].stream_correlation, 1.0, 1e-12, 0.0);
  MHCLAB_CHECK_NEAR(c.rows[1].dominant_share, 1.0 / static_cast<double>(n), 1e-12, 0.0);
}

}  // TEST_SUITE
