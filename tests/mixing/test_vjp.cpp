// Tests of the exact backward of every mixing method (Method::vjp, mix_vjp, mix_jacobian; mixing/method.hpp,
// sinkhorn.hpp's sinkhorn_vjp, transport_chart.hpp's chart VJPs) and of the learnability diagnostics
// (mixing/learnability.hpp).
//
// Finite differences: central, J_fd[:, k] = (H(θ + h·e_k) − H(θ − h·e_k))/(2h), h = 1e-6 for τ ≥ 0.1 and
// h = 1e-4·τ below (mhc's third derivatives grow like τ⁻³, so the truncation error h²·|f'''|/6 stays ≈ 1e-8·|J|,
// and the round-off u·|H|/h ≤ 3e-11 — both well inside the tolerance).
// Tolerance: max_ij |J_fd − J| ≤ 1e-6·max(1, max|J|) (the brief's; a wrong term of the backward is O(|J|)).
// mhc with tol > 0: the backward holds the forward's iteration count fixed, so the FD runs the same count with
// tol = 0 (the same map); the tol and fixed-count backward must then agree bit for bit.
// tbp/rtbp are piecewise smooth (max/min in the bounds): a draw where the active branch pattern differs at
// θ ± h·e_k for some k is skipped and counted (random N(0,1) θ never ties; the symmetric inits do).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/kronecker.hpp"
#include "mhclab/mixing/learnability.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "mhclab/mixing/transport_chart.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using mhclab::test::test_size;

constexpr double kU = 0x1.0p-53;  // unit round-off

std::unique_ptr<Method> make(MethodId id, Index n, const SinkhornOptions& s = {}, std::vector<Index> factors = {},
                             const Modifiers& mod = {}) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  o.sinkhorn = s;
  o.factors = std::move(factors);
  o.modifiers = mod;
  return make_method(o);
}

Vec flat(const Mat& H) {  // row-major vec
  const Index n = H.rows();
  Vec v(n * n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) v[i * n + j] = H(i, j);
  return v;
}

/// Central FD of vec(mix(θ)) along v.
Vec fd_jvp(const Method& m, const Vec& theta, const Vec& v, double h) {
  const MixResult plus = m.mix(theta + h * v), minus = m.mix(theta - h * v);
  REQUIRE(plus.H.size() != 0);
  REQUIRE(minus.H.size() != 0);
  return (flat(plus.H) - flat(minus.H)) / (2.0 * h);
}

/// Central FD Jacobian (n²×p) of mix.
Mat fd_jacobian(const Method& m, const Vec& theta, double h) {
  const Index n = m.n(), p = m.num_params();
  Mat J(n * n, p);
  Vec e = Vec::Zero(p);
  for (Index k = 0; k < p; ++k) {
    e[k] = 1.0;
    J.col(k) = fd_jvp(m, theta, e, h);
    e[k] = 0.0;
  }
  return J;
}

double fd_step(double tau) { return tau >= 0.1 ? 1e-6 : 1e-4 * tau; }

/// The brief's criterion: max|J_fd − J| ≤ 1e-6·max(1, max|J|).
void check_jacobian(const Mat& J, const Mat& Jfd) {
  REQUIRE(J.rows() == Jfd.rows());
  REQUIRE(J.cols() == Jfd.cols());
  if (J.size() == 0) return;
  const double scale = std::max(1.0, J.cwiseAbs().maxCoeff());
  const double err = (J - Jfd).cwiseAbs().maxCoeff();
  INFO("max|J_fd − J| = " << err << ", max|J| = " << J.cwiseAbs().maxCoeff());
  CHECK(err <= 1e-6 * scale);
}

Vec normal_vec(RandomStream& rng, Index p, double scale = 1.0) {
  Vec v(p);
  rng.fill_normal(v, scale);
  return v;
}

