// analysis/normalised_chain.hpp: the calibrated normalised chain Â = Π_l 2^{−k_l} A_l.
#include "mhclab/analysis/normalised_chain.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/pow2.hpp"

namespace mhclab {

namespace {

/// p in normal form (max|p| ∈ [1/2, 1)); p must be finite and non-zero.
Vec normal_form(const Vec& p) {
  return times_pow2(p, -binary_exponent(p.cwiseAbs().maxCoeff()));
}

}  // namespace

NormalisedChain::NormalisedChain(const ChainFactors& factors, const Vec& probe) : factors_(&factors) {
  d_ = factors.dim();
  const Index L = factors.length();
  if (d_ < 1) throw InputError("normalised chain: the dimension is " + std::to_string(d_) + "; must be ≥ 1");
  if (L < 1) throw InputError("normalised chain: the chain has " + std::to_string(L) + " factors; need at least one");
  if (probe.size() != d_ || !probe.allFinite() || (probe.array() == 0.0).all())
    throw InputError("normalised chain: the probe is not a finite non-zero vector of length " + std::to_string(d_));
  const Vec p0 = normal_form(probe);
  Vec p = p0, y(d_);
  exponents_.assign(static_cast<std::size_t>(L), 0);
  for (Index l = 0; l < L; ++l) {
    const std::optional<long> b = factors.bound_exponent(l);
    long k = 0;
    if (!b) {
      zero_ = true;  // A_l = 0: k_l = 0, and nothing after it matters
    } else {
      const long e = factors.apply_normalised(l, p, y);
      if ((y.array() == 0.0).all()) {
        k = *b;  // p_{l−1} in the kernel of A_l: restart from p_0
        p = p0;
      } else {
        k = std::max(e, *b - kChainBoundSlack);
        p = times_pow2(y, e - k);
      }
    }
    exponents_[static_cast<std::size_t>(l)] = k;
    exponent_sum_ += k;
  }
  work_a_.resize(d_);
  work_b_.resize(d_);
}

double NormalisedChain::log_scale() const { return static_cast<double>(exponent_sum_) * std::numbers::ln2; }

double NormalisedChain::log10_scale() const { return static_cast<double>(exponent_sum_) * kLog10Of2; }

void NormalisedChain::perform_op(const double* x_in, double* y_out) const {
  ++applications_;
  work_a_ = Eigen::Map<const Vec>(x_in, d_);
  const Index L = factors_->length();
  for (Index l = 0; l < L; ++l) {
    factors_->apply(l, exponents_[static_cast<std::size_t>(l)], work_a_, work_b_);
    work_a_.swap(work_b_);
  }
  Eigen::Map<Vec>(y_out, d_) = work_a_;
}

void NormalisedChain::perform_transpose(const double* x_in, double* y_out) const {
  ++applications_;
  work_a_ = Eigen::Map<const Vec>(x_in, d_);
  for (Index l = factors_->length(); l-- > 0;) {
    factors_->apply_transpose(l, exponents_[static_cast<std::size_t>(l)], work_a_, work_b_);
    work_a_.swap(work_b_);
  }
  Eigen::Map<Vec>(y_out, d_) = work_a_;
}

// ---- StackFactors ---------------------------------------------------------------------------------------

Vec product_probe(Index n) {
  const double phi = (std::sqrt(5.0) - 1.0) / 2.0;
  Vec x(n);
  for (Index i = 0; i < n; ++i) {
    const double t = static_cast<double>(i + 1) * phi;
    const double w = 2.0 * (t - std::floor(t)) - 1.0;
    x[i] = 1.0 + 0.5 * w;
  }
  return x / x.norm();
}

StackFactors::StackFactors(const std::vector<Mat>& stack) {
  if (stack.empty()) throw InputError("top-k: the stack is empty; need at least one factor");
  validate_square_stack(stack, "top-k");
  n_ = stack.front().rows();
  const std::size_t L = stack.size();
  pre_.assign(L, 0);
  factors_.assign(L, nullptr);
  bound_.assign(L, std::nullopt);
  // Factors with entries beyond 2^±500 get an exactly scaled copy (max entry ∈ [1/2, 1)), so that H x never
  // overflows (|(Hx)_i| ≤ n·max|H|·‖x‖_∞) and small factors do not push the vector into the subnormals.
  std::size_t extreme = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const double h = stack[l].cwiseAbs().maxCoeff();
    const long e = h > 0.0 ? binary_exponent(h) : 0;
    if (e > 500 || e < -500) {
      pre_[l] = e;
      ++extreme;
    }
  }
  scaled_.reserve(extreme);  // pointers into scaled_ stay valid
  for (std::size_t l = 0; l < L; ++l) {
    if (pre_[l] == 0) {
      factors_[l] = &stack[l];
    } else {
      scaled_.push_back(times_pow2(stack[l], -pre_[l]));
      factors_[l] = &scaled_.back();
    }
    const double f = factors_[l]->stableNorm();  // ‖H_l‖_2 ≤ ‖H_l‖_F = f·2^{pre_l} (scaled sum: no over/underflow)
    if (f > 0.0) bound_[l] = pre_[l] + binary_exponent(f);
  }
}

std::optional<long> StackFactors::bound_exponent(Index l) const { return bound_[static_cast<std::size_t>(l)]; }

long StackFactors::apply_normalised(Index l, const Vec& x, Vec& y) const {
  const auto i = static_cast<std::size_t>(l);
  y.noalias() = *factors_[i] * x;
  const double m = y.stableNorm();  // the 2-norm, in which the Krylov and subspace vectors are normalised
  if (m == 0.0) return 0;
  const long e = binary_exponent(m);
  scale_by_pow2(y, -e);
  return pre_[i] + e;
}

void StackFactors::apply(Index l, long k, const Vec& x, Vec& y) const {
  const auto i = static_cast<std::size_t>(l);
  y.noalias() = *factors_[i] * x;
  scale_by_pow2(y, pre_[i] - k);
}

void StackFactors::apply_transpose(Index l, long k, const Vec& x, Vec& y) const {
  const auto i = static_cast<std::size_t>(l);
  y.noalias() = factors_[i]->transpose() * x;
  scale_by_pow2(y, pre_[i] - k);
}

}  // namespace mhclab
