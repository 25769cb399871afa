// The contract of mixing/method.hpp, checked over EVERY registered method (in the style of manif's MANIF_TEST
// battery and Ceres' manifold invariant tests): the battery iterates `method_table`, so a newly registered
// method is covered as soon as it has a row there (and the per-method switches below, which have no default
// case, make -Wswitch point at what it has to declare: its smoothness, its identity-init target and whether it
// has an inverse chart, and which kind of domain).
//
// Sizes n = 1, 2, 3, 4, 5, 6 with the default MethodOptions of each method, plus option variants: mhc in the log
// domain at τ = 0.5 (n = 3, 4); kromhc at n = 6 with the factors [3, 2] instead of the default [2, 3]; go-mhc with
// go_s = 1 (orthostochastic) and 3 (n = 3, 4; the default is 2); circulant with the leaky γ = 1/64 (= β/(2L) for
// β = 2, L = 64; n = 4); cayley with cayley_steps = 2 (the k-step fixed point; n = 3, 4) and with α = 1 (n = 4; the
// default 0.1). Each config seeds its draws by key_of (method, n, a variant digit), distinct per config (checked).
// Constraints (`accepts` below, itself checked against make_method):
//   mhc-lite  n ≤ 8 (n! parameters);
//   kromhc    every factor in 2..8 with product n, so the default factors exist only when n has no prime factor
//             > 8 (n = 5 is the single factor [5], n = 6 is [2, 3]; n = 1 has no factor and 0 parameters);
//   the others accept every n ≥ 1 (resnet and n = 1 tbp/rtbp/kromhc/shc/isohc have 0 parameters, so the NaN and
//   finite-difference checks have nothing to perturb there; n = 1 cayley has one parameter that Θ − Θᵀ ignores).
// The traits orthogonal() (resnet, tropical, cayley with cayley_steps = 0, isohc) and mean_preserving() (every exact_ds method, shc,
// isohc) are checked against that documented list; resnet and tropical are orthogonal matrices too but do not
// claim it (a trait is a promise that the margins test holds the method to, not a classification).
//
// Tolerances (u = 2⁻⁵³ ≈ 1.1e-16):
//   margins of exact_ds methods   max |row/col sum − 1| ≤ 8·n²·u (3.2e-14 at n = 6). A row or column sum adds n
//                                 entries (n·u), and each entry is itself a short computation: tbp/rtbp walk
//                                 through remaining masses (O(n)·u per entry, transport_chart.hpp), mhc-lite sums
//                                 ≤ 6 weights then a tree of depth n − 4 (O(n²)·u, mhc_lite.cpp), kromhc multiplies
//                                 K factors; circulant holds each c_d = γ·softmax_d + [d = 0](1−γ) once per row and
//                                 column. θ ~ N(0, s²), s = 1, 3, 10, 30, and the authors init; measured worst
//                                 6.7e-16 (the MESSAGE of that test case).
//                                 Entries ≥ 0 exactly (the charts clamp; softmax and products of ≥ 0 are ≥ 0; go-mhc
//                                 sums squares).
//   go-mhc margins                row i of H is (1/s)·Σ of s diagonal entries of UUᵀ, so its error is U's departure
//                                 from orthogonality, that of the Cayley transform (below, with m = ns and X = Θ − Θᵀ):
//                                 ≤ max(8·n²·u, 16·ns·u·(1 + ‖X‖₂)), ‖X‖₂ from θ by an SVD (up to 254 at θ ~
//                                 N(0, 30²), ns = 12). Measured worst 3.8e-15, at most 0.42·(1 + ‖X‖₂)·ns·u.
//   mean preserving (shc, isohc)  H = J/n + B·M·Bᵀ with ‖M‖₂ ≤ 1 (M = V·diag(σ)·Uᵀ, or R orthogonal) and Bᵀ1 = 0 up
//                                 to round-off: each entry of B·M·Bᵀ carries ≤ n·u, a row or column sum of n of them
//                                 n²·u, so max |row/col sum − 1| ≤ 8·n²·u as for exact_ds (entries may be < 0).
//                                 Same draws; measured worst 5.6e-16.
//   orthogonal (cayley exact,     C = (I − A)⁻¹(I + A) by an LU solve with partial pivoting (A skew, m×m: cayley
//   isohc)                        (α/2)(Θ − Θᵀ), m = n; isohc Θ − Θᵀ, m = n − 1, then J/n + B·C·Bᵀ). The solve is
//                                 backward stable, so its forward error is ≲ m·u·cond(I − A), and cond₂(I − A) ≤
//                                 1 + ‖A‖₂ (A's eigenvalues are imaginary): max|HᵀH − I| ≤ 16·m·u·(1 + ‖A‖₂), with
//                                 ‖A‖₂ computed from θ by an SVD in the test. Same draws (‖A‖₂ up to 153 for isohc at
//                                 s = 30); measured worst 6.5e-15, at most 2·m·u·(1 + ‖A‖₂). The k-step cayley does
//                                 not claim orthogonality (its fixed-point iteration diverges once (α/2)‖A‖₂ ≳ 1:
//                                 max|HᵀH − I| measured up to 1e5 at s = 30; test_zoo.cpp checks it for small α‖A‖).
//   shc spectral norm             singular values 1 (on 1/√n) and |tanh x_k| ≤ 1 (tanh rounds to ±1 for |x| ≳ 19):
//                                 ‖H‖₂ ≤ 1 + 8·n²·u (the entries' round-off as above, then an SVD). Measured worst
//                                 ‖H‖₂ − 1 = 2.0e-15.
//   mhc (Sinkhorn, t = 20)        not exact_ds. Checked instead: the summary's row_err/col_err equal row_error/
//                                 col_error of the returned H bit for bit; the margin normalised last (rows for
//                                 col_then_row) holds to round-off, ≤ 8·n·u in the exp domain and ≤ 8·n·u·max(1, R/τ)
//                                 in the log domain (H_ij = exp((Z_ij − max Z + u_i + v_j)/τ): an argument of size
//                                 up to the logit range R/τ carries an absolute error u·R/τ, a relative one after
//                                 exp); the other margin holds only to the truncation error of t iterations, whose
//                                 linear rate degrades with the spread of the logits in units of τ (Birkhoff–Hopf
//                                 contraction of exp(Z/τ)): θ/τ ~ N(0, 1): ≤ 1e-6 at t = 20 (measured 1.1e-8) and
//                                 ≤ 8·n²·u at t = 500; up to θ/τ ~ N(0, 6²): ≤ 0.05 at t = 20 (measured 0.029);
//                                 With the deployed ε (dsv4, mhc with eps > 0) both margins move by ε-terms: the
//                                 last division by (sum + ε) leaves a margin of ε/(sum + ε) ≤ 2ε, and the fixed
//                                 point of the ε-iteration sits O(nε) off the polytope, so every bound above gains
//                                 + 2(n + 1)·ε (dsv4: ε = 1e-6 by default).
//                                 wider (N(0, 10²) … N(0, 60²)): not bounded (measured up to 0.99995), only "500
//                                 iterations are not worse than 20". Entries ≥ 0 (exp > 0, ratios of positives).
//   identity init vs H₀           hc: a copy of H₀ (≤ 2u); mhc: H₀ is a positive doubly stochastic fixed point of
//                                 Sinkhorn, each of the 20 iterations adds O(n·u) (≤ 1e-14, as test_methods);
//                                 mhc-lite (exact weights ε/n! + (1−ε)·[id], softmax round-off), tbp/rtbp (the
//                                 inverse chart replays the walk) and kromhc (⊗ of mhc-lite factors) ≤ 1e-12, the
//                                 tolerance of their own test files; circulant (z = log w of H₀'s first row, softmax
//                                 back: O(n·u) in c, also at γ = 1/64 where w₀ = (c₀ − (1−γ))/γ cancels, since
//                                 γ·w₀ is what returns) and shc (σ = tanh(atanh(1 − ε)), then J/n + B·diag(σ)·Bᵀ:
//                                 O(n·u)) ≤ 1e-12 as well (measured ≤ 1.7e-15 over ε = 0.01, 0.1, 0.5, all of them).
//                                 Not every method can represent H₀: resnet is I for every θ; tropical (a
//                                 permutation matrix, the τ → 0 limit of mhc) gives exactly I; kromhc gives
//                                 ⊗_k((1−ε)I + εJ/i_k), which equals H₀ only with a single factor (n prime, here
//                                 n = 2, 3, 5); cayley and isohc are orthogonal and H₀ is not for ε > 0, and go-mhc
//                                 has no known closed-form preimage of H₀ (its header comment): their identity init
//                                 is Θ = 0, which gives I:
//                                 cayley and go-mhc exactly (an LU solve of I against I; blocks of I sum 0s and 1s),
//                                 isohc within 8·n·u (J/n + B·Bᵀ: B·Bᵀ = I − J/n holds to ~n·u per entry).
//                                 circulant's identity init needs γ > ε(n−1)/n (w₀ > 0): at γ = 1/64, n = 4 it
//                                 refuses ε = 0.1 and 0.5 with an InputError naming that condition (checked, and
//                                 counted: exactly those 2), and θ validation uses ε = 0.01 there.
//   VJP vs finite differences     θ ~ N(0, 1) (3 draws) and N(0, 3²) (1 draw), 3 random unit directions v each;
//                                 central differences, h = 1e-6: truncation h²/6·|f'''| ≈ 1e-13 for the O(1) third
//                                 derivatives at τ ≥ 0.5, round-off u·max|H|/h ≈ 1e-10 (hc: |H| = |θ| ≲ 12), so
//                                 max_ij |J·v − Jv_fd| ≤ 1e-6·max(1, max|J·v|) (the
//                                 criterion of test_vjp.cpp; a wrong term of the backward is O(|J|)). J·v is
//                                 assembled from n² vjps (mix_jacobian), so it tests vjp itself; the adjoint
//                                 identity ⟨dH, J v⟩ = ⟨Jᵀ dH, v⟩ against the FD JVP uses 1e-6·max(1, ‖dH‖·‖Jv‖).
//                                 tbp/rtbp are piecewise smooth (max/min in the chart bounds): a draw is used only
//                                 when the active branch pattern (tbp_chart_branches / rtbp_chart_branches) is the
//                                 same at θ and θ ± h·v, otherwise it is skipped and counted (random θ is almost
//                                 never within h of a tie; at most 10% may be skipped, measured 0). tropical is
//                                 piecewise constant: its vjp must be exactly 0 and mix(θ ± h·v) must be the same
//                                 matrix. Every other method is smooth, the Cayley family included (the derivatives
//                                 of (I − A)⁻¹ are bounded: ‖(I − A)⁻¹‖₂ ≤ 1 for a skew A).
//   modifiers                     mix of the modified method is apply_modifiers(H) bit for bit (the same function
//                                 on the same H); its vjp is the unmodified vjp times α(1−δ) within
//                                 1e-14·max(1, max|dθ|) (build_vjp runs on the scaled dH, so the products round
//                                 differently; measured 7e-16), and matches FD as above. Modifiers: lazy α = 0.3,
//                                 minorised δ = 0.2, both, and the edges α = 1 (H unchanged) and δ = 1 (J/n for
//                                 every θ, vjp 0). Exact_ds methods stay doubly stochastic (8·n²·u), entries ≥ 0.
//   inverse chart                 T = H(θ) for θ ~ N(0, 1) (interior: T > 0), with and without modifiers:
//                                 mix(inverse_chart(T)) = T within 1e-12 (as test_fit.cpp: hc exact; mhc: T is a
//                                 Sinkhorn fixed point, O(n·u) per iteration; mhc-lite: BvN + softmax round-off;
//                                 tbp/rtbp: O(n²·u); circulant: a log and a softmax; cayley/isohc: the solve
//                                 (I + C)⁻¹(C − I) and the forward transform, O(m·u·(1 + ‖A‖₂)²) with ‖A‖₂ ≲ 5 for
//                                 these draws). mhc's targets come from a converged run (500 iterations) so
//                                 that T is doubly stochastic to round-off, as the chart requires; the θ' it returns
//                                 then reproduces T with the default 20 iterations too. Where the chart is a
//                                 bijection onto the interior (hc, tbp, rtbp) θ' = θ as well: hc exactly, tbp/rtbp
//                                 within 1e-8 (test_tbp.cpp's round-trip bound for N(0, 1) draws). Measured worst
//                                 reach error 3.3e-16. Circulant, cayley and isohc charts are not bijections and are
//                                 checked for what they lose, within 1e-8 (as tbp/rtbp's θ): circulant gives θ' = θ +
//                                 a constant (the softmax shift; measured spread 3.8e-13: at γ = 1/64, w₀ =
//                                 (c₀ − (1−γ))/γ amplifies c₀'s round-off by 1/γ before the log), cayley and isohc
//                                 θ' = (Θ − Θᵀ)/2, the skew part (measured 6.7e-16). Their targets need not be > 0
//                                 (only the doubly stochastic charts REQUIRE T > 0), and are taken with the modifiers
//                                 too. Outside the domain, by the kind of domain (chart_domain):
//                                   doubly stochastic (mhc, mhc-lite, tbp, rtbp, circulant): a vertex (I, n ≥ 2)
//                                   gives nullopt, a non-doubly-stochastic T throws InputError; circulant also gives
//                                   nullopt for a positive doubly stochastic non-circulant T (J/2 + I/4 + P/4 with P
//                                   a transposition, n ≥ 3) and, at γ = 1/64, for J/n (c₀ = 1/n < 1 − γ: w₀ < 0);
//                                   orthogonal (cayley, isohc): any finite T, never a throw; I is in the image
//                                   (Θ = 0, reach ≤ 1e-12); nullopt for a non-orthogonal T (H₀ with ε = 0.1), a
//                                   det −1 T (a transposition, which is mean preserving for isohc; [−1] at n = 1),
//                                   diag(−1, −1, 1, …) (det +1 with eigenvalue −1; not mean preserving), and a T
//                                   with every eigenvalue at −1 whose I + T (isohc: I + BᵀTB) is pure round-off
//                                   (cayley −QQᵀ with Q orthogonal from a QR; isohc 2J/n − I, R = −I): a relative
//                                   condition estimate alone takes that for well conditioned. The k-step cayley has
//                                   no chart (documented): nullopt for I and for its own H(θ) (3 draws per config);
//                                   any (hc): every finite T.
//                                 δ = 1 gives nullopt for every chart. Methods without a chart (resnet, kromhc,
//                                 tropical, go-mhc, shc; has_inverse_chart is checked against that documented list)
//                                 return nullopt even for an interior H₀, and the battery prints a MESSAGE for each.
#include <doctest/doctest.h>

