// analysis/depth_stream.hpp: streaming prefix gains and sigma_max of S seeds × L layers (random generator, mhc).
//
// Vectorisation: like mixing/sinkhorn_batch.cpp, every inner loop runs over the lane dimension `l < kLanes`
// (16 seeds) of arrays indexed [entry][lane], written without branches (selects only) so that GCC -O3 turns it
// into SIMD instructions (AVX-512 with -march=native; narrower ISAs split the loops). No intrinsics, no
// -ffast-math: the libm calls of the scalar recipe (log, sin, cos) are replaced by the fdlibm algorithms below,
// which are plain arithmetic and bit manipulation. This file is compiled with -fno-math-errno (CMakeLists.txt): the
// lane loops call sqrt, and GCC does not vectorise a sqrt that may have to set errno (same bits either way).
#include "mhclab/analysis/depth_stream.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>

#include "mhclab/analysis/scaled_matrix.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/pow2.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"

namespace mhclab {
namespace {

constexpr int kLanes = static_cast<int>(kDepthStreamBlock);
constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;
constexpr double kInf = std::numeric_limits<double>::infinity();
// Jacobi stopping rule: off(A)² ≤ kJacobiRelTol²·‖A‖_F² with kJacobiRelTol = 1e-15.
constexpr double kJacobiRelTol2 = 1e-30;

/// Neumaier-compensated running sum (the summary's sums: order fixed, so thread-count independent).
struct CompensatedSum {
  double sum = 0.0, c = 0.0;
  void add(double x) {
    const double t = sum + x;
    c += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  [[nodiscard]] double value() const { return sum + c; }
};

// ---- vectorisable log, sin, cos (fdlibm / FreeBSD msun algorithms, < 1 ulp) --------------------------------
// They replace libm's calls in the Box–Muller recipe of core/random.hpp. glibc's log/sin/cos are within
// ~0.5 ulp of the exact value and these within 1 ulp, so a normal drawn here equals RandomStream::normal()'s
// to the last bit or differs by an ulp or two (tested: θ within 4 ulp·max(1, |θ|) of stack_theta).

/// ln x for a positive normal x (here x = u1 ∈ [2^-53, 1]). fdlibm e_log.c without its branches (the
/// |f| < 2^-20 shortcut of fdlibm is a speed path; the general formula is as accurate there).
inline double log_positive(double x) noexcept {
  constexpr double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  constexpr double Lg1 = 6.666666666666735130e-01, Lg2 = 3.999999999940941908e-01, Lg3 = 2.857142874366239149e-01,
                   Lg4 = 2.222219843214978396e-01, Lg5 = 1.818357216161805012e-01, Lg6 = 1.531383769920937332e-01,
                   Lg7 = 1.479819860511658591e-01;
  const auto bits = std::bit_cast<std::uint64_t>(x);
  std::int64_t hx = static_cast<std::int64_t>(bits >> 32);
  std::int64_t k = (hx >> 20) - 1023;
  hx &= 0x000fffff;
  const std::int64_t i = (hx + 0x95f64) & 0x100000;
  // Normalise the mantissa into [√2/2, √2): exponent 0 or −1.
  const double xm = std::bit_cast<double>((static_cast<std::uint64_t>(hx | (i ^ 0x3ff00000)) << 32) |
                                          (bits & 0xffffffffULL));
  k += i >> 20;
  const double f = xm - 1.0;
  const double s = f / (2.0 + f);
  const double dk = static_cast<double>(k);
  const double z = s * s;
  const double w = z * z;
  const double t1 = w * (Lg2 + w * (Lg4 + w * Lg6));
  const double t2 = z * (Lg1 + w * (Lg3 + w * (Lg5 + w * Lg7)));
  const double R = t2 + t1;
  const bool big = ((hx - 0x6147a) | (0x6b851 - hx)) > 0;
  const double hfsq = 0.5 * f * f;
  const double a = dk * ln2_hi - ((hfsq - (s * (hfsq + R) + dk * ln2_lo)) - f);
  const double b = dk * ln2_hi - ((s * (f - R) - dk * ln2_lo) - f);
  return big ? a : b;
}

/// FreeBSD msun k_sin.c (iy = 1): sin(x + y) for |x| ≤ π/4, |y| ≤ ulp(x)/2.
inline double kernel_sin(double x, double y) noexcept {
  constexpr double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03,
                   S3 = -1.98412698298579493134e-04, S4 = 2.75573137070700676789e-06,
                   S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  const double z = x * x;
  const double w = z * z;
  const double r = S2 + z * (S3 + z * S4) + z * w * (S5 + z * S6);
  const double v = z * x;
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

/// FreeBSD msun k_cos.c: cos(x + y) for |x| ≤ π/4.
inline double kernel_cos(double x, double y) noexcept {
  constexpr double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03,
                   C3 = 2.48015872894767294178e-05, C4 = -2.75573143513906633035e-07,
                   C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const double z = x * x;
  double w = z * z;
  const double r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const double hz = 0.5 * z;  // exact
  w = 1.0 - hz;
  return w + (((1.0 - w) - hz) + (z * r - x * y));
}

/// sin a and cos a for a ∈ [0, 2π]: a − n·π/2 in double-double (π/2 in three parts, fdlibm's constants; the
/// first two products are exact, the subtraction's error is kept by TwoSum), then the kernels by quadrant.
inline void sincos_2pi(double a, double& sn, double& cs) noexcept {
  constexpr double invpio2 = 6.36619772367581382433e-01;
  constexpr double pio2_1 = 1.57079632673412561417e+00;   // first 33 bits of π/2
  constexpr double pio2_2 = 6.07710050630396597660e-11;   // next 33 bits
  constexpr double pio2_2t = 2.02226624879595063154e-21;  // π/2 − pio2_1 − pio2_2
  constexpr double shifter = 0x1.8p52;
  const double kd = a * invpio2 + shifter;
  const double fn = kd - shifter;  // round(a·2/π) ∈ {0, …, 4}
  const double r1 = a - fn * pio2_1;       // exact (Sterbenz; fn·pio2_1 has ≤ 36 bits)
  const double w2 = fn * pio2_2;           // exact
  const double r2 = r1 - w2;               // TwoSum(r1, −w2)
  const double bb = r2 - r1;
  const double e2 = (r1 - (r2 - bb)) + (-w2 - bb);
  const double tail = e2 - fn * pio2_2t;
  const double y0 = r2 + tail;             // Fast2Sum: |r2| ≫ |tail|
  const double y1 = (r2 - y0) + tail;
  const double s = kernel_sin(y0, y1);
  const double c = kernel_cos(y0, y1);
  const auto q = static_cast<std::int64_t>(fn) & 3;
  const double s0 = (q & 1) ? c : s;  // sin: s, c, −s, −c
  const double c0 = (q & 1) ? s : c;  // cos: c, −s, −c, s
  sn = (q & 2) ? -s0 : s0;
  cs = (q == 1 || q == 2) ? -c0 : c0;
}

// ---- θ for a block of 16 seeds --------------------------------------------------------------------------
/// xi[e·kLanes + lane] = the first p normals of RandomStream(seed_lane, Theta, {layer_index, 0}); `prefix` holds
/// stream_key(seed_lane, Theta) per lane. The recipe of core/random.hpp: draw m (m = 1, 2, …) is
/// mix(key + m·γ); normal pairs from (u1 = 1 − uniform, u2 = uniform) → r·cos(2πu2), r·sin(2πu2).
void block_normals(const std::uint64_t* prefix, std::uint64_t layer_index, Index p, double* xi) {
  alignas(64) std::uint64_t key[kLanes];
  for (int l = 0; l < kLanes; ++l)
    key[l] = splitmix64_mix(splitmix64_mix(prefix[l] ^ (layer_index + kGamma)) ^ (std::uint64_t{0} + kGamma));
  const Index pairs = (p + 1) / 2;
  for (Index q = 0; q < pairs; ++q) {
    alignas(64) double z0[kLanes], z1[kLanes];
    const std::uint64_t m1 = static_cast<std::uint64_t>(2 * q + 1) * kGamma, m2 = m1 + kGamma;
    for (int l = 0; l < kLanes; ++l) {
      const std::uint64_t d1 = splitmix64_mix(key[l] + m1), d2 = splitmix64_mix(key[l] + m2);
      const double u1 = 1.0 - static_cast<double>(static_cast<std::int64_t>(d1 >> 11)) * 0x1.0p-53;
      const double u2 = static_cast<double>(static_cast<std::int64_t>(d2 >> 11)) * 0x1.0p-53;
      const double r = std::sqrt(-2.0 * log_positive(u1));
      const double a = 2.0 * 3.14159265358979323846 * u2;
      double s, c;
      sincos_2pi(a, s, c);
      z0[l] = r * c;
      z1[l] = r * s;
    }
    for (int l = 0; l < kLanes; ++l) xi[2 * q * kLanes + l] = z0[l];
    if (2 * q + 1 < p)
      for (int l = 0; l < kLanes; ++l) xi[(2 * q + 1) * kLanes + l] = z1[l];
  }
}

/// Z[lane·p + e] = init[e] + σ·xi[e][lane] (generators/params.cpp's θ = init + σ·ξ; AoS for sinkhorn_batch).
void block_logits(const double* init, double noise, Index p, const double* xi, double* Z) {
  for (Index e = 0; e < p; ++e)
    for (int l = 0; l < kLanes; ++l) Z[l * p + e] = init[e] + noise * xi[e * kLanes + l];
}

// ---- shared per-run context ------------------------------------------------------------------------------
struct Context {
  const DepthStreamOptions& o;
  Vec init;                    // n² init θ of mhc
  SinkhornBatchOptions batch;  // batched Sinkhorn (threads = 1: we thread over blocks)
  const DepthStreamSink* sink;
  [[nodiscard]] Index p() const { return o.n * o.n; }
};

struct BlockTotals {
  CompensatedSum fwd, bwd, sigma;
  int max_sweeps = 0;
  Index fallbacks = 0;
};

[[noreturn]] void throw_issue(const Context& c, Index seed_index, Index layer) {
  throw ComputeError("depth_stream: Sinkhorn numerical_issue at seed " +
                     std::to_string(c.o.first_seed + static_cast<std::uint64_t>(seed_index)) + ", layer " +
                     std::to_string(layer) + " (H_" + std::to_string(layer) + ", stream index " +
                     std::to_string(layer - 1) + "): exp-domain underflow or a non-finite value");
}

void emit(const Context& c, Index block, Index layer, ProductKind kind, const DepthStreamPoint* pts, Index real,
          BlockTotals& tot) {
  for (Index l = 0; l < real; ++l) {
    const DepthStreamPoint& q = pts[l];
    tot.fwd.add(q.fwd_gain());
    tot.bwd.add(q.bwd_gain());
    tot.sigma.add(q.sigma_max());
  }
  if (c.sink != nullptr && *c.sink)
    (*c.sink)(DepthStreamBatch{block * kDepthStreamBlock, layer, kind, std::span<const DepthStreamPoint>(pts, real)});
}

void lane_prefixes(const Context& c, Index block, std::uint64_t* prefix) {
  for (int l = 0; l < kLanes; ++l)
    prefix[l] = stream_key(c.o.first_seed + static_cast<std::uint64_t>(block * kLanes + l), Purpose::Theta);
}

/// σ̂ = √λ_max(M̂ᵀM̂) by Eigen (scalar path and the batched fallback).
double sigma_max_eigen(const Mat& Mh) {
  const Mat A = Mh.transpose() * Mh;
  Eigen::SelfAdjointEigenSolver<Mat> es(A, Eigen::EigenvaluesOnly);
  if (es.info() != Eigen::Success) throw ComputeError("depth_stream: the eigenvalue solver did not converge");
  return std::sqrt(std::max(0.0, es.eigenvalues().maxCoeff()));
}

// ---- batched path (n ≤ 8) ---------------------------------------------------------------------------------
template <int N>
struct BatchState {
  static constexpr int NN = N * N;
  alignas(64) double P[NN][kLanes];   // M̂ of the prefix
  alignas(64) double H[NN][kLanes];   // H_l
  alignas(64) double A[NN][kLanes];   // M̂ᵀM̂ (upper triangle used)
  alignas(64) double K[kLanes];       // binary exponent K (M = M̂·2^K)
};

/// C = A·B in every lane ([entry][lane], row-major entries; sums over k left to right).
template <int N>
void lane_product(const double (&A)[N * N][kLanes], const double (&B)[N * N][kLanes], double (&C)[N * N][kLanes]) {
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      for (int l = 0; l < kLanes; ++l) C[i * N + j][l] = A[i * N][l] * B[j][l];
      for (int k = 1; k < N; ++k)
        for (int l = 0; l < kLanes; ++l) C[i * N + j][l] += A[i * N + k][l] * B[k * N + j][l];
    }
}

/// M̂ ← Pn·2^{−e} with max|M̂| ∈ [1/2, 1) (an exact power of two), K += e: the value Pn·2^K is kept.
template <int N>
void take_normalised(BatchState<N>& s, const double (&Pn)[N * N][kLanes]) {
  constexpr int NN = N * N;
  alignas(64) double mx[kLanes];
  for (int l = 0; l < kLanes; ++l) mx[l] = 0.0;
  for (int e = 0; e < NN; ++e)
    for (int l = 0; l < kLanes; ++l) {
      const double a = std::fabs(Pn[e][l]);
      mx[l] = a > mx[l] ? a : mx[l];
    }
  // mx = f·2^e, f ∈ [1/2, 1): biased exponent ex, e = ex − 1022, 2^−e has biased exponent 2045 − ex.
  alignas(64) double scale[kLanes];
  int abnormal = 0;
  for (int l = 0; l < kLanes; ++l) {
    const auto ex = static_cast<std::int64_t>((std::bit_cast<std::uint64_t>(mx[l]) >> 52) & 0x7ff);
    const bool ok = ex >= 1 && ex <= 2000;  // normal and far from overflow
    abnormal += ok ? 0 : 1;
    const std::int64_t exs = ok ? ex : 1022;
    scale[l] = std::bit_cast<double>(static_cast<std::uint64_t>(2045 - exs) << 52);
    s.K[l] += static_cast<double>(exs - 1022);
  }
  for (int e = 0; e < NN; ++e)
    for (int l = 0; l < kLanes; ++l) s.P[e][l] = Pn[e][l] * scale[l];
  if (abnormal != 0) {  // zero, subnormal or huge maxima (not reached by mhc products): exact scalar fix-up
    for (int l = 0; l < kLanes; ++l) {
      const auto ex = static_cast<std::int64_t>((std::bit_cast<std::uint64_t>(mx[l]) >> 52) & 0x7ff);
      if (ex >= 1 && ex <= 2000) continue;
      if (mx[l] == 0.0 || s.K[l] == -kInf) {
        s.K[l] = -kInf;
        for (int e = 0; e < NN; ++e) s.P[e][l] = 0.0;
        continue;
      }
      int e2 = 0;
      (void)std::frexp(mx[l], &e2);
      for (int e = 0; e < NN; ++e) s.P[e][l] = std::ldexp(Pn[e][l], -e2);  // exact: results are normal
      s.K[l] += static_cast<double>(e2);
    }
  }
}

/// Cyclic Jacobi on A (upper triangle, [entry][lane]) until every lane has off(A)² ≤ 1e-30·‖A‖_F² (or the sweep
/// cap). Returns the sweeps run; lam[l] = max_i a_ii; unconverged lanes are flagged in `bad`.
template <int N>
int jacobi_lambda_max(double (&A)[N * N][kLanes], double (&lam)[kLanes], bool (&bad)[kLanes]) {
  alignas(64) double act[kLanes];
  int sweeps = 0;
  for (;; ++sweeps) {
    int active = 0;
    for (int l = 0; l < kLanes; ++l) {
      double off2 = 0.0, d2 = 0.0;
      for (int p = 0; p < N; ++p) {
        d2 += A[p * N + p][l] * A[p * N + p][l];
        for (int q = p + 1; q < N; ++q) off2 += A[p * N + q][l] * A[p * N + q][l];
      }
      const bool go = 2.0 * off2 > kJacobiRelTol2 * (d2 + 2.0 * off2);
      act[l] = go ? 1.0 : 0.0;
      active += go ? 1 : 0;
    }
    if (active == 0 || sweeps == kJacobiMaxSweeps) {
      for (int l = 0; l < kLanes; ++l) bad[l] = act[l] != 0.0;
      break;
    }
    for (int p = 0; p < N - 1; ++p)
      for (int q = p + 1; q < N; ++q) {
        alignas(64) double cs[kLanes], sn[kLanes];
        for (int l = 0; l < kLanes; ++l) {
          // Golub–Van Loan sym.schur2: τ = (a_qq − a_pp)/(2a_pq), t = sign(τ)/(|τ| + √(1 + τ²)), c = 1/√(1 + t²).
          const double apq = A[p * N + q][l], app = A[p * N + p][l], aqq = A[q * N + q][l];
          const bool rot = (apq != 0.0) & (act[l] != 0.0);
          const double th = (aqq - app) / (rot ? 2.0 * apq : 1.0);
          double t = 1.0 / (std::fabs(th) + std::sqrt(1.0 + th * th));  // τ² = inf → t = 0 (a_pq negligible)
          t = rot ? std::copysign(t, th) : 0.0;
          const double c = 1.0 / std::sqrt(1.0 + t * t);
          cs[l] = c;
          sn[l] = t * c;
          A[p * N + p][l] = app - t * apq;  // Rutishauser's form: exact no-op for t = 0
          A[q * N + q][l] = aqq + t * apq;
          A[p * N + q][l] = rot ? 0.0 : apq;
        }
        // Rows/columns r ∉ {p, q}: (a_rp, a_rq) ← (c·a_rp − s·a_rq, s·a_rp + c·a_rq), upper-triangle storage.
        auto rotate = [&](int rp, int rq) {
          for (int l = 0; l < kLanes; ++l) {
            const double g = A[rp][l], h = A[rq][l];
            A[rp][l] = cs[l] * g - sn[l] * h;
            A[rq][l] = sn[l] * g + cs[l] * h;
          }
        };
        for (int r = 0; r < p; ++r) rotate(r * N + p, r * N + q);
        for (int r = p + 1; r < q; ++r) rotate(p * N + r, r * N + q);
        for (int r = q + 1; r < N; ++r) rotate(p * N + r, q * N + r);
      }
  }
  for (int l = 0; l < kLanes; ++l) lam[l] = A[0][l];
  for (int p = 1; p < N; ++p)
    for (int l = 0; l < kLanes; ++l) lam[l] = A[p * N + p][l] > lam[l] ? A[p * N + p][l] : lam[l];
  return sweeps;
}

template <int N>
void set_identity(BatchState<N>& s) {
  for (int e = 0; e < N * N; ++e)
    for (int l = 0; l < kLanes; ++l) s.P[e][l] = (e % (N + 1) == 0) ? 0.5 : 0.0;  // I = (I/2)·2^1
  for (int l = 0; l < kLanes; ++l) s.K[l] = 1.0;
}

/// Gains (and σ̂_max when asked) of the block's M̂, into pts (hat values and the binary exponent).
template <int N>
void block_point_metrics(const Context& c, BatchState<N>& s, Index real, DepthStreamPoint* pts, BlockTotals& tot) {
  // Gains: row sums (forward) and column sums (backward) of M̂, left to right.
  alignas(64) double fwd[kLanes], bwd[kLanes];
  for (int l = 0; l < kLanes; ++l) fwd[l] = bwd[l] = 0.0;
  for (int i = 0; i < N; ++i) {
    alignas(64) double r[kLanes], col[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      r[l] = s.P[i * N][l];
      col[l] = s.P[i][l];
    }
    for (int j = 1; j < N; ++j)
      for (int l = 0; l < kLanes; ++l) {
        r[l] += s.P[i * N + j][l];
        col[l] += s.P[j * N + i][l];
      }
    for (int l = 0; l < kLanes; ++l) {
      const double ar = std::fabs(r[l]), ac = std::fabs(col[l]);
      fwd[l] = ar > fwd[l] ? ar : fwd[l];
      bwd[l] = ac > bwd[l] ? ac : bwd[l];
    }
  }
  for (int l = 0; l < kLanes; ++l) {
    DepthStreamPoint& q = pts[l];
    q.fwd_gain_hat = fwd[l];
    q.bwd_gain_hat = bwd[l];
    q.sigma_max_hat = 0.0;
    q.exponent = s.K[l] == -kInf ? 0 : static_cast<long>(s.K[l]);  // K is an integer (−inf: M̂ = 0)
  }
  if (!c.o.sigma_max) return;
  // A = M̂ᵀM̂, upper triangle: A_jk = Σ_i M̂_ij M̂_ik.
  for (int j = 0; j < N; ++j)
    for (int k = j; k < N; ++k) {
      for (int l = 0; l < kLanes; ++l) s.A[j * N + k][l] = s.P[j][l] * s.P[k][l];
      for (int i = 1; i < N; ++i)
        for (int l = 0; l < kLanes; ++l) s.A[j * N + k][l] += s.P[i * N + j][l] * s.P[i * N + k][l];
    }
  alignas(64) double lam[kLanes];
  bool bad[kLanes];
  const int sweeps = jacobi_lambda_max<N>(s.A, lam, bad);
  tot.max_sweeps = std::max(tot.max_sweeps, sweeps);
  for (int l = 0; l < kLanes; ++l) pts[l].sigma_max_hat = std::sqrt(lam[l] > 0.0 ? lam[l] : 0.0);
  for (Index l = 0; l < real; ++l)
    if (bad[l]) {
      Mat Mh(N, N);
      for (int i = 0; i < N; ++i)
        for (int j = 0; j < N; ++j) Mh(i, j) = s.P[i * N + j][l];
      pts[l].sigma_max_hat = sigma_max_eigen(Mh);
      ++tot.fallbacks;
    }
}

/// Prefix update M_l = H_l·M_{l−1}: M̂ ← H·M̂, renormalised.
template <int N>
void prefix_update(BatchState<N>& s) {
  alignas(64) double Pn[N * N][kLanes];
  lane_product<N>(s.H, s.P, Pn);
  take_normalised<N>(s, Pn);
}

/// Suffix update S_l = S_{l+1}·H_l: M̂ ← M̂·H, renormalised.
template <int N>
void suffix_update(BatchState<N>& s) {
  alignas(64) double Pn[N * N][kLanes];
  lane_product<N>(s.P, s.H, Pn);
  take_normalised<N>(s, Pn);
}

/// Layer "product": M = H_l itself (M̂ = H·2^{−e}, K = e).
template <int N>
void layer_update(BatchState<N>& s) {
  for (int l = 0; l < kLanes; ++l) s.K[l] = 0.0;
  take_normalised<N>(s, s.H);
}

/// H_l of the block's 16 seeds into s.H ([entry][lane]).
template <int N>
void block_layer_H(const Context& c, Index block, Index real, const std::uint64_t* prefix, Index layer, double* xi,
                   double* Z, double* Hb, BatchState<N>& s) {
  constexpr int NN = N * N;
  SinkhornStatus status[kLanes];
  block_normals(prefix, static_cast<std::uint64_t>(layer - 1), NN, xi);
  block_logits(c.init.data(), c.o.noise, NN, xi, Z);
  const SinkhornBatchSummary sb = sinkhorn_batch(std::span<const double>(Z, NN * kLanes),
                                                 std::span<double>(Hb, NN * kLanes),
                                                 std::span<SinkhornStatus>(status, kLanes), c.batch);
  if (sb.numerical_issues > 0)
    for (Index l = 0; l < real; ++l)
      if (status[l] == SinkhornStatus::NumericalIssue) throw_issue(c, block * kLanes + l, layer);
  for (int e = 0; e < NN; ++e)
    for (int l = 0; l < kLanes; ++l) s.H[e][l] = Hb[l * NN + e];
}

template <int N>
BlockTotals run_block_batched(const Context& c, Index block) {
  const Index real = std::min<Index>(kLanes, c.o.seeds - block * kLanes);
  alignas(64) std::uint64_t prefix[kLanes];
  lane_prefixes(c, block, prefix);
  BatchState<N> s;
  alignas(64) double xi[N * N * kLanes];
  alignas(64) double Z[N * N * kLanes];
  alignas(64) double Hb[N * N * kLanes];
  DepthStreamPoint pts[kLanes];
  BlockTotals tot;
  for (const auto& [kind, kind_name] : product_kind_table.entries) {
    if (!c.o.has_kind(kind)) continue;
    set_identity<N>(s);
    for (Index step = 1; step <= c.o.layers; ++step) {
      const Index layer = kind == ProductKind::Suffix ? c.o.layers + 1 - step : step;
      block_layer_H<N>(c, block, real, prefix, layer, xi, Z, Hb, s);
      switch (kind) {
        case ProductKind::Layer: layer_update<N>(s); break;
        case ProductKind::Prefix: prefix_update<N>(s); break;
        case ProductKind::Suffix: suffix_update<N>(s); break;
      }
      block_point_metrics<N>(c, s, real, pts, tot);
      emit(c, block, layer, kind, pts, real, tot);
    }
  }
  return tot;
}

using BatchedBlockFn = BlockTotals (*)(const Context&, Index);
constexpr BatchedBlockFn kBatchedFns[kSinkhornBatchMaxN] = {&run_block_batched<1>, &run_block_batched<2>,
                                                            &run_block_batched<3>, &run_block_batched<4>,
                                                            &run_block_batched<5>, &run_block_batched<6>,
                                                            &run_block_batched<7>, &run_block_batched<8>};

// ---- scalar path (any n) -----------------------------------------------------------------------------------
/// Sinkhorn of one n×n logit matrix (row-major `Z`) with the semantics of sinkhorn_batch (mixing/sinkhorn_batch.hpp:
/// exp_nonpositive of (Z − max Z)/τ, column/row sums left to right, multiplication by the reciprocal of each sum;
/// ≤ 1 ulp per entry from sinkhorn()), laid out so that the column pass vectorises over j. `work` holds n²
/// entries of M (row-major) and `sums` n. Returns false for a numerical issue ((Z − max)/τ < −708, or a
/// non-finite result), leaving H unspecified.
bool sinkhorn_rowmajor(const double* Z, Index n, const Context& c, std::vector<double>& work,
                       std::vector<double>& sums, Mat& H) {
  const Index p = n * n;
  double zmax = Z[0];
  for (Index e = 1; e < p; ++e) zmax = Z[e] > zmax ? Z[e] : zmax;
  double* M = work.data();
  double* cs = sums.data();
  bool ok = std::isfinite(zmax);
  for (Index e = 0; e < p; ++e) {
    const double x = (Z[e] - zmax) / c.o.tau;
    ok = ok && x >= -708.0;
    M[e] = exp_nonpositive(x >= -708.0 ? x : 0.0);
  }
  if (!ok) return false;
  const bool col_first = c.o.order == SinkhornOrder::ColThenRow;
  const auto columns = [&] {
    for (Index j = 0; j < n; ++j) cs[j] = M[j];
    for (Index i = 1; i < n; ++i)
      for (Index j = 0; j < n; ++j) cs[j] += M[i * n + j];
    for (Index j = 0; j < n; ++j) cs[j] = 1.0 / cs[j];
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) M[i * n + j] *= cs[j];
  };
  const auto rows = [&] {
    for (Index i = 0; i < n; ++i) {
      double r = M[i * n];
      for (Index j = 1; j < n; ++j) r += M[i * n + j];
      const double inv = 1.0 / r;
      for (Index j = 0; j < n; ++j) M[i * n + j] *= inv;
    }
  };
  for (int t = 0; t < c.o.iterations; ++t) {
    if (col_first) columns(), rows();
    else rows(), columns();
  }
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) {
      H(i, j) = M[i * n + j];
      ok = ok && std::isfinite(H(i, j));
    }
  return ok;
}

BlockTotals run_block_scalar(const Context& c, Index block) {
  const Index n = c.o.n, p = c.p();
  const Index real = std::min<Index>(kLanes, c.o.seeds - block * kLanes);
  alignas(64) std::uint64_t prefix[kLanes];
  lane_prefixes(c, block, prefix);
  std::vector<double> xi(static_cast<std::size_t>(p * kLanes)), Z(static_cast<std::size_t>(p * kLanes));
  std::vector<DepthStreamPoint> pts(static_cast<std::size_t>(real));
  Mat Hl(n, n);
  std::vector<double> work(static_cast<std::size_t>(p)), sums(static_cast<std::size_t>(n));
  BlockTotals tot;
  for (const auto& [kind, kind_name] : product_kind_table.entries) {
    if (!c.o.has_kind(kind)) continue;
    std::vector<ScaledMatrix> P(static_cast<std::size_t>(real), ScaledMatrix::identity(n));
    for (Index step = 1; step <= c.o.layers; ++step) {
      const Index layer = kind == ProductKind::Suffix ? c.o.layers + 1 - step : step;
      block_normals(prefix, static_cast<std::uint64_t>(layer - 1), p, xi.data());
      block_logits(c.init.data(), c.o.noise, p, xi.data(), Z.data());
      for (Index l = 0; l < real; ++l) {
        if (!sinkhorn_rowmajor(Z.data() + l * p, n, c, work, sums, Hl)) throw_issue(c, block * kLanes + l, layer);
        ScaledMatrix& S = P[static_cast<std::size_t>(l)];
        switch (kind) {  // as depth_metrics (analysis/depth_metrics.cpp) forms the three kinds
          case ProductKind::Layer: S = ScaledMatrix::from_matrix(Hl); break;
          case ProductKind::Prefix: S.left_multiply(Hl); break;
          case ProductKind::Suffix: S.right_multiply(Hl); break;
        }
        DepthStreamPoint& q = pts[static_cast<std::size_t>(l)];
        q.exponent = S.exponent;  // 0 for the zero product
        double fwd = 0.0, bwd = 0.0;
        for (Index i = 0; i < n; ++i) {
          double rs = S.M(i, 0), cs = S.M(0, i);
          for (Index j = 1; j < n; ++j) {
            rs += S.M(i, j);
            cs += S.M(j, i);
          }
          fwd = std::max(fwd, std::fabs(rs));
          bwd = std::max(bwd, std::fabs(cs));
        }
        q.fwd_gain_hat = fwd;
        q.bwd_gain_hat = bwd;
        q.sigma_max_hat = S.is_zero() || !c.o.sigma_max ? 0.0 : sigma_max_eigen(S.M);
      }
      emit(c, block, layer, kind, pts.data(), real, tot);
    }
  }
  return tot;
}

Context make_context(const DepthStreamOptions& o, const DepthStreamSink* sink) {
  MethodOptions mo;
  mo.method = MethodId::MHC;
  mo.n = o.n;
  mo.sinkhorn.iterations = o.iterations;
  mo.sinkhorn.tau = o.tau;
  mo.sinkhorn.order = o.order;
  mo.init_tau = o.init_tau;
  Context c{o, make_method(mo)->init_params(o.init, o.init_eps), {}, sink};
  if (o.batched()) {
    c.batch.n = static_cast<int>(o.n);
    c.batch.iterations = o.iterations;
    c.batch.tau = o.tau;
    c.batch.order = o.order;
    c.batch.threads = 1;
    c.batch.validate();
  }
  return c;
}

}  // namespace

