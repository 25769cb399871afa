// mixing/method.hpp: the interface, registry, inits and modifiers for every registered method.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>

#include <cmath>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/generators/params.hpp"
#include "mhclab/mixing/method.hpp"
#include "support/check.hpp"

using namespace mhclab;
using test::max_abs_diff;

namespace {
Mat H0(Index n, double eps) {
  Mat H = Mat::Constant(n, n, eps / static_cast<double>(n));
  H.diagonal().array() += 1.0 - eps;
  return H;
}
std::unique_ptr<Method> make(MethodId id, Index n) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  return make_method(o);
}
}  // namespace

TEST_SUITE("methods") {
TEST_CASE("enum↔string table round-trips every method") {
  for (const auto& [id, name] : method_table.entries) {
    CHECK(method_table.from_string(name) == id);
    CHECK(method_table.to_string(id) == name);
  }
  CHECK(method_table.names() == "resnet|hc|mhc|mhc-lite|kromhc|tbp|rtbp|tropical|go-mhc|circulant|cayley|shc|isohc|dsv4");
}

TEST_CASE("resnet, hc, mhc, tropical: parameter counts, inits, exactness") {
  for (Index n : {1, 2, 3, 4, 8}) {
    const auto resnet = make(MethodId::ResNet, n), hc = make(MethodId::HC, n), mhc = make(MethodId::MHC, n),
               trop = make(MethodId::Tropical, n);
    CHECK(resnet->num_params() == 0);
    CHECK(hc->num_params() == n * n);
    CHECK(mhc->num_params() == n * n);
    CHECK(trop->num_params() == n * n);
    CHECK(resnet->exact_ds());
    CHECK_FALSE(hc->exact_ds());
    CHECK_FALSE(mhc->exact_ds());
    CHECK(trop->exact_ds());
    const Mat I = Mat::Identity(n, n);
    CHECK(max_abs_diff(mix(*resnet, Vec(0)).H, I) == 0.0);
    // authors: hc I; mhc Z = 0 on the diagonal, −8 off it; tropical → I.
    CHECK(max_abs_diff(mix(*hc, hc->init_params(InitKind::Authors, 0.01)).H, I) == 0.0);
    const Vec za = mhc->init_params(InitKind::Authors, 0.01);
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) CHECK(za[i * n + j] == (i == j ? 0.0 : -8.0));
    CHECK(max_abs_diff(mix(*trop, trop->init_params(InitKind::Authors, 0.01)).H, I) == 0.0);
    // authors mhc is the closed form a I + b (J − I) after Sinkhorn: exp(−8) off-diagonal, then normalised.
    const double off = std::exp(-8.0) / (1.0 + (n - 1) * std::exp(-8.0));
    const Mat Ha = mix(*mhc, za).H;
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) MHCLAB_CHECK_NEAR(Ha(i, j), i == j ? 1.0 - (n - 1) * off : off, 1e-15, 0);
    // identity: H₀ exactly (up to round-off) for hc and mhc (a positive DS matrix is a Sinkhorn fixed point).
    for (double eps : {0.01, 0.1, 0.5}) {
      CHECK(max_abs_diff(mix(*hc, hc->init_params(InitKind::Identity, eps)).H, H0(n, eps)) <= 1e-15);
      CHECK(max_abs_diff(mix(*mhc, mhc->init_params(InitKind::Identity, eps)).H, H0(n, eps)) <= 1e-14);
      CHECK(max_abs_diff(mix(*trop, trop->init_params(InitKind::Identity, eps)).H, I) == 0.0);
    }
  }
}