#include <Eigen/QR>
#include <Eigen/SVD>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/inverse_chart.hpp"
#include "mhclab/mixing/kronecker.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "mhclab/mixing/transport_chart.hpp"
#include "support/check.hpp"

namespace {
using namespace mhclab;
using test::max_abs_diff;

constexpr double kU = 0x1.0p-53;  // unit round-off
constexpr Index kSizes[] = {1, 2, 3, 4, 5, 6};
constexpr double kFdStep = 1e-6;
constexpr double kFdTol = 1e-6;
constexpr std::uint64_t kSeed = 4242;

/// Margin tolerance of exact_ds methods (see the header comment).
double ds_tol(Index n) { return 8.0 * static_cast<double>(n * n) * kU; }

/// The documented size constraints of each method (header comment); checked against make_method.
bool accepts(MethodId id, Index n) {
  if (n < 1) return false;
  if (id == MethodId::MHCLite) return n <= kMhcLiteMaxN;
  if (id == MethodId::KromHC) {  // largest prime factor ≤ 8
    Index m = n;
    for (Index p = 2; p * p <= m; ++p)
      while (m % p == 0) {
        if (p > kMhcLiteMaxN) return false;
        m /= p;
      }
    return m <= kMhcLiteMaxN;
  }
  return true;
}

enum class Smoothness { Smooth, PiecewiseSmooth, PiecewiseConstant };
Smoothness smoothness(MethodId id) {
  switch (id) {
    case MethodId::ResNet:
    case MethodId::HC:
    case MethodId::MHC:
    case MethodId::MHCLite:
    case MethodId::KromHC:
    case MethodId::GoMHC:
    case MethodId::Circulant:
    case MethodId::Cayley:
    case MethodId::SHC:
    case MethodId::IsoHC:
    case MethodId::Dsv4:
      return Smoothness::Smooth;
    case MethodId::TBP:
    case MethodId::RTBP:
      return Smoothness::PiecewiseSmooth;  // max/min in the chart bounds
    case MethodId::Tropical:
      return Smoothness::PiecewiseConstant;  // a max-weight assignment
  }
  return Smoothness::Smooth;
}

/// The active branches of a piecewise smooth method at θ (empty for smooth methods).
std::vector<std::uint8_t> branches(MethodId id, const Vec& theta, Index n) {
  if (id == MethodId::TBP) return tbp_chart_branches(theta, n);
  if (id == MethodId::RTBP) return rtbp_chart_branches(theta, n);
  return {};
}

/// Whether has_inverse_chart(id) is documented true (inverse_chart.hpp).
bool documented_chart(MethodId id) {
  switch (id) {
    case MethodId::HC:
    case MethodId::MHC:
    case MethodId::MHCLite:
    case MethodId::TBP:
    case MethodId::RTBP:
    case MethodId::Circulant:
    case MethodId::Cayley:
    case MethodId::IsoHC:
      return true;
    case MethodId::ResNet:
    case MethodId::KromHC:
    case MethodId::Tropical:
    case MethodId::GoMHC:
    case MethodId::SHC:
    case MethodId::Dsv4:  // ε moves the fixed point: τ·log H is not a preimage
      return false;
  }
  return false;
}

/// What a chart's domain is (inverse_chart.hpp), which decides the "outside" checks.
enum class ChartDomain {
  Any,                 ///< hc: every finite T
  DoublyStochastic,    ///< T must be doubly stochastic (InputError otherwise); nullopt unless T > 0 (and more)
  Orthogonal,          ///< any finite T; nullopt unless T is in the orthogonal family (no throw)
  None,                ///< no chart
};
ChartDomain chart_domain(MethodId id) {
  switch (id) {
    case MethodId::HC:
      return ChartDomain::Any;
    case MethodId::MHC:
    case MethodId::MHCLite:
    case MethodId::TBP:
    case MethodId::RTBP:
    case MethodId::Circulant:
      return ChartDomain::DoublyStochastic;
    case MethodId::Cayley:
    case MethodId::IsoHC:
      return ChartDomain::Orthogonal;
    case MethodId::ResNet:
    case MethodId::KromHC:
    case MethodId::Tropical:
    case MethodId::GoMHC:
    case MethodId::SHC:
    case MethodId::Dsv4:
      return ChartDomain::None;
  }
  return ChartDomain::None;
}

/// Charts that are bijections onto the interior (θ is recovered, not only H). circulant loses a softmax shift
/// (z + c1 gives the same H), cayley and isohc the symmetric part of Θ (only Θ − Θᵀ enters): checked separately.
bool bijective_chart(MethodId id) { return id == MethodId::HC || id == MethodId::TBP || id == MethodId::RTBP; }

/// The documented orthogonal() and mean_preserving() traits (method.hpp, the methods' header comments): resnet
/// (I), tropical (permutation matrices), exact cayley and isohc are orthogonal.
bool documented_orthogonal(const MethodOptions& o) {
  return o.method == MethodId::IsoHC || (o.method == MethodId::Cayley && o.cayley_steps == 0) ||
         o.method == MethodId::ResNet || o.method == MethodId::Tropical;
}
bool documented_mean_preserving(const MethodOptions& o, bool exact_ds) {
  return exact_ds || o.method == MethodId::SHC || o.method == MethodId::IsoHC;
}

/// θ as the row-major matrix of param_matrix_shape (empty when θ is not a matrix, e.g. isohc n = 1).
Mat theta_matrix(const MethodOptions& o, const Vec& theta) {
  const ParamMatrixShape s = param_matrix_shape(o);
  if (!s.is_matrix()) return Mat();
  REQUIRE(s.rows * s.cols == theta.size());
  Mat Theta(s.rows, s.cols);
  for (Index i = 0; i < s.rows; ++i)
    for (Index j = 0; j < s.cols; ++j) Theta(i, j) = theta[i * s.cols + j];
  return Theta;
}

/// The skew matrix A that the Cayley-family methods transform (cayley: (α/2)(Θ − Θᵀ), n×n; isohc: Θ − Θᵀ,
/// (n−1)×(n−1); go-mhc: Θ − Θᵀ, ns×ns), from θ row-major in the shape of param_matrix_shape; empty for the others.
Mat cayley_generator(const MethodOptions& o, const Vec& theta) {
  if (o.method != MethodId::Cayley && o.method != MethodId::IsoHC && o.method != MethodId::GoMHC) return Mat();
  const Mat Theta = theta_matrix(o, theta);
  const Mat A = Theta - Theta.transpose();
  return o.method == MethodId::Cayley ? Mat(0.5 * o.alpha * A) : A;
}

double spectral_norm(const Mat& A) { return A.size() == 0 ? 0.0 : Eigen::JacobiSVD<Mat>(A).singularValues()(0); }

/// Orthogonality tolerance of a Cayley transform computed by an LU solve of I − A (m×m, see the header comment):
/// max|CᵀC − I| ≤ 16·m·u·(1 + ‖A‖₂).
double orth_tol(Index m, double norm_A) { return 16.0 * static_cast<double>(m) * kU * (1.0 + norm_A); }

/// circulant's identity init needs γ > ε(n−1)/n (w₀ > 0); with a smaller γ it throws InputError.
bool identity_init_reachable(const MethodOptions& o, double eps) {
  if (o.method != MethodId::Circulant) return true;
  return o.gamma > eps * static_cast<double>(o.n - 1) / static_cast<double>(o.n);
}

Mat H0(Index n, double eps) {  // (1−ε)I + εJ/n, computed as detail::identity_target does
  Mat H = Mat::Constant(n, n, eps / static_cast<double>(n));
  H.diagonal().array() += 1.0 - eps;
  return H;
}

struct IdentityExpectation {
  Mat H;
  double tol;
};
/// What H(init_params(Identity, ε)) must be, and within what (header comment).
IdentityExpectation identity_expectation(const MethodOptions& o, double eps) {
  const Index n = o.n;
  switch (o.method) {
    case MethodId::ResNet:
      return {Mat::Identity(n, n), 0.0};  // H = I for every θ: ε cannot be represented
    case MethodId::Tropical:
      return {Mat::Identity(n, n), 0.0};  // argmax assignment of log H₀ is the identity (ε < 1)
    case MethodId::HC:
      return {H0(n, eps), 2 * kU};
    case MethodId::MHC:  // a Sinkhorn fixed point; with the deployed ε as dsv4 below
      return {H0(n, eps), 4.0 * static_cast<double>(n + 1) * o.sinkhorn.eps_value() + 1e-14};
    case MethodId::KromHC: {
      Mat K = Mat::Ones(1, 1);
      for (const Index f : resolve_kromhc_factors(n, o.factors)) K = kronecker(K, H0(f, eps));
      return {K, 1e-12};
    }
    case MethodId::MHCLite:
    case MethodId::TBP:
    case MethodId::RTBP:
    case MethodId::Circulant:  // z = log w of H₀'s first row, then softmax back
    case MethodId::SHC:        // σ = tanh(atanh(1 − ε)), then J/n + B·diag(σ)·Bᵀ
      return {H0(n, eps), 1e-12};
    case MethodId::Cayley:  // Θ = 0: an LU solve of I against I, exactly I (the k-step loop adds 0·(I + Y))
    case MethodId::GoMHC:   // Θ = 0: U = I exactly, the blocks' squared norms are 0 or s
      return {Mat::Identity(n, n), 0.0};
    case MethodId::IsoHC:  // Θ = 0: J/n + B·I·Bᵀ, the round-off of B·Bᵀ = I − J/n
      return {Mat::Identity(n, n), 8.0 * static_cast<double>(n) * kU};
    case MethodId::Dsv4: {  // the softmax gives H₀'s columns; + ε and the (sum + ε) denominators move them by O(nε)
      const double e = with_dsv4_preset(o.sinkhorn).eps_value();
      return {H0(n, eps), 4.0 * static_cast<double>(n + 1) * e + 1e-14};
    }
  }
  return {H0(n, eps), 1e-12};  // a new method: SPEC §2's identity init is H₀
}

struct Config {
  MethodOptions o;
  std::string label;
};

/// Every registered method at every accepted n (default options), plus a few option variants.
std::vector<Config> configs() {
  std::vector<Config> out;
  for (const auto& [id, name] : method_table.entries)
    for (const Index n : kSizes) {
      if (!accepts(id, n)) continue;
      MethodOptions o;
      o.method = id;
      o.n = n;
      out.push_back({o, std::string(name) + " n=" + std::to_string(n)});
    }
  for (const Index n : {3, 4}) {
    MethodOptions o;
    o.method = MethodId::MHC;
    o.n = n;
    o.sinkhorn.domain = SinkhornDomain::Log;
    o.sinkhorn.tau = 0.5;
    out.push_back({o, "mhc (log, tau=0.5) n=" + std::to_string(n)});
  }
  MethodOptions k;
  k.method = MethodId::KromHC;
  k.n = 6;
  k.factors = {3, 2};
  out.push_back({k, "kromhc factors [3, 2] n=6"});
  for (const Index n : {3, 4})
    for (const Index s : {1, 3}) {
      MethodOptions o;
      o.method = MethodId::GoMHC;
      o.n = n;
      o.go_s = s;
      out.push_back({o, "go-mhc (go_s=" + std::to_string(s) + ") n=" + std::to_string(n)});
    }
  MethodOptions leaky;  // the leaky schedule γ = β/(2L), e.g. β = 2, L = 64
  leaky.method = MethodId::Circulant;
  leaky.n = 4;
  leaky.gamma = 0.015625;
  out.push_back({leaky, "circulant (gamma=1/64) n=4"});
  for (const Index n : {3, 4}) {
    MethodOptions o;
    o.method = MethodId::Cayley;
    o.n = n;
    o.cayley_steps = 2;
    out.push_back({o, "cayley (cayley_steps=2) n=" + std::to_string(n)});
  }
  MethodOptions wide;
  wide.method = MethodId::Cayley;
  wide.n = 4;
  wide.alpha = 1.0;
  out.push_back({wide, "cayley (alpha=1) n=4"});
  // mhc with the deployed Sinkhorn variants (the dsv4 preset in the paper's [to, from] layout), and dsv4 variants.
  MethodOptions deployed;
  deployed.method = MethodId::MHC;
  deployed.n = 4;
  deployed.sinkhorn.start = SinkhornStart::SoftmaxCols;
  deployed.sinkhorn.eps = 1e-6;
  out.push_back({deployed, "mhc (start=softmax_cols, eps=1e-6) n=4"});
  MethodOptions rows = deployed;
  rows.sinkhorn.start = SinkhornStart::SoftmaxRows;
  rows.sinkhorn.eps_placement = EpsPlacement::Denominators;
  rows.sinkhorn.eps = 1e-3;
  out.push_back({rows, "mhc (start=softmax_rows, eps=1e-3 in denominators) n=4"});
  for (const Index n : {3, 4}) {  // the converged projection (dual Newton, implicit backward)
    MethodOptions o;
    o.method = MethodId::MHC;
    o.n = n;
    o.sinkhorn.projection = SinkhornProjection::Newton;
    out.push_back({o, "mhc (projection=newton) n=" + std::to_string(n)});
  }
  MethodOptions d0;
  d0.method = MethodId::Dsv4;
  d0.n = 4;
  d0.sinkhorn.eps = 0.0;
  d0.sinkhorn.iterations = 5;
  out.push_back({d0, "dsv4 (eps=0, iters=5) n=4"});
  MethodOptions drow = d0;
  drow.sinkhorn.eps = 1e-2;
  drow.sinkhorn.order = SinkhornOrder::RowThenCol;
  out.push_back({drow, "dsv4 (eps=1e-2, row_then_col) n=4"});
  return out;
}

/// The seed key of a config: method, n and a variant digit (0 = the default options; the mhc and kromhc variants
/// keep their historical digits 5 and 2). Distinct for distinct configs (checked in the registry test case).
std::uint64_t key_of(const Config& c) {
  const MethodOptions& o = c.o;
  const MethodOptions defaults;
  std::uint64_t variant = o.factors.size() + (o.sinkhorn.domain == SinkhornDomain::Log ? 5 : 0);
  if (o.go_s != defaults.go_s) variant += static_cast<std::uint64_t>(o.go_s);  // 1, 3
  if (o.gamma != defaults.gamma) variant += 1;
  if (o.cayley_steps != defaults.cayley_steps) variant += static_cast<std::uint64_t>(o.cayley_steps);  // 2
  if (o.alpha != defaults.alpha) variant += 4;
  if (o.sinkhorn.projection == SinkhornProjection::Newton) variant += 3;
  else if (!o.sinkhorn.plain() && o.method == MethodId::MHC)
    variant += o.sinkhorn.start == SinkhornStart::SoftmaxRows ? 2 : 1;
  if (o.method == MethodId::Dsv4 && o.sinkhorn.eps) variant += o.sinkhorn.order == SinkhornOrder::RowThenCol ? 2 : 1;
  REQUIRE(variant < 10);
  return static_cast<std::uint64_t>(o.method) * 1000 + static_cast<std::uint64_t>(o.n) * 10 + variant;
}

Vec normal_vec(RandomStream& rng, Index p, double scale = 1.0) {
  Vec v(p);
  rng.fill_normal(v, scale);
  return v;
}

Vec unit_vec(RandomStream& rng, Index p) {
  Vec v = normal_vec(rng, p);
  return v / v.norm();
}

Vec flat(const Mat& H) {  // row-major vec, the order of vjp's dH
  const Index n = H.rows();
  Vec v(n * n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) v[i * n + j] = H(i, j);
  return v;
}

Mat mix_ok(const Method& m, const Vec& theta) {
  MixResult r = m.mix(theta);
  REQUIRE(r.H.rows() == m.n());
  REQUIRE(r.H.cols() == m.n());
  return std::move(r.H);
}

/// Central FD of vec(mix(θ)) along v.
Vec fd_jvp(const Method& m, const Vec& theta, const Vec& v) {
  return (flat(mix_ok(m, theta + kFdStep * v)) - flat(mix_ok(m, theta - kFdStep * v))) / (2.0 * kFdStep);
}

struct FdTally {
  int checked = 0;
  int skipped = 0;  // piecewise smooth: a branch changes within ±h·v
};

/// The VJP of m at θ against central FDs along `dirs` random unit directions (header comment).
void check_vjp_fd(const Method& m, const Vec& theta, RandomStream& rng, int dirs, FdTally& tally) {
  const Index n = m.n(), p = m.num_params();
  if (p == 0) {
    CHECK(m.vjp(theta, Mat::Ones(n, n)).size() == 0);
    return;
  }
  const Smoothness s = smoothness(m.id());
  if (s == Smoothness::PiecewiseConstant) {
    for (int d = 0; d < dirs; ++d) {
      Mat dH(n, n);
      rng.fill_normal(dH);
      const Vec g = m.vjp(theta, dH);
      REQUIRE(g.size() == p);
      CHECK(g.cwiseAbs().maxCoeff() == 0.0);  // the documented 0, exactly
      const Vec v = unit_vec(rng, p);
      CHECK(max_abs_diff(mix_ok(m, theta + kFdStep * v), mix_ok(m, theta - kFdStep * v)) == 0.0);
      ++tally.checked;
    }
    return;
  }
  const Mat J = mix_jacobian(m, theta);  // n²×p from n² vjps
  REQUIRE(J.rows() == n * n);
  REQUIRE(J.cols() == p);
  CHECK(J.allFinite());
  const std::vector<std::uint8_t> at = branches(m.id(), theta, n);
  for (int d = 0; d < dirs; ++d) {
    const Vec v = unit_vec(rng, p);
    Mat dH(n, n);
    rng.fill_normal(dH);
    if (s == Smoothness::PiecewiseSmooth &&
        (branches(m.id(), theta + kFdStep * v, n) != at || branches(m.id(), theta - kFdStep * v, n) != at)) {
      ++tally.skipped;
      continue;
    }
    const Vec jv = J * v, jv_fd = fd_jvp(m, theta, v);
    const double err = (jv - jv_fd).cwiseAbs().maxCoeff();
    INFO("direction " << d << ": max|Jv − Jv_fd| = " << err << ", max|Jv| = " << jv.cwiseAbs().maxCoeff());
    CHECK(err <= kFdTol * std::max(1.0, jv.cwiseAbs().maxCoeff()));
    const Vec g = m.vjp(theta, dH);
    REQUIRE(g.size() == p);
    const double lhs = flat(dH).dot(jv_fd), rhs = g.dot(v);
    INFO("<dH, Jv_fd> = " << lhs << ", <vjp(dH), v> = " << rhs);
    CHECK(std::fabs(lhs - rhs) <= kFdTol * std::max(1.0, dH.norm() * jv_fd.norm()));
    ++tally.checked;
  }
}

/// Row/column sums and signs of an exact_ds method's H.
void check_exact_ds(const Mat& H, double& worst) {
  const Index n = H.rows();
  const double re = row_error(H), ce = col_error(H);
  INFO("row_err = " << re << ", col_err = " << ce << ", bound 8·n²·u = " << ds_tol(n));
  CHECK(re <= ds_tol(n));
  CHECK(ce <= ds_tol(n));
  CHECK(H.minCoeff() >= 0.0);
  worst = std::max({worst, re, ce});
}

std::unique_ptr<Method> with_modifiers(const MethodOptions& o, const Modifiers& mod) {
  MethodOptions om = o;
  om.modifiers = mod;
  return make_method(om);
}

/// lazy only, minorised only, both; then the edges: α = 1 (on, but H unchanged), δ = 1 (every θ gives J/n).
constexpr Modifiers kModifiers[] = {{0.3, 0.0}, {0.0, 0.2}, {0.3, 0.2}, {1.0, 0.0}, {0.0, 1.0}};
}  // namespace

