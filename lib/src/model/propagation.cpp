// Energy and gradient propagation through the full layer model (SPEC §5). See the header for the model, the
// random inputs and the log-scale rules.
#include "mhclab/model/propagation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "mhclab/analysis/normalised_chain.hpp"
#include "mhclab/analysis/subspace_svd.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/pow2.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

namespace {

constexpr double kMinusInf = -std::numeric_limits<double>::infinity();
constexpr double kRoundoff = 0x1.0p-53;  // u

// ---- power-of-two scaling (core/pow2.hpp) ---------------------------------------------------------------

[[noreturn]] void throw_nonfinite(const char* what, Index layer) {
  throw ComputeError(std::string("propagate: non-finite value in ") + what + " at layer " +
                     std::to_string(layer) + " (0-based; H_" + std::to_string(layer + 1) +
                     "): an input is beyond the double range");
}

/// 2^e·S in normal form (max|M| ∈ [1/2, 1) or M = 0). Exact.
ScaledMatrix normalise(Mat S, long e, const char* what, Index layer) {
  if (!S.allFinite()) throw_nonfinite(what, layer);
  ScaledMatrix r{std::move(S), e};
  r.renormalize();
  return r;
}

/// 2^ea·A + 2^eb·B (B may be null) in normal form. The smaller term is shifted down first, so nothing
/// overflows; parts below 2^−1074 of the larger term are flushed.
ScaledMatrix add_scaled(const Mat& A, long ea, const Mat* B, long eb, const char* what, Index layer) {
  if (!A.allFinite() || (B != nullptr && !B->allFinite())) throw_nonfinite(what, layer);
  constexpr long kNone = std::numeric_limits<long>::min() / 4;
  const double ma = A.size() == 0 ? 0.0 : A.cwiseAbs().maxCoeff();
  const double mb = (B == nullptr || B->size() == 0) ? 0.0 : B->cwiseAbs().maxCoeff();
  const long ta = ma > 0 ? ea + binary_exponent(ma) : kNone;
  const long tb = mb > 0 ? eb + binary_exponent(mb) : kNone;
  if (ta == kNone && tb == kNone) return {Mat::Zero(A.rows(), A.cols()), 0};
  const long m = std::max(ta, tb);
  Mat S = ta == kNone ? Mat::Zero(A.rows(), A.cols()) : times_pow2(A, ea - m);
  if (tb != kNone) S += times_pow2(*B, eb - m);
  return normalise(std::move(S), m, what, layer);
}

// ---- the model ------------------------------------------------------------------------------------------

/// Per-layer quantities of the forward pass that the backward pass and the Jacobian need.
struct LayerCache {
  Vec u;            ///< rms: N(ĥ) (C); empty for none
  double r_hat = 0; ///< rms: ‖ĥ‖/√C (0: branch derivative taken as 0)
  Vec dphi;         ///< φ'(z) (C)
  long jf_exp = 0;  ///< J_F(h_l) = 2^{jf_exp}·(the derivative evaluated on ĥ): rms −K_l, none 0
  // Gate mode dsv4 only (see the header): the layer's own H and gates and what their derivatives need.
  bool dynamic = false;
  Mat H;             ///< n×n, combᵀ
  PrePost gates;     ///< pre, post
  Mat X_hat;         ///< n×C, X̂_l
  double rv_hat = 0; ///< (mean v̂² + ε̂)^(−1/2) of (S1) on the scaled state (0 when ε̂ overflows)
  Vec q;             ///< m: fn·v̂
  Vec dpre_da;       ///< n: ∂pre_i/∂a_i = s₀σ'(z_i)
  Vec dpost_da;      ///< n: ∂post_i/∂a_{n+i} = 2s₁σ'(z_{n+i})
  Mat J_theta;       ///< n²×n²: ∂vec(H)/∂θ (row-major vecs)
  Vec y_hat;         ///< C: the branch output ŷ (F = 2^{ey}·ŷ); empty without a branch
  long gate_exp = 0; ///< ey − K: the exponent of the post gate's piece
};

/// The pieces of one layer's Jacobian applied to a direction (JVP) or a cotangent (VJP): the layer map is
/// 2^0·a + 2^{jf_exp}·b + 2^{gate_exp}·c (b, c empty when absent).
struct Pieces {
  Mat a, b, c;
};

/// σ'(x) = σ(x)σ(−x).
double dsigmoid(double x) { return logistic(x) * logistic(-x); }

/// vec(X) stream-major (v[i·C + c] = X[i, c]) and back.
Vec stream_major(const Mat& X) {
  const Mat Xt = X.transpose();
  return Eigen::Map<const Vec>(Xt.data(), Xt.size());
}
Mat from_stream_major(const Vec& v, Index n, Index C) {
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(v.data(), n, C);
}
/// θ of the dsv4 method: the row-major vec of the comb logits Λ[from, to].
Vec row_major_vec(const Mat& A) {
  Vec v(A.size());
  for (Index j = 0; j < A.rows(); ++j)
    for (Index k = 0; k < A.cols(); ++k) v[j * A.cols() + k] = A(j, k);
  return v;
}

/// H, pre/post and W of one stack and seed; forward/backward passes and the layer Jacobians.
class Model {
 public:
  Model(const std::vector<Mat>& H, MethodId method, const PropagationOptions& options, std::uint64_t seed)
      : H_(H), opt_(options), seed_(seed) {
    options.validate();
    if (H.empty()) throw InputError("propagate: the stack of H_res is empty; need at least one layer");
    n_ = H[0].rows();
    C_ = options.width;
    for (std::size_t l = 0; l < H.size(); ++l) {
      const Mat& Hl = H[l];
      if (Hl.rows() != n_ || Hl.cols() != n_ || n_ < 1)
        throw InputError("propagate: H_res[" + std::to_string(l) + "] is " + std::to_string(Hl.rows()) + "×" +
                         std::to_string(Hl.cols()) + "; every H must be n×n with n = " + std::to_string(n_) +
                         " (the size of H_res[0])");
      if (!Hl.allFinite()) throw InputError("propagate: H_res[" + std::to_string(l) + "] has a non-finite entry");
    }
    const Index L = layers();
    pp_.reserve(static_cast<std::size_t>(L));
    if (!options.gates.empty()) {
      if (static_cast<Index>(options.gates.size()) != L)
        throw InputError("propagate: " + std::to_string(options.gates.size()) + " per-layer gates for " +
                         std::to_string(L) + " layers");
      for (std::size_t l = 0; l < options.gates.size(); ++l) {
        const PrePost& g = options.gates[l];
        if (g.pre.size() != n_ || g.post.size() != n_ || !g.pre.allFinite() || !g.post.allFinite())
          throw InputError("propagate: gates of layer " + std::to_string(l) + " are not two finite n-vectors (n = " +
                           std::to_string(n_) + ")");
      }
      pp_ = options.gates;
    } else {
      for (Index l = 0; l < L; ++l) pp_.push_back(static_pre_post(method, n_, l));
    }
    if (dynamic()) check_dsv4(method);
    if (branch_on()) {
      W_.reserve(static_cast<std::size_t>(L));
      for (Index l = 0; l < L; ++l) W_.push_back(detail::branch_weights(C_, l, seed));
    }
  }