// SPEC §2 says the exp domain underflows below τ ≈ 0.0085 for ε = 0.01. That holds for logits fixed at
// Z = log H₀ (the τ = 1 init) and used at temperature τ: (Z − max Z)/τ = log(0.0025/0.9925)/τ < −708 when
// τ < 0.00846. With the identity init realised at the method's own τ (Z = τ·log H₀) the exponent is
// log(H₀_ij / max H₀) for every τ, and the exp domain is exact at any τ.
TEST_CASE("mhc identity init at small τ: exact in both domains; τ = 1 logits underflow below τ ≈ 0.0085") {
  MethodOptions o;
  o.method = MethodId::MHC;
  o.n = 4;
  for (double tau : {0.005, 1e-4}) {
    for (auto dom : {SinkhornDomain::Log, SinkhornDomain::Exp}) {
      o.sinkhorn.tau = tau;
      o.sinkhorn.domain = dom;
      const auto m = make_method(o);
      const auto r = mix(*m, m->init_params(InitKind::Identity, 0.01));
      CHECK(max_abs_diff(r.H, H0(4, 0.01)) <= 1e-12);
    }
  }
  o.sinkhorn.tau = 1.0;
  const Vec z1 = make_method(o)->init_params(InitKind::Identity, 0.01);  // Z = log H₀
  o.sinkhorn.domain = SinkhornDomain::Exp;
  o.sinkhorn.tau = 0.0084;
  auto r = mix(*make_method(o), z1);
  CHECK(r.sinkhorn->status == SinkhornStatus::NumericalIssue);
  CHECK(r.H.size() == 0);
  o.sinkhorn.tau = 0.0085;
  r = mix(*make_method(o), z1);
  CHECK(r.sinkhorn->status == SinkhornStatus::FixedIterations);
  o.sinkhorn.domain = SinkhornDomain::Log;
  o.sinkhorn.tau = 0.0084;
  r = mix(*make_method(o), z1);
  CHECK(r.sinkhorn->status == SinkhornStatus::FixedIterations);
  CHECK(r.H.allFinite());
}

TEST_CASE("modifiers: lazy (1−α)I + αH and minorised (1−δ)H + δJ/n keep exact double stochasticity") {
  const double u = 0x1.0p-53;
  for (const auto& [id, name] : method_table.entries) {
    for (Index n : {2, 4, 6}) {
      MethodOptions o;
      o.method = id;
      o.n = n;
      std::unique_ptr<Method> m;
      try {
        m = make_method(o);
      } catch (const InputError&) {
        continue;  // e.g. kromhc with a factor > 8 is not at these n
      }
      ParamGeneratorOptions g;
      g.init = InitKind::Identity;
      g.noise = 1.0;
      const Vec theta = generate_params(*m, g, 3);
      const MixResult plain = mix(*m, theta);
      MethodOptions om = o;  // make_method carries the modifiers: mix applies them
      om.modifiers.lazy = 0.2;
      om.modifiers.minorize = 0.1;
      const MixResult r = mix(*make_method(om), theta);
      Mat want = 0.2 * plain.H;
      want.diagonal().array() += 0.8;
      want = 0.9 * want;
      want.array() += 0.1 / static_cast<double>(n);
      INFO(name << " n=" << n);
      CHECK(max_abs_diff(r.H, want) <= 1e-15);
      if (m->exact_ds()) {
        CHECK(row_error(r.H) <= 8 * n * u);
        CHECK(col_error(r.H) <= 8 * n * u);
        CHECK(r.H.minCoeff() >= 0.0);
      }
    }
  }
  Modifiers bad;
  bad.lazy = -0.1;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("lazy = -0.1"), InputError);
  bad = {};
  bad.minorize = 1.5;
  CHECK_THROWS_WITH_AS(bad.validate(), doctest::Contains("minorize = 1.5"), InputError);
}

TEST_CASE("random generator: counter-based per (seed, layer, step)") {
  const auto m = make(MethodId::MHC, 4);
  ParamGeneratorOptions g;
  g.noise = 0.5;
  const Vec a = generate_params(*m, g, 7, 3, 2), b = generate_params(*m, g, 7, 3, 2), c = generate_params(*m, g, 7, 4, 2);
  CHECK(max_abs_diff(a, b) == 0.0);
  CHECK(max_abs_diff(a, c) > 0.0);
  g.kind = GeneratorKind::Init;
  CHECK(max_abs_diff(generate_params(*m, g, 7), m->init_params(InitKind::Identity, 0.01)) == 0.0);
  g.kind = GeneratorKind::Drift;
  CHECK_THROWS_AS((void)generate_params(*m, g, 7), InputError);
}

TEST_CASE("identity init needs ε > 0 where log ε appears; bad ε is refused") {
  const auto m = make(MethodId::MHC, 3);
  CHECK_THROWS_WITH_AS((void)m->init_params(InitKind::Identity, 0.0), doctest::Contains("init-eps = 0"), InputError);
  CHECK_THROWS_WITH_AS((void)m->init_params(InitKind::Identity, 1.5), doctest::Contains("init-eps = 1.5"), InputError);
  const auto hc = make(MethodId::HC, 3);
  CHECK(max_abs_diff(mix(*hc, hc->init_params(InitKind::Identity, 0.0)).H, Mat::Identity(3, 3)) == 0.0);
}
}
