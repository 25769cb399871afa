// KromHC (arXiv 2601.21579; SPEC §2): H(θ) = U¹ ⊗ U² ⊗ … ⊗ U^K, U^k = mhc-lite(θ^k) of size i_k, n = Π_k i_k.
// θ = [θ¹, …, θ^K] concatenated in factor order, Σ_k i_k! parameters. A Kronecker product of doubly stochastic
// matrices is doubly stochastic (its row/column sums are products of the factors'), so H is exact DS.
// Order as the authors' code (torch.kron): H[(a·i₂ + b), (c·i₂ + d)] = U¹[a, c]·U²[b, d].
// Factors: MethodOptions::factors when given (each 2..8, product n), else all 2 for n = 2^k, else the prime
// factors ascending; n = 1 has no factors (H = [[1]], 0 parameters).
// Inits: every factor gets its own mhc-lite init of its size with the same ε, so `identity` gives
// ⊗_k((1−ε)I + εJ/i_k) — not H₀ (no Kronecker product equals H₀ for 0 < ε < 1) — with the same λ₂ = 1−ε.
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/mixing/kronecker.hpp"
#include "mhclab/mixing/permutations.hpp"
#include "mixing/factories.hpp"

namespace mhclab {

Mat kronecker(const Mat& A, const Mat& B) {
  const Index ra = A.rows(), ca = A.cols(), rb = B.rows(), cb = B.cols();
  Mat K(ra * rb, ca * cb);
  for (Index c = 0; c < ca; ++c)
    for (Index a = 0; a < ra; ++a) K.block(a * rb, c * cb, rb, cb).noalias() = A(a, c) * B;
  return K;
}

std::string format_factors(std::span<const Index> factors) {
  std::string s = "[";
  for (std::size_t k = 0; k < factors.size(); ++k) s += (k ? ", " : "") + std::to_string(factors[k]);
  return s + "]";
}

std::vector<Index> kromhc_default_factors(Index n) {
  if (n < 1) throw InputError("kromhc: n = " + std::to_string(n) + "; must be ≥ 1");
  std::vector<Index> factors;
  if ((n & (n - 1)) == 0) {  // power of two (n = 1: no factors)
    for (Index m = n; m > 1; m /= 2) factors.push_back(2);
    return factors;
  }
  Index m = n;
  for (Index p = 2; p * p <= m; ++p)
    while (m % p == 0) {
      factors.push_back(p);
      m /= p;
    }
  if (m > 1) factors.push_back(m);  // ascending: the remaining cofactor is the largest prime
  for (Index p : factors)
    if (p > kMhcLiteMaxN)
      throw InputError("kromhc: n = " + std::to_string(n) + " has the prime factor " + std::to_string(p) + " > " +
                       std::to_string(kMhcLiteMaxN) + ", so no factors (each 2.." + std::to_string(kMhcLiteMaxN) +
                       ", product n) exist; use tbp, rtbp or mhc");
  return factors;
}

void validate_kromhc_factors(Index n, std::span<const Index> factors) {
  for (Index f : factors)
    if (f < 2 || f > kMhcLiteMaxN)
      throw InputError("factors = " + format_factors(factors) + ": factor " + std::to_string(f) +
                       " is out of range; each kromhc factor must be in 2.." + std::to_string(kMhcLiteMaxN) +
                       " (an mhc-lite block of size i has i! parameters)");
  Index product = 1;
  for (Index f : factors) {
    product *= f;
    if (product > n) break;  // cannot match; also keeps the product from overflowing
  }
  if (product != n)
    throw InputError("factors = " + format_factors(factors) + ": product " +
                     (product > n ? "exceeds" : "= " + std::to_string(product) + " ≠") + " n = " + std::to_string(n) +
                     "; kromhc needs the factors' product to equal n");
}

std::vector<Index> resolve_kromhc_factors(Index n, std::span<const Index> factors) {
  if (factors.empty()) return kromhc_default_factors(n);
  validate_kromhc_factors(n, factors);
  return {factors.begin(), factors.end()};
}

namespace detail {
namespace {
class KromHC final : public Method {
 public:
  KromHC(Index n, std::vector<Index> factors) : n_(n), factors_(std::move(factors)) {
    for (Index f : factors_) {
      MethodOptions o;
      o.method = MethodId::MHCLite;
      o.n = f;
      blocks_.push_back(make_mhc_lite(o));
      offsets_.push_back(p_);
      p_ += blocks_.back()->num_params();
    }
  }
  MethodId id() const override { return MethodId::KromHC; }
  Index n() const override { return n_; }
  Index num_params() const override { return p_; }
  bool exact_ds() const override { return true; }