  [[nodiscard]] Index n() const { return n_; }
  [[nodiscard]] Index C() const { return C_; }
  [[nodiscard]] Index layers() const { return static_cast<Index>(H_.size()); }
  [[nodiscard]] bool branch_on() const { return opt_.gain != 0.0; }
  [[nodiscard]] bool dynamic() const { return opt_.gate_mode == GateMode::Dsv4; }
  [[nodiscard]] std::uint64_t seed() const { return seed_; }

  /// The mixing and gates layer l used (static: the stack's; dsv4: those computed from X_l).
  [[nodiscard]] const Mat& H(Index l, const LayerCache& cache) const {
    return cache.dynamic ? cache.H : H_[static_cast<std::size_t>(l)];
  }
  [[nodiscard]] const PrePost& gates(Index l, const LayerCache& cache) const {
    return cache.dynamic ? cache.gates : pp_[static_cast<std::size_t>(l)];
  }

  /// One log-scaled layer: (X̂, K) → (X̂', K'), filling the cache (SPEC §5 / mHC Eq. 3).
  ScaledMatrix forward_layer(Index l, const ScaledMatrix& X, LayerCache& cache) const {
    if (dynamic()) dsv4_gates_of(l, X, cache);
    const Mat A = H(l, cache) * X.M;  // n×C, exponent K
    if (!branch_on()) return add_scaled(A, X.exponent, nullptr, 0, "H X", l);
    const PrePost& pp = gates(l, cache);
    const Mat& W = W_[static_cast<std::size_t>(l)];
    const Branch b = opt_.branch;
    const double g = opt_.gain;
    const long K = X.exponent;
    const Vec h = X.M.transpose() * pp.pre;  // C: ĥ = (H_pre X̂)ᵀ
    Vec y(C_);                                // branch output, exponent ey
    long ey = 0;
    cache.dphi.resize(C_);
    if (opt_.norm == BranchNorm::Rms) {
      // Scale invariance (ε = 0): N(2^K ĥ) = N(ĥ); the derivative carries 2^−K.
      cache.r_hat = h.stableNorm() / std::sqrt(static_cast<double>(C_));
      cache.u = cache.r_hat > 0 ? Vec(h / cache.r_hat) : Vec(Vec::Zero(C_));
      const Vec z = W * cache.u;
      for (Index c = 0; c < C_; ++c) {
        y[c] = g * branch_phi(b, z[c]);
        cache.dphi[c] = branch_phi_prime(b, z[c]);
      }
      cache.jf_exp = -K;
      ey = 0;
    } else {
      const Vec zh = W * h;  // ẑ; the true argument is z = 2^K ẑ
      cache.jf_exp = 0;
      if (b != Branch::Tanh) {
        // Positive homogeneity: φ(2^K ẑ) = 2^K φ(ẑ); φ' depends on sign(ẑ) only.
        for (Index c = 0; c < C_; ++c) {
          y[c] = g * branch_phi(b, zh[c]);
          cache.dphi[c] = branch_phi_prime(b, zh[c]);
        }
        ey = K;
      } else {
        const double mz = zh.cwiseAbs().maxCoeff();
        const bool small = mz == 0.0 || K + binary_exponent(mz) <= 0;  // every |z| < 1
        const int eK = clamp_shift(K);
        for (Index c = 0; c < C_; ++c) {
          const double z = std::ldexp(zh[c], eK);  // may be ±inf / 0 beyond the double range
          const double t = std::tanh(z);
          cache.dphi[c] = 1.0 - t * t;
          if (small) {
            const double q = z == 0.0 ? 1.0 : t / z;  // tanh(z)/z ∈ (0.76, 1]
            y[c] = g * zh[c] * q;
          } else {
            y[c] = g * t;
          }
        }
        ey = small ? K : 0;
      }
    }
    if (cache.dynamic) {
      cache.y_hat = y;
      cache.gate_exp = ey - K;
    }
    const Mat B = pp.post * y.transpose();  // n×C: H_postᵀ F
    return add_scaled(A, K, &B, ey, "the layer output", l);
  }

