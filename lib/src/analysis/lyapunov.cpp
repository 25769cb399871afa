// analysis/lyapunov.hpp: Lyapunov exponents of a depth product by QR/Benettin re-orthonormalisation (SPEC §4).
#include "mhclab/analysis/lyapunov.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <string>
#include <utility>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

Vec sorted_descending(Vec v) {
  std::sort(v.data(), v.data() + v.size(), std::greater<>());
  return v;
}

}  // namespace

void LyapunovOptions::validate() const {
  if (k < 0) throw InputError("lyapunov.k = " + std::to_string(k) + "; must be ≥ 0 (0 = all n)");
}

LyapunovAccumulator::LyapunovAccumulator(const LyapunovOptions& options) : options_(options) {
  options_.validate();
}

void LyapunovAccumulator::push(const Mat& H) {
  // ---- validate before touching the state ----
  if (H.rows() != H.cols() || H.rows() < 1)
    throw InputError("lyapunov: factor " + std::to_string(layers_ + 1) + " is " + std::to_string(H.rows()) + "×" +
                     std::to_string(H.cols()) + "; must be square n×n with n ≥ 1");
  if (n_ != 0 && H.rows() != n_)
    throw InputError("lyapunov: factor " + std::to_string(layers_ + 1) + " is " + std::to_string(H.rows()) + "×" +
                     std::to_string(H.cols()) + "; the earlier factors are " + std::to_string(n_) + "×" +
                     std::to_string(n_));
  if (!H.allFinite())
    throw InputError("lyapunov: factor " + std::to_string(layers_ + 1) + " has non-finite entries");
  if (n_ == 0) {
    const Index n = H.rows();
    if (options_.k > n)
      throw InputError("lyapunov.k = " + std::to_string(options_.k) + "; must be ≤ n = " + std::to_string(n));
    n_ = n;
    k_ = options_.k == 0 ? n : options_.k;
    Q_ = Mat::Identity(n_, k_);  // Q_0 = first k columns of I (documented start basis)
    s_ = Vec::Zero(k_);
  }

  // ---- exact power-of-two scaling: max|H/2^e| ∈ [1/2, 1) (e = 0 for H = 0) ----
  const double hmax = H.cwiseAbs().maxCoeff();
  int e = 0;
  if (hmax > 0.0) (void)std::frexp(hmax, &e);
  A_.noalias() = H.unaryExpr([e](double x) { return std::ldexp(x, -e); }) * Q_;  // n×k, entries ≤ √n

  // ---- [Q_l, R_l] = QR(A), diag(R) ≥ 0; s += log R_jj + e ln 2 ----
  qr_.compute(A_);
  Qn_.setIdentity(n_, k_);
  Qn_.applyOnTheLeft(qr_.householderQ());  // thin Q: first k columns of the Householder product
  const double log_scale = static_cast<double>(e) * std::numbers::ln2;
  const auto& QR = qr_.matrixQR();
  for (Index j = 0; j < k_; ++j) {
    const double r = QR(j, j);
    if (r < 0.0) Qn_.col(j) = -Qn_.col(j);  // sign convention diag(R) ≥ 0 (R_jj → −R_jj with the column)
    // Exactly zero R_jj: a singular factor lost this direction: −inf (log 0), and −inf stays −inf.
    s_[j] += r == 0.0 ? kNegInf : std::log(std::fabs(r)) + log_scale;
  }
  Q_.swap(Qn_);
  ++layers_;
}

Vec LyapunovAccumulator::exponents_qr() const {
  if (layers_ == 0) throw InputError("lyapunov: no factor pushed (empty stack)");
  return s_ / static_cast<double>(layers_);
}

Vec LyapunovAccumulator::exponents() const { return sorted_descending(exponents_qr()); }

LyapunovResult LyapunovAccumulator::result() const {
  LyapunovResult r;
  r.exponents_qr = exponents_qr();
  r.exponents = sorted_descending(r.exponents_qr);
  r.log_r_sums = s_;
  r.layers = layers_;
  return r;
}

LyapunovResult lyapunov_exponents(const std::vector<Mat>& stack, const LyapunovOptions& options) {
  options.validate();
  if (stack.empty()) throw InputError("lyapunov: empty stack (need at least one factor)");
  // Validate every shape first so a bad stack never produces partial work.
  const Index n = stack.front().rows();
  for (std::size_t l = 0; l < stack.size(); ++l)
    if (stack[l].rows() != n || stack[l].cols() != n || n < 1)
      throw InputError("lyapunov: factor " + std::to_string(l + 1) + " is " + std::to_string(stack[l].rows()) +
                       "×" + std::to_string(stack[l].cols()) + "; expected " + std::to_string(n) + "×" +
                       std::to_string(n) + " (square, n ≥ 1, same n for all factors)");
  LyapunovAccumulator acc(options);
  std::vector<Vec> running;
  if (options.running) running.reserve(stack.size());
  for (const Mat& H : stack) {
    acc.push(H);
    if (options.running) running.push_back(acc.exponents());
  }
  LyapunovResult r = acc.result();
  r.running = std::move(running);
  return r;
}

}  // namespace mhclab
