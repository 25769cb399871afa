// One DeepSeek-V4 site: see mhclab/mixing/dsv4_site.hpp.
#include "mhclab/mixing/dsv4_site.hpp"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

namespace {
double sigmoid(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
}  // namespace

Index dsv4_streams(Index m, const std::string& what) {
  // (2 + n)·n = m  ⇔  n = √(1 + m) − 1
  const auto n = static_cast<Index>(std::llround(std::sqrt(1.0 + static_cast<double>(m)) - 1.0));
  if (m < 3 || (2 + n) * n != m)
    throw InputError(what + " has " + std::to_string(m) + " entries; expected (2 + n)·n mixes (pre n, post n, comb n²; "
                     "e.g. 24 for n = 4)");
  return n;
}

Dsv4Gates dsv4_gates(const Vec& mixes, const Vec& base, const Vec& scale, double hc_eps) {
  const Index m = base.size();
  const Index n = dsv4_streams(m, "base");
  if (mixes.size() != m)
    throw InputError("mixes has " + std::to_string(mixes.size()) + " entries; expected m = " + std::to_string(m));
  if (scale.size() != 3) throw InputError("scale has " + std::to_string(scale.size()) + " entries; expected 3");
  Dsv4Gates g;
  g.pre.resize(n);
  g.post.resize(n);
  g.comb_logits.resize(n, n);
  for (Index i = 0; i < n; ++i) {
    g.pre[i] = sigmoid(scale[0] * mixes[i] + base[i]) + hc_eps;
    g.post[i] = 2.0 * sigmoid(scale[1] * mixes[n + i] + base[n + i]);
  }
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < n; ++k) g.comb_logits(j, k) = scale[2] * mixes[2 * n + n * j + k] + base[2 * n + n * j + k];
  return g;
}

std::vector<Dsv4Site> dsv4_synthetic_sites(const std::vector<Mat>& comb_logits, Index C, double alpha,
                                           std::uint64_t seed) {
  if (C < 1) throw InputError("width = " + std::to_string(C) + "; must be ≥ 1");
  if (!std::isfinite(alpha)) throw InputError("dsv4-alpha is not finite");
  std::vector<Dsv4Site> sites;
  sites.reserve(comb_logits.size());
  for (std::size_t s = 0; s < comb_logits.size(); ++s) {
    const Mat& Lg = comb_logits[s];
    const Index n = Lg.rows();
    if (n < 1 || Lg.cols() != n || !Lg.allFinite())
      throw InputError("comb logits of site " + std::to_string(s) + " are not a finite n×n matrix");
    const Index m = (2 + n) * n;
    Dsv4Site site;
    site.base = Vec::Constant(m, -1.0);
    const Index k = static_cast<Index>(s) % n;
    site.base[k] = 1.0;
    site.base[n + k] = 1.0;
    for (Index j = 0; j < n; ++j)
      for (Index t = 0; t < n; ++t) site.base[2 * n + n * j + t] = Lg(j, t);
    RandomStream rng(seed, Purpose::Weights, {kDsv4FnTag, static_cast<std::uint64_t>(s)});
    const double sd = 1.0 / std::sqrt(static_cast<double>(n * C));
    site.fn.resize(m, n * C);
    for (Index i = 0; i < m; ++i)
      for (Index c = 0; c < n * C; ++c) site.fn(i, c) = sd * rng.normal();
    site.scale = Vec::Constant(3, alpha);
    sites.push_back(std::move(site));
  }
  return sites;
}

Vec dsv4_mixes(const Mat& fn, const Vec& v, double norm_eps) {
  if (fn.cols() != v.size())
    throw InputError("residual state has " + std::to_string(v.size()) + " entries; fn expects n·C = " +
                     std::to_string(fn.cols()));
  if (v.size() == 0) throw InputError("residual state is empty");
  const double r = 1.0 / std::sqrt(v.squaredNorm() / static_cast<double>(v.size()) + norm_eps);
  return r * (fn * v);
}

}  // namespace mhclab