  /// J_F(ĥ) δh without the 2^{jf_exp} factor (C → C).
  [[nodiscard]] Vec jf_apply(Index l, const LayerCache& cache, const Vec& dh) const {
    Vec dn;
    if (opt_.norm == BranchNorm::Rms) {
      if (cache.r_hat == 0) return Vec::Zero(C_);
      dn = rms_norm_derivative(cache.u, cache.r_hat, dh);
    } else {
      dn = dh;
    }
    return opt_.gain * cache.dphi.cwiseProduct(W_[static_cast<std::size_t>(l)] * dn);
  }
  /// J_F(ĥ)ᵀ ȳ without the 2^{jf_exp} factor (C → C).
  [[nodiscard]] Vec jf_transpose(Index l, const LayerCache& cache, const Vec& ybar) const {
    const Vec zbar = opt_.gain * cache.dphi.cwiseProduct(ybar);
    Vec nbar = W_[static_cast<std::size_t>(l)].transpose() * zbar;
    if (opt_.norm == BranchNorm::Rms) {
      if (cache.r_hat == 0) return Vec::Zero(C_);
      nbar = rms_norm_derivative(cache.u, cache.r_hat, nbar);
    }
    return nbar;
  }

  /// Upper bounds of the operator norms of the three pieces (without their 2^{…} factors), for the Jacobian's
  /// normalisation: ‖a‖ ≤ ‖H‖_F + gate, ‖b‖ ≤ (‖pre‖ + gate)·‖post‖·|g|·max|φ'|·‖W‖_F/r̂, ‖c‖ ≤ gate. The gate
  /// terms use ‖∂â/∂v̂‖ ≤ 2·rv̂·‖fn‖_F (since rv̂²·mean v̂² ≤ 1).
  void piece_bounds(Index l, const LayerCache& cache, double& ba, double& bb, double& bc) const {
    double gm = 0.0, xn = 0.0;
    if (cache.dynamic) {
      gm = 2.0 * cache.rv_hat * site(l).fn.norm();
      xn = cache.X_hat.norm();
    }
    ba = H(l, cache).norm();
    if (cache.dynamic) ba += cache.J_theta.norm() * std::fabs(site(l).scale[2]) * gm * xn;
    bb = bc = 0.0;
    if (!branch_on()) return;
    const PrePost& pp = gates(l, cache);
    double pre = pp.pre.norm();
    if (cache.dynamic) pre += cache.dpre_da.cwiseAbs().maxCoeff() * gm * xn;
    bb = pre * pp.post.norm() * std::fabs(opt_.gain) * cache.dphi.cwiseAbs().maxCoeff() *
         W_[static_cast<std::size_t>(l)].norm();
    if (opt_.norm == BranchNorm::Rms) bb = cache.r_hat == 0 ? 0.0 : bb / cache.r_hat;
    if (cache.dynamic) bc = cache.dpost_da.cwiseAbs().maxCoeff() * gm * cache.y_hat.norm();
  }

  /// Gradient step: G_l = J_lᵀ G_{l+1} (log-scaled): H_lᵀ G + H_preᵀ J_F(h_l)ᵀ (H_post G) in gate mode static,
  /// plus the gates' terms in gate mode dsv4.
  ScaledMatrix backward_layer(Index l, const ScaledMatrix& G, const LayerCache& cache) const {
    const Pieces p = vjp_pieces(l, cache, G.M);
    ScaledMatrix S = add_scaled(p.a, G.exponent, p.b.size() ? &p.b : nullptr, G.exponent + cache.jf_exp,
                                       "the gradient", l);
    if (p.c.size()) S = add_scaled(S.M, S.exponent, &p.c, G.exponent + cache.gate_exp, "the gradient", l);
    return S;
  }