/// Adjointness with an independent JVP (central FD along v): ⟨dH, J v⟩ = ⟨Jᵀ dH, v⟩, within
/// 1e-6·max(1, ‖dH‖_F·‖J v‖_2) (Cauchy–Schwarz scale of the inner product; FD error as above).
void check_adjoint(const Method& m, const Vec& theta, RandomStream& rng, double h) {
  const Index n = m.n();
  if (m.num_params() == 0) return;
  Mat dH(n, n);
  rng.fill_normal(dH);
  const Vec v = normal_vec(rng, m.num_params());
  const Vec jv = fd_jvp(m, theta, v, h);
  const double lhs = flat(dH).dot(jv);
  const double rhs = m.vjp(theta, dH).dot(v);
  INFO("<dH, Jv> = " << lhs << ", <J^T dH, v> = " << rhs);
  CHECK(std::fabs(lhs - rhs) <= 1e-6 * std::max(1.0, dH.norm() * jv.norm()));
}

/// θ draws for a method: N(0,1) (two seeds), the authors and identity inits.
std::vector<std::pair<std::string, Vec>> draws(const Method& m, std::uint64_t key) {
  std::vector<std::pair<std::string, Vec>> out;
  for (std::uint64_t s = 0; s < 2; ++s) {
    RandomStream rng(9001, Purpose::Test, {key, s});
    out.emplace_back("normal seed " + std::to_string(s), normal_vec(rng, m.num_params()));
  }
  out.emplace_back("authors", m.init_params(InitKind::Authors, 0.01));
  out.emplace_back("identity", m.init_params(InitKind::Identity, 0.01));
  return out;
}

constexpr Index kSizes[] = {2, 3, 4, 5, 8};

/// True when the active branch pattern of the chart is the same at θ ± h·e_k for every k as at θ.
bool branches_stable(MethodId id, const Vec& theta, Index n, double h) {
  auto pattern = [&](const Vec& t) {
    return id == MethodId::TBP ? tbp_chart_branches(t, n) : rtbp_chart_branches(t, n);
  };
  const std::vector<std::uint8_t> at = pattern(theta);
  Vec e = Vec::Zero(theta.size());
  for (Index k = 0; k < theta.size(); ++k) {
    e[k] = h;
    if (pattern(theta + e) != at || pattern(theta - e) != at) return false;
    e[k] = 0.0;
  }
  return true;
}
}  // namespace

