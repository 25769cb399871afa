// mHC-lite (arXiv 2601.05732; SPEC §2): H(θ) = Σ_k softmax(θ)_k P_{σ_k}, a convex combination of all n!
// permutation matrices, so H is exactly doubly stochastic for every θ (Birkhoff). θ has n! entries, θ_k the
// logit of the k-th permutation in lexicographic order (permutations.hpp; θ_0 = identity), P_σ[i, σ(i)] = 1.
// n ≤ 8 (40320 parameters); refused above.
//
// Evaluation. The naive sum adds w_k into H(i, σ_k(i)) for every k and i: n·n! scattered adds, and each entry
// collects n!/n terms (5040 at n = 8), so its round-off grows like that count. We use the structure of the
// lexicographic order instead: the r! permutations sharing a prefix of length n − r are consecutive, and within
// such a block the first free position takes the remaining values in increasing order, each for a sub-block of
// (r−1)! permutations. A block therefore reduces to an r×r matrix A_r (row p = the p-th free position, column
// q = the q-th smallest remaining value), built from its r children:
//     A_r[0, c]           = total(child c)
//     A_r[p+1, q + (q≥c)] += A_{r−1}^{(c)}[p, q]          (the child's columns skip the value it fixed)
// and the top block (r = n) is H·Σw with the remaining values 0..n−1 themselves. Only ranks matter, so no
// n!-row permutation table is needed (nothing to precompute per method, no per-term index loads): blocks of
// r ≤ 4 are summed directly through a 4!×4 compile-time offset table, the tree combines them above. Cost
// ≈ 5·n! adds plus n! exp (the exp dominates: ≈ 0.5 ms at n = 8 on one core, about the same as the naive
// scatter), and every entry is a sum of ≤ 6 weights followed by a tree of depth n − 4 with fan-in ≤ n, so
// row and column sums of H are 1 within O(n²)·u instead of O(n!/n)·u. Softmax uses the max shift (the
// largest weight is exp(0) = 1, so the total is ≥ 1), and scratch lives on the stack: build() allocates
// only H. build() is const and thread-safe.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mixing/factories.hpp"

namespace mhclab::detail {
namespace {

/// Scratch for blocks of size r ≤ kMhcLiteMaxN: the top block (n²) plus one child matrix per level (Σ_{r<n} r²).
constexpr std::size_t kScratch = 64 + 49 + 36 + 25 + 16 + 9 + 4 + 1;
/// Blocks of size r ≤ kLeaf are summed directly (r!·r adds into the r×r block through a compile-time
/// offset table); the tree takes over above. Each entry of a leaf block is a sum of (r−1)! ≤ 6 weights.
constexpr int kLeaf = 4;

constexpr int small_factorial(int r) { return r <= 1 ? 1 : r * small_factorial(r - 1); }

/// offsets[k·R + p] = p·R + σ_k(p) for the R! permutations of size R in lexicographic order.
template <int R>
constexpr std::array<std::uint8_t, static_cast<std::size_t>(small_factorial(R) * R)> leaf_offsets() {
  std::array<std::uint8_t, static_cast<std::size_t>(small_factorial(R) * R)> out{};
  std::array<int, R> sigma{};
  for (int i = 0; i < R; ++i) sigma[static_cast<std::size_t>(i)] = i;
  std::size_t k = 0;
  do {
    for (int p = 0; p < R; ++p) out[k++] = static_cast<std::uint8_t>(p * R + sigma[static_cast<std::size_t>(p)]);
  } while (std::next_permutation(sigma.begin(), sigma.end()));
  return out;
}
constexpr auto kLeaf1 = leaf_offsets<1>();
constexpr auto kLeaf2 = leaf_offsets<2>();
constexpr auto kLeaf3 = leaf_offsets<3>();
constexpr auto kLeaf4 = leaf_offsets<4>();
static_assert(kLeaf == 4, "leaf tables cover r = 1..4");

struct BlockAccumulator {
  const double* theta;  ///< next logit to consume (lexicographic order)
  double shift;         ///< max θ (softmax max shift)

