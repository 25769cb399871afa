// The 2026 zoo (go-mhc, circulant, cayley, shc, isohc; their files under lib/src/mixing/): each method's H against
// an independent, straightforward implementation written here from its definition (explicit Eigen inverse() and
// loops, NOT the library's cayley_transform helpers, which the methods share), plus the properties each family
// is known for. Everything in the paper orientation (H[i, j]: weight from stream j into stream i).
//
// Tolerances (u = 2⁻⁵³ ≈ 1.1e-16; every measured worst is printed by a MESSAGE):
//   circulant = reference        8·n·u: the library's softmax shifts by max z before exp, the reference does not;
//                                either is a few u relative per weight plus the n-term normaliser.
//   circulant eigenvalues = DFT  1e-12 as multisets (each DFT value matched to the nearest unused eigenvalue): H is
//                                normal (circulant), so its eigenvalues are perfectly conditioned and a backward
//                                stable eigensolver moves them by ≲ n·u·‖H‖₂ = n·u.
//   product of 64 circulants     circulant to 1e-12: 64 products of n-term dot products with entries in [0, 1]
//                                accumulate ≲ 64·n·u ≈ 6e-14.
//   leaky product bound          σ_min(Π H_l) ≥ (1 − β/L)^L − 1e-12 (Theorem 3 of the C-mHC paper): the SVD of the
//                                4×4 product is accurate to ~n·u·σ_max ≤ n·u absolutely, the product to 64·n·u.
//                                Tightness: w = e₂ (n = 4) puts an eigenvalue at exactly 1 − 2γ, where the bound is
//                                attained to 1e-10 relative (softmax of z = 40·e₂ leaves ~3e^{−40} ≈ 1e-17 off e₂).
//   go-mhc = reference           1e-12: the library solves I − X by partial-pivot LU, the reference takes
//                                (I − X).inverse(); both are backward stable, so U differs by ≲ m·u·cond(I − X) with
//                                cond₂(I − X) ≤ 1 + ‖X‖₂ (≲ 15 for θ ~ N(0, 1), m ≤ 15), and H holds squares of U.
//   cayley exact = reference     1e-12, the same argument with B = (α/2)(Θ − Θᵀ); orthogonality ≤ 16·n·u·(1 + ‖B‖₂)
//                                (test_method_contract.cpp's bound) and det H = 1 within 1e-12 (an LU determinant of
//                                an orthogonal matrix, |det| = 1, relative error ~n·u·cond = n·u).
//   cayley k-step = loop         1e-13·max(1, max|Y|): the same recurrence in the same order (α·A = 2·(α/2)·A
//                                exactly, scaling by 2 is exact); only Eigen's product kernels may round differently.
//   cayley k-step convergence    for ‖B‖₂ = α‖A‖₂/2 ≤ 0.2 the error E_k = Y_k − C obeys E_{k+1} = B·E_k exactly (C is
//                                the fixed point), so ‖E_{k+1}‖₂ ≤ ‖B‖₂·‖E_k‖₂ + 1e-15 (round-off of one step:
//                                ~n·u), and E_k strictly decreases until it reaches round-off (1e-14).
//   shc = reference              1e-13: two Cayley factors from inverse() vs LU (A_U entries are tanh ∈ (−1, 1), so
//                                ‖A_U‖₂ ≤ m − 1 and cond ≤ m), then products with B of norm 1.
//   shc properties               H1 = 1, 1ᵀH = 1ᵀ within 8·n²·u and ‖H‖₂ ≤ 1 + 8·n²·u (test_method_contract.cpp's
//                                bounds); the authors' init (u = v = 0, x = 4) is J/n + tanh(4)(I − J/n) within 8·n·u.
//   isohc = reference            1e-12 as go-mhc; orthogonal within 16·(n−1)·u·(1 + ‖A‖₂); mean preserving within
//                                8·n²·u; det H = 1 within 1e-12.
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <vector>

#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using test::max_abs_diff;

constexpr double kU = 0x1.0p-53;
constexpr std::uint64_t kSeed = 2026;

Vec normal_vec(RandomStream& rng, Index p, double scale = 1.0) {
  Vec v(p);
  rng.fill_normal(v, scale);
  return v;
}

/// θ (row-major) as an r×c matrix.
Mat as_matrix(const Vec& theta, Index r, Index c) {
  REQUIRE(theta.size() == r * c);
  Mat M(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) M(i, j) = theta[i * c + j];
  return M;
}

