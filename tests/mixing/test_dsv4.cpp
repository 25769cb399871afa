// DeepSeek-V4's deployed mHC (method dsv4, lib/src/mixing/dsv4.cpp) and the deployed Sinkhorn variants
// (mixing/sinkhorn.hpp: start, eps, eps_placement) against an independent reference written here from the deployed
// kernel's definition, in the checkpoint's [from, to] layout with loops (deepseek-ai/DeepSeek-V4-Flash
// inference/kernel.py, hc_split_sinkhorn_kernel; docs/SPEC_NOTES.md "Sinkhorn as deployed"):
//   comb = softmax over k of L[j, ·], + ε;  comb[·, k] /= (Σ_j comb[j, k] + ε);
//   then (t − 1) times: comb[j, ·] /= (Σ_k comb[j, k] + ε), comb[·, k] /= (Σ_j comb[j, k] + ε);
//   X⁺[k] = Σ_j comb[j, k]·X[j]  ⇒  H (paper orientation, X⁺ = H X) = combᵀ.
//
// Tolerances (u = 2⁻⁵³):
//   dsv4 = reference           1e-15: the same operations; the library shifts each softmax by its column max, the
//                              reference by its row max of L — the same numbers, summed in the same order.
//   paper orientation          X⁺ from the reference block and H·X agree to 1e-14 (n-term sums of entries ≤ 1).
//   rows of H                  |Σ_j H_ij − 1| ≤ (n + 1)·ε: the last step divides by (row sum + ε).
//   softmax_cols, ε = 0 = exp  1e-15: a softmax down the columns is the first column normalisation of the exp start.
//   fp32 emulation             the deployed kernel runs in fp32: H_fp32 within 1e-5 of the fp64 H (Megatron-LM
//                              PR 6172 measured ~1e-5 for the fp32 path), bf16 within 1e-1 of it and > 1e-4 off.
//   VJP = finite differences   central differences, h = 1e-6: 1e-7 absolute (truncation h² ≈ 1e-12 times the
//                              third derivative, round-off u/h ≈ 1e-10 times the entries, both ≪ 1e-7).
#include <doctest/doctest.h>

#include <cmath>

#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using test::max_abs_diff;

/// The deployed comb (layout [from, to]) from logits L[from, to], as the kernel computes it.
Mat deployed_comb(const Mat& L, int iters, double eps) {
  const Index n = L.rows();
  Mat c(n, n);
  for (Index j = 0; j < n; ++j) {
    double mx = L(j, 0);
    for (Index k = 1; k < n; ++k) mx = std::max(mx, L(j, k));
    double s = 0.0;
    for (Index k = 0; k < n; ++k) s += std::exp(L(j, k) - mx);
    for (Index k = 0; k < n; ++k) c(j, k) = std::exp(L(j, k) - mx) / s + eps;
  }
  auto cols = [&] {
    for (Index k = 0; k < n; ++k) {
      double s = 0.0;
      for (Index j = 0; j < n; ++j) s += c(j, k);
      for (Index j = 0; j < n; ++j) c(j, k) /= s + eps;
    }
  };
  auto rows = [&] {
    for (Index j = 0; j < n; ++j) {
      double s = 0.0;
      for (Index k = 0; k < n; ++k) s += c(j, k);
      for (Index k = 0; k < n; ++k) c(j, k) /= s + eps;
    }
  };
  cols();
  for (int t = 1; t < iters; ++t) {
    rows();
    cols();
  }
  return c;
}

Vec flat(const Mat& L) {
  Vec v(L.size());
  for (Index j = 0; j < L.rows(); ++j)
    for (Index k = 0; k < L.cols(); ++k) v[j * L.cols() + k] = L(j, k);
  return v;
}

Mat random_logits(Index n, std::uint64_t seed, double scale) {
  RandomStream rng(seed);
  Mat L(n, n);
  for (Index k = 0; k < L.size(); ++k) L.data()[k] = scale * rng.normal();
  return L;
}
}  // namespace

