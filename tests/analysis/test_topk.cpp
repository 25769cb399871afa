// analysis/topk.hpp: matrix-free top-k eigenvalues (Spectra) / singular values (subspace iteration) of the
// end-to-end product.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/analysis/topk.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Mat gaussian(RandomStream& rng, Index n, double s = 1.0) {
  Mat G(n, n);
  rng.fill_normal(G, s);
  return G;
}

/// Random orthogonal Q (Householder QR of a Gaussian matrix).
Mat random_orthogonal(RandomStream& rng, Index n) {
  return Eigen::HouseholderQR<Mat>(gaussian(rng, n)).householderQ() * Mat::Identity(n, n);
}

/// H_L ··· H_1 formed densely (tests only: the library never forms it on the matrix-free path).
Mat dense_product(const std::vector<Mat>& stack) {
  Mat M = Mat::Identity(stack.front().rows(), stack.front().rows());
  for (const Mat& H : stack) M = H * M;
  return M;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string cell;
  while (std::getline(in, cell, ',')) out.push_back(cell);
  return out;
}

std::string status(SolveStatus s) { return std::string(solve_status_table.to_string(s)); }

}  // namespace

TEST_SUITE("analysis_topk") {

TEST_CASE("topk: status strings (shared with the propagation Jacobian)") {
  CHECK(solve_status_table.names() == "converged|not_converging|numerical_issue|dense|zero_operator|not_computed");
}

TEST_CASE("topk: L = 4 layers I + 0.1·G against dense solvers (n = 64, 128, 256; k = 6)") {
  // Tolerances (the depth-analysis requirements). Why they hold: Spectra converges to tol = 1e-12 relative to |λ̂| (≤ ‖M̂‖); the
  // Ritz residual then is ≲ 1e-12·‖M‖₂, and rounding in the 4 factor applications adds ~n·u·‖M‖. So
  // ‖Mv − λv‖ ≤ 1e-10·‖M‖₂ leaves a factor ~100. Singular values: the Ritz residuals pass 1e-12·σ̂_1, so σ̂ is within
  // 1e-12·σ_1 (top σ's are ≥ 0.3·σ_1 here), below 1e-10·σ_1. Eigenvalue moduli against
  // Eigen::EigenSolver: both are accurate to ~κ(λ)·u·‖M‖ with modest eigenvalue condition numbers.
  std::vector<Index> sizes{64, 128};
  if (test::test_size(1, 0) == 1) sizes.push_back(256);  // n = 256 skipped in reduced (sanitizer) builds
  for (const Index n : sizes) {
    INFO("n = " << n);
    RandomStream rng(2024, Purpose::Test, {static_cast<std::uint64_t>(n)});
    std::vector<Mat> stack;
    for (int l = 0; l < 4; ++l) stack.push_back(Mat::Identity(n, n) + gaussian(rng, n, 0.1));
    TopkOptions opt;
    opt.k = 6;
    opt.vectors = true;
    const TopkResult r = topk_spectrum(stack, opt);
    CHECK(status(r.eigen.status) == "converged");
    CHECK(status(r.singular.status) == "converged");
    CHECK(r.n == n);
    CHECK(r.depth == 4);
    CHECK(r.spectrum.depth == 4);
    CHECK(r.eigen.converged == 6);
    CHECK(r.singular.converged == 6);
    CHECK(r.eigen.applications > 0);
    CHECK(r.singular.applications > 0);
    CHECK(r.eigen.iterations >= 1);
    REQUIRE(r.spectrum.eigenvalues.size() == 6);
    REQUIRE(r.spectrum.singular_values.size() == 6);
    REQUIRE(r.eigenvectors.cols() == 6);
    REQUIRE(r.right_singular_vectors.cols() == 6);

    const Mat M = dense_product(stack);
    const Vec sv = Eigen::BDCSVD<Mat>(M).singularValues();
    const double norm2 = sv[0];
    Eigen::VectorXcd ev = Eigen::EigenSolver<Mat>(M, false).eigenvalues();
    Vec moduli = ev.cwiseAbs();
    std::sort(moduli.data(), moduli.data() + moduli.size(), [](double a, double b) { return a > b; });
    for (Index i = 0; i < 6; ++i) {
      INFO("i = " << i);
      const std::complex<double> lambda = r.spectrum.eigenvalue(i);
      const Eigen::VectorXcd v = r.eigenvectors.col(i);
      MHCLAB_CHECK_NEAR(v.norm(), 1.0, 1e-12, 0.0);  // unit vectors: 1e-12 ≫ rounding of a normalisation
      const double residual = (M.cast<std::complex<double>>() * v - lambda * v).norm();
      CHECK(residual <= 1e-10 * norm2);
      MHCLAB_CHECK_NEAR(std::abs(lambda), moduli[i], 1e-10 * norm2, 0.0);
      MHCLAB_CHECK_NEAR(r.spectrum.singular_value(i), sv[i], 1e-10 * norm2, 0.0);
      // right singular vectors: ‖M v_i‖ = σ_i (same tolerance, same reason)
      MHCLAB_CHECK_NEAR((M * r.right_singular_vectors.col(i)).norm(), sv[i], 1e-10 * norm2, 0.0);
      MHCLAB_CHECK_NEAR(r.spectrum.log10_singular_value(i), std::log10(sv[i]), 1e-10, 0.0);
      if (i > 0) CHECK(std::abs(r.spectrum.eigenvalues[i]) <= std::abs(r.spectrum.eigenvalues[i - 1]));
    }
  }
}

TEST_CASE("topk: deep doubly stochastic stack (L = 2000, n = 64): σ_1 = λ_1 = 1, converged") {
  // Random positive DS factors: Sinkhorn of exp(G) run to its fixed point (margins 1 to ≤ 1e-14; ~14
  // iterations each). With H1 = 1 and ‖H‖₂ ≤ 1 the product has M1 = 1 and ‖M‖₂ = 1, so σ_1 = λ_1 = 1.
  // Tolerance 1e-10 (required): margin errors δ ≤ 1e-14 per factor change λ_1 and σ_1 by at most ~L·δ =
  // 2e-11 (observed 2e-14), and Spectra's tol adds 1e-12 relative. k = 6 is asked for, but after 2000 contractions every other value of the
  // product is rounding noise (λ̂ ~1e-32, σ̂ ≲ 1e-16): only σ_1, λ_1 and the status
  // are asserted.
  const Index n = 64;
  const long L = test::test_size(2000, 200);
  RandomStream rng(77, Purpose::Test, {64});
  SinkhornOptions so;
  so.iterations = 200;  // bounds the cost; the margins are REQUIREd below
  so.tol = 1e-15;
  std::vector<Mat> stack;
  stack.reserve(static_cast<std::size_t>(L));
  for (long l = 0; l < L; ++l) {
    const SinkhornResult s = sinkhorn(gaussian(rng, n), so);
    REQUIRE(s.H.rows() == n);
    REQUIRE(s.summary.row_err <= 1e-14);
    REQUIRE(s.summary.col_err <= 1e-14);
    stack.push_back(s.H);
  }
  TopkOptions opt;
  opt.k = 6;
  const TopkResult r = topk_spectrum(stack, opt);
  CHECK(status(r.eigen.status) == "converged");
  CHECK(status(r.singular.status) == "converged");
  REQUIRE(r.spectrum.eigenvalues.size() >= 1);
  REQUIRE(r.spectrum.singular_values.size() >= 1);
  MHCLAB_CHECK_NEAR(r.spectrum.singular_value(0), 1.0, 1e-10, 0.0);
  MHCLAB_CHECK_NEAR(r.spectrum.eigenvalue(0).real(), 1.0, 1e-10, 0.0);
  MHCLAB_CHECK_NEAR(r.spectrum.eigenvalue(0).imag(), 0.0, 1e-10, 0.0);
}

TEST_CASE("topk: a shallow product of n = 64 DS matrices (numerically low rank): singular values equal a dense SVD") {
  // Ten mhc-like factors (Sinkhorn of exp(G), 20 iterations) contract everything but the mean direction by ~1e-8:
  // σ_1 = 1 and σ_2 ≈ 1e-8. Spectra 1.0.1's SymEigsSolver on M̂ᵀM̂ returned σ_1 ≈ 10^14.8 here (yixuan/spectra
  // issue 159); the subspace iteration must agree with JacobiSVD of the dense product to 1e-12·σ_1 (the residual
  // tolerance 1e-12 plus the dense product's round-off ≈ L·n·u).
  const Index n = 64;
  RandomStream rng(5, Purpose::Test, {65});
  SinkhornOptions so;
  so.iterations = 20;
  std::vector<Mat> stack;
  for (int l = 0; l < 10; ++l) stack.push_back(sinkhorn(gaussian(rng, n), so).H);
  TopkOptions opt;
  opt.k = 3;
  opt.eigenvalues = false;
  const TopkResult r = topk_spectrum(stack, opt);
  REQUIRE(status(r.singular.status) == "converged");
  const Vec ref = Eigen::JacobiSVD<Mat>(dense_product(stack)).singularValues();
  REQUIRE(r.spectrum.singular_values.size() == 3);
  CHECK(ref[1] < 1e-6 * ref[0]);
  for (Index i = 0; i < 3; ++i) MHCLAB_CHECK_NEAR(r.spectrum.singular_value(i), ref[i], 1e-12 * ref[0], 0.0);
}

TEST_CASE("topk: deep scaled stack 1.5·Q_l (L = 5000, n = 16): log10 σ = L·log10 1.5, printed from the log form") {
  // Every singular value and eigenvalue modulus of Π 1.5·Q_l is 1.5^L = 10^880.4 (beyond the double range).
  // Tolerance 1e-10 relative on log10 (required): the normalised operator applies 5000 orthogonal factors
  // with relative rounding ≲ L·n·u ≈ 1e-11 of σ̂, i.e. ~5e-12 absolute in log10 ≈ 6e-15 relative; Σ e_l is exact.
  const Index n = 16;
  const long L = test::test_size(5000, 1000);
  RandomStream rng(5, Purpose::Test, {16});
  std::vector<Mat> stack;
  stack.reserve(static_cast<std::size_t>(L));
  for (long l = 0; l < L; ++l) stack.push_back(1.5 * random_orthogonal(rng, n));
  TopkOptions opt;
  opt.k = 4;
  const TopkResult r = topk_spectrum(stack, opt);
  CHECK(status(r.eigen.status) == "converged");
  CHECK(status(r.singular.status) == "converged");
  REQUIRE(r.spectrum.singular_values.size() == 4);
  REQUIRE(r.spectrum.eigenvalues.size() == 4);
  const double want = static_cast<double>(L) * std::log10(1.5);
  for (Index i = 0; i < 4; ++i) {
    MHCLAB_CHECK_NEAR(r.spectrum.log10_singular_value(i), want, 0.0, 1e-10);
    MHCLAB_CHECK_NEAR(r.spectrum.log10_abs_eigenvalue(i), want, 0.0, 1e-10);
  }
  if (!test::kReduced) CHECK(std::isinf(r.spectrum.singular_value(0)));  // the double is beyond range …
  const std::vector<SpectrumTable> t{{ProductKind::Prefix, {r.spectrum}}};
  const std::string svcsv = singular_value_csv(t), evcsv = eigenvalue_csv(t);
  CHECK(svcsv.find("inf") == std::string::npos);  // … the CSV cell is the log form, never inf
  CHECK(evcsv.find("inf") == std::string::npos);
  const auto row = split(lines(svcsv)[1]);
  REQUIRE(row.size() == 5);
  CHECK(row[0] == std::to_string(L));
  CHECK(row[1] == "prefix");
  CHECK(row[2] == "1");
  const std::string exponent = "e+" + std::to_string(static_cast<long>(std::floor(want)));
  CHECK(row[3].size() > exponent.size());
  CHECK(row[3].compare(row[3].size() - exponent.size(), exponent.size(), exponent) == 0);
  MHCLAB_CHECK_NEAR(std::stod(row[4]), want, 0.0, 1e-10);  // as above
  if (!test::kReduced) CHECK(row[3].find("e+880") != std::string::npos);
}

TEST_CASE("topk: factors beyond 2^±500 (1e±200·Q) are pre-scaled; the log scale is exact") {
  // Π 1e200·Q_l over 10 layers = 1e2000·(orthogonal): every σ = 1e2000; with 1e-200 it is 1e-2000.
  // Tolerance 1e-12 relative on log10: σ̂ is an orthogonal product's norm (rounding ~10·n·u), exponents exact.
  const Index n = 8;
  RandomStream rng(9, Purpose::Test, {8});
  for (const double c : {1e200, 1e-200}) {
    std::vector<Mat> stack;
    for (int l = 0; l < 10; ++l) stack.push_back(c * random_orthogonal(rng, n));
    TopkOptions opt;
    opt.k = 3;
    const TopkResult r = topk_spectrum(stack, opt);
    CHECK(status(r.singular.status) == "converged");
    CHECK(status(r.eigen.status) == "converged");
    const double want = 10.0 * std::log10(c);
    for (Index i = 0; i < 3; ++i) {
      MHCLAB_CHECK_NEAR(r.spectrum.log10_singular_value(i), want, 0.0, 1e-12);
      MHCLAB_CHECK_NEAR(r.spectrum.log10_abs_eigenvalue(i), want, 0.0, 1e-12);
    }
  }
}

TEST_CASE("topk: the product chain applies Π H_l/2^{k_l} with O(1) norm") {
  // 1e-13 normwise: 6 factor applications of O(1) matrices, n = 10 (rounding ~6·n·u ≈ 1e-14).
  const Index n = 10;
  RandomStream rng(3, Purpose::Test, {10});
  std::vector<Mat> stack;
  for (int l = 0; l < 6; ++l) stack.push_back(3.0 * (Mat::Identity(n, n) + gaussian(rng, n, 0.2)));
  const StackFactors factors(stack);
  const NormalisedChain op(factors, product_probe(n));
  CHECK(op.rows() == n);
  CHECK(op.cols() == n);
  REQUIRE(op.exponents().size() == 6);
  std::int64_t sum = 0;
  for (const long e : op.exponents()) sum += e;
  CHECK(sum == op.exponent_sum());
  const Mat Mhat = dense_product(stack) * std::ldexp(1.0, static_cast<int>(-op.exponent_sum()));
  Mat A(n, n), At(n, n);
  for (Index j = 0; j < n; ++j) {
    const Vec e = Vec::Unit(n, j);
    op.perform_op(e.data(), A.col(j).data());
    op.perform_transpose(e.data(), At.col(j).data());
  }
  CHECK(op.applications() == 2 * n);
  const double s1 = Eigen::JacobiSVD<Mat>(Mhat).singularValues()[0];
  CHECK(test::max_abs_diff(A, Mhat) <= 1e-13 * s1);
  CHECK(test::max_abs_diff(At, Mhat.transpose()) <= 1e-13 * s1);
  // ‖M̂‖₂ ≥ ‖M̂x̂_0‖₂/‖x̂_0‖₂ ≥ (1/2)/√n by construction (‖M̂x̂_0‖₂ ≥ 1/2; x̂_0 in max-norm normal form, ‖x̂_0‖₂ < √n)
  CHECK(s1 >= 0.5 / std::sqrt(static_cast<double>(n)));
  CHECK(s1 <= 2.0 * std::sqrt(static_cast<double>(n)));  // O(1): x_0 is generic for this stack
}

TEST_CASE("topk: small n falls back to the dense solver (status dense) and agrees with it") {
  // n = 4: eigenvalues need k ≤ n−2 = 2 for Spectra, singular values k ≤ 3 (dense at k = n). Factors 10·(I + 0.3G), L = 50:
  // the product (~1e50) is still a double, so the dense reference is the plain product. Tolerance 1e-10
  // relative to σ_1 (rounding of 50 products ~50·n·u plus the solvers' tol 1e-12).
  const Index n = 4;
  RandomStream rng(31, Purpose::Test, {4});
  std::vector<Mat> stack;
  for (int l = 0; l < 50; ++l) stack.push_back(10.0 * (Mat::Identity(n, n) + gaussian(rng, n, 0.3)));
  const Mat M = dense_product(stack);
  const Vec sv = Eigen::JacobiSVD<Mat>(M).singularValues();
  Vec moduli = Eigen::EigenSolver<Mat>(M, false).eigenvalues().cwiseAbs();
  std::sort(moduli.data(), moduli.data() + n, [](double a, double b) { return a > b; });
  for (const Index k : {Index(2), Index(3), Index(4)}) {
    INFO("k = " << k);
    TopkOptions opt;
    opt.k = k;
    const TopkResult r = topk_spectrum(stack, opt);
    CHECK(status(r.eigen.status) == (k <= 2 ? "converged" : "dense"));
    CHECK(status(r.singular.status) == (k <= 3 ? "converged" : "dense"));
    if (k > 2) CHECK(r.eigen.applications == 0);
    REQUIRE(r.spectrum.eigenvalues.size() == k);
    REQUIRE(r.spectrum.singular_values.size() == k);
    // For k = 3 the dense eigenvalues were re-expressed in the operator's scale: this checks that shift.
    for (Index i = 0; i < k; ++i) {
      MHCLAB_CHECK_NEAR(r.spectrum.singular_value(i), sv[i], 1e-10 * sv[0], 0.0);
      MHCLAB_CHECK_NEAR(std::abs(r.spectrum.eigenvalue(i)), moduli[i], 1e-10 * sv[0], 0.0);
    }
  }
}

TEST_CASE("topk: a zero factor gives the zero product (dense, zeros, -inf)") {
  std::vector<Mat> stack{Mat::Identity(5, 5), Mat::Zero(5, 5), Mat::Identity(5, 5)};
  TopkOptions opt;
  opt.k = 2;
  const TopkResult r = topk_spectrum(stack, opt);
  CHECK(status(r.eigen.status) == "dense");
  CHECK(status(r.singular.status) == "dense");
  CHECK(r.spectrum.singular_value(0) == 0.0);
  CHECK(r.spectrum.log10_singular_value(0) == -kInf);
  CHECK(lines(singular_value_csv({{ProductKind::Prefix, {r.spectrum}}}))[1] == "3,prefix,1,0,-inf");
}

TEST_CASE("topk: only the requested parts are computed") {
  RandomStream rng(1, Purpose::Test, {12});
  std::vector<Mat> stack{Mat::Identity(12, 12) + gaussian(rng, 12, 0.1)};
  TopkOptions opt;
  opt.k = 2;
  opt.singular_values = false;
  const TopkResult r = topk_spectrum(stack, opt);
  CHECK(status(r.singular.status) == "not_computed");
  CHECK(r.spectrum.singular_values.size() == 0);
  CHECK(r.singular.applications == 0);
  CHECK(status(r.eigen.status) == "converged");
  CHECK(r.spectrum.eigenvalues.size() == 2);
}

TEST_CASE("topk: input errors") {
  const std::vector<Mat> stack(3, Mat::Identity(8, 8));
  auto message = [&](const std::vector<Mat>& s, const TopkOptions& o) -> std::string {
    try {
      (void)topk_spectrum(s, o);
    } catch (const InputError& e) {
      return e.what();
    }
    return "no InputError";
  };
  TopkOptions opt;
  opt.k = 0;
  CHECK(message(stack, opt) == "topk.k = 0; must satisfy 1 ≤ k ≤ n = 8");
  opt.k = 9;
  CHECK(message(stack, opt).find("topk.k = ") == 0);
  opt.k = -3;
  CHECK(message(stack, opt).find("topk.k = ") == 0);
  opt.k = 2;
  opt.ncv = 3;  // < k + 2
  CHECK(message(stack, opt).find("topk.ncv = 3") != std::string::npos);
  opt.ncv = 9;  // > n
  CHECK(message(stack, opt).find("topk.ncv = 9") != std::string::npos);
  opt.ncv = 0;
  opt.max_iter = 0;
  CHECK(message(stack, opt).find("topk.max_iter = 0") != std::string::npos);
  opt.max_iter = 10;
  opt.tol = 0.0;
  CHECK(message(stack, opt).find("topk.tol") != std::string::npos);
  opt.tol = 1e-12;
  CHECK(message({}, opt).find("empty") != std::string::npos);
  CHECK(message({Mat::Identity(8, 7)}, opt) == "top-k: H_1 is 8x7; expected 8x8 like H_1");
  CHECK(message({Mat::Identity(8, 8), Mat::Identity(6, 6)}, opt) == "top-k: H_2 is 6x6; expected 8x8 like H_1");
  CHECK_THROWS_AS((void)StackFactors(std::vector<Mat>{}), InputError);
  CHECK(opt.ncv_for(8) == 8);      // min(n, max(2k+1, 20))
  CHECK(opt.ncv_for(100) == 20);
  opt.k = 15;
  CHECK(opt.ncv_for(100) == 31);
}

}  // TEST_SUITE