Mat library_H(const MethodOptions& o, const Vec& theta) {
  const MixResult r = make_method(o)->mix(theta);
  REQUIRE(r.H.rows() == o.n);
  return r.H;
}

/// The Cayley transform as the papers write it, with an explicit inverse: (I − A)⁻¹(I + A).
Mat cayley_ref(const Mat& A) {
  const Mat I = Mat::Identity(A.rows(), A.cols());
  return (I - A).inverse() * (I + A);
}

/// The Helmert basis as the sHC authors build it (shc.py, Uz): column i − 1 (i = 1..n−1) holds 1/√(i(i+1)) in
/// rows 0..i−1 and −i/√(i(i+1)) in row i.
Mat helmert_ref(Index n) {
  Mat B = Mat::Zero(n, n - 1);
  for (Index i = 1; i < n; ++i) {
    const double val = 1.0 / std::sqrt(static_cast<double>(i * (i + 1)));
    for (Index r = 0; r < i; ++r) B(r, i - 1) = val;
    B(i, i - 1) = -static_cast<double>(i) * val;
  }
  return B;
}

double spectral_norm(const Mat& A) { return A.size() == 0 ? 0.0 : Eigen::JacobiSVD<Mat>(A).singularValues()(0); }
double sigma_min(const Mat& A) {
  const Vec s = Eigen::JacobiSVD<Mat>(A).singularValues();
  return s(s.size() - 1);
}
double orthogonality_error(const Mat& H) {
  return max_abs_diff(H.transpose() * H, Mat::Identity(H.rows(), H.cols()));
}
double margin_error(const Mat& H) { return std::max(row_error(H), col_error(H)); }

// ---- circulant ---------------------------------------------------------------------------------------------------
/// c = (1−γ)e₀ + γ·softmax(z), softmax without a max shift (|z| stays small here).
Vec circulant_c(const Vec& z, double gamma) {
  Vec w = z.array().exp().matrix();
  w /= w.sum();
  Vec c = gamma * w;
  c[0] += 1.0 - gamma;
  return c;
}
Mat circulant_ref(const Vec& c) {
  const Index n = c.size();
  Mat H(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) H(i, j) = c[((j - i) % n + n) % n];
  return H;
}
/// max_ij |P[i, j] − P[0, (j − i) mod n]|: 0 for a circulant.
double circulant_defect(const Mat& P) {
  const Index n = P.rows();
  double e = 0.0;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) e = std::max(e, std::fabs(P(i, j) - P(0, ((j - i) % n + n) % n)));
  return e;
}
MethodOptions circulant_options(Index n, double gamma) {
  MethodOptions o;
  o.method = MethodId::Circulant;
  o.n = n;
  o.gamma = gamma;
  return o;
}

// ---- go-mhc ------------------------------------------------------------------------------------------------------
Mat go_mhc_ref(const Vec& theta, Index n, Index s) {
  const Index m = n * s;
  const Mat Theta = as_matrix(theta, m, m);
  const Mat U = cayley_ref(Theta - Theta.transpose());
  Mat H = Mat::Zero(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      double sum = 0.0;
      for (Index k = 0; k < s; ++k)
        for (Index l = 0; l < s; ++l) sum += U(i * s + k, j * s + l) * U(i * s + k, j * s + l);
      H(i, j) = sum / static_cast<double>(s);
    }
  return H;
}

// ---- shc ---------------------------------------------------------------------------------------------------------
/// The skew matrix whose strict upper triangle, row-major (torch.triu_indices(m, m, 1)), is tanh(t[offset + e]).
Mat shc_skew(const Vec& theta, Index offset, Index m) {
  Mat A = Mat::Zero(m, m);
  Index e = offset;
  for (Index a = 0; a < m; ++a)
    for (Index b = a + 1; b < m; ++b, ++e) {
      A(a, b) = std::tanh(theta[e]);
      A(b, a) = -A(a, b);
    }
  return A;
}
/// The authors' H_code (shc.py width_connection) in their [from, to] layout; mhclab returns its transpose.
Mat shc_code_ref(const Vec& theta, Index n) {
  const Index m = n - 1, k = m * (m - 1) / 2;
  REQUIRE(theta.size() == 2 * k + m);
  const Mat Im = Mat::Identity(m, m);
  const Mat Au = shc_skew(theta, 0, m), Av = shc_skew(theta, k, m);
  const Mat U = (Im + Au).inverse() * (Im - Au), V = (Im + Av).inverse() * (Im - Av);  // torch.linalg.solve(I + A, I − A)
  Vec sigma(m);
  for (Index a = 0; a < m; ++a) sigma[a] = std::tanh(theta[2 * k + a]);
  const Mat E = U * sigma.asDiagonal() * V.transpose();
  const Mat B = helmert_ref(n);
  return Mat::Constant(n, n, 1.0 / static_cast<double>(n)) + B * E * B.transpose();
}

