// mixing/birkhoff.hpp birkhoff_target + log_gamma_variate, mixing/inverse_chart.hpp and mixing/fit.hpp.
//   suite fit_targets : targets, inverse charts (all methods), fit_target with hc and the Adam arithmetic.
//   suite fit_ds      : fit_target through the DS methods' backward (mhc, mhc-lite, kromhc, tbp, rtbp) — needs
//                       their Method::vjp.
#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/fit.hpp"
#include "mhclab/mixing/inverse_chart.hpp"
#include "mhclab/mixing/method.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::max_abs_diff;

namespace {

double margin_error(const Mat& T) {
  return std::max((T.rowwise().sum().array() - 1.0).abs().maxCoeff(),
                  (T.colwise().sum().array() - 1.0).abs().maxCoeff());
}

Mat target(Index n, std::uint64_t seed, double alpha = 1.0, double s = 0.1) {
  RandomStream rng(seed, Purpose::Test, {static_cast<std::uint64_t>(n)});
  return birkhoff_target(n, alpha, s, rng);
}

MethodOptions options(MethodId id, Index n) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  return o;
}

}  // namespace

TEST_SUITE("fit_targets") {
  TEST_CASE("birkhoff_target: doubly stochastic, entries ≥ s/n, reproducible") {
    for (const Index n : {1, 2, 3, 4, 6, 8}) {
      for (const double alpha : {0.05, 1.0, 20.0}) {
        INFO("n = " << n << ", alpha = " << alpha);
        const Mat T = target(n, 7, alpha, 0.1);
        // Σ of n!/n·(weights) per entry then one scaling: margins within a few hundred ulps (8!/8 = 5040 terms).
        CHECK(margin_error(T) <= 1e-13);
        CHECK(T.minCoeff() >= 0.1 / static_cast<double>(n) - 1e-16);  // s·J/n is added last, weights ≥ 0
        CHECK(max_abs_diff(T, target(n, 7, alpha, 0.1)) == 0.0);      // same stream → bitwise the same
        if (n > 1) CHECK(max_abs_diff(T, target(n, 8, alpha, 0.1)) > 1e-6);
      }
    }
    // s = 1 is J/n exactly up to one rounding; s = 0 with tiny α is close to a single permutation.
    CHECK(max_abs_diff(target(4, 1, 1.0, 1.0), Mat::Constant(4, 4, 0.25)) <= 1e-16);
    const Mat V = target(5, 3, 1e-3, 0.0);
    CHECK(V.maxCoeff() > 0.99);  // α = 1e-3: the largest Dirichlet weight is > 0.99 with overwhelming probability
    RandomStream rng(1, Purpose::Test);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)birkhoff_target(10, 1.0, 0.1, rng); }), "n = 10", "1 ≤ n ≤ 9");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)birkhoff_target(4, 0.0, 0.1, rng); }), "dirichlet-alpha = 0");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)birkhoff_target(4, 1.0, 1.5, rng); }), "uniform-mix = 1.5");
  }

  TEST_CASE("log_gamma_variate: Gamma(α) sample moments") {
    // E[G] = α and Var[G] = α. With N draws the sample mean has standard error √(α/N); 5 standard errors is a
    // fixed-seed check that fails only if the sampler is wrong (the draw is deterministic).
    const long N = mhclab::test::test_size(40000, 8000);
    for (const double alpha : {0.3, 1.0, 2.5, 10.0}) {
      RandomStream rng(11, Purpose::Test, {static_cast<std::uint64_t>(alpha * 10)});
      double sum = 0.0, sum2 = 0.0;
      for (long k = 0; k < N; ++k) {
        const double g = std::exp(log_gamma_variate(alpha, rng));
        sum += g;
        sum2 += g * g;
      }
      const double mean = sum / static_cast<double>(N);
      const double var = sum2 / static_cast<double>(N) - mean * mean;
      INFO("alpha = " << alpha << ", mean = " << mean << ", var = " << var);
      CHECK(std::fabs(mean - alpha) <= 5.0 * std::sqrt(alpha / static_cast<double>(N)));
      CHECK(std::fabs(var - alpha) <= 0.1 * alpha);  // Var of the sample variance ≈ (2α² + 6α)/N: 10% is > 5 SE
    }
    RandomStream rng(1, Purpose::Test);
    CHECK(std::isfinite(log_gamma_variate(1e-3, rng)));  // G underflows, log G does not
  }

  TEST_CASE("inverse charts reach interior targets exactly; kromhc/resnet/tropical have none") {
    for (const Index n : {2, 3, 4, 5}) {
      const Mat T = target(n, 21);
      for (const MethodId id : {MethodId::HC, MethodId::MHC, MethodId::MHCLite, MethodId::TBP, MethodId::RTBP}) {
        INFO("n = " << n << ", method " << method_table.to_string(id));
        const MethodOptions o = options(id, n);
        REQUIRE(has_inverse_chart(id));
        const std::optional<Vec> theta = inverse_chart(o, T);
        REQUIRE(theta.has_value());
        // hc: exact; mhc: T is a Sinkhorn fixed point, 20 iterations each add O(n·u); mhc-lite: BvN reconstruction
        // (threshold 1e-14) + softmax round-off; tbp/rtbp: the chart's inverse replays the walk (O(n²·u)).
        CHECK(reach_error(*make_method(o), *theta, T) <= 1e-12);
      }
      for (const MethodId id : {MethodId::KromHC, MethodId::ResNet, MethodId::Tropical}) {
        CHECK_FALSE(has_inverse_chart(id));
        CHECK_FALSE(inverse_chart(options(id, n), T).has_value());
      }
    }
    // mhc-lite at n = 8 (40320 logits; BvN with ≤ 50 terms).
    const Mat T8 = target(8, 2);
    const MethodOptions o8 = options(MethodId::MHCLite, 8);
    CHECK(reach_error(*make_method(o8), *inverse_chart(o8, T8), T8) <= 1e-12);
  }

  TEST_CASE("inverse charts undo the modifiers; boundary and outside targets give nullopt") {
    Modifiers m;
    m.lazy = 0.6;
    m.minorize = 0.2;
    Mat T = target(4, 5);
    apply_modifiers(T, m);
    for (const MethodId id : {MethodId::HC, MethodId::MHC, MethodId::MHCLite, MethodId::TBP, MethodId::RTBP}) {
      INFO(method_table.to_string(id));
      MethodOptions o = options(id, 4);
      o.modifiers = m;
      const std::optional<Vec> theta = inverse_chart(o, T);
      REQUIRE(theta.has_value());
      CHECK(reach_error(*make_method(o), *theta, T) <= 1e-12);  // as above; the modifiers are affine, O(u)
      // I is below the minorised floor δ/n off the diagonal: outside every DS method's image (hc reaches anything).
      if (id != MethodId::HC) CHECK_FALSE(inverse_chart(o, Mat::Identity(4, 4)).has_value());
    }
    // A vertex (I) has no finite mhc/tbp parameters; hc has θ = vec I.
    CHECK_FALSE(inverse_chart(options(MethodId::MHC, 3), Mat::Identity(3, 3)).has_value());
    const Mat I3 = Mat::Identity(3, 3);
    CHECK(*inverse_chart(options(MethodId::HC, 3), I3) == Vec(I3.reshaped<Eigen::RowMajor>()));
    CHECK_MESSAGE_HAS(input_error_of([] { (void)inverse_chart(options(MethodId::MHC, 3), Mat::Constant(3, 3, 0.5)); }),
                      "doubly stochastic");
    CHECK_MESSAGE_HAS(input_error_of([] { (void)inverse_chart(options(MethodId::MHC, 3), Mat::Constant(2, 2, 0.5)); }),
                      "expected n × n with n = 3");
  }

  TEST_CASE("fit_target with hc: the first Adam step is lr·sign(g); exact fit of any target") {
    const MethodOptions o = options(MethodId::HC, 4);
    const auto hc = make_method(o);
    const Vec theta0 = hc->init_params(InitKind::Identity, 0.01);
    const Mat T = target(4, 9);
    FitOptions f;
    f.steps = 1;
    const FitSummary one = fit_target(*hc, theta0, T, f);
    // Step 1: m̂ = g, v̂ = g², so Δθ = −lr·g/(|g| + ε) = −lr·sign(g)·(1 − ε/|g| + …); here |g| ≥ 1e-3, so the
    // difference to −lr·sign(g) is ≤ lr·1e-5.
    const Vec g = theta0 - Vec(T.reshaped<Eigen::RowMajor>());
    REQUIRE(g.cwiseAbs().minCoeff() >= 1e-3);
    CHECK((one.theta - (theta0 - f.lr * g.cwiseSign())).cwiseAbs().maxCoeff() <= f.lr * 1e-5);
    CHECK(one.steps == 1);
    MHCLAB_CHECK_NEAR(one.initial_residual_fro, g.norm(), 0.0, 1e-15);
    // steps = 0: nothing moves.
    f.steps = 0;
    const FitSummary none = fit_target(*hc, theta0, T, f);
    CHECK(none.theta == theta0);
    CHECK(none.residual_fro == none.initial_residual_fro);
    // The default budget (2000 steps, lr 0.05) fits a DS target and an arbitrary one (hc is unconstrained) to
    // ≤ 1e-8: the loss is a separable convex quadratic, Adam's effective step shrinks with |g|.
    Mat any(4, 4);
    RandomStream rng(3, Purpose::Test);
    rng.fill_normal(any);
    Modifiers lazy;
    lazy.lazy = 0.5;
    const auto with_modifiers = [&](const Modifiers& m) {
      MethodOptions om = o;
      om.modifiers = m;
      return make_method(om);
    };
    for (const Mat* target_ptr : {static_cast<const Mat*>(&T), static_cast<const Mat*>(&any)}) {
      for (const Modifiers& m : {Modifiers{}, lazy}) {
        const FitSummary s = fit_target(*with_modifiers(m), theta0, *target_ptr, FitOptions{});
        INFO("residual_fro = " << s.residual_fro << ", initial " << s.initial_residual_fro);
        CHECK(s.steps == 2000);
        CHECK(s.residual_fro <= 1e-8);
        CHECK(s.residual_max <= s.residual_fro);
        CHECK(s.initial_residual_fro > 0.1);
      }
    }
    // tol stops early.
    FitOptions t;
    t.tol = 1e-3;
    const FitSummary early = fit_target(*hc, theta0, T, t);
    CHECK(early.steps < 2000);
    CHECK(early.residual_fro <= 1e-3);
  }

  TEST_CASE("fit_target: options and shapes are validated") {
    const auto hc = make_method(options(MethodId::HC, 3));
    const Vec theta0 = hc->init_params(InitKind::Identity, 0.01);
    const Mat T = target(3, 1);
    FitOptions f;
    f.steps = -1;
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)fit_target(*hc, theta0, T, f); }), "fit-steps = -1");
    f = {};
    f.lr = 0.0;
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)fit_target(*hc, theta0, T, f); }), "fit-lr = 0");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)fit_target(*hc, theta0, Mat::Identity(4, 4), FitOptions{}); }),
                      "expected n × n");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)fit_target(*hc, Vec::Zero(4), T, FitOptions{}); }),
                      "θ₀ has 4 entries");
  }
}

