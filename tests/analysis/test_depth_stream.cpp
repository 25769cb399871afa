// analysis/depth_stream.hpp: streaming prefix gains and sigma_max (random generator, mhc) against the general
// path (generate_stacks + depth_metrics) and a dense JacobiSVD of the plain product.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include <Eigen/SVD>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/depth_stream.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/generators/stack.hpp"
#include "support/check.hpp"

using namespace mhclab;
using mhclab::test::test_size;

namespace {

/// Every point of a run, [seed index][layer − 1] (each slot written once, by one thread: no lock needed).
struct Collected {
  DepthStreamSummary summary;
  std::vector<std::vector<DepthStreamPoint>> pts;
};

Collected collect(const DepthStreamOptions& o) {
  Collected c;
  c.pts.assign(static_cast<std::size_t>(o.seeds), std::vector<DepthStreamPoint>(static_cast<std::size_t>(o.layers)));
  c.summary = depth_stream(o, [&](const DepthStreamBatch& b) {
    for (std::size_t k = 0; k < b.points.size(); ++k)
      c.pts[static_cast<std::size_t>(b.seed_index) + k][static_cast<std::size_t>(b.layer - 1)] = b.points[k];
  });
  return c;
}

bool same_bits(const DepthStreamPoint& a, const DepthStreamPoint& b) {
  return a.fwd_gain_hat == b.fwd_gain_hat && a.bwd_gain_hat == b.bwd_gain_hat && a.sigma_max_hat == b.sigma_max_hat &&
         a.exponent == b.exponent;
}

DepthStreamOptions options(Index n, Index seeds, Index layers) {
  DepthStreamOptions o;
  o.n = n;
  o.seeds = seeds;
  o.layers = layers;
  o.first_seed = 5;
  o.threads = 2;
  return o;
}

std::unique_ptr<Method> mhc_method(const DepthStreamOptions& o) {
  MethodOptions mo;
  mo.method = MethodId::MHC;
  mo.n = o.n;
  mo.sinkhorn.iterations = o.iterations;
  mo.sinkhorn.tau = o.tau;
  mo.sinkhorn.order = o.order;
  return make_method(mo);
}

/// The general path for seed index s: the stack of generate_stacks, its prefix metrics, and its plain products.
struct Reference {
  std::vector<DepthMetrics> metrics;
  std::vector<Mat> products;
};
Reference reference(const DepthStreamOptions& o, Index s) {
  const auto m = mhc_method(o);
  StackOptions so;
  so.kind = GeneratorKind::Random;
  so.init = o.init;
  so.init_eps = o.init_eps;
  so.noise = o.noise;
  so.layers = o.layers;
  const auto stacks = generate_stacks(*m, so, o.first_seed + static_cast<std::uint64_t>(s));
  Reference r;
  r.metrics = depth_metrics(stacks.at(0).H, ProductKind::Prefix);
  Mat P = Mat::Identity(o.n, o.n);
  for (const Mat& H : stacks[0].H) {
    P = H * P;  // O(1) entries for these DS-like factors: no over/underflow at these depths
    r.products.push_back(P);
  }
  return r;
}

// Tolerances (SPEC §9: 1e-12 relative). Both sides compute the same mathematical quantity; they differ by
//  - θ: the stream's log/sin/cos are fdlibm's (< 1 ulp) instead of glibc's: θ differs by a few ulp;
//  - H: sinkhorn_batch vs sinkhorn() (≤ 1 ulp per entry and per operation, header of sinkhorn_batch.hpp);
//  - the product: summation order and FMA contraction (~n·u per layer, accumulating ≲ L·n·u ≈ 1e-14 at L = 40
//    for these factors of norm ≈ 1);
//  - sigma_max: Jacobi on M̂ᵀM̂ (≤ ~1e-14 relative, header) vs a dense SVD (~n·u).
// All of this is ≲ 1e-13 relative, so 1e-12 relative leaves a 10× margin and still catches any real error
// (a wrong rotation or a missed sweep shows up at ≥ 1e-8).
constexpr double kRel = 1e-12;

void check_against_reference(const DepthStreamOptions& o, const Collected& c, std::initializer_list<Index> sample) {
  double worst_sigma = 0.0, worst_gain = 0.0;  // measured, reported below
  for (Index s : sample) {
    const Reference ref = reference(o, s);
    for (Index l = 1; l <= o.layers; ++l) {
      CAPTURE(o.n);
      CAPTURE(s);
      CAPTURE(l);
      const DepthStreamPoint& p = c.pts[static_cast<std::size_t>(s)][static_cast<std::size_t>(l - 1)];
      const DepthMetrics& m = ref.metrics[static_cast<std::size_t>(l - 1)];
      MHCLAB_CHECK_NEAR(p.fwd_gain(), m.fwd_gain, 0.0, kRel);
      MHCLAB_CHECK_NEAR(p.bwd_gain(), m.bwd_gain, 0.0, kRel);
      MHCLAB_CHECK_NEAR(p.sigma_max(), m.sigma_max, 0.0, kRel);
      // log10 forms: the same relative accuracy, i.e. 1e-12·log10(e) absolute.
      MHCLAB_CHECK_NEAR(p.log10_sigma_max(), m.log10_sigma_max, kRel * 0.4343, 0.0);
      MHCLAB_CHECK_NEAR(p.log10_bwd_gain(), m.log10_bwd_gain, kRel * 0.4343, 0.0);
      // A dense JacobiSVD of the plain product (independent of ScaledMatrix and of depth_metrics).
      const double svd = Eigen::JacobiSVD<Mat>(ref.products[static_cast<std::size_t>(l - 1)]).singularValues()[0];
      MHCLAB_CHECK_NEAR(p.sigma_max(), svd, 0.0, kRel);
      worst_sigma = std::max({worst_sigma, std::fabs(p.sigma_max() - svd) / svd,
                              std::fabs(p.sigma_max() - m.sigma_max) / m.sigma_max});
      worst_gain = std::max({worst_gain, std::fabs(p.fwd_gain() - m.fwd_gain) / m.fwd_gain,
                             std::fabs(p.bwd_gain() - m.bwd_gain) / m.bwd_gain});
    }
  }
  MESSAGE("n = " << o.n << ": max relative difference sigma_max " << worst_sigma << ", gains " << worst_gain);
}

}  // namespace