  /// The layer's Jacobian applied to δX (n×C), in pieces.
  [[nodiscard]] Pieces jvp_pieces(Index l, const LayerCache& cache, const Mat& dX) const {
    Pieces p;
    p.a = H(l, cache) * dX;
    Vec da;  // dâ (m), the mixes' change in units of 2^−K
    if (cache.dynamic) {
      da = dmix(l, cache, dX);
      const Index n2 = n_ * n_;
      const Vec dtheta = site(l).scale[2] * da.tail(n2);
      const Vec dH = cache.J_theta * dtheta;  // row-major vec
      p.a += from_stream_major(dH, n_, n_) * cache.X_hat;
    }
    if (!branch_on()) return p;
    const PrePost& pp = gates(l, cache);
    Vec dh = dX.transpose() * pp.pre;
    if (cache.dynamic) dh += cache.X_hat.transpose() * cache.dpre_da.cwiseProduct(da.head(n_));
    p.b = pp.post * jf_apply(l, cache, dh).transpose();
    if (cache.dynamic) p.c = cache.dpost_da.cwiseProduct(da.segment(n_, n_)) * cache.y_hat.transpose();
    return p;
  }
  /// The layer's transposed Jacobian applied to w (n×C), in pieces (the same scale factors as jvp_pieces).
  [[nodiscard]] Pieces vjp_pieces(Index l, const LayerCache& cache, const Mat& w) const {
    Pieces p;
    p.a = H(l, cache).transpose() * w;
    const Index m = (2 + n_) * n_;
    if (cache.dynamic) {
      const Vec dtheta = cache.J_theta.transpose() * row_major_vec(Mat(w * cache.X_hat.transpose()));
      Vec abar = Vec::Zero(m);
      abar.tail(n_ * n_) = site(l).scale[2] * dtheta;
      p.a += mix_transpose(l, cache, abar);
    }
    if (!branch_on()) return p;
    const PrePost& pp = gates(l, cache);
    const Vec ybar = w.transpose() * pp.post;
    const Vec hbar = jf_transpose(l, cache, ybar);
    p.b = pp.pre * hbar.transpose();
    if (cache.dynamic) {
      Vec abar = Vec::Zero(m);
      abar.head(n_) = cache.dpre_da.cwiseProduct(cache.X_hat * hbar);
      p.b += mix_transpose(l, cache, abar);
      abar.setZero();
      abar.segment(n_, n_) = cache.dpost_da.cwiseProduct(w * cache.y_hat);
      p.c = mix_transpose(l, cache, abar);
    }
    return p;
  }

  [[nodiscard]] const Mat& W(Index l) const { return W_[static_cast<std::size_t>(l)]; }
  [[nodiscard]] const PropagationOptions& options() const { return opt_; }
  [[nodiscard]] const Dsv4Site& site(Index l) const { return opt_.dsv4.sites[static_cast<std::size_t>(l)]; }
  [[nodiscard]] const Method& comb() const { return *comb_; }

 private:
  void check_dsv4(MethodId method) {
    const Dsv4Dynamics& d = opt_.dsv4;
    if (!opt_.gates.empty())
      throw InputError("propagate: gate-mode dsv4 computes the gates from each state; per-layer static gates were "
                       "given as well");
    comb_ = d.comb;
    if (!comb_) {
      if (method != MethodId::Dsv4)
        throw InputError("propagate: gate-mode dsv4 mixes with the deployed Sinkhorn; use method dsv4 (got " +
                         std::string(method_table.to_string(method)) + ")");
      MethodOptions mo;
      mo.method = MethodId::Dsv4;
      mo.n = n_;
      comb_ = make_method(mo);
    }
    if (comb_->id() != MethodId::Dsv4 || comb_->n() != n_)
      throw InputError("propagate: gate-mode dsv4 needs a dsv4 comb method with n = " + std::to_string(n_));
    if (!(d.hc_eps >= 0.0 && d.hc_eps < 1.0)) throw InputError("hc-eps must be in [0, 1)");
    if (!(d.norm_eps > 0.0 && d.norm_eps < 1.0)) throw InputError("norm-eps must be in (0, 1)");
    const Index L = layers(), m = (2 + n_) * n_;
    if (static_cast<Index>(d.sites.size()) != L)
      throw InputError("propagate: gate-mode dsv4 has " + std::to_string(d.sites.size()) + " sites for " +
                       std::to_string(L) + " layers");
    for (Index l = 0; l < L; ++l) {
      const Dsv4Site& s = d.sites[static_cast<std::size_t>(l)];
      if (s.fn.rows() != m || s.fn.cols() != n_ * C_ || s.base.size() != m || s.scale.size() != 3 ||
          !s.fn.allFinite() || !s.base.allFinite() || !s.scale.allFinite())
        throw InputError("propagate: site " + std::to_string(l) + " has fn " + std::to_string(s.fn.rows()) + "×" +
                         std::to_string(s.fn.cols()) + ", base " + std::to_string(s.base.size()) + ", scale " +
                         std::to_string(s.scale.size()) + "; expected finite fn " + std::to_string(m) + "×" +
                         std::to_string(n_ * C_) + " (m × n·C, C = width " + std::to_string(C_) + "), base " +
                         std::to_string(m) + ", scale 3");
    }
  }