// ---- public API --------------------------------------------------------------------------------------------
void DepthStreamOptions::validate() const {
  if (n < 1) throw InputError("depth_stream.n = " + std::to_string(n) + "; must be ≥ 1");
  if (path == DepthStreamPath::Batched && n > kSinkhornBatchMaxN)
    throw InputError("depth_stream.n = " + std::to_string(n) + "; the batched path takes 1.." +
                     std::to_string(kSinkhornBatchMaxN) + " (use path auto or scalar)");
  if (layers < 1) throw InputError("depth_stream.layers = " + std::to_string(layers) + "; must be ≥ 1");
  if (seeds < 1) throw InputError("depth_stream.seeds = " + std::to_string(seeds) + "; must be ≥ 1");
  if (!(noise >= 0.0) || !std::isfinite(noise))
    throw InputError("depth_stream.noise = " + format_double(noise) + "; must be ≥ 0 and finite");
  if (iterations < 1)
    throw InputError("depth_stream.iterations = " + std::to_string(iterations) + "; must be ≥ 1");
  if (!(tau > 0.0) || !std::isfinite(tau))
    throw InputError("depth_stream.tau = " + format_double(tau) + "; must be > 0 and finite");
  if (!(init_tau >= 0.0) || !std::isfinite(init_tau))
    throw InputError("depth_stream.init_tau = " + format_double(init_tau) + "; must be ≥ 0 and finite (0 = tau)");
  validate_kinds(kinds, "depth_stream.kinds");
  if (threads < 0)
    throw InputError("depth_stream.threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
}

bool DepthStreamOptions::has_kind(ProductKind k) const {
  return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

bool DepthStreamOptions::batched() const {
  return path == DepthStreamPath::Batched || (path == DepthStreamPath::Auto && n <= kSinkhornBatchMaxN);
}


DepthStreamSummary depth_stream(const DepthStreamOptions& o, const DepthStreamSink& sink) {
  o.validate();
  const Context c = make_context(o, &sink);
  const Index blocks = (o.seeds + kLanes - 1) / kLanes;
  const int nthreads = static_cast<int>(std::max<Index>(1, std::min<Index>(resolve_threads(o.threads), blocks)));
  std::vector<BlockTotals> parts(static_cast<std::size_t>(blocks));
  const BatchedBlockFn fn = o.batched() ? kBatchedFns[o.n - 1] : &run_block_scalar;
  // Blocks are handed out in increasing order (core/parallel.hpp), so a sink can pass them on in order while
  // holding only the few still running.
  parallel_for(blocks, nthreads, [&](Index b) { parts[static_cast<std::size_t>(b)] = fn(c, b); });
  DepthStreamSummary out;
  out.seeds = o.seeds;
  out.layers = o.layers;
  out.batched = o.batched();
  out.threads = nthreads;
  CompensatedSum f, b, s;
  for (const BlockTotals& p : parts) {  // block order: independent of the thread count
    f.add(p.fwd.value());
    b.add(p.bwd.value());
    s.add(p.sigma.value());
    out.max_jacobi_sweeps = std::max(out.max_jacobi_sweeps, p.max_sweeps);
    out.eigen_fallbacks += p.fallbacks;
  }
  out.sum_fwd_gain = f.value();
  out.sum_bwd_gain = b.value();
  out.sum_sigma_max = s.value();
  return out;
}

Vec depth_stream_theta(const DepthStreamOptions& o, Index seed_index, Index layer) {
  o.validate();
  if (seed_index < 0 || seed_index >= o.seeds)
    throw InputError("depth_stream_theta: seed index " + std::to_string(seed_index) + " outside 0.." +
                     std::to_string(o.seeds - 1));
  if (layer < 1 || layer > o.layers)
    throw InputError("depth_stream_theta: layer " + std::to_string(layer) + " outside 1.." + std::to_string(o.layers));
  const Context c = make_context(o, nullptr);
  const Index p = c.p();
  alignas(64) std::uint64_t prefix[kLanes];
  const std::uint64_t key = stream_key(o.first_seed + static_cast<std::uint64_t>(seed_index), Purpose::Theta);
  for (int l = 0; l < kLanes; ++l) prefix[l] = key;
  std::vector<double> xi(static_cast<std::size_t>(p * kLanes)), Z(static_cast<std::size_t>(p * kLanes));
  block_normals(prefix, static_cast<std::uint64_t>(layer - 1), p, xi.data());
  block_logits(c.init.data(), o.noise, p, xi.data(), Z.data());
  Vec theta(p);
  for (Index e = 0; e < p; ++e) theta[e] = Z[static_cast<std::size_t>(e)];
  return theta;
}

}  // namespace mhclab
