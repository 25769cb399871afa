// analysis/spectrum.hpp: dense per-depth eigenvalues / singular values and their CSV tables.
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <complex>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>
#include <Eigen/SVD>

#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// I + s·G, G i.i.d. N(0, 1) from the test stream.
Mat near_identity(RandomStream& rng, Index n, double s) {
  Mat G(n, n);
  rng.fill_normal(G, s);
  return Mat::Identity(n, n) + G;
}

/// The plain double product of SPEC §1 at depth l (1-based) of `kind`.
Mat plain_product(const std::vector<Mat>& stack, ProductKind kind, std::size_t l) {
  const Index n = stack.front().rows();
  Mat P = Mat::Identity(n, n);
  switch (kind) {
    case ProductKind::Layer: return stack[l - 1];
    case ProductKind::Prefix:  // H_l ··· H_1
      for (std::size_t j = 0; j < l; ++j) P = stack[j] * P;
      return P;
    case ProductKind::Suffix:  // H_L ··· H_l
      for (std::size_t j = l - 1; j < stack.size(); ++j) P = stack[j] * P;
      return P;
  }
  return P;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TEST_SUITE("analysis_spectrum") {

TEST_CASE("spectrum: eigenvalue_order sorts by modulus, then real part, then imaginary part (descending)") {
  using C = std::complex<double>;
  Eigen::VectorXcd v(8);
  v << C(0.5, -0.5), C(-1, 0), C(0, -1), C(kNaN, 0), C(1, 0), C(0, 1), C(2, 0), C(0.5, 0.5);
  const std::vector<Index> order = eigenvalue_order(v);
  const std::vector<Index> want{6, 4, 5, 2, 1, 7, 0, 3};  // 2; 1; +i; −i; −1; 0.5+0.5i; 0.5−0.5i; NaN
  CHECK(order == want);
  // Deterministic for any input order: the reversed input gives the same sorted values.
  Eigen::VectorXcd r = v.reverse();
  const std::vector<Index> order_r = eigenvalue_order(r);
  for (std::size_t j = 0; j + 1 < order.size(); ++j) CHECK(r[order_r[j]] == v[order[j]]);
}

TEST_CASE("spectrum: eigenvalues and singular values of small products equal Eigen on the plain product") {
  // Well-conditioned factors I + 0.3G (n = 5: JacobiSVD path; n = 24: BDCSVD path), L = 4, all kinds.
  // Tolerance 1e-12 relative: M̂ is the plain product scaled by an exact power of two, the solvers are the
  // same, so the only differences are rounding in the solvers (~n·u·κ ≈ 1e-14 for these condition numbers);
  // eigenvalues are compared normwise (1e-12·σ_max: eigenvalue errors are ~κ(λ)·u·‖M‖), singular values
  // relative to themselves (cond(M) ≲ 1e2 here, so u·σ_max ≤ 1e-13·σ_i).
  for (const Index n : {Index(5), Index(24)}) {
    RandomStream rng(11, Purpose::Test, {static_cast<std::uint64_t>(n)});
    std::vector<Mat> stack;
    for (int l = 0; l < 4; ++l) stack.push_back(near_identity(rng, n, 0.3 / std::sqrt(static_cast<double>(n))));
    for (const ProductKind kind : {ProductKind::Layer, ProductKind::Prefix, ProductKind::Suffix}) {
      const auto spectra = depth_spectra(stack, kind);
      REQUIRE(spectra.size() == stack.size());
      for (std::size_t l = 1; l <= stack.size(); ++l) {
        INFO("n = " << n << ", kind = " << product_kind_table.to_string(kind) << ", depth " << l);
        const DepthSpectrum& d = spectra[l - 1];
        CHECK(d.depth == static_cast<Index>(l));
        const Mat M = plain_product(stack, kind, l);
        const Vec sv = Eigen::JacobiSVD<Mat>(M).singularValues();
        const Eigen::VectorXcd ev = Eigen::EigenSolver<Mat>(M, false).eigenvalues();
        REQUIRE(d.singular_values.size() == n);
        REQUIRE(d.eigenvalues.size() == n);
        CHECK(sv[0] / sv[n - 1] < 1e3);  // the case is well-conditioned, as the tolerance assumes
        for (Index i = 0; i < n; ++i) {
          MHCLAB_CHECK_NEAR(d.singular_value(i), sv[i], 0.0, 1e-12);
          MHCLAB_CHECK_NEAR(d.log10_singular_value(i), std::log10(sv[i]), 1e-12, 0.0);
          // nearest reference eigenvalue (robust to the order of near-equal moduli)
          const std::complex<double> z = d.eigenvalue(i);
          double best = kInf;
          for (Index j = 0; j < n; ++j) best = std::min(best, std::abs(z - ev[j]));
          MHCLAB_CHECK_NEAR(best, 0.0, 1e-12 * sv[0], 0.0);
          MHCLAB_CHECK_NEAR(d.log10_abs_eigenvalue(i), std::log10(std::abs(z)), 1e-12, 0.0);
          if (i > 0) CHECK(std::abs(d.eigenvalues[i]) <= std::abs(d.eigenvalues[i - 1]));
          if (i > 0) CHECK(d.singular_values[i] <= d.singular_values[i - 1]);
        }
      }
    }
  }
}

TEST_CASE("spectrum: a conjugate pair is listed +im first; options select the parts") {
  // 2·R(θ) ⊕ (1) ⊕ (−1): eigenvalues 2e^{±iθ}, 1, −1 (exact up to rounding in the rotation entries).
  const double c = std::cos(0.7), s = std::sin(0.7);
  Mat H = Mat::Zero(4, 4);
  H.topLeftCorner(2, 2) << 2 * c, -2 * s, 2 * s, 2 * c;
  H(2, 2) = 1.0;
  H(3, 3) = -1.0;
  const DepthSpectrum d = product_spectrum(ScaledMatrix::from_matrix(H));
  REQUIRE(d.eigenvalues.size() == 4);
  // 4e-16: rounding of the 2×2 block's eigenvalues (entries and modulus are O(1), u = 1.1e-16).
  MHCLAB_CHECK_NEAR(d.eigenvalue(0).real(), 2 * c, 4e-16, 0.0);
  MHCLAB_CHECK_NEAR(d.eigenvalue(0).imag(), 2 * s, 4e-16, 0.0);
  MHCLAB_CHECK_NEAR(d.eigenvalue(1).imag(), -2 * s, 4e-16, 0.0);
  // The Hessenberg/Schur reduction rounds even decoupled 1×1 blocks: same 4e-16 (u times O(1) norms).
  MHCLAB_CHECK_NEAR(d.eigenvalue(2).real(), 1.0, 4e-16, 0.0);
  MHCLAB_CHECK_NEAR(d.eigenvalue(2).imag(), 0.0, 4e-16, 0.0);
  MHCLAB_CHECK_NEAR(d.eigenvalue(3).real(), -1.0, 4e-16, 0.0);
  MHCLAB_CHECK_NEAR(d.eigenvalue(3).imag(), 0.0, 4e-16, 0.0);
  const DepthSpectrum e = product_spectrum(ScaledMatrix::from_matrix(H), {.eigenvalues = false});
  CHECK(e.eigenvalues.size() == 0);
  CHECK(e.singular_values.size() == 4);
  const DepthSpectrum f = product_spectrum(ScaledMatrix::from_matrix(H), {.singular_values = false});
  CHECK(f.eigenvalues.size() == 4);
  CHECK(f.singular_values.size() == 0);
  CHECK(f.resolution_floor() == 0.0);
}

TEST_CASE("spectrum: CSV headers and row format") {
  // H = diag(2, −3): M̂ = H/4, K = 2, so every linear cell is exact (2^2 is applied exactly).
  Mat H = Mat::Zero(2, 2);
  H(0, 0) = 2.0;
  H(1, 1) = -3.0;
  const std::vector<Mat> stack{H, H};
  const std::vector<SpectrumTable> tables{{ProductKind::Layer, depth_spectra(stack, ProductKind::Layer)},
                                          {ProductKind::Suffix, depth_spectra(stack, ProductKind::Suffix)}};
  const auto ev = lines(eigenvalue_csv(tables));
  const auto sv = lines(singular_value_csv(tables));
  CHECK(ev.front() == "depth,kind,index,re,im,abs,log10_abs");
  CHECK(sv.front() == "depth,kind,index,value,log10_value");
  REQUIRE(ev.size() == 1 + 2 * 2 * 2);  // header + (2 kinds × 2 depths × n = 2)
  REQUIRE(sv.size() == 1 + 2 * 2 * 2);
  // Layer, depth 1: eigenvalues −3 (modulus 3 first), 2.
  auto e1 = split(ev[1], ',');
  REQUIRE(e1.size() == 7);
  CHECK(e1[0] == "1");
  CHECK(e1[1] == "layer");
  CHECK(e1[2] == "1");
  CHECK(e1[3] == "-3");
  CHECK(e1[4] == "0");  // never "-0"
  CHECK(e1[5] == "3");
  // log10 cell: %.17g of log10(3/4) + 2·log10(2): 2 roundings of O(1) values → 4e-16 absolute.
  MHCLAB_CHECK_NEAR(std::stod(e1[6]), std::log10(3.0), 4e-16, 0.0);
  CHECK(split(ev[2], ',')[3] == "2");
  // Suffix at depth 1 is H·H = diag(4, 9): rows come after the layer table, depths in stored order (1, 2).
  const auto e5 = split(ev[5], ',');
  CHECK(e5[0] == "1");
  CHECK(e5[1] == "suffix");
  CHECK(e5[3] == "9");
  const auto s1 = split(sv[1], ',');
  REQUIRE(s1.size() == 5);
  CHECK(s1[0] == "1");
  CHECK(s1[1] == "layer");
  CHECK(s1[2] == "1");
  CHECK(s1[3] == "3");
  MHCLAB_CHECK_NEAR(std::stod(s1[4]), std::log10(3.0), 4e-16, 0.0);
  CHECK(split(sv[2], ',')[2] == "2");
  CHECK(split(sv[2], ',')[3] == "2");
  // Empty input: header only.
  CHECK(eigenvalue_csv({}) == "depth,kind,index,re,im,abs,log10_abs\n");
  CHECK(singular_value_csv({}) == "depth,kind,index,value,log10_value\n");
}

TEST_CASE("spectrum: zero product writes 0 and -inf; rank-deficient values are reported") {
  const std::vector<Mat> stack{Mat::Zero(3, 3)};
  const auto d = depth_spectra(stack, ProductKind::Prefix);
  REQUIRE(d.size() == 1);
  CHECK(d[0].exponent == 0);  // M̂ = 0: every hat value is 0
  CHECK(d[0].log10_singular_value(0) == -kInf);
  CHECK(d[0].singular_value(0) == 0.0);
  const auto rows = lines(singular_value_csv({{ProductKind::Prefix, d}}));
  REQUIRE(rows.size() == 4);
  CHECK(rows[1] == "1,prefix,1,0,-inf");
  const auto erows = lines(eigenvalue_csv({{ProductKind::Prefix, d}}));
  CHECK(erows[1] == "1,prefix,1,0,0,0,-inf");
  // n = 17 (BDCSVD's range): exact zeros too, every value.
  const auto d17 = depth_spectra({Mat::Zero(17, 17)}, ProductKind::Prefix);
  CHECK(d17[0].singular_values == Vec::Zero(17));
  CHECK(d17[0].eigenvalues == Eigen::VectorXcd::Zero(17));
}

TEST_CASE("spectrum: 1.1·I for L = 100000 (n = 4): log10 of every value is l·log10 1.1 at every depth") {
  // ScaledMatrix keeps M̂ = 1.1^l/2^K·I with one rounding per step (≤ l·u ≈ 1e-11 relative), so log10 is off by
  // ≤ 5e-12 absolute; 1e-9 relative (the tolerance) is far above that.
  const long L = test::test_size(100000, 10000);
  const std::vector<Mat> stack(static_cast<std::size_t>(L), 1.1 * Mat::Identity(4, 4));
  const auto spectra = depth_spectra(stack, ProductKind::Prefix);
  REQUIRE(spectra.size() == static_cast<std::size_t>(L));
  double worst_sv = 0, worst_ev = 0;
  for (long l = 1; l <= L; ++l) {
    const DepthSpectrum& d = spectra[static_cast<std::size_t>(l - 1)];
    const double want = static_cast<double>(l) * std::log10(1.1);
    for (Index i = 0; i < 4; ++i) {
      worst_sv = std::max(worst_sv, std::fabs(d.log10_singular_value(i) - want) / want);
      worst_ev = std::max(worst_ev, std::fabs(d.log10_abs_eigenvalue(i) - want) / want);
    }
  }
  CHECK(worst_sv <= 1e-9);
  CHECK(worst_ev <= 1e-9);
  // CSV of the deepest product: linear cells from the log form (e+4139 for L = 100000), never inf.
  const double want = static_cast<double>(L) * std::log10(1.1);
  const std::string exponent = "e+" + std::to_string(static_cast<long>(std::floor(want)));
  const std::vector<SpectrumTable> last{{ProductKind::Prefix, {spectra.back()}}};
  const std::string svcsv = singular_value_csv(last), evcsv = eigenvalue_csv(last);
  CHECK(svcsv.find("inf") == std::string::npos);
  CHECK(evcsv.find("inf") == std::string::npos);
  const auto srow = split(lines(svcsv)[1], ',');
  CHECK(srow[0] == std::to_string(L));
  CHECK(ends_with(srow[3], exponent));
  // 1e-9 relative on the log10 cell (as above).
  MHCLAB_CHECK_NEAR(std::stod(srow[4]), want, 0.0, 1e-9);
  const auto erow = split(lines(evcsv)[1], ',');
  CHECK(ends_with(erow[3], exponent));  // re
  CHECK(erow[4] == "0");                // im
  CHECK(ends_with(erow[5], exponent));  // abs
  if (!test::kReduced) CHECK(ends_with(srow[3], "e+4139"));
}

TEST_CASE("spectrum: input errors") {
  CHECK(depth_spectra({}, ProductKind::Prefix).empty());
  CHECK_THROWS_AS((void)depth_spectra({Mat::Identity(3, 4)}, ProductKind::Prefix), InputError);
  CHECK_THROWS_AS((void)depth_spectra({Mat::Identity(3, 3), Mat::Identity(4, 4)}, ProductKind::Suffix),
                  InputError);
  Mat bad = Mat::Identity(2, 2);
  bad(0, 1) = kNaN;
  CHECK_THROWS_AS((void)depth_spectra({bad}, ProductKind::Layer), InputError);
  try {
    (void)depth_spectra({Mat::Identity(3, 3), Mat::Identity(3, 2)}, ProductKind::Prefix);
    FAIL("no exception");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "spectra: H_2 is 3x2; expected 3x3 like H_1");
  }
}

}  // TEST_SUITE