// ---- isohc -------------------------------------------------------------------------------------------------------
Mat isohc_ref(const Vec& theta, Index n) {
  const Index m = n - 1;
  const Mat Theta = as_matrix(theta, m, m);
  const Mat R = cayley_ref(Theta - Theta.transpose());
  const Mat B = helmert_ref(n);
  return Mat::Constant(n, n, 1.0 / static_cast<double>(n)) + B * R * B.transpose();
}

}  // namespace

TEST_SUITE("zoo") {
  TEST_CASE("circulant: H[i, j] = c[(j − i) mod n], c = (1−γ)e₀ + γ·softmax(z); eigenvalues are the DFT of c") {
    RandomStream rng(kSeed, Purpose::Test, {1});
    double worst_ref = 0.0, worst_eig = 0.0;
    for (const double gamma : {1.0, 1.0 / 64.0})
      for (const Index n : {1, 2, 3, 4, 5, 8})
        for (int d = 0; d < 3; ++d) {
          const Vec z = normal_vec(rng, n, 2.0);
          INFO("γ = " << gamma << " n = " << n << " draw " << d);
          const Vec c = circulant_c(z, gamma);
          const Mat H = library_H(circulant_options(n, gamma), z);
          const double e = max_abs_diff(H, circulant_ref(c));
          INFO("max|H − reference| = " << e);
          CHECK(e <= 8.0 * static_cast<double>(n) * kU);
          worst_ref = std::max(worst_ref, e);
          // λ_k = Σ_d c_d ω^{dk}, ω = e^{2πi/n}, against the eigensolver's values as multisets.
          const Eigen::VectorXcd eig = Eigen::EigenSolver<Mat>(H, false).eigenvalues();
          REQUIRE(eig.size() == n);
          std::vector<bool> used(static_cast<std::size_t>(n), false);
          double eig_err = 0.0;
          for (Index k = 0; k < n; ++k) {
            std::complex<double> lambda = 0.0;
            for (Index dd = 0; dd < n; ++dd)
              lambda += c[dd] * std::polar(1.0, 2.0 * std::numbers::pi * static_cast<double>(dd * k) / static_cast<double>(n));
            Index best = -1;
            double best_dist = 0.0;
            for (Index q = 0; q < n; ++q) {
              if (used[static_cast<std::size_t>(q)]) continue;
              const double dist = std::abs(eig[q] - lambda);
              if (best < 0 || dist < best_dist) {
                best = q;
                best_dist = dist;
              }
            }
            REQUIRE(best >= 0);
            used[static_cast<std::size_t>(best)] = true;
            eig_err = std::max(eig_err, best_dist);
          }
          INFO("max |λ_k − DFT_k| = " << eig_err);
          CHECK(eig_err <= 1e-12);
          worst_eig = std::max(worst_eig, eig_err);
        }
    MESSAGE("circulant: worst max|H − reference| = " << worst_ref << "; worst eigenvalue vs DFT " << worst_eig);
  }

  TEST_CASE("circulant: a product of 64 circulants is circulant (and doubly stochastic)") {
    RandomStream rng(kSeed, Purpose::Test, {2});
    double worst = 0.0;
    for (const double gamma : {1.0, 1.0 / 64.0})
      for (const Index n : {2, 3, 4, 5, 8}) {
        const auto m = make_method(circulant_options(n, gamma));
        Mat P = Mat::Identity(n, n);
        for (int l = 0; l < 64; ++l) P = m->mix(normal_vec(rng, n, 2.0)).H * P;
        INFO("γ = " << gamma << " n = " << n);
        const double defect = circulant_defect(P);
        INFO("circulant defect " << defect << ", margin error " << margin_error(P));
        CHECK(defect <= 1e-12);
        CHECK(margin_error(P) <= 1e-12);
        CHECK(P.minCoeff() >= 0.0);
        worst = std::max(worst, defect);
      }
    MESSAGE("circulant: worst circulant defect of a 64-fold product " << worst);
  }

  TEST_CASE("circulant: leaky schedule γ = β/(2L) keeps σ_min(Π H_l) ≥ (1 − β/L)^L (C-mHC Theorem 3)") {
    const double beta = 2.0;
    const int L = 64;
    const Index n = 4;
    const double gamma = beta / (2.0 * L);
    REQUIRE(gamma == 0.015625);
    const double bound = std::pow(1.0 - beta / L, L);
    CHECK(bound >= std::exp(-beta - beta * beta / L));  // (iii)'s closed form, β/L ≤ 1/2
    const auto m = make_method(circulant_options(n, gamma));
    RandomStream rng(kSeed, Purpose::Test, {3});
    double worst_ratio = 1e300;
    for (const double scale : {1.0, 3.0, 10.0})
      for (int draw = 0; draw < 4; ++draw) {
        Mat P = Mat::Identity(n, n);
        for (int l = 0; l < L; ++l) P = m->mix(normal_vec(rng, n, scale)).H * P;
        const double smin = sigma_min(P);
        INFO("z ~ N(0, " << scale << "²) draw " << draw << ": σ_min = " << smin << ", bound " << bound);
        CHECK(smin >= bound - 1e-12);
        CHECK(spectral_norm(P) <= 1.0 + 1e-12);  // (ii): σ_max ≤ 1
        worst_ratio = std::min(worst_ratio, smin / bound);
      }
    // Attained: w = e₂ gives the eigenvalue (1−γ) + γ·ω^{2·1} = 1 − 2γ at k = 1 in every layer.
    Vec z = Vec::Zero(n);
    z[2] = 40.0;
    Mat P = Mat::Identity(n, n);
    for (int l = 0; l < L; ++l) P = m->mix(z).H * P;
    const double tight = sigma_min(P) / bound;
    INFO("w = e₂: σ_min/bound = " << tight);
    CHECK(std::fabs(tight - 1.0) <= 1e-10);
    MESSAGE("leaky circulant (β = 2, L = 64, n = 4): bound (1 − β/L)^L = " << bound << ", worst σ_min/bound over 12 "
                                                                           << "random stacks " << worst_ratio
                                                                           << ", with w = e₂ " << tight);
  }

  TEST_CASE("go-mhc: H[i, j] = (1/s)·Σ U[is + k, js + l]², U = (I − X)⁻¹(I + X); s = 1 is U∘U; exact DS; Θ = 0 gives I") {
    RandomStream rng(kSeed, Purpose::Test, {4});
    double worst = 0.0, worst_margin = 0.0;
    for (const Index s : {1, 2, 3})
      for (const Index n : {1, 2, 3, 4, 5}) {
        MethodOptions o;
        o.method = MethodId::GoMHC;
        o.n = n;
        o.go_s = s;
        const Index m = n * s;
        CHECK(make_method(o)->num_params() == m * m);
        for (int d = 0; d < 3; ++d) {
          const Vec theta = normal_vec(rng, m * m);
          INFO("s = " << s << " n = " << n << " draw " << d);
          const Mat H = library_H(o, theta);
          const double e = max_abs_diff(H, go_mhc_ref(theta, n, s));
          INFO("max|H − reference| = " << e);
          CHECK(e <= 1e-12);
          worst = std::max(worst, e);
          if (s == 1) {  // orthostochastic: the elementwise square of an orthogonal matrix
            const Mat Theta = as_matrix(theta, n, n);
            const Mat U = cayley_ref(Theta - Theta.transpose());
            CHECK(max_abs_diff(H, U.cwiseProduct(U)) <= 1e-12);
          }
          CHECK(H.minCoeff() >= 0.0);
          CHECK(margin_error(H) <= 8.0 * static_cast<double>(n * n) * kU);
          worst_margin = std::max(worst_margin, margin_error(H));
        }
        CHECK(max_abs_diff(library_H(o, Vec::Zero(m * m)), Mat::Identity(n, n)) == 0.0);
      }
    MESSAGE("go-mhc: worst max|H − reference| = " << worst << ", worst margin error " << worst_margin);
  }

  TEST_CASE("cayley: exact = (I − (α/2)A)⁻¹(I + (α/2)A), orthogonal, det +1; k steps = the explicit fixed-point loop") {
    RandomStream rng(kSeed, Purpose::Test, {5});
    double worst = 0.0, worst_orth = 0.0, worst_det = 0.0, worst_loop = 0.0;
    for (const double alpha : {0.1, 1.0})
      for (const Index n : {1, 2, 3, 4, 5})
        for (int d = 0; d < 3; ++d) {
          const Vec theta = normal_vec(rng, n * n);
          const Mat Theta = as_matrix(theta, n, n);
          const Mat A = Theta - Theta.transpose();
          const Mat I = Mat::Identity(n, n);
          MethodOptions o;
          o.method = MethodId::Cayley;
          o.n = n;
          o.alpha = alpha;
          INFO("α = " << alpha << " n = " << n << " draw " << d);
          const Mat H = library_H(o, theta);
          const Mat B = 0.5 * alpha * A;
          const double e = max_abs_diff(H, (I - B).inverse() * (I + B));
          const double orth = orthogonality_error(H), det_err = std::fabs(H.determinant() - 1.0);
          INFO("max|H − reference| = " << e << ", max|HᵀH − I| = " << orth << ", |det H − 1| = " << det_err);
          CHECK(e <= 1e-12);
          CHECK(orth <= 16.0 * static_cast<double>(n) * kU * (1.0 + spectral_norm(B)));
          CHECK(det_err <= 1e-12);
          worst = std::max(worst, e);
          worst_orth = std::max(worst_orth, orth);
          worst_det = std::max(worst_det, det_err);
          for (const Index k : {1, 2, 5}) {
            o.cayley_steps = k;
            Mat Y = I + alpha * A;
            for (Index step = 0; step < k; ++step) Y = I + (0.5 * alpha) * A * (I + Y);
            const Mat Hk = library_H(o, theta);
            const double ek = max_abs_diff(Hk, Y);
            INFO("k = " << k << ": max|H_k − loop| = " << ek);
            CHECK(ek <= 1e-13 * std::max(1.0, Y.cwiseAbs().maxCoeff()));
            worst_loop = std::max(worst_loop, ek / std::max(1.0, Y.cwiseAbs().maxCoeff()));
          }
        }
    MESSAGE("cayley: worst max|H − reference| = " << worst << ", max|HᵀH − I| = " << worst_orth << ", |det − 1| = "
                                                  << worst_det << "; k-step vs loop (relative) " << worst_loop);
  }

  TEST_CASE("cayley: for small α‖A‖ the k-step error to the exact transform shrinks with k (E_{k+1} = B·E_k)") {
    RandomStream rng(kSeed, Purpose::Test, {6});
    double worst_rate = 0.0;
    for (const Index n : {2, 3, 4, 5})
      for (int d = 0; d < 3; ++d) {
        const Vec theta = normal_vec(rng, n * n);
        const Mat Theta = as_matrix(theta, n, n);
        const double norm_A = spectral_norm(Theta - Theta.transpose());
        MethodOptions o;
        o.method = MethodId::Cayley;
        o.n = n;
        o.alpha = 0.4 / norm_A;  // α‖A‖₂ = 0.4 < 0.5, ‖B‖₂ = 0.2
        const double norm_B = 0.5 * o.alpha * norm_A;
        const Mat C = library_H(o, theta);  // cayley_steps = 0: the exact transform
        double before = spectral_norm(Mat(Mat::Identity(n, n) + o.alpha * (Theta - Theta.transpose()) - C));  // E₀
        for (Index k = 1; k <= 8; ++k) {
          o.cayley_steps = k;
          const double err = spectral_norm(library_H(o, theta) - C);
          INFO("n = " << n << " draw " << d << " k = " << k << ": ‖Y_k − C‖₂ = " << err << ", ‖Y_{k−1} − C‖₂ = "
                      << before << ", ‖B‖₂ = " << norm_B);
          CHECK(err <= norm_B * before + 1e-15);
          if (before > 1e-14) {
            CHECK(err < before);
            worst_rate = std::max(worst_rate, err / before);
          }
          before = err;
        }
      }
    MESSAGE("cayley k-step at ‖B‖₂ = 0.2: worst ‖E_{k+1}‖₂/‖E_k‖₂ = " << worst_rate);
  }

  TEST_CASE("shc: the authors' H_code = J/n + B·U·diag(σ)·Vᵀ·Bᵀ in [from, to]; mhclab returns H_codeᵀ") {
    RandomStream rng(kSeed, Purpose::Test, {7});
    double worst = 0.0, worst_margin = 0.0, worst_norm = 0.0, worst_init = 0.0;
    for (const Index n : {2, 3, 4, 5, 6}) {
      MethodOptions o;
      o.method = MethodId::SHC;
      o.n = n;
      const auto m = make_method(o);
      const Index mm = n - 1;
      REQUIRE(m->num_params() == mm * (mm - 1) + mm);
      for (const double scale : {1.0, 3.0})
        for (int d = 0; d < 3; ++d) {
          const Vec theta = normal_vec(rng, m->num_params(), scale);
          INFO("n = " << n << " θ ~ N(0, " << scale << "²) draw " << d);
          const Mat H = library_H(o, theta);
          const double e = max_abs_diff(H, shc_code_ref(theta, n).transpose());
          const double margin = margin_error(H), norm = spectral_norm(H);
          INFO("max|H − H_codeᵀ| = " << e << ", margin error " << margin << ", ‖H‖₂ = " << norm);
          CHECK(e <= 1e-13);
          CHECK(margin <= 8.0 * static_cast<double>(n * n) * kU);
          CHECK(norm <= 1.0 + 8.0 * static_cast<double>(n * n) * kU);
          worst = std::max(worst, e);
          worst_margin = std::max(worst_margin, margin);
          worst_norm = std::max(worst_norm, norm - 1.0);
        }
      // The orientation matters: with u ≠ v, H_code is not symmetric.
      const Vec theta = normal_vec(rng, m->num_params());
      if (n >= 3) CHECK(max_abs_diff(library_H(o, theta), shc_code_ref(theta, n)) > 1e-3);
      // The authors' init: u = v = 0, x = 4 (init_bias[-sm1:] = 4.0): J/n + tanh(4)·(I − J/n).
      const Vec a = m->init_params(InitKind::Authors, 0.01);
      Vec want_theta = Vec::Zero(m->num_params());
      want_theta.tail(mm).setConstant(4.0);
      CHECK(max_abs_diff(a, want_theta) == 0.0);
      const Mat J = Mat::Constant(n, n, 1.0 / static_cast<double>(n));
      const double ei = max_abs_diff(library_H(o, a), J + std::tanh(4.0) * (Mat::Identity(n, n) - J));
      INFO("n = " << n << " authors init: max|H − (J/n + tanh 4·(I − J/n))| = " << ei);
      CHECK(ei <= 8.0 * static_cast<double>(n) * kU);
      worst_init = std::max(worst_init, ei);
    }
    MESSAGE("shc: worst max|H − H_codeᵀ| = " << worst << ", margin error " << worst_margin << ", ‖H‖₂ − 1 "
                                             << worst_norm << ", authors init " << worst_init);
  }

  TEST_CASE("isohc: H = J/n + B·R·Bᵀ, R = (I − A)⁻¹(I + A); orthogonal, mean preserving, det +1") {
    RandomStream rng(kSeed, Purpose::Test, {8});
    double worst = 0.0, worst_orth = 0.0, worst_margin = 0.0, worst_det = 0.0;
    for (const Index n : {2, 3, 4, 5, 6})
      for (const double scale : {1.0, 3.0})
        for (int d = 0; d < 3; ++d) {
          MethodOptions o;
          o.method = MethodId::IsoHC;
          o.n = n;
          const Vec theta = normal_vec(rng, (n - 1) * (n - 1), scale);
          const Mat Theta = as_matrix(theta, n - 1, n - 1);
          const double norm_A = spectral_norm(Theta - Theta.transpose());
          INFO("n = " << n << " θ ~ N(0, " << scale << "²) draw " << d);
          const Mat H = library_H(o, theta);
          const double e = max_abs_diff(H, isohc_ref(theta, n));
          const double orth = orthogonality_error(H), margin = margin_error(H);
          const double det_err = std::fabs(H.determinant() - 1.0);
          INFO("max|H − reference| = " << e << ", max|HᵀH − I| = " << orth << ", margin " << margin
                                      << ", |det − 1| = " << det_err << ", ‖A‖₂ = " << norm_A);
          CHECK(e <= 1e-12);
          CHECK(orth <= 16.0 * static_cast<double>(n - 1) * kU * (1.0 + norm_A));
          CHECK(margin <= 8.0 * static_cast<double>(n * n) * kU);
          CHECK(det_err <= 1e-12);
          worst = std::max(worst, e);
          worst_orth = std::max(worst_orth, orth);
          worst_margin = std::max(worst_margin, margin);
          worst_det = std::max(worst_det, det_err);
        }
    MESSAGE("isohc: worst max|H − reference| = " << worst << ", max|HᵀH − I| = " << worst_orth << ", margin "
                                                  << worst_margin << ", |det − 1| = " << worst_det);
  }
}  // TEST_SUITE