  /// (S1)–(S5) on the scaled state, the deployed Sinkhorn, and ∂vec(H)/∂θ (n² VJPs).
  void dsv4_gates_of(Index l, const ScaledMatrix& X, LayerCache& cache) const {
    const Dsv4Site& s = site(l);
    const Dsv4Dynamics& d = opt_.dsv4;
    cache.dynamic = true;
    cache.X_hat = X.M;
    const Vec v = stream_major(X.M);
    const double eps_hat = std::ldexp(d.norm_eps, clamp_shift(-2 * X.exponent));
    const double rho = v.squaredNorm() / static_cast<double>(v.size()) + eps_hat;
    cache.rv_hat = std::isfinite(rho) ? 1.0 / std::sqrt(rho) : 0.0;
    cache.q = s.fn * v;
    const Vec a = cache.rv_hat * cache.q;
    const Dsv4Gates g = dsv4_gates(a, s.base, s.scale, d.hc_eps);
    cache.gates = {g.pre, g.post};
    cache.dpre_da.resize(n_);
    cache.dpost_da.resize(n_);
    for (Index i = 0; i < n_; ++i) {
      cache.dpre_da[i] = s.scale[0] * dsigmoid(s.scale[0] * a[i] + s.base[i]);
      cache.dpost_da[i] = 2.0 * s.scale[1] * dsigmoid(s.scale[1] * a[n_ + i] + s.base[n_ + i]);
    }
    const Vec theta = row_major_vec(g.comb_logits);
    MixResult r = comb_->mix(theta);
    if (r.H.size() == 0 || !r.H.allFinite())
      throw ComputeError("propagate: the dsv4 Sinkhorn failed at layer " + std::to_string(l) + " (0-based)");
    cache.H = std::move(r.H);
    const Index n2 = n_ * n_;
    cache.J_theta.resize(n2, n2);
    Mat E = Mat::Zero(n_, n_);
    for (Index e = 0; e < n2; ++e) {
      E(e / n_, e % n_) = 1.0;
      cache.J_theta.row(e) = comb_->vjp(theta, E).transpose();
      E(e / n_, e % n_) = 0.0;
    }
  }

  /// dâ = rv̂·fn·dv − rv̂³·q·(v̂·dv)/(nC) for δX (the mixes' change in units of 2^−K).
  [[nodiscard]] Vec dmix(Index l, const LayerCache& cache, const Mat& dX) const {
    const Vec dv = stream_major(dX), v = stream_major(cache.X_hat);
    const double r = cache.rv_hat, N = static_cast<double>(v.size());
    return r * (site(l).fn * dv) - (r * r * r * v.dot(dv) / N) * cache.q;
  }
  /// The transpose of dmix: ā (m) → v̄ as an n×C matrix.
  [[nodiscard]] Mat mix_transpose(Index l, const LayerCache& cache, const Vec& abar) const {
    const Vec v = stream_major(cache.X_hat);
    const double r = cache.rv_hat, N = static_cast<double>(v.size());
    const Vec vbar = r * (site(l).fn.transpose() * abar) - (r * r * r * abar.dot(cache.q) / N) * v;
    return from_stream_major(vbar, n_, C_);
  }

  const std::vector<Mat>& H_;
  const PropagationOptions& opt_;  ///< the caller's (it outlives the model): the sites are not copied
  std::uint64_t seed_;
  Index n_ = 0, C_ = 0;
  std::vector<PrePost> pp_;
  std::vector<Mat> W_;
  std::shared_ptr<const Method> comb_;
};

struct Passes {
  detail::PropagationTrace trace;
  std::vector<LayerCache> caches;
};

/// An input that replaces a seeded draw: empty, or n×C and finite.
const Mat& given_or(const Mat& given, const Mat& drawn, const char* name, Index n, Index C) {
  if (given.size() == 0) return drawn;
  if (given.rows() != n || given.cols() != C || !given.allFinite())
    throw InputError(std::string("propagate: the given ") + name + " is " + std::to_string(given.rows()) + "×" +
                     std::to_string(given.cols()) + (given.allFinite() ? "" : " with non-finite entries") +
                     "; expected a finite " + std::to_string(n) + "×" + std::to_string(C) + " matrix (n × width)");
  return given;
}

Passes run_passes(const Model& model, const detail::PassInputs& in = {}) {
  const Index L = model.layers(), n = model.n(), C = model.C();
  Passes p;
  p.caches.resize(static_cast<std::size_t>(L));
  p.trace.X.reserve(static_cast<std::size_t>(L + 1));
  const Mat X0 = in.X0.size() ? Mat() : detail::initial_state(n, C, model.seed());
  p.trace.X.push_back(normalise(given_or(in.X0, X0, "X_0", n, C), 0, "X_0", 0));
  for (Index l = 0; l < L; ++l)
    p.trace.X.push_back(model.forward_layer(l, p.trace.X.back(), p.caches[static_cast<std::size_t>(l)]));
  p.trace.G.resize(static_cast<std::size_t>(L + 1));
  const Mat R = in.R.size() ? Mat() : detail::readout(n, C, model.seed());
  p.trace.G[static_cast<std::size_t>(L)] = normalise(given_or(in.R, R, "R", n, C), 0, "R", L);
  for (Index l = L - 1; l >= 0; --l)
    p.trace.G[static_cast<std::size_t>(l)] = model.backward_layer(
        l, p.trace.G[static_cast<std::size_t>(l + 1)], p.caches[static_cast<std::size_t>(l)]);
  return p;
}

// ---- the normalised Jacobian operator ------------------------------------------------------------------

/// The layer Jacobians J_l (l = 0..L−1, on vec(X) = column-major n×C) as the factors of a normalised chain
/// (analysis/normalised_chain.hpp): J̃ = Π_l 2^{−k_l} J_l. J_l is the sum of its pieces 2^0·a + 2^{jf_exp}·b +
/// 2^{gate_exp}·c, each scaled by its own power of two, so no piece overflows on its way.
class JacobianFactors final : public ChainFactors {
 public:
  JacobianFactors(const Model& model, const std::vector<LayerCache>& caches) : model_(model), caches_(caches) {
    const Index L = model.layers();
    bound_.resize(static_cast<std::size_t>(L));
    for (Index l = 0; l < L; ++l) {
      const LayerCache& cache = caches[static_cast<std::size_t>(l)];
      double ba = 0, bb = 0, bc = 0;
      model.piece_bounds(l, cache, ba, bb, bc);
      // ‖J_l‖₂ ≤ ba + 2^{jf_exp}·bb + 2^{gate_exp}·bc, summed at the largest piece's exponent m (each term < 1 there).
      const double bounds[3] = {ba, bb, bc};
      const long rel[3] = {0, cache.jf_exp, cache.gate_exp};
      std::optional<long> m;
      for (int i = 0; i < 3; ++i)
        if (bounds[i] > 0) m = std::max(m.value_or(std::numeric_limits<long>::min()), rel[i] + binary_exponent(bounds[i]));
      if (!m) continue;  // J_l = 0
      double sum = 0.0;
      for (int i = 0; i < 3; ++i)
        if (bounds[i] > 0) sum += times_pow2(bounds[i], rel[i] - *m);
      bound_[static_cast<std::size_t>(l)] = *m + binary_exponent(sum);
    }
  }

