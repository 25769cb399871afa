// analysis/token_average.hpp: token-averaged stacks and products (SPEC §8 --token-average).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include <Eigen/SVD>

#include "mhclab/analysis/token_average.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;
using mhclab::test::max_abs_diff;

namespace {

/// Positive matrix with entries in [0.5, 1.5): a well-conditioned factor with no special structure.
Mat positive_matrix(RandomStream& rng, Index n) {
  Mat H(n, n);
  for (Index k = 0; k < H.size(); ++k) H.data()[k] = 0.5 + rng.uniform();
  return H / static_cast<double>(n);
}

/// 2×2 DS matrix [[a, 1−a], [1−a, a]]: H − J/2 = (a − 1/2)·[[1, −1], [−1, 1]].
Mat ds2(double a) { return (Mat(2, 2) << a, 1 - a, 1 - a, a).finished(); }

}  // namespace

TEST_SUITE("analysis_token_average") {
  TEST_CASE("mean_stack averages each layer over tokens; token-average names") {
    RandomStream rng(3, Purpose::Test, {1});
    std::vector<std::vector<Mat>> tokens(3, std::vector<Mat>(4));
    for (auto& s : tokens)
      for (auto& H : s) H = positive_matrix(rng, 3);
    const std::vector<Mat> mean = mean_stack(tokens);
    REQUIRE(mean.size() == 4);
    for (std::size_t l = 0; l < 4; ++l)
      // three additions and one division: ≤ 4 ulps of entries ≤ 1
      CHECK(max_abs_diff(mean[l], (tokens[0][l] + tokens[1][l] + tokens[2][l]) / 3.0) <= 4e-16);
    CHECK(token_average_table.from_string("composite") == TokenAverage::Composite);
    CHECK_THROWS_AS((void)token_average_table.from_string("tokens"), InputError);
    CHECK_THROWS_AS((void)mean_stack({}), InputError);
    tokens[1].pop_back();
    CHECK_THROWS_AS((void)mean_stack(tokens), InputError);
  }

  TEST_CASE("composite metrics are the metrics of the mean of the plain products") {
    RandomStream rng(5, Purpose::Test, {2});
    const Index n = 4, L = 12;
    std::vector<std::vector<Mat>> tokens(5, std::vector<Mat>(L));
    for (auto& s : tokens)
      for (auto& H : s) H = positive_matrix(rng, n);
    for (ProductKind kind : {ProductKind::Prefix, ProductKind::Suffix}) {
      const std::vector<DepthMetrics> m = composite_metrics(tokens, kind);
      REQUIRE(m.size() == static_cast<std::size_t>(L));
      for (Index l = 1; l <= L; ++l) {
        Mat mean = Mat::Zero(n, n);
        for (const auto& s : tokens) {
          Mat P = Mat::Identity(n, n);
          if (kind == ProductKind::Prefix)
            for (Index k = 0; k < l; ++k) P = s[static_cast<std::size_t>(k)] * P;
          else
            for (Index k = L - 1; k >= l - 1; --k) P = P * s[static_cast<std::size_t>(k)];
          mean += P / static_cast<double>(tokens.size());
        }
        const double smax = Eigen::JacobiSVD<Mat>(mean).singularValues()(0);
        const DepthMetrics& got = m[static_cast<std::size_t>(l - 1)];
        // products of ≤ 12 positive 4×4 factors: rounding ≲ L·n·u relative; 1e-12 leaves a wide margin
        MHCLAB_CHECK_NEAR(got.sigma_max, smax, 0.0, 1e-12);
        MHCLAB_CHECK_NEAR(got.fwd_gain, (mean.rowwise().sum()).cwiseAbs().maxCoeff(), 0.0, 1e-12);
        MHCLAB_CHECK_NEAR(got.bwd_gain, (mean.colwise().sum()).cwiseAbs().maxCoeff(), 0.0, 1e-12);
        CHECK_FALSE(got.collapse_centred);  // these factors do not have unit margins
      }
    }
    // layer kind = metrics of the mean stack
    const auto layer = composite_metrics(tokens, ProductKind::Layer);
    const auto direct = depth_metrics(mean_stack(tokens), ProductKind::Layer);
    for (std::size_t l = 0; l < layer.size(); ++l) CHECK(layer[l].sigma_max == direct[l].sigma_max);
  }

  TEST_CASE("composite: products with different exponents are averaged with exact powers of two") {
    // Token 0: H_l = 2I; token 1: H_1 = 6I, then 2I (n = 2). The prefix products are 2^l·I and 3·2^l·I, whose binary
    // exponents differ by one, and their mean is exactly 2^{l+1}·I. The terms must be brought to the common exponent
    // by powers of two: exp(Δ of the rounded log scales) puts an error of ≈ ulp(l·ln 2) into the mean, tens of ulps.
    const Index L = 1000;
    std::vector<std::vector<Mat>> tokens{std::vector<Mat>(L, 2.0 * Mat::Identity(2, 2)),
                                         std::vector<Mat>(L, 2.0 * Mat::Identity(2, 2))};
    tokens[1][0] = 6.0 * Mat::Identity(2, 2);
    const std::vector<DepthMetrics> m = composite_metrics(tokens, ProductKind::Prefix);
    for (Index l = 1; l <= L; ++l) {
      const double want = std::ldexp(1.0, static_cast<int>(l + 1));
      CHECK(m[static_cast<std::size_t>(l - 1)].fwd_gain == want);
      CHECK(m[static_cast<std::size_t>(l - 1)].bwd_gain == want);
    }
  }

  TEST_CASE("one token: composite = the token's own metrics, bit for bit") {
    RandomStream rng(8, Purpose::Test, {3});
    std::vector<std::vector<Mat>> tokens(1, std::vector<Mat>(9));
    for (auto& H : tokens[0]) H = positive_matrix(rng, 3);
    for (ProductKind kind : {ProductKind::Prefix, ProductKind::Suffix}) {
      const auto a = composite_metrics(tokens, kind), b = depth_metrics(tokens[0], kind);
      for (std::size_t l = 0; l < a.size(); ++l) {
        CHECK(a[l].log10_sigma_max == b[l].log10_sigma_max);
        CHECK(a[l].log10_fwd_gain == b[l].log10_fwd_gain);
      }
    }
  }

  TEST_CASE("DS tokens: the composite collapse stays resolved at depth 200 (analytic value)") {
    // Token t has H_l = ds2(a_t) for every l: prefix collapse of the mean product at depth l is
    // |mean_t (2a_t − 1)^l| (the centred products are (2a_t−1)^l·(1/2)[[1,−1],[−1,1]], whose σ_max is 1).
    // At depth 200 that is ~1e-20 relative to σ_max = 1: far below the dense floor ≈ 4e-16, so only the
    // centred form resolves it. Tolerance 1e-12 on log10: 200 multiplications of exact-ish factors.
    const std::vector<double> a{0.7, 0.8, 0.9};
    const Index L = 200;
    std::vector<std::vector<Mat>> tokens;
    for (double x : a) tokens.emplace_back(static_cast<std::size_t>(L), ds2(x));
    const auto m = composite_metrics(tokens, ProductKind::Prefix);
    for (Index l : {1, 10, 64, 100, 200}) {
      double want = 0.0;
      for (double x : a) want += std::pow(2 * x - 1, static_cast<double>(l)) / 3.0;
      const DepthMetrics& got = m[static_cast<std::size_t>(l - 1)];
      CHECK(got.collapse_centred);
      MHCLAB_CHECK_NEAR(got.log10_collapse, std::log10(want), 1e-12, 0.0);
      MHCLAB_CHECK_NEAR(got.sigma_max, 1.0, 1e-13, 0.0);
    }
  }
}