  Vec init_params(InitKind kind, double eps) const override {
    if (kind == InitKind::Identity) check_init_eps(eps, true);  // also for n = 1 (no factors)
    Vec theta(p_);
    for (std::size_t k = 0; k < blocks_.size(); ++k)
      theta.segment(offsets_[k], blocks_[k]->num_params()) = blocks_[k]->init_params(kind, eps);
    return theta;
  }

  MixResult build(const Vec& theta) const override {
    if (theta.size() != p_)
      throw InputError("kromhc with factors " + format_factors(factors_) + " takes " + std::to_string(p_) +
                       " parameters; got " + std::to_string(theta.size()));
    Mat H = Mat::Ones(1, 1);
    for (std::size_t k = 0; k < blocks_.size(); ++k) {
      const Index p = blocks_[k]->num_params();
      Mat U = blocks_[k]->mix(theta.segment(offsets_[k], p)).H;
      H = k == 0 ? std::move(U) : kronecker(H, U);
    }
    return {std::move(H), std::nullopt};
  }

  /// Product rule through H = U¹ ⊗ … ⊗ U^K: with row index I = (a_1, …, a_K) and column J = (c_1, …, c_K) in
  /// mixed radix (factor 1 most significant, as kronecker()), H[I, J] = Π_k U^k[a_k, c_k], so
  ///     dU^k[a, c] = Σ_{I, J: a_k = a, c_k = c} dH[I, J]·Π_{l≠k} U^l[a_l, c_l],
  /// then dθ^k = mhc-lite's vjp(θ^k, dU^k). O(n²·K) plus the factors' vjps.
  Vec build_vjp(const Vec& theta, const Mat& dH) const override {
    if (theta.size() != p_ || dH.rows() != n_ || dH.cols() != n_)
      throw InputError("kromhc vjp with factors " + format_factors(factors_) + " takes " + std::to_string(p_) +
                       " parameters and an n×n dH");
    const std::size_t K = blocks_.size();
    Vec d(p_);
    if (K == 0) return d;
    std::vector<Mat> U(K), dU(K);
    for (std::size_t k = 0; k < K; ++k) {
      U[k] = blocks_[k]->mix(theta.segment(offsets_[k], blocks_[k]->num_params())).H;
      dU[k] = Mat::Zero(factors_[k], factors_[k]);
    }
    std::vector<Index> a(K), c(K);
    std::vector<double> f(K), prefix(K + 1), suffix(K + 1);
    for (Index I = 0; I < n_; ++I)
      for (Index J = 0; J < n_; ++J) {
        Index ri = I, rj = J;
        for (std::size_t k = K; k-- > 0;) {  // least significant digit last
          a[k] = ri % factors_[k];
          c[k] = rj % factors_[k];
          ri /= factors_[k];
          rj /= factors_[k];
          f[k] = U[k](a[k], c[k]);
        }
        prefix[0] = 1.0;
        for (std::size_t k = 0; k < K; ++k) prefix[k + 1] = prefix[k] * f[k];
        suffix[K] = 1.0;
        for (std::size_t k = K; k-- > 0;) suffix[k] = suffix[k + 1] * f[k];
        const double g = dH(I, J);
        for (std::size_t k = 0; k < K; ++k) dU[k](a[k], c[k]) += g * prefix[k] * suffix[k + 1];
      }
    for (std::size_t k = 0; k < K; ++k) {
      const Index p = blocks_[k]->num_params();
      d.segment(offsets_[k], p) = blocks_[k]->vjp(theta.segment(offsets_[k], p), dU[k]);
    }
    return d;
  }

 private:
  Index n_;
  std::vector<Index> factors_;
  std::vector<std::unique_ptr<Method>> blocks_;  ///< mhc-lite of size factors_[k]
  std::vector<Index> offsets_;                   ///< start of θ^k in θ
  Index p_ = 0;                                  ///< Σ_k i_k!
};
}  // namespace

std::unique_ptr<Method> make_kromhc(const MethodOptions& o) {
  return std::make_unique<KromHC>(o.n, resolve_kromhc_factors(o.n, o.factors));
}
}  // namespace detail

}  // namespace mhclab