  [[nodiscard]] Index dim() const override { return model_.n() * model_.C(); }
  [[nodiscard]] Index length() const override { return model_.layers(); }
  [[nodiscard]] std::optional<long> bound_exponent(Index l) const override {
    return bound_[static_cast<std::size_t>(l)];
  }
  [[nodiscard]] long apply_normalised(Index l, const Vec& x, Vec& y) const override {
    const LayerCache& cache = caches_[static_cast<std::size_t>(l)];
    const Pieces p = model_.jvp_pieces(l, cache, as_state(x));
    ScaledMatrix s = add_scaled(p.a, 0, p.b.size() ? &p.b : nullptr, cache.jf_exp, "the Jacobian probe", l);
    if (p.c.size()) s = add_scaled(s.M, s.exponent, &p.c, cache.gate_exp, "the Jacobian probe", l);
    y = Eigen::Map<const Vec>(s.M.data(), s.M.size());
    return s.exponent;
  }
  void apply(Index l, long k, const Vec& x, Vec& y) const override {
    const Pieces p = model_.jvp_pieces(l, caches_[static_cast<std::size_t>(l)], as_state(x));
    y = scaled_sum(p, l, k);
  }
  void apply_transpose(Index l, long k, const Vec& x, Vec& y) const override {
    const Pieces p = model_.vjp_pieces(l, caches_[static_cast<std::size_t>(l)], as_state(x));
    y = scaled_sum(p, l, k);
  }

 private:
  [[nodiscard]] Mat as_state(const Vec& x) const { return Eigen::Map<const Mat>(x.data(), model_.n(), model_.C()); }
  /// vec(2^{−k}·a + 2^{jf_exp − k}·b + 2^{gate_exp − k}·c).
  [[nodiscard]] Vec scaled_sum(const Pieces& p, Index l, long k) const {
    const LayerCache& cache = caches_[static_cast<std::size_t>(l)];
    Mat v = std::ldexp(1.0, clamp_shift(-k)) * p.a;
    if (p.b.size()) v += std::ldexp(1.0, clamp_shift(cache.jf_exp - k)) * p.b;
    if (p.c.size()) v += std::ldexp(1.0, clamp_shift(cache.gate_exp - k)) * p.c;
    return Eigen::Map<const Vec>(v.data(), v.size());
  }

  const Model& model_;
  const std::vector<LayerCache>& caches_;
  std::vector<std::optional<long>> bound_;  ///< b_l: ‖J_l‖₂ ≤ 2^{b_l} (none: J_l = 0)
};

/// The Jacobian probe P (n×C): N(0, 1) from RandomStream(seed, Purpose::State, {kJacobianProbeTag}), row-major fill.
Vec jacobian_probe(Index n, Index C, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::State, {kJacobianProbeTag});
  Mat P(n, C);
  for (Index i = 0; i < n; ++i)
    for (Index c = 0; c < C; ++c) P(i, c) = rng.normal();
  return Eigen::Map<const Vec>(P.data(), P.size());
}

JacobianSpectrum jacobian_spectrum(const NormalisedChain& J, const PropagationOptions& opt) {
  JacobianSpectrum out;
  const Index k = opt.jacobian_topk;
  out.log10_scale = J.log10_scale();
  if (J.zero()) {
    out.status = SolveStatus::ZeroOperator;
    out.converged = true;
    out.log10_sigma.assign(static_cast<std::size_t>(k), kMinusInf);
    out.resolved.assign(static_cast<std::size_t>(k), true);
    return out;
  }
  // Block subspace iteration on J̃ and J̃ᵀ (analysis/subspace_svd.hpp); Spectra's SymEigsSolver on J̃ᵀJ̃ returns
  // wrong values for the numerically low-rank Jacobians of deep stacks.
  const Index dim = J.rows();
  SubspaceSvdOptions so;
  so.k = k;
  so.max_iter = opt.jacobian_maxit;
  so.tol = opt.jacobian_tol;
  const SubspaceSvdResult sv = subspace_svd(
      dim, [&](const double* x, double* y) { J.perform_op(x, y); },
      [&](const double* x, double* y) { J.perform_transpose(x, y); }, so);
  out.iterations = sv.iterations;
  out.operations = sv.applications;
  if (!sv.finite) {
    out.status = SolveStatus::NumericalIssue;
    out.converged = false;
    return out;
  }
  out.status = sv.converged ? SolveStatus::Converged : SolveStatus::NotConverging;
  out.converged = sv.converged;
  const Vec sigma = sv.sigma.head(sv.converged_count);  // the converged ones, descending
  if (sigma.size() == 0) return out;
  if (!(sigma[0] > 0.0)) {
    // J̃ is 0 to working precision although no factor is exactly 0.
    out.status = SolveStatus::NumericalIssue;
    out.converged = false;
    return out;
  }
  const double s1 = sigma[0];
  const double floor = s1 * std::sqrt(static_cast<double>(dim) * kRoundoff);
  for (Index i = 0; i < sigma.size(); ++i) {
    const bool ok = sigma[i] >= floor;
    out.resolved.push_back(ok);
    out.log10_sigma.push_back(out.log10_scale + std::log10(ok ? sigma[i] : floor));
  }
  return out;
}