TEST_SUITE("analysis_depth_stream") {
  TEST_CASE("θ of the stream equals the random generator's to a few ulp") {
    // fdlibm log/sin/cos (< 1 ulp) vs glibc's (≈ 0.5 ulp): each normal r·cos(a) may differ by ~3 ulp of |ξ|;
    // θ = init + σ·ξ then by ≤ 4 ulp of max(|θ|, σ|ξ|) ≤ 8·u·(1 + |θ|) for these O(1)–O(10) values.
    Index identical = 0, total = 0;
    for (Index n : {2, 4, 7, 12}) {
      DepthStreamOptions o = options(n, 3, 4);
      const auto m = mhc_method(o);
      StackOptions so;
      so.layers = o.layers;
      for (Index s = 0; s < o.seeds; ++s)
        for (Index l = 1; l <= o.layers; ++l) {
          const Vec a = depth_stream_theta(o, s, l);
          const Vec b = stack_theta(*m, so, o.first_seed + static_cast<std::uint64_t>(s),
                                    static_cast<std::uint64_t>(l - 1), 0);
          REQUIRE(a.size() == n * n);
          for (Index e = 0; e < a.size(); ++e) {
            CHECK(std::fabs(a[e] - b[e]) <= 8 * (DBL_EPSILON / 2) * (1 + std::fabs(b[e])));
            identical += a[e] == b[e] ? 1 : 0;
            ++total;
          }
        }
    }
    MESSAGE("θ bitwise equal to stack_theta: " << identical << " of " << total);
    CHECK(identical * 2 > total);  // most draws agree to the last bit
  }

  TEST_CASE("batched path (n = 1..8) against generate_stacks + depth_metrics and a dense SVD") {
    const Index L = test_size(40, 12);
    for (Index n = 1; n <= 8; ++n) {
      DepthStreamOptions o = options(n, 20, L);  // 20 seeds: one full block of 16 and a partial one
      const Collected c = collect(o);
      CHECK(c.summary.batched);
      CHECK(c.summary.eigen_fallbacks == 0);
      CHECK(c.summary.max_jacobi_sweeps <= kJacobiMaxSweeps);
      check_against_reference(o, c, {0, 13, 19});
    }
  }

  TEST_CASE("other inits, τ and order") {
    DepthStreamOptions o = options(4, 17, test_size(30, 10));
    o.init = InitKind::Authors;
    o.noise = 2.0;
    o.tau = 0.5;
    o.order = SinkhornOrder::RowThenCol;
    o.iterations = 7;
    check_against_reference(o, collect(o), {0, 16});
  }

  TEST_CASE("scalar path: n = 12 (no batched kernel) and n = 4 forced") {
    DepthStreamOptions o = options(12, 18, test_size(20, 6));
    const Collected c = collect(o);
    CHECK_FALSE(c.summary.batched);
    check_against_reference(o, c, {0, 17});

    DepthStreamOptions b = options(4, 18, test_size(30, 8));
    DepthStreamOptions s = b;
    s.path = DepthStreamPath::Scalar;
    const Collected cb = collect(b), cs = collect(s);
    CHECK(cb.summary.batched);
    CHECK_FALSE(cs.summary.batched);
    for (std::size_t k = 0; k < cb.pts.size(); ++k)
      for (std::size_t l = 0; l < cb.pts[k].size(); ++l) {
        MHCLAB_CHECK_NEAR(cb.pts[k][l].sigma_max(), cs.pts[k][l].sigma_max(), 0.0, kRel);
        MHCLAB_CHECK_NEAR(cb.pts[k][l].bwd_gain(), cs.pts[k][l].bwd_gain(), 0.0, kRel);
        MHCLAB_CHECK_NEAR(cb.pts[k][l].fwd_gain(), cs.pts[k][l].fwd_gain(), 0.0, kRel);
      }
  }

  TEST_CASE("bitwise identical for any thread count, any S and any block composition") {
    for (Index n : {3, 4, 9}) {
      DepthStreamOptions o = options(n, 37, test_size(25, 6));
      o.threads = 1;
      const Collected one = collect(o);
      o.threads = 2;
      const Collected two = collect(o);
      o.threads = 3;
      const Collected three = collect(o);
      CHECK(one.summary.sum_fwd_gain == two.summary.sum_fwd_gain);
      CHECK(one.summary.sum_bwd_gain == two.summary.sum_bwd_gain);
      CHECK(one.summary.sum_sigma_max == two.summary.sum_sigma_max);
      CHECK(one.summary.sum_sigma_max == three.summary.sum_sigma_max);
      // Seed k alone (first_seed shifted so it sits in lane 0 of a block of its own) gives the same bits.
      DepthStreamOptions single = o;
      single.seeds = 1;
      single.first_seed = o.first_seed + 21;
      const Collected alone = collect(single);
      bool all_same = true;
      for (std::size_t k = 0; k < one.pts.size(); ++k)
        for (std::size_t l = 0; l < one.pts[k].size(); ++l)
          all_same = all_same && same_bits(one.pts[k][l], two.pts[k][l]) && same_bits(one.pts[k][l], three.pts[k][l]);
      for (std::size_t l = 0; l < alone.pts[0].size(); ++l) all_same = all_same && same_bits(alone.pts[0][l], one.pts[21][l]);
      CHECK(all_same);
    }
  }

  TEST_CASE("log-scale forms and options") {
    DepthStreamPoint p;
    p.fwd_gain_hat = 0.75;
    p.bwd_gain_hat = 0.5;
    p.sigma_max_hat = 0.875;
    p.exponent = 3000;
    CHECK(p.fwd_gain() == std::numeric_limits<double>::infinity());
    MHCLAB_CHECK_NEAR(p.log10_fwd_gain(), std::log10(0.75) + 3000 * std::log10(2.0), 1e-12, 0.0);
    p.exponent = -5;
    CHECK(p.sigma_max() == 0.875 / 32);
    CHECK(p.log10_bwd_gain() == doctest::Approx(std::log10(0.5 / 32)).epsilon(1e-14));
    p = DepthStreamPoint{};  // the exactly zero product: hats 0
    CHECK(p.sigma_max() == 0.0);
    CHECK(p.log10_sigma_max() == -std::numeric_limits<double>::infinity());
    p.sigma_max_hat = 0.75;
    p.exponent = -1070;  // the subnormal range: 0.75·2^−1070 = 3·2^−1072
    CHECK(p.sigma_max() == std::ldexp(3.0, -1072));

    DepthStreamOptions o;
    o.layers = 0;
    CHECK_THROWS_AS(o.validate(), InputError);
    o = {};
    o.n = 9;
    o.path = DepthStreamPath::Batched;
    CHECK_THROWS_AS(o.validate(), InputError);
    o.path = DepthStreamPath::Auto;
    CHECK_NOTHROW(o.validate());
    CHECK_FALSE(o.batched());
    o = {};
    o.noise = -1;
    CHECK_THROWS_AS(o.validate(), InputError);
    o = {};
    o.seeds = 2;
    CHECK_THROWS_AS((void)depth_stream_theta(o, 2, 1), InputError);
  }
}