TEST_SUITE("mixing_dsv4") {
  TEST_CASE("dsv4 is the deployed Sinkhorn of the [from, to] logits, transposed into the paper orientation") {
    for (const Index n : {2, 4, 6})
      for (const double eps : {1e-6, 0.0, 1e-2})
        for (const int iters : {1, 2, 20}) {
          CAPTURE(n);
          CAPTURE(eps);
          CAPTURE(iters);
          const Mat L = random_logits(n, 11 + static_cast<std::uint64_t>(n), 2.0);
          MethodOptions o;
          o.method = MethodId::Dsv4;
          o.n = n;
          o.sinkhorn.iterations = iters;
          o.sinkhorn.eps = eps;
          const MixResult r = make_method(o)->mix(flat(L));
          const Mat comb = deployed_comb(L, iters, eps);
          CHECK(max_abs_diff(r.H, comb.transpose()) <= 1e-15);
          // X⁺[k] = Σ_j comb[j, k]·X[j] is H·X in the paper orientation; a non-symmetric comb makes this bite.
          const Mat X = random_logits(n, 5, 1.0);
          Mat Xplus = Mat::Zero(n, n);
          for (Index k = 0; k < n; ++k)
            for (Index j = 0; j < n; ++j) Xplus.row(k) += comb(j, k) * X.row(j);
          CHECK(max_abs_diff(r.H * X, Xplus) <= 1e-14);
          CHECK(row_error(r.H) <= static_cast<double>(n + 1) * eps + 1e-15);
        }
  }

  TEST_CASE("dsv4 defaults: t = 20, eps = hc_eps = 1e-6, a non-symmetric comb is transposed") {
    MethodOptions o;
    o.method = MethodId::Dsv4;
    o.n = 4;
    const SinkhornOptions preset = with_dsv4_preset(o.sinkhorn);
    CHECK(preset.iterations == 20);
    CHECK(preset.eps_value() == 1e-6);
    CHECK(preset.start == SinkhornStart::SoftmaxCols);
    Mat L = Mat::Zero(4, 4);
    L(0, 1) = 6.0;  // from stream 0 to stream 1
    const Mat H = make_method(o)->mix(flat(L)).H;
    CHECK(H(1, 0) > H(0, 1) + 0.1);  // paper orientation: H[to, from]
    CHECK(max_abs_diff(H, deployed_comb(L, 20, 1e-6).transpose()) <= 1e-15);
  }

  TEST_CASE("softmax start with eps = 0 is the exp start; the variants differ when eps > 0") {
    const Mat Z = random_logits(5, 3, 3.0);
    SinkhornOptions plain;
    SinkhornOptions cols;
    cols.start = SinkhornStart::SoftmaxCols;
    cols.eps = 0.0;
    CHECK(max_abs_diff(sinkhorn(Z, plain).H, sinkhorn(Z, cols).H) <= 1e-15);
    SinkhornOptions rows = cols;
    rows.start = SinkhornStart::SoftmaxRows;  // an extra row step before t (column, row) iterations
    rows.iterations = 200;
    plain.iterations = 200;
    CHECK(max_abs_diff(sinkhorn(Z, plain).H, sinkhorn(Z, rows).H) <= 1e-12);  // both converge
    SinkhornOptions e = cols;
    e.eps = 1e-3;
    for (const EpsPlacement p : {EpsPlacement::Both, EpsPlacement::Denominators, EpsPlacement::AfterStart}) {
      e.eps_placement = p;
      CHECK(max_abs_diff(sinkhorn(Z, e).H, sinkhorn(Z, cols).H) > 1e-5);
    }
    e.eps_placement = EpsPlacement::None;
    CHECK(max_abs_diff(sinkhorn(Z, e).H, sinkhorn(Z, cols).H) == 0.0);
  }

  TEST_CASE("deployed variants refuse the log domain and bad eps") {
    SinkhornOptions o;
    o.domain = SinkhornDomain::Log;
    o.start = SinkhornStart::SoftmaxCols;
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("exp domain only"), InputError);
    o.start = SinkhornStart::Auto;
    o.eps = 1e-6;
    CHECK_THROWS_AS(o.validate(), InputError);
    o.domain = SinkhornDomain::Exp;
    o.eps = -1.0;
    CHECK_THROWS_WITH_AS(o.validate(), doctest::Contains("eps = -1"), InputError);
    MethodOptions m;
    m.method = MethodId::Dsv4;
    m.sinkhorn.domain = SinkhornDomain::Log;  // the preset adds ε = 1e-6: refused
    CHECK_THROWS_AS(m.validate(), InputError);
  }

  TEST_CASE("dsv4 in fp32 and bf16 emulation: the deployed kernel's rounding") {
    const Mat L = random_logits(4, 21, 1.5);
    MethodOptions o;
    o.method = MethodId::Dsv4;
    o.n = 4;
    const Mat H64 = make_method(o)->mix(flat(L)).H;
    o.sinkhorn.precision = Precision::FP32;
    const double e32 = max_abs_diff(make_method(o)->mix(flat(L)).H, H64);
    o.sinkhorn.precision = Precision::BF16;
    o.sinkhorn.accumulate = Accumulate::Same;
    const double e16 = max_abs_diff(make_method(o)->mix(flat(L)).H, H64);
    MESSAGE("dsv4 |H_fp32 - H_fp64| = " << e32 << ", |H_bf16 - H_fp64| = " << e16);
    CHECK(e32 > 0.0);
    CHECK(e32 <= 1e-5);
    CHECK(e16 > 1e-4);
    CHECK(e16 <= 1e-1);
  }

  TEST_CASE("dsv4 VJP = central differences, in the [from, to] layout") {
    const Mat L = random_logits(4, 8, 1.0);
    MethodOptions o;
    o.method = MethodId::Dsv4;
    o.n = 4;
    o.sinkhorn.eps = 1e-2;  // large enough that the ε terms matter in the derivative
    const auto m = make_method(o);
    const Mat dH = random_logits(4, 9, 1.0);
    const Vec g = m->vjp(flat(L), dH);
    const double h = 1e-6;
    for (Index k = 0; k < 16; ++k) {
      Vec a = flat(L), b = flat(L);
      a[k] += h;
      b[k] -= h;
      const double fd = ((m->mix(a).H - m->mix(b).H).cwiseProduct(dH)).sum() / (2 * h);
      MHCLAB_CHECK_NEAR(g[k], fd, 1e-7, 0.0);
    }
  }
}
