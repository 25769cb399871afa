// Tests of the RTBP recursive chart (mixing/transport_chart.hpp; SPEC §2.2; arXiv 2605.21724): reference cases,
// the θ = 0 closed forms, the pinned logit consumption order (even and odd cases), large n, and the inverse's
// error naming a block. Properties shared with tbp (double stochasticity over random θ, identity inits, round
// trips, input errors) run over both charts in test_tbp.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/transport_chart.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using mhclab::test::max_abs_diff;

constexpr double kU = 0x1.0p-53;

std::unique_ptr<Method> make_rtbp_method(Index n) {
  MethodOptions o;
  o.method = MethodId::RTBP;
  o.n = n;
  return make_method(o);
}

double sigmoid(double t) { return 1.0 / (1.0 + std::exp(-t)); }

/// Sum of H[r0 : r0+rows, c0 : c0+cols].
struct Block {
  Index r0, rows, c0, cols;
  double of(const Mat& H) const { return H.block(r0, c0, rows, cols).sum(); }
};

}  // namespace

TEST_SUITE("charts_tbp") {

TEST_CASE("rtbp: reference cases (SPEC §2.2)") {
  int count = 0;
  for (const auto& c : mhclab::test::reference_cases()["cases"]) {
    if (c["method"] != "rtbp") continue;
    const auto n = c["n"].get<Index>();
    const Vec theta = mhclab::test::json_vector(c["theta"]);
    const Mat H_ref = mhclab::test::json_matrix(c["H"]);
    const auto m = make_rtbp_method(n);
    const bool authors = c["options"].contains("init") && c["options"]["init"] == "authors";
    CAPTURE(n);
    CAPTURE(authors);
    Vec th = theta;
    if (authors) {
      th = m->init_params(InitKind::Authors, 0.01);
      REQUIRE(th.size() == theta.size());
      CHECK(max_abs_diff(th, theta) == 0.0);
    }
    const Mat H = mix(*m, th).H;
    const double err = max_abs_diff(H, H_ref);
    CHECK(err <= (authors ? 1e-14 : 1e-12));
    ++count;
  }
  CHECK(count >= 12);
}

TEST_CASE("rtbp: authors init θ = 0 closed forms (J/n for n = 2^k; n = 3; symmetric for every n)") {
  for (Index n : {1, 2, 4, 8, 16, 32, 64}) {
    CAPTURE(n);
    const auto m = make_rtbp_method(n);
    const Mat H = mix(*m, m->init_params(InitKind::Authors, 0.01)).H;
    CHECK(max_abs_diff(H, Mat::Constant(n, n, 1.0 / static_cast<double>(n))) <= 1e-14);
  }
  {
    const auto m = make_rtbp_method(3);
    Mat E(3, 3);
    E << 0.375, 0.375, 0.25, 0.375, 0.375, 0.25, 0.25, 0.25, 0.5;
    CHECK(max_abs_diff(mix(*m, m->init_params(InitKind::Authors, 0.01)).H, E) <= 1e-14);
  }
  // θ = 0 treats rows and columns alike (r = c = 1ₙ), so H(0) is symmetric.
  for (Index n = 1; n <= 17; ++n) {
    CAPTURE(n);
    const auto m = make_rtbp_method(n);
    const Mat H = mix(*m, m->init_params(InitKind::Authors, 0.01)).H;
    CHECK(max_abs_diff(H, H.transpose()) <= 1e-15);
  }
}

TEST_CASE("rtbp: logit consumption order pinned by SPEC §2.2 (odd n = 3, 5; even n = 4)") {
  // What logit k sets, in θ order (X_k = lo_k + (hi_k − lo_k)·σ(θ_k)).
  const std::vector<Block> n3 = {{2, 1, 2, 1}, {0, 1, 2, 1}, {2, 1, 0, 1}, {0, 1, 0, 1}};
  // n = 4: block mass m11, split over A's rows (a), C's rows (γ), A's columns (u), B's columns (s); then
  // the 2×2 blocks A, B, C, D (their own m11 = their top-left entry).
  const std::vector<Block> n4 = {{0, 2, 0, 2}, {0, 1, 0, 2}, {2, 1, 0, 2}, {0, 2, 0, 1}, {0, 2, 2, 1},
                                 {0, 1, 0, 1}, {0, 1, 2, 1}, {2, 1, 0, 1}, {2, 1, 2, 1}};
  // n = 5: H[4,4], the last column (rows 0..2 of 0..3), the last row (columns 0..2), then n = 4 on the rest.
  std::vector<Block> n5 = {{4, 1, 4, 1}, {0, 1, 4, 1}, {1, 1, 4, 1}, {2, 1, 4, 1},
                           {4, 1, 0, 1}, {4, 1, 1, 1}, {4, 1, 2, 1}};
  n5.insert(n5.end(), n4.begin(), n4.end());
  RandomStream rng(3, Purpose::Test, {2});
  for (const auto& [n, sets] : {std::pair{Index(3), n3}, std::pair{Index(4), n4}, std::pair{Index(5), n5}}) {
    CAPTURE(n);
    const Index p = (n - 1) * (n - 1);
    REQUIRE(static_cast<Index>(sets.size()) == p);
    for (int draw = 0; draw < 20; ++draw) {
      Vec theta(p);
      rng.fill_normal(theta, 1.5);
      std::vector<ChartInterval> iv;
      const Mat H = rtbp_chart(theta, n, &iv);
      for (Index k = 0; k < p; ++k) {
        CAPTURE(k);
        const double x = sets[static_cast<std::size_t>(k)].of(H);
        MHCLAB_CHECK_NEAR(x, iv[k].lo + (iv[k].hi - iv[k].lo) * sigmoid(theta[k]), 16 * kU, 0.0);
      }
    }
  }
  // The first logits' intervals from r = c = 1ₙ: odd n: H[n−1, n−1] ∈ [0, 1]; even n: m11 ∈ [0, n/2].
  std::vector<ChartInterval> iv;
  (void)rtbp_chart(Vec::Zero(16), 5, &iv);
  CHECK(iv[0].lo == 0.0);
  CHECK(iv[0].hi == 1.0);
  (void)rtbp_chart(Vec::Zero(25), 6, &iv);
  CHECK(iv[0].lo == 0.0);
  CHECK(iv[0].hi == 3.0);
}

TEST_CASE("rtbp: large n (workspace beyond the stack buffer), odd chains") {
  RandomStream rng(17, Purpose::Test, {3});
  for (Index n : {31, 63, 101, 200}) {
    CAPTURE(n);
    const auto m = make_rtbp_method(n);
    for (int draw = 0; draw < 3; ++draw) {
      Vec theta(m->num_params());
      rng.fill_normal(theta, 3.0);
      const Mat H = mix(*m, theta).H;
      CHECK(H.minCoeff() >= 0.0);
      CHECK((H.rowwise().sum().array() - 1.0).abs().maxCoeff() <= 64.0 * static_cast<double>(n) * kU);
      CHECK((H.colwise().sum().array() - 1.0).abs().maxCoeff() <= 64.0 * static_cast<double>(n) * kU);
    }
    const Vec th = m->init_params(InitKind::Identity, 0.1);
    Mat H0 = Mat::Constant(n, n, 0.1 / static_cast<double>(n));
    H0.diagonal().array() += 0.9;
    CHECK(max_abs_diff(mix(*m, th).H, H0) <= 1e-12);
  }
}

TEST_CASE("rtbp: the inverse chart names the block on its boundary") {
  // Block-diagonal: the top-left 2×2 block carries mass 2 = hi = min(R1, C1).
  Mat H = Mat::Zero(4, 4);
  H.topLeftCorner(2, 2).setConstant(0.5);
  H.bottomRightCorner(2, 2).setConstant(0.5);
  std::string s;
  try {
    (void)rtbp_params_from_matrix(H);
  } catch (const InputError& e) {
    s = e.what();
  }
  MESSAGE(s);
  CHECK(s.find("the sum of H[0:2, 0:2] = 2") != std::string::npos);
  CHECK(s.find("[lo, hi] = [0, 2]") != std::string::npos);
  CHECK(s.find("interior point") != std::string::npos);
}

}  // TEST_SUITE