// ---- report rows ----------------------------------------------------------------------------------------

/// (value, log10 value) of m·2^e for m ≥ 0.
std::pair<double, double> scaled_pair(double m, long e) {
  const ScaledNumber x{m, e};
  return {x.value(), x.log10_abs()};
}

PropagationRow make_row(Index l, const ScaledMatrix& X, const ScaledMatrix& X0,
                        const ScaledMatrix& G) {
  PropagationRow row;
  row.layer = l;
  const double e0 = X0.M.squaredNorm();  // > 0 (X_0 random)
  const long dK = 2 * (X.exponent - X0.exponent);
  std::tie(row.energy, row.log10_energy) = scaled_pair(X.M.squaredNorm() / e0, dK);
  const Index n = X.M.rows();
  row.stream_energy.resize(n);
  row.log10_stream_energy.resize(n);
  for (Index i = 0; i < n; ++i)
    std::tie(row.stream_energy[i], row.log10_stream_energy[i]) = scaled_pair(X.M.row(i).squaredNorm() / e0, dK);
  // stream sums with the common exponent m = max(K_l, K_0)
  const long m = std::max(X.exponent, X0.exponent);
  const Vec diff = times_pow2(Vec(X.M.colwise().sum().transpose()), X.exponent - m) -
                   times_pow2(Vec(X0.M.colwise().sum().transpose()), X0.exponent - m);
  const double num = diff.cwiseAbs().maxCoeff();
  const double den = X0.M.cwiseAbs().colwise().sum().maxCoeff();
  if (num == 0.0) {
    row.stream_sum_dev = 0.0;
    row.log10_stream_sum_dev = kMinusInf;
  } else {
    const long en = binary_exponent(num);
    std::tie(row.stream_sum_dev, row.log10_stream_sum_dev) =
        scaled_pair(std::ldexp(num, static_cast<int>(-en)) / den, en + m - X0.exponent);
  }
  std::tie(row.grad_norm, row.log10_grad_norm) = scaled_pair(G.M.norm(), G.exponent);
  const StreamCollapse sc = stream_collapse(X.M);  // scale free: the normalised M of X = 2^K·M
  row.dominant_share = sc.dominant_share;
  row.stream_correlation = sc.stream_correlation;
  return row;
}

Mat row_major_normals(RandomStream rng, Index rows, Index cols, double scale) {
  Mat A(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index c = 0; c < cols; ++c) A(i, c) = scale * rng.normal();
  return A;
}

}  // namespace

// ---- public API -----------------------------------------------------------------------------------------

void PropagationOptions::validate() const {
  if (width < 1) throw InputError("width = " + std::to_string(width) + "; must be ≥ 1");
  if (!std::isfinite(gain)) throw InputError("gain is not finite; must be a finite number");
  if (jacobian_topk < 0)
    throw InputError("jacobian-topk = " + std::to_string(jacobian_topk) +
                     "; must be ≥ 0");
  if (!(jacobian_tol > 0.0 && jacobian_tol < 1.0))
    throw InputError("jacobian-tol = " + format_double(jacobian_tol) +
                     "; must be in (0, 1)");
  if (jacobian_maxit < 1)
    throw InputError("jacobian-maxit = " + std::to_string(jacobian_maxit) +
                     "; must be ≥ 1");
}

StreamCollapse stream_collapse(const Mat& X) {
  const Index n = X.rows(), C = X.cols();
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  StreamCollapse r;
  const Vec e = X.rowwise().squaredNorm();
  const double total = e.sum();
  r.dominant_share = total > 0.0 ? e.maxCoeff() / total : kNaN;
  if (n < 2 || C < 2) {
    r.stream_correlation = kNaN;
    return r;
  }
  const Mat Z = X.colwise() - X.rowwise().mean();  // centred over the channels
  const Vec norms = Z.rowwise().norm();
  double sum = 0.0;
  for (Index i = 0; i < n; ++i)
    for (Index j = i + 1; j < n; ++j) sum += Z.row(i).dot(Z.row(j)) / (norms[i] * norms[j]);  // NaN for a 0 norm
  r.stream_correlation = sum / static_cast<double>(n * (n - 1) / 2);
  return r;
}

