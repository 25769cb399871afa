// Batched structure-of-arrays Sinkhorn–Knopp. See mhclab/mixing/sinkhorn_batch.hpp for the semantics,
// the memory layout and the documented differences from the scalar `sinkhorn()`.
//
// Vectorisation: every inner loop runs over the lane dimension `l < L` (compile-time 16 or 8) of arrays
// indexed [entry][lane]; GCC -O3 turns each such loop into L/8 512-bit instructions with -march=native on
// an AVX-512 machine (no OpenMP-simd, no intrinsics, no -ffast-math needed: the only libm call of the
// scalar code, exp, is replaced by exp_nonpositive, which is plain arithmetic and bit manipulation).
#include "mhclab/core/format.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"

namespace mhclab {

namespace {

constexpr double kExpMin = -708.0;  // fp64 exp-domain threshold of SPEC §3 (same as sinkhorn())

// ---- e^x on [−708, 0] --------------------------------------------------------------------------
constexpr double kLog2e = 1.4426950408889634;              // 0x1.71547652b82fep0
constexpr double kShifter = 0x1.8p52;                      // x + 1.5·2⁵² rounds x to an integer
constexpr double kLn2Hi = 6.93147180369123816490e-01;      // 0x3fe62e42fee00000: 32 significant bits
constexpr double kLn2Lo = 1.90821492927058770002e-10;      // 0x3dea39ef35793c76: ln2 − kLn2Hi
// Taylor tail q(r) = Σ_{m=2}^{13} r^{m−2}/m!, e^r = 1 + (r + r²·q(r)).
constexpr double kC2 = 1.0 / 2;
constexpr double kC3 = 1.0 / 6;
constexpr double kC4 = 1.0 / 24;
constexpr double kC5 = 1.0 / 120;
constexpr double kC6 = 1.0 / 720;
constexpr double kC7 = 1.0 / 5040;
constexpr double kC8 = 1.0 / 40320;
constexpr double kC9 = 1.0 / 362880;
constexpr double kC10 = 1.0 / 3628800;
constexpr double kC11 = 1.0 / 39916800;
constexpr double kC12 = 1.0 / 479001600;
constexpr double kC13 = 1.0 / 6227020800;

inline double exp_core(double x) noexcept {
  // k = round(x·log2e): the sum's low mantissa bits hold k (|k| ≤ 1021 ≪ 2⁵¹).
  const double kd = x * kLog2e + kShifter;
  const double k = kd - kShifter;
  // Cody–Waite: k·kLn2Hi is exact (11 + 32 bits) and so is x − k·kLn2Hi; one rounding in r.
  double r = x - k * kLn2Hi;
  r = r - k * kLn2Lo;
  double q = kC13;
  q = q * r + kC12;
  q = q * r + kC11;
  q = q * r + kC10;
  q = q * r + kC9;
  q = q * r + kC8;
  q = q * r + kC7;
  q = q * r + kC6;
  q = q * r + kC5;
  q = q * r + kC4;
  q = q * r + kC3;
  q = q * r + kC2;
  const double p = 1.0 + ((r * r) * q + r);
  // 2^k: the low 12 bits of bits(kd) + 1023 are k + 1023 ∈ [2, 1023] (bits(kd) ends in k mod 2^52 on top
  // of the shifter's 0x8000000000000, whose low 12 bits are zero); shift them into the exponent field.
  const std::uint64_t e = (std::bit_cast<std::uint64_t>(kd) + 1023u) << 52;
  return p * std::bit_cast<double>(e);
}

// ---- one block of L matrices ---------------------------------------------------------------------
// Arrays are [entry][lane]; every loop over `l < L` is L/8 SIMD instructions (AVX-512). A block holds
// L = 16 matrices for n ≤ 4 (two independent registers per entry: the iteration is a latency-bound chain
// sum → reciprocal → scale, and two chains in flight nearly double the throughput while the 2·n² state
// registers still fit in the 32 zmm registers) and L = 8 above (the state no longer fits anyway).
template <int N>
inline constexpr int kBlockLanes = N <= 4 ? 16 : 8;
constexpr int kMaxBlockLanes = 16;  // thread chunks start at multiples of this

enum class TauMode { One, PowerOfTwo, General };

template <int N, int L>
struct Block {
  static constexpr int NN = N * N;
  alignas(64) double m[NN][L];
};

// Column j: s = ((M_0j + M_1j) + M_2j) + …, then M_ij ← M_ij · (1/s).
template <int N, int L>
inline void normalise_cols(Block<N, L>& b) {
  for (int j = 0; j < N; ++j) {
    alignas(64) double s[L];
    for (int l = 0; l < L; ++l) s[l] = b.m[j][l];
    for (int i = 1; i < N; ++i)
      for (int l = 0; l < L; ++l) s[l] += b.m[i * N + j][l];
    for (int l = 0; l < L; ++l) s[l] = 1.0 / s[l];
    for (int i = 0; i < N; ++i)
      for (int l = 0; l < L; ++l) b.m[i * N + j][l] *= s[l];
  }
}

// Row i: s = ((M_i0 + M_i1) + M_i2) + …, then M_ij ← M_ij · (1/s).
template <int N, int L>
inline void normalise_rows(Block<N, L>& b) {
  for (int i = 0; i < N; ++i) {
    alignas(64) double s[L];
    for (int l = 0; l < L; ++l) s[l] = b.m[i * N][l];
    for (int j = 1; j < N; ++j)
      for (int l = 0; l < L; ++l) s[l] += b.m[i * N + j][l];
    for (int l = 0; l < L; ++l) s[l] = 1.0 / s[l];
    for (int j = 0; j < N; ++j)
      for (int l = 0; l < L; ++l) b.m[i * N + j][l] *= s[l];
  }
}

struct KernelArgs {
  int iterations;
  double tau;
  double inv_tau;  // 1/τ, used only when τ is a power of two (then x·(1/τ) == x/τ bit for bit)
  TauMode tau_mode;
  bool rows_first;
};

/// Projects the `lanes` ≤ L matrices at Z into H (missing lanes are padded with zeros and not written
/// back). Returns a bit mask of the lanes with a numerical issue.
template <int N, int L>
std::uint32_t project_block(const double* __restrict Z, double* __restrict H, Index lanes, const KernelArgs& a) {
  static_assert(L <= 32);
  constexpr int NN = N * N;
  Block<N, L> b;
  // Transpose in: b.m[e][l] = Z[l·n² + e].
  if (lanes == L) {
    for (int e = 0; e < NN; ++e)
      for (int l = 0; l < L; ++l) b.m[e][l] = Z[l * NN + e];
  } else {
    for (int e = 0; e < NN; ++e)
      for (int l = 0; l < L; ++l) b.m[e][l] = l < lanes ? Z[l * NN + e] : 0.0;
  }

  // M⁰ = exp((Z − max Z)/τ), flagging (Z − max)/τ < −708 (or NaN) and clamping it for the exp.
  alignas(64) double mx[L];
  alignas(64) double bad[L];
  for (int l = 0; l < L; ++l) {
    mx[l] = b.m[0][l];
    bad[l] = 0.0;
  }
  for (int e = 1; e < NN; ++e)
    for (int l = 0; l < L; ++l) mx[l] = b.m[e][l] > mx[l] ? b.m[e][l] : mx[l];
  switch (a.tau_mode) {
    case TauMode::One:  // x/1 == x
      for (int e = 0; e < NN; ++e)
        for (int l = 0; l < L; ++l) b.m[e][l] = b.m[e][l] - mx[l];
      break;
    case TauMode::PowerOfTwo:
      for (int e = 0; e < NN; ++e)
        for (int l = 0; l < L; ++l) b.m[e][l] = (b.m[e][l] - mx[l]) * a.inv_tau;
      break;
    case TauMode::General:
      for (int e = 0; e < NN; ++e)
        for (int l = 0; l < L; ++l) b.m[e][l] = (b.m[e][l] - mx[l]) / a.tau;
      break;
  }
  for (int e = 0; e < NN; ++e)
    for (int l = 0; l < L; ++l) {
      const double x = b.m[e][l];
      const bool ok = x >= kExpMin;
      bad[l] = ok ? bad[l] : 1.0;
      b.m[e][l] = exp_core(ok ? x : kExpMin);
    }

  for (int t = 0; t < a.iterations; ++t) {
    if (a.rows_first) {
      normalise_rows<N, L>(b);
      normalise_cols<N, L>(b);
    } else {
      normalise_cols<N, L>(b);
      normalise_rows<N, L>(b);
    }
  }

  // Safety net: a non-finite entry (cannot happen for unflagged inputs, see the header) is an issue.
  for (int e = 0; e < NN; ++e)
    for (int l = 0; l < L; ++l) {
      const double x = b.m[e][l] < 0 ? -b.m[e][l] : b.m[e][l];
      bad[l] = x <= 1.7976931348623157e308 ? bad[l] : 1.0;
    }
  std::uint32_t mask = 0;
  for (int l = 0; l < L; ++l) mask |= (bad[l] != 0.0 ? std::uint32_t{1} : 0u) << l;
  // Transpose out (zeros for flagged matrices).
  if (mask == 0 && lanes == L) {
    for (int l = 0; l < L; ++l)
      for (int e = 0; e < NN; ++e) H[l * NN + e] = b.m[e][l];
  } else {
    for (Index l = 0; l < lanes; ++l) {
      const bool ok = ((mask >> l) & 1u) == 0;
      for (int e = 0; e < NN; ++e) H[l * NN + e] = ok ? b.m[e][l] : 0.0;
    }
  }
  return mask;
}

/// Matrices [begin, end) of size N; returns the issues found and writes their statuses.
template <int N>
SinkhornBatchSummary run_range(const double* Z, double* H, SinkhornStatus* status, Index begin, Index end,
                               const KernelArgs& a) {
  constexpr int L = kBlockLanes<N>;
  constexpr Index NN = N * N;
  SinkhornBatchSummary s;
  for (Index k = begin; k < end; k += L) {
    const Index lanes = std::min<Index>(L, end - k);
    const std::uint32_t mask = project_block<N, L>(Z + k * NN, H + k * NN, lanes, a);
    for (Index l = 0; l < lanes; ++l) {
      const bool issue = ((mask >> l) & 1u) != 0;
      if (status != nullptr) status[k + l] = issue ? SinkhornStatus::NumericalIssue : SinkhornStatus::FixedIterations;
      if (issue) {
        if (s.numerical_issues == 0) s.first_issue = k + l;
        ++s.numerical_issues;
      }
    }
  }
  s.count = end - begin;
  return s;
}

using RangeFn = SinkhornBatchSummary (*)(const double*, double*, SinkhornStatus*, Index, Index, const KernelArgs&);
constexpr RangeFn kRangeFns[kSinkhornBatchMaxN] = {&run_range<1>, &run_range<2>, &run_range<3>, &run_range<4>,
                                                   &run_range<5>, &run_range<6>, &run_range<7>, &run_range<8>};

}  // namespace

double exp_nonpositive(double x) noexcept { return exp_core(x); }

void SinkhornBatchOptions::validate() const {
  if (n < 1 || n > kSinkhornBatchMaxN)
    throw InputError("sinkhorn_batch.n = " + std::to_string(n) + "; must be in 1.." +
                     std::to_string(kSinkhornBatchMaxN));
  if (iterations < 1) throw InputError("sinkhorn_batch.iterations = " + std::to_string(iterations) + "; must be ≥ 1");
  if (!(tau > 0.0) || !(tau <= 1.7976931348623157e308))
    throw InputError("sinkhorn_batch.tau = " + format_double(tau) + "; must be > 0 and finite");
  if (threads < 0)
    throw InputError("sinkhorn_batch.threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
}

SinkhornBatchSummary sinkhorn_batch(std::span<const double> Z, std::span<double> H, std::span<SinkhornStatus> status,
                                    const SinkhornBatchOptions& o) {
  o.validate();
  const auto nn = static_cast<std::size_t>(o.n) * static_cast<std::size_t>(o.n);
  if (Z.size() % nn != 0)
    throw InputError("sinkhorn_batch: " + std::to_string(Z.size()) + " logits is not a multiple of n² = " +
                     std::to_string(nn));
  const auto count = static_cast<Index>(Z.size() / nn);
  if (H.size() != Z.size())
    throw InputError("sinkhorn_batch: output has " + std::to_string(H.size()) + " entries; expected " +
                     std::to_string(Z.size()));
  if (!status.empty() && status.size() != static_cast<std::size_t>(count))
    throw InputError("sinkhorn_batch: status has " + std::to_string(status.size()) + " entries; expected " +
                     std::to_string(count) + " (or none)");
  SinkhornStatus* st = status.empty() ? nullptr : status.data();

  KernelArgs a{};
  a.iterations = o.iterations;
  a.tau = o.tau;
  a.rows_first = o.order == SinkhornOrder::RowThenCol;
  int e_tau = 0, e_inv = 0;
  a.inv_tau = 1.0 / o.tau;
  a.tau_mode = o.tau == 1.0 ? TauMode::One
               : std::frexp(o.tau, &e_tau) == 0.5 && std::isfinite(a.inv_tau) && std::frexp(a.inv_tau, &e_inv) == 0.5
                   ? TauMode::PowerOfTwo
                   : TauMode::General;
  const RangeFn fn = kRangeFns[o.n - 1];

  // Contiguous chunks of whole blocks, one per thread.
  const Index blocks = (count + kMaxBlockLanes - 1) / kMaxBlockLanes;
  const Index nthreads = std::max<Index>(1, std::min<Index>(resolve_threads(o.threads), blocks));
  std::vector<SinkhornBatchSummary> parts(static_cast<std::size_t>(nthreads));
  parallel_for(nthreads, static_cast<int>(nthreads), [&](Index t) {
    const Index b0 = blocks * t / nthreads, b1 = blocks * (t + 1) / nthreads;
    parts[static_cast<std::size_t>(t)] =
        fn(Z.data(), H.data(), st, b0 * kMaxBlockLanes, std::min(count, b1 * kMaxBlockLanes), a);
  });
  SinkhornBatchSummary out;
  out.count = count;
  for (const auto& p : parts) {  // in chunk order: first_issue is the smallest index
    if (p.numerical_issues > 0 && out.first_issue < 0) out.first_issue = p.first_issue;
    out.numerical_issues += p.numerical_issues;
  }
  return out;
}

bool sinkhorn_batch_supports(const SinkhornOptions& o) noexcept {
  return o.domain == SinkhornDomain::Exp && o.precision == Precision::FP64 && o.schedule == TauSchedule::Constant &&
         o.tol == 0.0 && o.plain();
}

}  // namespace mhclab