// Needs Method::vjp of mhc, mhc-lite, kromhc, tbp and rtbp (the backward work): fails with "vjp pending" until then.
TEST_SUITE("fit_ds") {
  TEST_CASE("gradient descent from the identity init gets close to interior targets") {
    // n = 4, the experiment's target (α = 1, s = 0.1) and default budget (2000 Adam steps, lr 0.05).
    // Every DS method must at least halve the initial distance (kromhc's all-2 Kronecker products cannot reach
    // a generic target, but J/4 is one of them and much closer than H₀); the methods with an inverse chart can
    // represent T exactly, so gradient descent must get to 1e-3 (‖·‖_F) of it.
    const Mat T = target(4, 17);
    for (const MethodId id : {MethodId::MHC, MethodId::MHCLite, MethodId::KromHC, MethodId::TBP, MethodId::RTBP}) {
      INFO(method_table.to_string(id));
      const MethodOptions o = options(id, 4);
      const auto method = make_method(o);
      FitOptions f;
      f.steps = mhclab::test::test_size(2000, 400);
      const FitSummary s = fit_target(*method, method->init_params(InitKind::Identity, 0.01), T, f);
      INFO("residual_fro = " << s.residual_fro << ", initial " << s.initial_residual_fro);
      CHECK(s.residual_fro <= 0.5 * s.initial_residual_fro);
      if (has_inverse_chart(id) && !mhclab::test::kReduced) CHECK(s.residual_fro <= 1e-3);
    }
  }
}