PropagationSummary propagate(const std::vector<Mat>& H_res, MethodId method, const PropagationOptions& options,
                             std::uint64_t seed) {
  const Model model(H_res, method, options, seed);
  if (options.jacobian_topk >= model.n() * model.C())
    throw InputError("jacobian-topk = " + std::to_string(options.jacobian_topk) +
                     "; must be < n·C = " + std::to_string(model.n() * model.C()) + "");
  const Passes p = run_passes(model);
  PropagationSummary out;
  const Index L = model.layers();
  out.rows.reserve(static_cast<std::size_t>(L + 1));
  for (Index l = 0; l <= L; ++l)
  {
    out.rows.push_back(make_row(l, p.trace.X[static_cast<std::size_t>(l)], p.trace.X[0],
                                p.trace.G[static_cast<std::size_t>(l)]));
    if (l < L) {
      const PrePost& g = model.gates(l, p.caches[static_cast<std::size_t>(l)]);
      out.rows.back().pre = g.pre;
      out.rows.back().post = g.post;
    }
  }
  if (options.jacobian_topk > 0) {
    const JacobianFactors factors(model, p.caches);
    const NormalisedChain J(factors, jacobian_probe(model.n(), model.C(), seed));
    out.jacobian = jacobian_spectrum(J, options);
  }
  return out;
}

namespace detail {


Mat initial_state(Index n, Index C, std::uint64_t seed) {
  return row_major_normals(RandomStream(seed, Purpose::State, {}), n, C, 1.0);
}
Mat readout(Index n, Index C, std::uint64_t seed) {
  return row_major_normals(RandomStream(seed, Purpose::Readout, {}), n, C, 1.0);
}
Mat branch_weights(Index C, Index layer, std::uint64_t seed) {
  return row_major_normals(RandomStream(seed, Purpose::Weights, {static_cast<std::uint64_t>(layer)}), C, C,
                           1.0 / std::sqrt(static_cast<double>(C)));
}

PropagationTrace propagation_trace(const std::vector<Mat>& H_res, MethodId method,
                                   const PropagationOptions& options, std::uint64_t seed, const PassInputs& inputs) {
  const Model model(H_res, method, options, seed);
  return run_passes(model, inputs).trace;
}

Mat forward_plain(const std::vector<Mat>& H_res, MethodId method, const PropagationOptions& options,
                  std::uint64_t seed, const Mat& X, Index first_layer) {
  const Model model(H_res, method, options, seed);
  const Index C = model.C();
  if (X.rows() != model.n() || X.cols() != C) throw InputError("forward_plain: X must be n×C");
  // Plain doubles, written from the formulas (mhclab/model/propagation.hpp; gate mode dsv4: dsv4_site.hpp (S1)–(S5)).
  Mat Y = X;
  for (Index l = first_layer; l < model.layers(); ++l) {
    Mat Hl;
    PrePost pp;
    if (options.gate_mode == GateMode::Dsv4) {
      const Dsv4Site& s = model.site(l);
      const Mat Yt = Y.transpose();
      const Vec v = Eigen::Map<const Vec>(Yt.data(), Yt.size());  // stream-major
      const Dsv4Gates g = dsv4_gates(dsv4_mixes(s.fn, v, options.dsv4.norm_eps), s.base, s.scale, options.dsv4.hc_eps);
      Vec theta(g.comb_logits.size());
      for (Index j = 0; j < g.comb_logits.rows(); ++j)
        for (Index k = 0; k < g.comb_logits.cols(); ++k) theta[j * g.comb_logits.cols() + k] = g.comb_logits(j, k);
      Hl = model.comb().mix(theta).H;
      pp = {g.pre, g.post};
    } else {
      Hl = H_res[static_cast<std::size_t>(l)];
      pp = l < static_cast<Index>(options.gates.size()) ? options.gates[static_cast<std::size_t>(l)]
                                                        : static_pre_post(method, model.n(), l);
    }
    Mat next = Hl * Y;
    if (model.branch_on()) {
      Vec h = Y.transpose() * pp.pre;
      if (options.norm == BranchNorm::Rms) {
        const double r = h.norm() / std::sqrt(static_cast<double>(C));
        h = r > 0 ? Vec(h / r) : Vec(Vec::Zero(C));
      }
      const Vec z = model.W(l) * h;
      Vec y(C);
      for (Index c = 0; c < C; ++c) y[c] = options.gain * branch_phi(options.branch, z[c]);
      next += pp.post * y.transpose();
    }
    Y = std::move(next);
  }
  return Y;
}

DenseJacobian dense_jacobian(const std::vector<Mat>& H_res, MethodId method, const PropagationOptions& options,
                             std::uint64_t seed, const PassInputs& inputs) {
  const Model model(H_res, method, options, seed);
  const Passes p = run_passes(model, inputs);
  const JacobianFactors factors(model, p.caches);
  const NormalisedChain J(factors, jacobian_probe(model.n(), model.C(), seed));
  const Index d = J.rows();
  DenseJacobian out;
  out.J_hat.resize(d, d);
  out.Jt_hat.resize(d, d);
  out.log10_scale = J.log10_scale();
  for (Index k = 0; k < d; ++k) {
    const Vec e = Vec::Unit(d, k);  // vec index k = i + n·c
    J.perform_op(e.data(), out.J_hat.col(k).data());
    J.perform_transpose(e.data(), out.Jt_hat.col(k).data());
  }
  return out;
}

}  // namespace detail

}  // namespace mhclab