TEST_SUITE("mixing_vjp") {
  TEST_CASE("hc, resnet, tropical: Jacobian vs finite differences") {
    RandomStream rng(9001, Purpose::Test, {1});
    for (const Index n : kSizes) {
      for (const MethodId id : {MethodId::HC, MethodId::ResNet, MethodId::Tropical}) {
        const auto m = make(id, n);
        for (const auto& [name, theta] :
             draws(*m, static_cast<std::uint64_t>(n) * 10 + static_cast<std::uint64_t>(id))) {
          if (id == MethodId::Tropical && name != "normal seed 0" && name != "normal seed 1")
            continue;  // ties at the inits
          INFO(method_table.to_string(id) << " n = " << n << " θ = " << name);
          check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, 1e-6));
          check_adjoint(*m, theta, rng, 1e-6);
        }
      }
      const auto hc = make(MethodId::HC, n);
      CHECK(mix_jacobian(*hc, Vec::Zero(n * n)).isApprox(Mat::Identity(n * n, n * n)));  // ∂H_ij/∂θ_{i·n+j} = 1
    }
  }

  TEST_CASE("mhc: Jacobian vs finite differences (domains, schedules, orders, τ, t, tol)") {
    struct Variant {
      SinkhornDomain domain;
      TauSchedule schedule;
    };
    const Variant variants[] = {{SinkhornDomain::Exp, TauSchedule::Constant},
                                {SinkhornDomain::Log, TauSchedule::Constant},
                                {SinkhornDomain::Log, TauSchedule::Geometric}};
    const std::vector<Index> sizes = test::kReduced ? std::vector<Index>{2, 4} : std::vector<Index>{2, 3, 4, 5, 8};
    RandomStream rng(9001, Purpose::Test, {2});
    int cases = 0;
    for (const Index n : sizes)
      for (const Variant& var : variants)
        for (const SinkhornOrder order : {SinkhornOrder::ColThenRow, SinkhornOrder::RowThenCol})
          for (const double tau : {1.0, 0.3, 0.05})
            for (const int t : {1, 5, 20}) {
              SinkhornOptions s;
              s.domain = var.domain;
              s.schedule = var.schedule;
              s.order = order;
              s.tau = tau;
              s.iterations = t;
              const auto m = make(MethodId::MHC, n, s);
              const double h = fd_step(tau);
              auto all =
                  draws(*m, static_cast<std::uint64_t>(n * 1000 + t * 10) + static_cast<std::uint64_t>(tau * 100));
              if (test::kReduced) all.resize(2);  // one N(0,1) draw and ... keep the sanitizer run short
              for (const auto& [name, theta] : all) {
                if (var.domain == SinkhornDomain::Exp && (theta.maxCoeff() - theta.minCoeff()) / tau > 700) continue;
                INFO("mhc n = " << n << " domain = " << sinkhorn_domain_table.to_string(var.domain)
                                << " schedule = " << tau_schedule_table.to_string(var.schedule)
                                << " order = " << sinkhorn_order_table.to_string(order) << " τ = " << tau
                                << " t = " << t << " θ = " << name);
                check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, h));
                if (name == "normal seed 0") check_adjoint(*m, theta, rng, h);
                ++cases;
              }
            }
    MESSAGE("mhc FD cases: " << cases);
    CHECK(cases > 0);
  }

  TEST_CASE("mhc: tol > 0 stops — the backward holds the forward's iteration count fixed") {
    RandomStream rng(9001, Purpose::Test, {3});
    for (const SinkhornDomain domain : {SinkhornDomain::Exp, SinkhornDomain::Log})
      for (const double tol : {1e-3, 1e-8}) {
        SinkhornOptions s;
        s.domain = domain;
        s.tau = 0.5;
        s.iterations = 5000;
        s.tol = tol;
        const Index n = 5;
        const auto m = make(MethodId::MHC, n, s);
        const Vec theta = normal_vec(rng, n * n);
        const MixResult r = mix(*m, theta);
        REQUIRE(r.sinkhorn);
        REQUIRE(r.sinkhorn->status == SinkhornStatus::Converged);
        SinkhornOptions fixed = s;
        fixed.tol = 0.0;
        fixed.iterations = r.sinkhorn->iterations;
        const auto mf = make(MethodId::MHC, n, fixed);
        INFO("domain = " << sinkhorn_domain_table.to_string(domain) << " tol = " << tol
                         << " iterations = " << r.sinkhorn->iterations);
        CHECK(test::max_abs_diff(mix(*mf, theta).H, r.H) == 0.0);  // same map: the same iterations, bit for bit
        const Mat J = mix_jacobian(*m, theta);
        CHECK(test::max_abs_diff(J, mix_jacobian(*mf, theta)) == 0.0);
        check_jacobian(J, fd_jacobian(*mf, theta, 1e-6));
      }
  }

  TEST_CASE("mhc: precision emulation differentiates the fp64 map; numerical_issue throws ComputeError") {
    RandomStream rng(9001, Purpose::Test, {4});
    const Index n = 4;
    const Vec theta = normal_vec(rng, n * n);
    SinkhornOptions s;
    s.precision = Precision::BF16;
    SinkhornOptions s64 = s;
    s64.precision = Precision::FP64;
    CHECK(test::max_abs_diff(mix_jacobian(*make(MethodId::MHC, n, s), theta),
                             mix_jacobian(*make(MethodId::MHC, n, s64), theta)) == 0.0);
    SinkhornOptions cold;
    cold.tau = 0.001;  // authors' −8 off the diagonal: (Z − max)/τ = −8000 < −708
    const auto m = make(MethodId::MHC, n, cold);
    const Vec authors = m->init_params(InitKind::Authors, 0.01);
    CHECK_THROWS_AS((void)mix_vjp(*m, authors, Mat::Ones(n, n)), ComputeError);
    CHECK_THROWS_AS((void)mix_vjp(*m, authors, Mat::Ones(n + 1, n)), InputError);
    CHECK_THROWS_AS((void)mix_vjp(*m, Vec::Zero(3), Mat::Ones(n, n)), InputError);
    CHECK_THROWS_AS((void)sinkhorn_vjp(Mat::Zero(n, n), SinkhornOptions{}, Mat::Ones(n - 1, n)), InputError);
  }

  TEST_CASE("mhc: row/column shifts Z + a1ᵀ + 1bᵀ are in the null space (converged)") {
    // col_then_row: H is exactly invariant to column shifts at every t (the first column normalisation divides
    // them out), so J·vec(1bᵀ) = 0 up to round-off; row shifts are a null direction only at the fixed point, so
    // they are checked on a converged run (log domain, tol 1e-14). Tolerance 1e-9·max(1, max|J|): the residual
    // is O(marginal error)·|J| ≈ 1e-14·|J| plus round-off in the 2t normalisations; 1e-9 leaves margin.
    RandomStream rng(9001, Purpose::Test, {5});
    for (const Index n : {2, 3, 4, 5, 8}) {
      SinkhornOptions s;
      s.domain = SinkhornDomain::Log;
      s.tau = 0.5;
      s.iterations = 5000;
      s.tol = 1e-14;
      const auto m = make(MethodId::MHC, n, s);
      const Vec theta = normal_vec(rng, n * n, 0.5);
      const MixResult r = mix(*m, theta);
      REQUIRE(r.sinkhorn->status == SinkhornStatus::Converged);
      const Mat J = mix_jacobian(*m, theta);
      const double tol = 1e-9 * std::max(1.0, J.cwiseAbs().maxCoeff());
      for (Index k = 0; k < n; ++k) {
        Mat row = Mat::Zero(n, n), col = Mat::Zero(n, n);
        row.row(k).setOnes();
        col.col(k).setOnes();
        INFO("n = " << n << " shift index " << k);
        CHECK((J * flat(row)).cwiseAbs().maxCoeff() <= tol);
        CHECK((J * flat(col)).cwiseAbs().maxCoeff() <= tol);
      }
      // Equivalently: for any dH, dZ = Jᵀ dH has zero row and column sums.
      Mat dH(n, n);
      rng.fill_normal(dH);
      const Vec dz = mix_vjp(*m, theta, dH);
      Mat dZ(n, n);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) dZ(i, j) = dz[i * n + j];
      CHECK(dZ.rowwise().sum().cwiseAbs().maxCoeff() <= tol * dH.cwiseAbs().sum());
      CHECK(dZ.colwise().sum().cwiseAbs().maxCoeff() <= tol * dH.cwiseAbs().sum());
    }
    // Unconverged (t = 1, exp, col_then_row): column shifts stay exact, row shifts are not null.
    const Index n = 4;
    SinkhornOptions s;
    s.iterations = 1;
    const auto m = make(MethodId::MHC, n, s);
    const Vec theta = normal_vec(rng, n * n);
    const Mat J = mix_jacobian(*m, theta);
    Mat col = Mat::Zero(n, n), row = Mat::Zero(n, n);
    col.col(1).setOnes();
    row.row(1).setOnes();
    CHECK((J * flat(col)).cwiseAbs().maxCoeff() <= 1e-14 * std::max(1.0, J.cwiseAbs().maxCoeff()));
    CHECK((J * flat(row)).cwiseAbs().maxCoeff() > 1e-3);
  }

  TEST_CASE("mhc-lite: Jacobian vs finite differences; dθ sums to 0") {
    RandomStream rng(9001, Purpose::Test, {6});
    for (const Index n : kSizes) {
      const auto m = make(MethodId::MHCLite, n);
      const Index p = m->num_params();
      for (const auto& [name, theta] : draws(*m, 600 + static_cast<std::uint64_t>(n))) {
        INFO("mhc-lite n = " << n << " θ = " << name);
        if (n <= 5) {
          check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, 1e-6));
        } else {
          // n = 8: 40320 parameters; a full FD Jacobian is 80640 builds (≈ 40 s). Instead: J·v against the FD
          // JVP along random directions and random coordinates (same criterion per direction).
          const Mat J = mix_jacobian(*m, theta);
          const long dirs = test_size(8, 2);
          Mat Jv(n * n, 2 * dirs), Jv_fd(n * n, 2 * dirs);
          for (long d = 0; d < dirs; ++d) {
            const Vec v = normal_vec(rng, p);
            Jv.col(2 * d) = J * v;
            Jv_fd.col(2 * d) = fd_jvp(*m, theta, v, 1e-6);
            const auto k = static_cast<Index>(rng.uniform() * static_cast<double>(p));
            Vec e = Vec::Zero(p);
            e[k] = 1.0;
            Jv.col(2 * d + 1) = J.col(k);
            Jv_fd.col(2 * d + 1) = fd_jvp(*m, theta, e, 1e-6);
          }
          check_jacobian(Jv, Jv_fd);
        }
        check_adjoint(*m, theta, rng, 1e-6);
        // Σ_k dθ_k = 0 (softmax is shift invariant); round-off of n! terms bounded by n!·n·u·max|dH| (worst case).
        Mat dH(n, n);
        rng.fill_normal(dH);
        const Vec d = m->vjp(theta, dH);
        CHECK(std::fabs(d.sum()) <= static_cast<double>(p * n) * kU * dH.cwiseAbs().maxCoeff());
      }
    }
  }

  TEST_CASE("kromhc: Jacobian vs finite differences (product rule through the Kronecker factors)") {
    RandomStream rng(9001, Purpose::Test, {7});
    struct Case {
      Index n;
      std::vector<Index> factors;
    };
    const Case cases[] = {{2, {}}, {3, {}}, {4, {}}, {5, {}}, {8, {}}, {6, {2, 3}}, {6, {3, 2}}, {8, {4, 2}}};
    for (const Case& c : cases) {
      const auto m = make(MethodId::KromHC, c.n, {}, c.factors);
      for (const auto& [name, theta] : draws(*m, 700 + static_cast<std::uint64_t>(c.n))) {
        INFO("kromhc n = " << c.n << " factors = " << c.factors.size() << " θ = " << name);
        check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, 1e-6));
        check_adjoint(*m, theta, rng, 1e-6);
      }
    }
  }

  TEST_CASE("go-mhc, circulant, cayley, shc, isohc: Jacobian vs finite differences (with option variants)") {
    RandomStream rng(9001, Purpose::Test, {13});
    struct Case {
      MethodId id;
      Index go_s = 2;
      double gamma = 1.0, alpha = 0.1;
      Index cayley_steps = 0;
    };
    const Case cases[] = {{.id = MethodId::GoMHC},
                          {.id = MethodId::GoMHC, .go_s = 1},
                          {.id = MethodId::GoMHC, .go_s = 3},
                          {.id = MethodId::Circulant},
                          {.id = MethodId::Circulant, .gamma = 1.0 / 64},
                          {.id = MethodId::Cayley},
                          {.id = MethodId::Cayley, .alpha = 1.0},
                          {.id = MethodId::Cayley, .cayley_steps = 3},
                          {.id = MethodId::SHC},
                          {.id = MethodId::IsoHC}};
    int checked = 0;
    for (std::uint64_t ci = 0; ci < std::size(cases); ++ci)
      for (const Index n : kSizes) {
        const Case& c = cases[ci];
        if (c.go_s == 3 && n > 4) continue;  // (ns)² parameters: keep the FD Jacobian small
        MethodOptions o;
        o.method = c.id;
        o.n = n;
        o.go_s = c.go_s;
        o.gamma = c.gamma;
        o.alpha = c.alpha;
        o.cayley_steps = c.cayley_steps;
        const auto m = make_method(o);
        for (const auto& [name, theta] : draws(*m, 1300 + ci * 100 + static_cast<std::uint64_t>(n))) {
          INFO(method_table.to_string(c.id) << " n = " << n << " go_s = " << c.go_s << " γ = " << c.gamma
                                            << " α = " << c.alpha << " cayley_steps = " << c.cayley_steps
                                            << " θ = " << name);
          check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, 1e-6));
          check_adjoint(*m, theta, rng, 1e-6);
          ++checked;
        }
      }
    MESSAGE("2026 zoo: " << checked << " full FD Jacobians checked");
  }

  TEST_CASE("learnability: rank of circulant (n − 1), cayley (n(n−1)/2), isohc ((n−1)(n−2)/2), shc ((n−1)²)") {
    // circulant: softmax loses the shift of z; cayley/isohc: only the skew part of Θ enters, and the Cayley
    // transform is a local diffeomorphism from skew matrices onto SO(m); shc: (U, σ, V) ↦ U·diag(σ)·Vᵀ is one for
    // distinct non-zero σ (random x), so the rank is the full m² = p.
    RandomStream rng(9001, Purpose::Test, {14});
    for (const Index n : {2, 3, 4, 5}) {
      auto rank_of = [&](MethodId id) {
        const auto m = make(id, n);
        const Vec theta = normal_vec(rng, m->num_params());
        return learnability(*m, theta).rank;
      };
      INFO("n = " << n);
      CHECK(rank_of(MethodId::Circulant) == n - 1);
      CHECK(rank_of(MethodId::Cayley) == n * (n - 1) / 2);
      CHECK(rank_of(MethodId::IsoHC) == (n - 1) * (n - 2) / 2);
      CHECK(rank_of(MethodId::SHC) == (n - 1) * (n - 1));
    }
  }

  TEST_CASE("tbp, rtbp: Jacobian vs finite differences (active branches; ties skipped and counted)") {
    RandomStream rng(9001, Purpose::Test, {8});
    for (const MethodId id : {MethodId::TBP, MethodId::RTBP}) {
      int checked = 0, skipped = 0, skipped_normal = 0;
      for (const Index n : {1, 2, 3, 4, 5, 6, 7, 8}) {
        const auto m = make(id, n);
        auto all = draws(*m, 800 + static_cast<std::uint64_t>(n));
        for (std::uint64_t s = 2; s < 6; ++s) {  // more N(0,1) draws, and wider ones (bounds bind more often)
          RandomStream r(9001, Purpose::Test, {800 + static_cast<std::uint64_t>(n), s});
          all.emplace_back("normal scale 3 seed " + std::to_string(s), normal_vec(r, m->num_params(), 3.0));
        }
        for (const auto& [name, theta] : all) {
          INFO(method_table.to_string(id) << " n = " << n << " θ = " << name);
          if (!branches_stable(id, theta, n, 1e-6)) {
            ++skipped;
            if (name.rfind("normal", 0) == 0) ++skipped_normal;
            continue;
          }
          check_jacobian(mix_jacobian(*m, theta), fd_jacobian(*m, theta, 1e-6));
          check_adjoint(*m, theta, rng, 1e-6);
          ++checked;
        }
      }
      MESSAGE(method_table.to_string(id) << ": " << checked << " draws checked, " << skipped
                                         << " skipped (an active bound changes within ±h; " << skipped_normal
                                         << " of them random)");
      CHECK(checked >= 40);
      CHECK(skipped_normal == 0);
    }
  }

  TEST_CASE("tbp: vjp is O(n²) — n = 200 (39601 parameters) against a few FD directions") {
    const Index n = test_size(200, 40);
    const auto m = make(MethodId::TBP, n);
    RandomStream rng(9001, Purpose::Test, {9});
    const Vec theta = normal_vec(rng, m->num_params());
    Mat dH(n, n);
    rng.fill_normal(dH);
    const Vec d = mix_vjp(*m, theta, dH);
    REQUIRE(d.size() == (n - 1) * (n - 1));
    for (int k = 0; k < 3; ++k) {
      const Vec v = normal_vec(rng, m->num_params());
      const Vec jv = fd_jvp(*m, theta, v, 1e-6);
      const double fd = flat(dH).dot(jv);
      INFO("<dH, Jv>_fd = " << fd << ", <J^T dH, v> = " << d.dot(v));
      CHECK(std::fabs(fd - d.dot(v)) <= 1e-6 * std::max(1.0, dH.norm() * jv.norm()));
    }
  }

  TEST_CASE("modifiers (lazy, minorize) through mix_vjp") {
    RandomStream rng(9001, Purpose::Test, {10});
    const Modifiers mods[] = {{0.3, 0.0}, {0.0, 0.2}, {0.2, 0.1}};
    for (const MethodId id : {MethodId::HC, MethodId::MHC, MethodId::MHCLite, MethodId::KromHC, MethodId::TBP,
                              MethodId::RTBP, MethodId::GoMHC, MethodId::Circulant, MethodId::Cayley, MethodId::SHC,
                              MethodId::IsoHC}) {
      const Index n = 4;
      const auto m = make(id, n);
      const Vec theta = normal_vec(rng, m->num_params());
      for (const Modifiers& mod : mods) {
        INFO(method_table.to_string(id) << " lazy = " << mod.lazy << " minorize = " << mod.minorize);
        const auto mm = make(id, n, {}, {}, mod);  // make_method carries the modifiers into mix and vjp
        const Mat J = mix_jacobian(*mm, theta);
        check_jacobian(J, fd_jacobian(*mm, theta, 1e-6));
        CHECK(test::max_abs_diff(J, mix_jacobian(*m, theta) * ((mod.lazy ? mod.lazy : 1.0) * (1.0 - mod.minorize))) <=
              1e-15 * std::max(1.0, J.cwiseAbs().maxCoeff()));
        check_adjoint(*mm, theta, rng, 1e-6);
      }
    }
  }

  TEST_CASE("learnability: rank = dimension of the tangent space, per method") {
    RandomStream rng(9001, Purpose::Test, {11});
    for (const Index n : {2, 3, 4, 5, 8}) {
      auto rank_of = [&](const Method& m, double scale) {
        const Vec theta = normal_vec(rng, m.num_params(), scale);
        const LearnabilitySummary s = learnability(m, theta);
        CHECK(s.singular_values.size() == std::min(n * n, m.num_params()));
        CHECK(s.params == m.num_params());
        for (Index k = 1; k < s.singular_values.size(); ++k) CHECK(s.singular_values[k] <= s.singular_values[k - 1]);
        return s.rank;
      };
      INFO("n = " << n);
      const Index dim = (n - 1) * (n - 1);  // tangent space of the Birkhoff polytope
      CHECK(rank_of(*make(MethodId::HC, n), 1.0) == n * n);
      CHECK(rank_of(*make(MethodId::ResNet, n), 1.0) == 0);
      CHECK(rank_of(*make(MethodId::Tropical, n), 1.0) == 0);
      CHECK(rank_of(*make(MethodId::TBP, n), 1.0) == dim);
      CHECK(rank_of(*make(MethodId::RTBP, n), 1.0) == dim);
      if (n <= 5 || !test::kReduced)
        CHECK(rank_of(*make(MethodId::MHCLite, n), 1.0) == std::min(dim, factorial(n) - 1));
      // kromhc: Σ_k (i_k − 1)² (each factor moves in its own Birkhoff tangent space).
      const auto kro = make(MethodId::KromHC, n);
      Index kdim = 0;
      for (const Index f : resolve_kromhc_factors(n, {})) kdim += (f - 1) * (f - 1);
      CHECK(rank_of(*kro, 1.0) == kdim);
      // mhc converged: (n−1)²; mhc after one iteration (rows exact, columns not): n² − n.
      SinkhornOptions conv;
      conv.domain = SinkhornDomain::Log;
      conv.iterations = 5000;
      conv.tol = 1e-15;
      CHECK(rank_of(*make(MethodId::MHC, n, conv), 0.5) == dim);
      SinkhornOptions one;
      one.iterations = 1;
      CHECK(rank_of(*make(MethodId::MHC, n, one), 1.0) == n * n - n);
    }
    const auto kro6 = make(MethodId::KromHC, 6, {}, {2, 3});
    CHECK(learnability(*kro6, normal_vec(rng, kro6->num_params())).rank == 1 + 4);
  }

  TEST_CASE("learnability: saturation of mhc at τ = 0.05 with the authors init; logit range") {
    const Index n = 4;
    SinkhornOptions cold;
    cold.tau = 0.05;
    const auto m_cold = make(MethodId::MHC, n, cold);
    const LearnabilitySummary sat = learnability(*m_cold, m_cold->init_params(InitKind::Authors, 0.01));
    SinkhornOptions warm;
    warm.tau = 1.0;
    const auto m_warm = make(MethodId::MHC, n, warm);
    const LearnabilitySummary ok = learnability(*m_warm, m_warm->init_params(InitKind::Identity, 0.01));
    const LearnabilitySummary auth1 = learnability(*m_warm, m_warm->init_params(InitKind::Authors, 0.01));
    MESSAGE("mhc n = 4: authors τ = 0.05 σ_max = " << sat.sigma_max << " (logit range " << sat.logit_range
                                                   << "); identity τ = 1 σ_max = " << ok.sigma_max
                                                   << "; authors τ = 1 σ_max = " << auth1.sigma_max);
    // Off-diagonal entries ≈ e^{−8/0.05} = e^{−160} ≈ 3.3e-70, and ∂H/∂Z ≈ H_ij(1 − H_ij)/τ: σ_max ≈ 1e-68.
    CHECK(sat.sigma_max < 1e-60);
    CHECK(sat.sigma_max > 0.0);
    CHECK(ok.sigma_max > 1e-3);
    MHCLAB_CHECK_NEAR(sat.logit_range, 8.0 / 0.05, 1e-12, 1e-14);  // (max Z − min Z)/τ = 160 = log(1/ν)
    MHCLAB_CHECK_NEAR(auth1.logit_range, 8.0, 1e-14, 0.0);
    // Exact dependence on τ (not FD): at fixed logits the Jacobian of exp(Z/τ)'s Sinkhorn scales as Z/τ, so
    // J(Z, τ) = J(Z/τ, 1)/τ.
    RandomStream rng(9001, Purpose::Test, {12});
    const Vec z = normal_vec(rng, n * n);
    SinkhornOptions t3;
    t3.tau = 0.3;
    const Mat J3 = mix_jacobian(*make(MethodId::MHC, n, t3), z);
    const Mat J1 = mix_jacobian(*make(MethodId::MHC, n, warm), Vec(z / 0.3));
    CHECK(test::max_abs_diff(J3, J1 / 0.3) <= 1e-12 * J3.cwiseAbs().maxCoeff());
    // Others: max θ − min θ.
    const auto hc = make(MethodId::HC, 3);
    Vec th = Vec::LinSpaced(9, -2.0, 5.0);
    MHCLAB_CHECK_NEAR(learnability(*hc, th).logit_range, 7.0, 1e-15, 0.0);
    const LearnabilitySummary r0 = learnability(*make(MethodId::ResNet, 3), Vec(0));
    CHECK(r0.rank == 0);
    CHECK(r0.sigma_max == 0.0);
    CHECK(r0.singular_values.size() == 0);
    Mat J;
    const LearnabilitySummary sh = learnability(*hc, th, &J);
    CHECK(J.rows() == 9);
    CHECK(J.cols() == 9);
    MHCLAB_CHECK_NEAR(sh.sigma_max, 1.0, 1e-14, 0.0);
    MHCLAB_CHECK_NEAR(sh.sigma_min_nonzero, 1.0, 1e-14, 0.0);
  }
}  // TEST_SUITE
