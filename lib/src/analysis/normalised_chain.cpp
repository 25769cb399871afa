// analysis/normalised_chain.hpp: the calibrated normalised chain Â = Π_l 2^{−k_l} A_l.
#include "mhclab/analysis/normalised_chain.hpp"

#include <algorithm>
#include <numbers>
#include <string>

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

}  // namespace mhclab