  template <int R, std::size_t N>
  double leaf(double* acc, const std::array<std::uint8_t, N>& offsets) {
    std::fill(acc, acc + R * R, 0.0);
    double total = 0.0;
    for (std::size_t k = 0; k < N; k += R) {
      const double w = std::exp(*theta++ - shift);
      total += w;
      for (std::size_t p = 0; p < static_cast<std::size_t>(R); ++p) acc[offsets[k + p]] += w;
    }
    return total;
  }

  /// Consumes the next r! logits; writes A_r (r×r, row-major) into acc and returns the block's total weight.
  /// `scratch` holds the child matrices of all lower levels.
  double block(int r, double* acc, double* scratch) {
    switch (r) {
      case 1:
        return leaf<1>(acc, kLeaf1);
      case 2:
        return leaf<2>(acc, kLeaf2);
      case 3:
        return leaf<3>(acc, kLeaf3);
      case 4:
        return leaf<4>(acc, kLeaf4);
      default:
        break;
    }
    const int m = r - 1;
    double* child = scratch;
    double* child_scratch = scratch + m * m;
    std::fill(acc, acc + r * r, 0.0);
    double total = 0.0;
    for (int c = 0; c < r; ++c) {
      const double t = block(m, child, child_scratch);
      acc[c] = t;  // first free position takes the c-th smallest remaining value
      total += t;
      for (int p = 0; p < m; ++p) {
        const double* src = child + p * m;
        double* dst = acc + (p + 1) * r;
        for (int q = 0; q < c; ++q) dst[q] += src[q];
        for (int q = c; q < m; ++q) dst[q + 1] += src[q];
      }
    }
    return total;
  }
};

/// Σ_k softmax(θ)_k P_{σ_k}, θ of length n!, 1 ≤ n ≤ 8. Returns n×n.
Mat permutation_softmax_mixture(Index n, const double* theta) {
  const Index count = factorial(n);
  const double shift = *std::max_element(theta, theta + count);
  std::array<double, kScratch> buf;  // NOLINT: fully written before read
  double* acc = buf.data();
  BlockAccumulator a{theta, shift};
  const double total = a.block(static_cast<int>(n), acc, acc + n * n);
  Mat H(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) H(i, j) = acc[i * n + j] / total;
  return H;
}

/// g_k = Σ_i dH[i, σ_k(i)] = ⟨dH, P_{σ_k}⟩ for the n! permutations in lexicographic order, written to g.
/// Depth-first over prefixes (position p takes the remaining values in increasing order, as the order does),
/// carrying the prefix's partial sum: ≈ e·n! additions, no permutation table. `avail` holds the remaining
/// values ascending (length n − p).
void permutation_sums(const Mat& dH, Index p, double partial, Index* avail, double*& g) {
  const Index n = dH.rows();
  const Index r = n - p;
  if (r == 1) {
    *g++ = partial + dH(p, avail[0]);
    return;
  }
  for (Index c = 0; c < r; ++c) {
    const Index value = avail[c];
    std::copy(avail + c + 1, avail + r, avail + c);  // remove value (keeps ascending order)
    permutation_sums(dH, p + 1, partial + dH(p, value), avail, g);
    std::copy_backward(avail + c, avail + r - 1, avail + r);  // put it back
    avail[c] = value;
  }
}

class MHCLite final : public Method {
 public:
  explicit MHCLite(Index n) : n_(n), count_(factorial(n)) {}
  MethodId id() const override { return MethodId::MHCLite; }
  Index n() const override { return n_; }
  Index num_params() const override { return count_; }
  bool exact_ds() const override { return true; }