TEST_SUITE("method_contract") {
  TEST_CASE("registry: every method of method_table is constructible; size constraints as documented") {
    for (const auto& [id, name] : method_table.entries) {
      for (const Index n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}) {
        MethodOptions o;
        o.method = id;
        o.n = n;
        INFO(name << " n=" << n << " (accepts: " << accepts(id, n) << ")");
        if (!accepts(id, n)) {
          CHECK_THROWS_AS((void)make_method(o), InputError);
          continue;
        }
        std::unique_ptr<Method> m;
        CHECK_NOTHROW(m = make_method(o));
        REQUIRE(m);
        CHECK(m->id() == id);
        CHECK(m->n() == n);
        CHECK(m->num_params() >= 0);
        CHECK_FALSE(m->modifiers().active());
      }
      MethodOptions o;
      o.method = id;
      o.n = 4;
      const auto m = with_modifiers(o, kModifiers[2]);
      CHECK(m->modifiers().lazy == kModifiers[2].lazy);
      CHECK(m->modifiers().minorize == kModifiers[2].minorize);
    }
  }

  TEST_CASE("configs: distinct seed keys; the option variants are valid; documented traits") {
    std::vector<std::uint64_t> keys;
    for (const Config& c : configs()) {
      INFO(c.label << " key " << key_of(c));
      keys.push_back(key_of(c));
      std::unique_ptr<Method> m;
      CHECK_NOTHROW(m = make_method(c.o));
      REQUIRE(m);
      CHECK(m->orthogonal() == documented_orthogonal(c.o));  // cayley with cayley_steps > 0: false
      CHECK(m->mean_preserving() == documented_mean_preserving(c.o, m->exact_ds()));
      CHECK((!m->exact_ds() || m->mean_preserving()));  // implied by exact_ds (method.hpp)
    }
    std::sort(keys.begin(), keys.end());
    CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
  }

  TEST_CASE("param_matrix_shape: rows·cols = num_params() when is_matrix()") {
    for (const Config& c : configs()) {
      INFO(c.label);
      const auto m = make_method(c.o);
      const ParamMatrixShape s = param_matrix_shape(c.o);
      if (s.is_matrix()) {
        CHECK(s.rows * s.cols == m->num_params());
        CHECK(s.cols > 0);
      } else {
        CHECK(s.rows == 0);
        CHECK(s.cols == 0);
      }
    }
  }

  TEST_CASE("θ validation: wrong length, non-finite entries and a wrong dH shape throw InputError") {
    const double bad_values[] = {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity()};
    for (const Config& c : configs()) {
      INFO(c.label);
      const auto m = make_method(c.o);
      const Index n = c.o.n, p = m->num_params();
      const Vec good = m->init_params(InitKind::Identity, identity_init_reachable(c.o, 0.1) ? 0.1 : 0.01);
      REQUIRE(good.size() == p);
      const Mat dH = Mat::Ones(n, n);
      std::vector<Vec> wrong_length{Vec::Zero(p + 1), Vec::Zero(p + 7)};
      if (p > 0) {
        wrong_length.push_back(Vec::Zero(p - 1));
        wrong_length.push_back(Vec(0));
      }
      for (const Vec& t : wrong_length) {
        INFO("θ of length " << t.size() << " (expected " << p << ")");
        CHECK_THROWS_AS((void)m->mix(t), InputError);
        CHECK_THROWS_AS((void)m->vjp(t, dH), InputError);
      }
      if (p > 0) {  // resnet and the n = 1 charts have no entry to spoil
        for (const double bad : bad_values)
          for (const Index k : {Index(0), p / 2, p - 1}) {
            Vec t = good;
            t[k] = bad;
            INFO("θ[" << k << "] = " << bad);
            CHECK_THROWS_AS((void)m->mix(t), InputError);
            CHECK_THROWS_AS((void)m->vjp(t, dH), InputError);
          }
      }
      const std::vector<std::pair<Index, Index>> bad_shapes{{n + 1, n}, {n, n + 1}, {n + 1, n + 1}, {0, 0}, {n - 1, n}};
      for (const auto& [r, cc] : bad_shapes) {
        INFO("dH of shape " << r << "×" << cc);
        CHECK_THROWS_AS((void)m->vjp(good, Mat::Ones(r, cc)), InputError);
      }
      // and the correct shapes pass
      CHECK(m->vjp(good, dH).size() == p);
      CHECK(m->mix(good).H.rows() == n);
    }
  }

  TEST_CASE("inits: sizes, finiteness, the identity init's H and invalid ε") {
    double worst_identity = 0.0;  // max |H − expected| over the methods with a non-zero tolerance
    int unreachable = 0;          // circulant identity inits refused as documented
    for (const Config& c : configs()) {
      INFO(c.label);
      const auto m = make_method(c.o);
      const Index n = c.o.n, p = m->num_params();
      for (const double eps : {0.01, 0.1, 0.5}) {
        INFO("identity init, ε = " << eps);
        if (!identity_init_reachable(c.o, eps)) {  // circulant γ = 1/64: w₀ = (c₀ − (1−γ))/γ ≤ 0 has no logit
          CHECK_THROWS_WITH_AS((void)m->init_params(InitKind::Identity, eps), doctest::Contains("needs γ > ε(n−1)/n"),
                               InputError);
          ++unreachable;
          continue;
        }
        const Vec t = m->init_params(InitKind::Identity, eps);
        REQUIRE(t.size() == p);
        CHECK(t.allFinite());
        const MixResult r = m->mix(t);
        REQUIRE(r.H.rows() == n);
        CHECK(r.H.allFinite());
        const IdentityExpectation want = identity_expectation(c.o, eps);
        const double err = max_abs_diff(r.H, want.H);
        INFO("max|H − expected| = " << err << " (tolerance " << want.tol << ")");
        CHECK(err <= want.tol);
        if (want.tol > 0.0) worst_identity = std::max(worst_identity, err);
      }
      {
        INFO("authors init");
        const Vec t = m->init_params(InitKind::Authors, 0.01);
        REQUIRE(t.size() == p);
        CHECK(t.allFinite());
        const MixResult r = m->mix(t);
        REQUIRE(r.H.rows() == n);
        CHECK(r.H.allFinite());
        if (m->exact_ds()) {
          double w = 0.0;
          check_exact_ds(r.H, w);
        }
      }
      for (const double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
        INFO("identity init with ε = " << bad);
        CHECK_THROWS_AS((void)m->init_params(InitKind::Identity, bad), InputError);
      }
    }
    MESSAGE("identity init: worst max|H − expected| = " << worst_identity << "; " << unreachable
                                                         << " circulant (γ = 1/64) inits refused (γ ≤ ε(n−1)/n)");
    CHECK(unreachable == 2);  // n = 4, γ = 1/64: ε = 0.1 and 0.5 (0.0075 < γ < 0.075)
  }

  TEST_CASE("margins: exact_ds methods are doubly stochastic with entries ≥ 0; mhc's summary reports its error; "
            "mean-preserving and orthogonal methods keep their property") {
    double worst_ds = 0.0, worst_sinkhorn_moderate = 0.0, worst_sinkhorn_wide = 0.0, worst_sinkhorn_huge = 0.0;
    double worst_go_ds = 0.0, worst_go_ratio = 0.0, worst_norm_X = 0.0;  // go-mhc margin, margin/((1 + ‖X‖₂)·ns·u)
    double worst_mp = 0.0, worst_orth = 0.0, worst_orth_ratio = 0.0, worst_norm_A = 0.0, worst_shc_norm = 0.0;
    double worst_kstep_orth = 0.0;  // cayley k-step: max|HᵀH − I| (not claimed orthogonal)
    int orth_checked = 0, mp_checked = 0;
    for (const Config& c : configs()) {
      INFO(c.label);
      const auto m = make_method(c.o);
      const Index n = c.o.n, p = m->num_params();
      RandomStream rng(kSeed, Purpose::Test, {1, key_of(c)});
      for (const double scale : {1.0, 3.0, 10.0, 30.0})
        for (int d = 0; d < 4; ++d) {
          const Vec theta = normal_vec(rng, p, scale);
          INFO("θ ~ N(0, " << scale << "²), draw " << d);
          const MixResult r = m->mix(theta);
          REQUIRE(r.H.rows() == n);
          REQUIRE(r.H.allFinite());
          // stateless: a vjp in between does not change the next mix (bit for bit)
          (void)m->vjp(theta, Mat::Ones(n, n));
          CHECK(max_abs_diff(m->mix(theta).H, r.H) == 0.0);
          if (m->exact_ds()) {
            if (c.o.method == MethodId::GoMHC) {
              // Row i of H sums s rows of U∘U, so its error is that of UUᵀ = I: the Cayley transform's (orth_tol).
              const Index m_dim = c.o.n * c.o.go_s;
              const double norm_X = spectral_norm(cayley_generator(c.o, theta));
              const double e = std::max(row_error(r.H), col_error(r.H));
              INFO("go-mhc margin " << e << ", ‖X‖₂ = " << norm_X << ", bound " << orth_tol(m_dim, norm_X));
              CHECK(e <= std::max(ds_tol(n), orth_tol(m_dim, norm_X)));
              CHECK(r.H.minCoeff() >= 0.0);
              worst_go_ds = std::max(worst_go_ds, e);
              worst_go_ratio = std::max(worst_go_ratio, e / ((1.0 + norm_X) * static_cast<double>(m_dim) * kU));
              worst_norm_X = std::max(worst_norm_X, norm_X);
            } else {
              check_exact_ds(r.H, worst_ds);
            }
            CHECK_FALSE(r.sinkhorn.has_value());
          } else if (m->mean_preserving()) {  // shc, isohc: H = J/n + B·M·Bᵀ, entries of either sign
            const double re = row_error(r.H), ce = col_error(r.H);
            INFO("mean preserving: row_err = " << re << ", col_err = " << ce << ", bound 8·n²·u = " << ds_tol(n));
            CHECK(re <= ds_tol(n));
            CHECK(ce <= ds_tol(n));
            worst_mp = std::max({worst_mp, re, ce});
            ++mp_checked;
          }
          if (m->orthogonal()) {  // resnet, tropical, cayley (exact), isohc (‖A‖ = 0 without a generator)
            const double norm_A = spectral_norm(cayley_generator(c.o, theta));
            const double e = max_abs_diff(r.H.transpose() * r.H, Mat::Identity(n, n));
            const Index m_dim = c.o.method == MethodId::IsoHC ? n - 1 : n;
            INFO("max|HᵀH − I| = " << e << ", ‖A‖₂ = " << norm_A << ", bound " << orth_tol(std::max<Index>(m_dim, 1), norm_A));
            CHECK(e <= orth_tol(std::max<Index>(m_dim, 1), norm_A));
            worst_orth = std::max(worst_orth, e);
            worst_orth_ratio = std::max(worst_orth_ratio, e / ((1.0 + norm_A) * static_cast<double>(std::max<Index>(m_dim, 1)) * kU));
            worst_norm_A = std::max(worst_norm_A, norm_A);
            ++orth_checked;
          } else if (c.o.method == MethodId::Cayley) {
            worst_kstep_orth = std::max(worst_kstep_orth, max_abs_diff(r.H.transpose() * r.H, Mat::Identity(n, n)));
          }
          if (c.o.method == MethodId::SHC) {  // singular values 1 (on 1/√n) and |tanh x_k| < 1
            const double s2 = spectral_norm(r.H);
            INFO("shc ‖H‖₂ = " << s2);
            CHECK(s2 <= 1.0 + ds_tol(n));
            worst_shc_norm = std::max(worst_shc_norm, s2 - 1.0);
          }
          if (r.sinkhorn) {  // mhc: finitely many Sinkhorn iterations
            const SinkhornSummary& s = *r.sinkhorn;
            const bool newton = c.o.sinkhorn.projection == SinkhornProjection::Newton;
            CHECK(s.status == (newton ? SinkhornStatus::Converged : SinkhornStatus::FixedIterations));
            CHECK(s.row_err == row_error(r.H));
            CHECK(s.col_err == col_error(r.H));
            CHECK(r.H.minCoeff() >= 0.0);
            // col_then_row (default): rows are normalised last and hold to round-off.
            const double last = c.o.sinkhorn.order == SinkhornOrder::ColThenRow ? s.row_err : s.col_err;
            const double other = c.o.sinkhorn.order == SinkhornOrder::ColThenRow ? s.col_err : s.row_err;
            INFO("row_err = " << s.row_err << ", col_err = " << s.col_err);
            // exp domain: the division by the row sum leaves n·u. Log domain: H_ij = exp((Z_ij − max Z + u_i + v_j)/τ)
            // with arguments of size up to the logit range R/τ, computed to an absolute u·R/τ, which exp turns into
            // a relative error of each entry, so the last margin holds to 8·n·u·max(1, R/τ).
            const double range = p > 0 ? (theta.maxCoeff() - theta.minCoeff()) / m->logit_tau() : 0.0;
            // the deployed ε (header comment): + 2(n + 1)·ε on every margin bound
            const double eps_term =
                2.0 * static_cast<double>(n + 1) *
                (c.o.method == MethodId::Dsv4 ? with_dsv4_preset(c.o.sinkhorn) : c.o.sinkhorn).eps_value();
            if (newton) {  // its stopping rule: both margins ≤ 1e-14·n (birkhoff_projection.hpp)
              CHECK(std::max(s.row_err, s.col_err) <= 1e-14 * static_cast<double>(n));
              continue;
            }
            CHECK(last <= 8.0 * static_cast<double>(n) * kU *
                                  (c.o.sinkhorn.domain == SinkhornDomain::Log ? std::max(1.0, range) : 1.0) +
                              eps_term);
            // Sinkhorn's linear rate degrades with the spread of the logits in units of τ (the Birkhoff–Hopf
            // contraction of exp(Z/τ)): "moderate" is θ/τ ~ N(0, 1), "wide" up to N(0, 6²), beyond not bounded.
            const double spread = scale / m->logit_tau();
            const bool moderate = spread <= 1.0;
            // (measured on mhc's t = 20 draws; dsv4's draws and iteration variants are held to the 500-iteration
            // convergence below and to the deployed reference in test_dsv4.cpp)
            if (spread <= 6.0 && c.o.method == MethodId::MHC) CHECK(other <= (moderate ? 1e-6 : 0.05) + eps_term);
            double& worst = moderate        ? worst_sinkhorn_moderate
                            : spread <= 6.0 ? worst_sinkhorn_wide
                                            : worst_sinkhorn_huge;
            worst = std::max(worst, other);
            // more iterations: the margin only improves; from moderate logits 500 iterations converge to round-off
            MethodOptions more = c.o;
            more.sinkhorn.iterations = 500;
            const MixResult rc = make_method(more)->mix(theta);
            REQUIRE(rc.sinkhorn.has_value());
            const double other500 =
                c.o.sinkhorn.order == SinkhornOrder::ColThenRow ? rc.sinkhorn->col_err : rc.sinkhorn->row_err;
            INFO("500 iterations: row_err = " << rc.sinkhorn->row_err << ", col_err = " << rc.sinkhorn->col_err);
            if (eps_term == 0.0) CHECK(other500 <= other);  // with ε the margins settle at O(nε), not monotonically
            if (moderate) {
              CHECK(rc.sinkhorn->row_err <= ds_tol(n) + eps_term);
              CHECK(rc.sinkhorn->col_err <= ds_tol(n) + eps_term);
            }
          }
        }
    }
    MESSAGE("exact_ds worst margin error " << worst_ds << " (bound 8·n²·u ≤ " << ds_tol(6)
                                           << "); mhc t = 20 unnormalised margin: worst " << worst_sinkhorn_moderate
                                           << " for θ/τ ~ N(0,1), " << worst_sinkhorn_wide << " up to N(0,6²), "
                                           << worst_sinkhorn_huge << " for θ/τ wider than N(0,6²) (not bounded)");
    MESSAGE("go-mhc worst margin error " << worst_go_ds << ", worst ratio to (1 + ‖X‖₂)·ns·u " << worst_go_ratio
                                         << " (bound 16), ‖X‖₂ up to " << worst_norm_X);
    MESSAGE("mean-preserving (shc, isohc) worst margin error " << worst_mp << " over " << mp_checked
                                                                << " draws (bound 8·n²·u ≤ " << ds_tol(6) << ")");
    MESSAGE("orthogonal (cayley exact, isohc) worst max|HᵀH − I| " << worst_orth << " over " << orth_checked
                                                                    << " draws, worst ratio to (1 + ‖A‖₂)·m·u "
                                                                    << worst_orth_ratio << " (bound 16), ‖A‖₂ up to "
                                                                    << worst_norm_A);
    MESSAGE("cayley k-step (not claimed orthogonal): max|HᵀH − I| up to " << worst_kstep_orth);
    MESSAGE("shc worst ‖H‖₂ − 1 = " << worst_shc_norm << " (bound 8·n²·u)");
    CHECK(orth_checked > 0);
    CHECK(mp_checked > 0);
  }

  TEST_CASE("vjp against central finite differences of mix (random θ, random directions)") {
    FdTally tally_by_kind[3];
    for (const Config& c : configs()) {
      INFO(c.label);
      const auto m = make_method(c.o);
      RandomStream rng(kSeed, Purpose::Test, {2, key_of(c)});
      FdTally& tally = tally_by_kind[static_cast<int>(smoothness(c.o.method))];
      for (int d = 0; d < 4; ++d) {
        const double scale = d < 3 ? 1.0 : 3.0;
        const Vec theta = normal_vec(rng, m->num_params(), scale);
        INFO("θ ~ N(0, " << scale << "²), draw " << d);
        check_vjp_fd(*m, theta, rng, 3, tally);
      }
    }
    MESSAGE("FD directions: smooth " << tally_by_kind[0].checked << " checked; piecewise smooth (tbp, rtbp) "
                                     << tally_by_kind[1].checked << " checked, " << tally_by_kind[1].skipped
                                     << " skipped at a branch change; piecewise constant (tropical) "
                                     << tally_by_kind[2].checked << " checked (vjp = 0, H locally constant)");
    CHECK(tally_by_kind[0].checked > 0);
    CHECK(tally_by_kind[1].checked > 0);
    CHECK(tally_by_kind[1].skipped * 10 <= tally_by_kind[1].checked);  // random θ rarely sits near a tie
  }

  TEST_CASE("modifiers: mix = apply_modifiers(unmodified H); vjp scaled by α(1−δ) and matching FD") {
    FdTally tally;
    double worst_scale = 0.0;
    for (const Config& c : configs()) {
      const auto m = make_method(c.o);
      const Index n = c.o.n, p = m->num_params();
      RandomStream rng(kSeed, Purpose::Test, {3, key_of(c)});
      for (const Modifiers& mod : kModifiers) {
        INFO(c.label << " lazy = " << mod.lazy << " minorize = " << mod.minorize);
        const auto mm = with_modifiers(c.o, mod);
        const Vec theta = normal_vec(rng, p);
        Mat want = mix_ok(*m, theta);
        apply_modifiers(want, mod);
        const Mat got = mix_ok(*mm, theta);
        CHECK(max_abs_diff(got, want) == 0.0);
        // A Sinkhorn summary describes the returned (modified) H, not the projection before the modifiers.
        if (const MixResult r = mm->mix(theta); r.sinkhorn) {
          CHECK(r.sinkhorn->row_err == row_error(r.H));
          CHECK(r.sinkhorn->col_err == col_error(r.H));
        }
        if (m->exact_ds()) {
          double w = 0.0;
          check_exact_ds(got, w);
        }
        Mat dH(n, n);
        rng.fill_normal(dH);
        const Vec g = mm->vjp(theta, dH), g0 = m->vjp(theta, dH);
        const double scale = (mod.lazy != 0.0 ? mod.lazy : 1.0) * (1.0 - mod.minorize);
        if (p > 0) {
          const double err = (g - scale * g0).cwiseAbs().maxCoeff();
          INFO("max|vjp_mod − α(1−δ)·vjp| = " << err);
          CHECK(err <= 1e-14 * std::max(1.0, g.cwiseAbs().maxCoeff()));
          worst_scale = std::max(worst_scale, err / std::max(1.0, g.cwiseAbs().maxCoeff()));
        }
        check_vjp_fd(*mm, theta, rng, 2, tally);
      }
    }
    MESSAGE("modifiers: " << tally.checked << " FD directions checked, " << tally.skipped
                          << " skipped at a branch change; worst relative |vjp_mod − α(1−δ)·vjp| = " << worst_scale);
    CHECK(tally.skipped * 10 <= tally.checked);
  }

  TEST_CASE("inverse chart: mix(inverse_chart(H(θ))) = H(θ); methods without a chart say so") {
    double worst_reach = 0.0, worst_shift = 0.0, worst_skew = 0.0;
    int kstep_refused = 0;
    for (const auto& [id, name] : method_table.entries) {
      INFO(name);
      CHECK(has_inverse_chart(id) == documented_chart(id));
      CHECK(has_inverse_chart(id) == (chart_domain(id) != ChartDomain::None));
      if (!has_inverse_chart(id))
        MESSAGE(name << ": no inverse chart (has_inverse_chart false): round trip not checked");
    }
    for (const Config& c : configs()) {
      const MethodId id = c.o.method;
      const Index n = c.o.n;
      const Mat I = Mat::Identity(n, n), J = Mat::Constant(n, n, 1.0 / static_cast<double>(n));
      Mat swap01 = I;  // a transposition (n ≥ 2): orthogonal, det −1, doubly stochastic
      if (n >= 2) {
        swap01.topLeftCorner(2, 2) << 0.0, 1.0, 1.0, 0.0;
      }
      if (!has_inverse_chart(id)) {
        INFO(c.label);
        CHECK_FALSE(inverse_chart(c.o, H0(n, 0.1)).has_value());  // a valid interior target, still nullopt
        continue;
      }
      if (id == MethodId::MHC && c.o.sinkhorn.eps_value() != 0.0) {  // ε moves the fixed point: refused by name
        INFO(c.label);
        CHECK_THROWS_WITH_AS((void)inverse_chart(c.o, H0(n, 0.1)), doctest::Contains("eps > 0"), InputError);
        continue;
      }
      const ChartDomain domain = chart_domain(id);
      RandomStream rng_outside(kSeed, Purpose::Test, {5, key_of(c)});
      const bool kstep = id == MethodId::Cayley && c.o.cayley_steps > 0;
      {
        INFO(c.label << ": outside the chart's domain");
        if (domain == ChartDomain::DoublyStochastic) {  // an interior doubly stochastic T
          if (n >= 2) CHECK_FALSE(inverse_chart(c.o, I).has_value());  // a vertex
          Mat not_ds = Mat::Constant(n, n, 0.5);
          not_ds.diagonal().array() += 0.1;  // row and column sums n/2 + 0.1 ≠ 1
          CHECK_THROWS_AS((void)inverse_chart(c.o, not_ds), InputError);
        }
        if (id == MethodId::Circulant) {
          if (n >= 3)  // positive, doubly stochastic, not circulant (a transposition is not, for n ≥ 3)
            CHECK_FALSE(inverse_chart(c.o, Mat(0.5 * J + 0.25 * I + 0.25 * swap01)).has_value());
          if (c.o.gamma < 1.0 - 1.0 / static_cast<double>(n))  // J/n: c₀ = 1/n < 1 − γ, w₀ < 0
            CHECK_FALSE(inverse_chart(c.o, J).has_value());
        }
        if (domain == ChartDomain::Orthogonal) {  // any finite T; off the family: nullopt, no throw
          std::optional<Vec> at_identity;
          CHECK_NOTHROW(at_identity = inverse_chart(c.o, I));
          if (kstep) {
            CHECK_FALSE(at_identity.has_value());  // documented: the k-step variant has no chart
          } else {  // Θ = 0 gives I
            REQUIRE(at_identity.has_value());
            CHECK(reach_error(*make_method(c.o), *at_identity, I) <= 1e-12);
          }
          if (n >= 2) {
            CHECK_FALSE(inverse_chart(c.o, H0(n, 0.1)).has_value());  // not orthogonal
            CHECK_FALSE(inverse_chart(c.o, swap01).has_value());      // det −1 (isohc: mean preserving too)
            Mat flip = I;  // orthogonal, det +1, eigenvalue −1 (twice); not mean preserving
            flip(0, 0) = flip(1, 1) = -1.0;
            CHECK_FALSE(inverse_chart(c.o, flip).has_value());
            // Every eigenvalue at −1, and I + T (isohc: I + BᵀTB) is pure round-off, which a relative condition
            // estimate sees as well conditioned: cayley −QQᵀ (Q orthogonal, from a QR), isohc 2J/n − I (R = −I).
            Mat G(n, n);
            rng_outside.fill_normal(G);
            const Mat Q = Eigen::HouseholderQR<Mat>(G).householderQ();
            const Mat minus_one = id == MethodId::IsoHC ? Mat(2.0 * J - I) : Mat(-Q * Q.transpose());
            INFO("max|I + T| = " << (I + minus_one).cwiseAbs().maxCoeff());
            CHECK_FALSE(inverse_chart(c.o, minus_one).has_value());
          } else {
            CHECK_FALSE(inverse_chart(c.o, Mat::Constant(1, 1, -1.0)).has_value());  // det −1 (n = 1)
          }
        }
        MethodOptions flat_o = c.o;
        flat_o.modifiers.minorize = 1.0;  // every θ gives J/n: nothing to invert
        CHECK_FALSE(inverse_chart(flat_o, J).has_value());
      }
      RandomStream rng(kSeed, Purpose::Test, {4, key_of(c)});
      if (kstep) {  // not even its own H(θ) is inverted
        const auto m = make_method(c.o);
        for (int d = 0; d < 3; ++d) {
          INFO(c.label << " draw " << d);
          CHECK_FALSE(inverse_chart(c.o, mix_ok(*m, normal_vec(rng, m->num_params()))).has_value());
          ++kstep_refused;
        }
        continue;
      }
      for (const Modifiers& mod : {Modifiers{}, kModifiers[2]}) {
        MethodOptions o = c.o;
        o.modifiers = mod;
        // mhc: targets from a converged run (doubly stochastic to round-off, as the chart requires).
        MethodOptions target_o = o;
        if (id == MethodId::MHC) target_o.sinkhorn.iterations = 500;
        const auto target_m = make_method(target_o), m = make_method(o);
        for (int d = 0; d < 3; ++d) {
          INFO(c.label << " lazy = " << mod.lazy << " minorize = " << mod.minorize << " draw " << d);
          const Vec theta = normal_vec(rng, m->num_params());
          const Mat T = mix_ok(*target_m, theta);
          if (domain == ChartDomain::DoublyStochastic) REQUIRE(T.minCoeff() > 0.0);  // interior
          const std::optional<Vec> back = inverse_chart(o, T);
          REQUIRE(back.has_value());
          REQUIRE(back->size() == m->num_params());
          CHECK(back->allFinite());
          const double reach = reach_error(*m, *back, T);  // with the method's own options (mhc: t = 20)
          INFO("reach error " << reach);
          CHECK(reach <= 1e-12);
          worst_reach = std::max(worst_reach, reach);
          if (id == MethodId::MHC) CHECK(reach_error(*target_m, *back, T) <= 1e-12);  // and converged
          if (bijective_chart(id) && !mod.active() && theta.size() > 0) {
            const double dtheta = (*back - theta).cwiseAbs().maxCoeff();
            INFO("max|θ' − θ| = " << dtheta);
            CHECK(dtheta <= (id == MethodId::HC ? 0.0 : 1e-8));
          }
          if (id == MethodId::Circulant && theta.size() > 0) {  // θ' = θ + a constant (the softmax shift)
            const Vec shift = *back - theta;
            const double spread = shift.maxCoeff() - shift.minCoeff();
            INFO("circulant: spread of θ' − θ = " << spread);
            CHECK(spread <= 1e-8);
            worst_shift = std::max(worst_shift, spread);
          }
          if (domain == ChartDomain::Orthogonal && theta.size() > 0) {  // θ' = the skew part (Θ − Θᵀ)/2
            const Mat Theta = theta_matrix(o, theta), Back = theta_matrix(o, *back);
            const double skew = max_abs_diff(Back, Mat(0.5 * (Theta - Theta.transpose())));
            INFO("max|Θ' − (Θ − Θᵀ)/2| = " << skew);
            CHECK(skew <= 1e-8);
            worst_skew = std::max(worst_skew, skew);
          }
        }
      }
    }
    MESSAGE("inverse charts: worst reach error " << worst_reach << "; circulant: worst spread of θ' − θ " << worst_shift
                                                 << "; cayley/isohc: worst max|Θ' − (Θ − Θᵀ)/2| " << worst_skew << "; "
                                                 << kstep_refused << " k-step cayley targets refused (no chart)");
    CHECK(kstep_refused > 0);
  }
}  // TEST_SUITE