  /// authors (mHC-lite code): θ_id = 0, θ = −8 otherwise, so H = wI + (1−w)/(n!−1)·Σ_{σ≠id}P_σ with
  /// w = 1/(1 + (n!−1)e⁻⁸). identity: θ_id = log(1 + n!(1−ε)/ε), 0 otherwise; softmax then gives ε/n! to every
  /// permutation plus 1−ε to the identity, i.e. exactly H₀ = (1−ε)I + εJ/n (needs ε > 0).
  Vec init_params(InitKind kind, double eps) const override {
    Vec theta(count_);
    if (kind == InitKind::Authors) {
      theta.setConstant(-8.0);
      theta[0] = 0.0;
      return theta;
    }
    check_init_eps(eps, true);
    theta.setZero();
    theta[0] = std::log1p(static_cast<double>(count_) * (1.0 - eps) / eps);
    return theta;
  }

  MixResult build(const Vec& theta) const override {
    if (theta.size() != count_)  // mix() reports this with context; never read past θ when called directly
      throw InputError("mhc-lite with n = " + std::to_string(n_) + " takes " + std::to_string(count_) +
                       " parameters; got " + std::to_string(theta.size()));
    return {permutation_softmax_mixture(n_, theta.data()), std::nullopt};
  }

  /// H = Σ_k w_k P_k with w = softmax(θ): ∂H/∂θ_k = w_k(P_k − H), so dθ_k = ⟨dH, ∂H/∂θ_k⟩ = w_k(g_k − ⟨w, g⟩)
  /// with g_k = ⟨dH, P_k⟩ = Σ_i dH[i, σ_k(i)]. O(n!·e) time, n! memory (the output), no permutation matrices.
  /// Σ_k dθ_k = 0 (softmax is invariant to a common shift of θ).
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    if (theta.size() != count_ || dH.rows() != n_ || dH.cols() != n_)
      throw InputError("mhc-lite vjp with n = " + std::to_string(n_) + " takes " + std::to_string(count_) +
                       " parameters and an n×n dH; got " + std::to_string(theta.size()) + " and " +
                       std::to_string(dH.rows()) + "×" + std::to_string(dH.cols()));
    Vec g(count_);
    std::array<Index, kMhcLiteMaxN> avail{};
    for (Index i = 0; i < n_; ++i) avail[static_cast<std::size_t>(i)] = i;
    double* out = g.data();
    permutation_sums(dH, 0, 0.0, avail.data(), out);
    const double shift = theta.maxCoeff();
    Vec w = (theta.array() - shift).exp();  // softmax with the max shift, as build()
    w /= w.sum();
    const double mean = w.dot(g);
    return w.cwiseProduct((g.array() - mean).matrix());
  }

  /// Logits for a positive doubly stochastic H (inverse_chart.hpp): its Birkhoff–von Neumann weights mixed with a
  /// uniform share s/n! on every permutation.
  std::optional<Vec> build_inverse(const Mat& H) const override {
    if (!check_ds_target(*this, H)) return std::nullopt;
    const Index n = H.rows();
    const double s = std::min(static_cast<double>(n) * H.minCoeff() * (1.0 - 1e-9), 0.5);
    const Mat Hp = (H.array() - s / static_cast<double>(n)).matrix() / (1.0 - s);
    BvnOptions bo;
    bo.margin_tolerance = kInverseInnerTol;
    const std::vector<BvnTerm> terms = birkhoff_decomposition(Hp, bo);
    const Index m = factorial(n);
    Vec w = Vec::Constant(m, s / static_cast<double>(m));
    double total = 0.0;
    for (const BvnTerm& t : terms) total += t.weight;
    for (const BvnTerm& t : terms) w[permutation_rank(t.sigma)] += (1.0 - s) * t.weight / total;
    return w.array().log().matrix();
  }
 private:
  Index n_;
  Index count_;  ///< n!
};

}  // namespace

std::unique_ptr<Method> make_mhc_lite(const MethodOptions& o) {
  if (o.n > kMhcLiteMaxN)
    throw InputError("mhc-lite needs n ≤ " + std::to_string(kMhcLiteMaxN) +
                     " (n! parameters); got n = " + std::to_string(o.n) + "; use kromhc or tbp");
  if (o.n < 1) throw InputError("n = " + std::to_string(o.n) + "; must be ≥ 1");
  return std::make_unique<MHCLite>(o.n);
}

}  // namespace mhclab::detail
