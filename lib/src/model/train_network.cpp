// Forward and hand-written backward of the training network (model/train_network.hpp; SPEC §5, §7).
#include "mhclab/model/train_network.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"

namespace mhclab {

namespace {

using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMat>;
using RowMap = Eigen::Map<RowMat>;

/// H = mix(method, θ); false if θ or H is not finite (or the Sinkhorn reported a numerical issue).
bool build_h(const TrainNetwork& net, const Vec& theta, Mat& H) {
  if (!theta.allFinite()) return false;
  MixResult r = net.method->mix(theta);
  if (r.H.size() == 0 || !r.H.allFinite()) return false;
  H = std::move(r.H);
  return true;
}

/// What the backward needs from the forward of one layer on one chunk (B tokens). Matrices with a B axis hold
/// token b in column b; static mappings keep one column for θ, a_pre, a_post, pre, post and one H.
struct LayerCache {
  Mat X;                     ///< nC×B, input X_l (row i·C + c = X_l[i, c])
  Mat theta;                 ///< p×B (dynamic) or p×1 (static)
  Mat a_pre, a_post;         ///< n×B or n×1
  Mat pre, post;             ///< n×B or n×1 (after the gate)
  std::vector<Mat> H;        ///< B matrices (dynamic) or one (static)
  Mat Xt;                    ///< dynamic: x̃ = RMSNorm(vec X_l), nC×B
  Vec rx;                    ///< dynamic: r_v per token
  Mat s_res, s_pre, s_post;  ///< dynamic: φᵀ x̃ (p×B, n×B, n×B)
  Mat U;                     ///< C×B, N(h)
  Vec rh;                    ///< B, r of h
  Mat Z;                     ///< C×B, W_l N(h)
  Mat F;                     ///< C×B, g·φ(Z)
};

struct StaticParts {
  std::vector<Mat> H;  ///< L matrices
  std::vector<Vec> theta, a_pre, a_post;
};

/// Forward of one chunk: inputs x (C×B) → Ŷ (K×B). Fills caches (L entries). False on a non-finite value.
bool forward_chunk(const TrainNetwork& net, const Vec& params, const StaticParts* sp, const Mat& x,
                   std::vector<LayerCache>& caches, Mat& Yhat) {
  const Index n = net.n, C = net.C, p = net.p, B = x.cols(), nC = n * C;
  const bool dyn = net.options.mapping == Mapping::Dynamic;
  const double g = net.options.gain;
  Mat X(nC, B);
  for (Index i = 0; i < n; ++i) X.middleRows(i * C, C) = x;
  caches.resize(static_cast<std::size_t>(net.options.layers));
  for (Index l = 0; l < net.options.layers; ++l) {
    LayerCache& c = caches[static_cast<std::size_t>(l)];
    const LayerSlots& s = net.layout.layers[static_cast<std::size_t>(l)];
    c.X = X;
    if (dyn) {
      c.rx.resize(B);
      c.Xt.resize(nC, B);
      for (Index b = 0; b < B; ++b) {
        c.rx[b] = rms_scale(X.col(b));
        if (c.rx[b] > 0)
          c.Xt.col(b) = X.col(b) / c.rx[b];
        else
          c.Xt.col(b).setZero();
      }
      if (!c.Xt.allFinite()) return false;
      auto mapped = [&](Index phi_off, Index alpha_off, Index b_off, Index cols, Mat& sv, Mat& out) {
        const ConstRowMap ph(params.data() + phi_off, nC, cols);
        sv = ph.transpose() * c.Xt;  // cols×B
        out = params[alpha_off] * sv;
        out.colwise() += params.segment(b_off, cols);
      };
      if (p > 0) mapped(s.phi_res, s.alpha_res, s.theta, p, c.s_res, c.theta);
      mapped(s.phi_pre, s.alpha_pre, s.pre, n, c.s_pre, c.a_pre);
      mapped(s.phi_post, s.alpha_post, s.post, n, c.s_post, c.a_post);
      c.H.resize(static_cast<std::size_t>(B));
      for (Index b = 0; b < B; ++b) {
        if (p > 0) {
          if (!build_h(net, c.theta.col(b), c.H[static_cast<std::size_t>(b)])) return false;
        } else {
          c.H[static_cast<std::size_t>(b)] = Mat::Identity(n, n);
        }
      }
    } else {
      c.theta = sp->theta[static_cast<std::size_t>(l)];
      c.a_pre = sp->a_pre[static_cast<std::size_t>(l)];
      c.a_post = sp->a_post[static_cast<std::size_t>(l)];
      c.H.assign(1, sp->H[static_cast<std::size_t>(l)]);
    }
    c.pre = c.a_pre.unaryExpr([&](double a) { return gate_value(net.gates, a, 1.0); });
    c.post = c.a_post.unaryExpr([&](double a) { return gate_value(net.gates, a, 2.0); });
    if (!c.pre.allFinite() || !c.post.allFinite()) return false;

    // Residual mixing H_l X_l and the branch input h = pre X_l.
    Mat Xn = Mat::Zero(nC, B);
    Mat h = Mat::Zero(C, B);
    if (dyn) {
      for (Index b = 0; b < B; ++b) {
        const Mat& H = c.H[static_cast<std::size_t>(b)];
        for (Index i = 0; i < n; ++i) {
          for (Index j = 0; j < n; ++j) Xn.col(b).segment(i * C, C) += H(i, j) * X.col(b).segment(j * C, C);
          h.col(b) += c.pre(i, b) * X.col(b).segment(i * C, C);
        }
      }
    } else {
      const Mat& H = c.H[0];
      for (Index i = 0; i < n; ++i) {
        for (Index j = 0; j < n; ++j) Xn.middleRows(i * C, C) += H(i, j) * X.middleRows(j * C, C);
        h += c.pre(i, 0) * X.middleRows(i * C, C);
      }
    }
    // Branch F = g·φ(W N(h)).
    c.rh.resize(B);
    c.U.resize(C, B);
    for (Index b = 0; b < B; ++b) {
      c.rh[b] = rms_scale(h.col(b));
      if (c.rh[b] > 0)
        c.U.col(b) = h.col(b) / c.rh[b];
      else
        c.U.col(b).setZero();
    }
    const ConstRowMap W(params.data() + s.W, C, C);
    c.Z.noalias() = W * c.U;
    const Branch br = net.options.branch;
    c.F = c.Z.unaryExpr([&](double z) { return g * branch_phi(br, z); });
    for (Index b = 0; b < B; ++b)
      for (Index i = 0; i < n; ++i) Xn.col(b).segment(i * C, C) += c.post(i, dyn ? b : 0) * c.F.col(b);
    if (!Xn.allFinite()) return false;
    X = std::move(Xn);
  }
  Mat m = Mat::Zero(C, B);
  for (Index i = 0; i < n; ++i) m += X.middleRows(i * C, C);
  m /= static_cast<double>(n);
  Yhat.noalias() = net.W_out * m;
  caches.emplace_back();  // slot L keeps X_L (not needed by the backward but cheap)
  caches.back().X = std::move(X);
  return Yhat.allFinite();
}

struct ChunkResult {
  double loss_sum = 0;
  Index correct = 0;
  bool finite = true;
  Vec* grad = nullptr;  ///< flat (layout.size), the chunk's buffer of the workspace
  std::vector<Mat> dH;  ///< static: ∂ℓ/∂H_l
};

/// Loss terms and dŶ (with the 1/B of the batch mean) of one chunk.
void loss_chunk(const TrainNetwork& net, const TrainBatch& batch, Index b0, const Mat& Yhat, double inv_batch,
                ChunkResult& r, Mat& dY) {
  const Index B = Yhat.cols();
  dY.resize(net.K, B);
  for (Index b = 0; b < B; ++b) {
    if (net.options.task == TrainTask::Teacher) {
      const Vec e = Yhat.col(b) - batch.Y.col(b0 + b);
      r.loss_sum += 0.5 * e.squaredNorm();
      dY.col(b) = inv_batch * e;
    } else {
      const Vec y = Yhat.col(b);
      Index arg = 0;
      const double mx = y.maxCoeff(&arg);
      const Vec ex = (y.array() - mx).exp().matrix();
      const double z = ex.sum();
      const Index label = batch.labels[static_cast<std::size_t>(b0 + b)];
      r.loss_sum += -(y[label] - mx - std::log(z));
      if (arg == label) ++r.correct;
      dY.col(b) = inv_batch * (ex / z);
      dY(label, b) -= inv_batch;
    }
  }
  if (!std::isfinite(r.loss_sum)) r.finite = false;
}

void backward_chunk(const TrainNetwork& net, const Vec& params, const std::vector<LayerCache>& caches, const Mat& dY,
                    ChunkResult& r) {
  const Index n = net.n, C = net.C, p = net.p, B = dY.cols(), nC = n * C;
  const bool dyn = net.options.mapping == Mapping::Dynamic;
  const double g = net.options.gain;
  const Branch br = net.options.branch;
  Vec& grad = *r.grad;
  Mat G(nC, B);
  const Mat gm = net.W_out.transpose() * dY / static_cast<double>(n);  // C×B
  for (Index i = 0; i < n; ++i) G.middleRows(i * C, C) = gm;
  for (Index l = net.options.layers - 1; l >= 0; --l) {
    const LayerCache& c = caches[static_cast<std::size_t>(l)];
    const LayerSlots& s = net.layout.layers[static_cast<std::size_t>(l)];
    const Mat& X = c.X;
    // post ⊗ F: dpost(i, b) = G_i[:, b]·F[:, b]; dF = Σ_i post_i G_i.
    Mat dpost(n, B), dF = Mat::Zero(C, B);
    for (Index i = 0; i < n; ++i) {
      dpost.row(i) = G.middleRows(i * C, C).cwiseProduct(c.F).colwise().sum();
      for (Index b = 0; b < B; ++b) dF.col(b) += c.post(i, dyn ? b : 0) * G.col(b).segment(i * C, C);
    }
    // F = g φ(Z), Z = W U.
    const Mat dZ = dF.cwiseProduct(c.Z.unaryExpr([&](double z) { return g * branch_phi_prime(br, z); }));
    RowMap dW(grad.data() + s.W, C, C);
    dW.noalias() += dZ * c.U.transpose();
    const ConstRowMap W(params.data() + s.W, C, C);
    const Mat dU = W.transpose() * dZ;
    // U = h / r, r = ‖h‖/√C: dh = (dU − U (U·dU)/C) / r.
    Mat dh(C, B);
    for (Index b = 0; b < B; ++b) {
      if (c.rh[b] > 0)
        dh.col(b) = rms_norm_derivative(c.U.col(b), c.rh[b], dU.col(b));
      else
        dh.col(b).setZero();
    }
    // h = Σ_i pre_i X_i: dpre(i, b) = X_i[:, b]·dh[:, b].
    Mat dpre(n, B);
    for (Index i = 0; i < n; ++i) dpre.row(i) = X.middleRows(i * C, C).cwiseProduct(dh).colwise().sum();
    // X_{l+1} = H X_l: dH(i, j) = Σ G_i ∘ X_j; G_prev_j = Σ_i H(i, j) G_i (+ pre_j dh).
    Mat Gp = Mat::Zero(nC, B);
    Mat dTheta;  // dynamic: p×B
    if (dyn) {
      if (p > 0) dTheta.resize(p, B);
      for (Index b = 0; b < B; ++b) {
        const Mat& H = c.H[static_cast<std::size_t>(b)];
        Mat dHb(n, n);
        for (Index i = 0; i < n; ++i)
          for (Index j = 0; j < n; ++j) {
            dHb(i, j) = G.col(b).segment(i * C, C).dot(X.col(b).segment(j * C, C));
            Gp.col(b).segment(j * C, C) += H(i, j) * G.col(b).segment(i * C, C);
          }
        for (Index i = 0; i < n; ++i) Gp.col(b).segment(i * C, C) += c.pre(i, b) * dh.col(b);
        if (p > 0) dTheta.col(b) = net.method->vjp(c.theta.col(b), dHb);
      }
    } else {
      const Mat& H = c.H[0];
      Mat& dH = r.dH[static_cast<std::size_t>(l)];
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) {
          dH(i, j) += G.middleRows(i * C, C).cwiseProduct(X.middleRows(j * C, C)).sum();
          Gp.middleRows(j * C, C) += H(i, j) * G.middleRows(i * C, C);
        }
      for (Index i = 0; i < n; ++i) Gp.middleRows(i * C, C) += c.pre(i, 0) * dh;
    }
    // Gates.
    Mat da_pre(n, B), da_post(n, B);
    for (Index b = 0; b < B; ++b)
      for (Index i = 0; i < n; ++i) {
        const Index bb = dyn ? b : 0;
        da_pre(i, b) = gate_derivative(net.gates, c.a_pre(i, bb), 1.0) * dpre(i, b);
        da_post(i, b) = gate_derivative(net.gates, c.a_post(i, bb), 2.0) * dpost(i, b);
      }
    if (!dyn) {
      grad.segment(s.pre, n) += da_pre.rowwise().sum();
      grad.segment(s.post, n) += da_post.rowwise().sum();
    } else {
      // θ = α (φᵀ x̃) + b: db = Σ_b dθ; dα = Σ dθ ∘ (φᵀ x̃); dφ = α x̃ dθᵀ; dx̃ = α φ dθ.
      Mat dXt = Mat::Zero(nC, B);
      auto pull = [&](Index phi_off, Index alpha_off, Index b_off, Index cols, const Mat& sv, const Mat& d) {
        grad.segment(b_off, cols) += d.rowwise().sum();
        grad[alpha_off] += d.cwiseProduct(sv).sum();
        const double alpha = params[alpha_off];
        RowMap dphi(grad.data() + phi_off, nC, cols);
        dphi.noalias() += alpha * (c.Xt * d.transpose());
        const ConstRowMap ph(params.data() + phi_off, nC, cols);
        dXt.noalias() += alpha * (ph * d);
      };
      if (p > 0) pull(s.phi_res, s.alpha_res, s.theta, p, c.s_res, dTheta);
      pull(s.phi_pre, s.alpha_pre, s.pre, n, c.s_pre, da_pre);
      pull(s.phi_post, s.alpha_post, s.post, n, c.s_post, da_post);
      // x̃ = v / r_v, r_v = ‖v‖/√(nC): dv = (dx̃ − x̃ (x̃·dx̃)/(nC)) / r_v.
      for (Index b = 0; b < B; ++b)
        if (c.rx[b] > 0)
          Gp.col(b) += rms_norm_derivative(c.Xt.col(b), c.rx[b], dXt.col(b));
    }
    G = std::move(Gp);
  }
}

StaticParts static_parts(const TrainNetwork& net, const Vec& params, bool& finite) {
  StaticParts sp;
  finite = true;
  const auto L = static_cast<std::size_t>(net.options.layers);
  sp.H.resize(L);
  sp.theta.resize(L);
  sp.a_pre.resize(L);
  sp.a_post.resize(L);
  for (std::size_t l = 0; l < L; ++l) {
    const LayerSlots& s = net.layout.layers[l];
    sp.theta[l] = net.p > 0 ? Vec(params.segment(s.theta, net.p)) : Vec(0);
    sp.a_pre[l] = params.segment(s.pre, net.n);
    sp.a_post[l] = params.segment(s.post, net.n);
    if (net.p > 0) {
      if (!build_h(net, sp.theta[l], sp.H[l])) finite = false;
    } else {
      sp.H[l] = Mat::Identity(net.n, net.n);
    }
  }
  return sp;
}

/// The forward of a whole batch as one chunk (the caches of every layer and X_L); throws as residual_streams.
std::vector<LayerCache> forward_batch(const TrainNetwork& net, const Vec& params, const TrainBatch& batch,
                                      const char* what) {
  if (params.size() != net.layout.size)
    throw InputError("parameter vector has " + std::to_string(params.size()) + " entries; the network has " +
                     std::to_string(net.layout.size));
  if (batch.size() < 1) throw InputError("empty batch");
  bool finite = params.allFinite();
  StaticParts sp;
  const bool dyn = net.options.mapping == Mapping::Dynamic;
  if (finite && !dyn) sp = static_parts(net, params, finite);
  std::vector<LayerCache> caches;
  Mat Yhat;
  if (!finite || !forward_chunk(net, params, dyn ? nullptr : &sp, batch.X, caches, Yhat))
    throw ComputeError(std::string(what) + ": a non-finite value in the forward pass");
  return caches;
}

/// Token b of a stacked state (nC×B, row i·C + c) as n×C.
Mat token_state(const Mat& X, Index b, Index n, Index C) {
  Mat Xb(n, C);
  for (Index i = 0; i < n; ++i) Xb.row(i) = X.col(b).segment(i * C, C).transpose();
  return Xb;
}
}  // namespace

std::vector<Mat> residual_streams(const TrainNetwork& net, const Vec& params, const TrainBatch& batch) {
  const std::vector<LayerCache> caches = forward_batch(net, params, batch, "residual streams");
  std::vector<Mat> out;
  out.reserve(static_cast<std::size_t>(batch.size()));
  for (Index b = 0; b < batch.size(); ++b) out.push_back(token_state(caches.back().X, b, net.n, net.C));
  return out;
}

StreamDiagnostics stream_diagnostics(const TrainNetwork& net, const Vec& params, const TrainBatch& batch) {
  const std::vector<LayerCache> caches = forward_batch(net, params, batch, "stream diagnostics");
  const Index n = net.n, C = net.C, B = batch.size(), L = net.options.layers;
  StreamDiagnostics d;
  double share = 0.0, corr = 0.0;
  for (Index b = 0; b < B; ++b) {
    const StreamCollapse sc = stream_collapse(token_state(caches.back().X, b, n, C));
    share += sc.dominant_share;
    corr += sc.stream_correlation;
  }
  d.dominant_share = share / static_cast<double>(B);
  d.stream_correlation = corr / static_cast<double>(B);
  d.pre = Vec::Zero(n);
  d.post = Vec::Zero(n);
  for (Index l = 0; l < L; ++l) {
    const LayerCache& c = caches[static_cast<std::size_t>(l)];
    d.pre += c.pre.rowwise().mean();
    d.post += c.post.rowwise().mean();
  }
  if (L > 0) {
    d.pre /= static_cast<double>(L);
    d.post /= static_cast<double>(L);
  }
  return d;
}

LossGradient network_loss_and_gradient(const TrainNetwork& net, const Vec& params, const TrainBatch& batch,
                                       bool want_gradient, int threads, TrainWorkspace* workspace) {
  if (params.size() != net.layout.size)
    throw InputError("parameter vector has " + std::to_string(params.size()) + " entries; the network has " +
                     std::to_string(net.layout.size));
  LossGradient out;
  const Index B = batch.size();
  if (B < 1) throw InputError("empty batch");
  const bool dyn = net.options.mapping == Mapping::Dynamic;
  bool finite = params.allFinite();
  StaticParts sp;
  if (finite && !dyn) sp = static_parts(net, params, finite);
  if (!finite) {
    out.finite = false;
    out.loss = std::numeric_limits<double>::quiet_NaN();
    return out;
  }
  const Index chunks = (B + kTrainChunk - 1) / kTrainChunk;
  std::vector<ChunkResult> res(static_cast<std::size_t>(chunks));
  TrainWorkspace local;
  TrainWorkspace& ws = workspace != nullptr ? *workspace : local;
  if (want_gradient) {
    ws.chunk_gradient.resize(static_cast<std::size_t>(chunks));
    for (std::size_t k = 0; k < res.size(); ++k) res[k].grad = &ws.chunk_gradient[k];
  }
  const double inv_batch = 1.0 / static_cast<double>(B);
  parallel_for(chunks, threads, [&](Index k) {
    ChunkResult& r = res[static_cast<std::size_t>(k)];
    const Index b0 = k * kTrainChunk, b1 = std::min(B, b0 + kTrainChunk);
    std::vector<LayerCache> caches;
    Mat Yhat;
    if (!forward_chunk(net, params, dyn ? nullptr : &sp, batch.X.middleCols(b0, b1 - b0), caches, Yhat)) {
      r.finite = false;
      return;
    }
    Mat dY;
    loss_chunk(net, batch, b0, Yhat, inv_batch, r, dY);
    if (!r.finite || !want_gradient) return;
    if (r.grad->size() != net.layout.size) r.grad->resize(net.layout.size);
    r.grad->setZero();
    if (!dyn) r.dH.assign(static_cast<std::size_t>(net.options.layers), Mat::Zero(net.n, net.n));
    backward_chunk(net, params, caches, dY, r);
  });
  double loss = 0;
  Index correct = 0;
  for (const ChunkResult& r : res) {
    if (!r.finite) out.finite = false;
    loss += r.loss_sum;
    correct += r.correct;
  }
  out.loss = out.finite ? loss * inv_batch : std::numeric_limits<double>::quiet_NaN();
  if (net.options.task == TrainTask::Clusters) out.accuracy = static_cast<double>(correct) / static_cast<double>(B);
  if (!out.finite || !want_gradient) return out;
  out.gradient = Vec::Zero(net.layout.size);
  std::vector<Mat> dH;
  if (!dyn) dH.assign(static_cast<std::size_t>(net.options.layers), Mat::Zero(net.n, net.n));
  for (const ChunkResult& r : res) {  // chunk order: fixed reduction
    out.gradient += *r.grad;
    for (std::size_t l = 0; l < dH.size(); ++l) dH[l] += r.dH[l];
  }
  if (!dyn && net.p > 0)
    for (std::size_t l = 0; l < dH.size(); ++l)
      out.gradient.segment(net.layout.layers[l].theta, net.p) +=
          net.method->vjp(sp.theta[l], dH[l]);
  if (!out.gradient.allFinite()) out.finite = false;
  return out;
}

std::vector<Mat> static_h_res(const TrainNetwork& net, const Vec& params) {
  std::vector<Mat> H(static_cast<std::size_t>(net.options.layers));
  for (std::size_t l = 0; l < H.size(); ++l) {
    if (net.p == 0) {
      H[l] = Mat::Identity(net.n, net.n);
      continue;
    }
    if (!build_h(net, params.segment(net.layout.layers[l].theta, net.p), H[l]))
      throw ComputeError("H_res of layer " + std::to_string(l) + " is not finite");
  }
  return H;
}

std::vector<std::vector<Mat>> dynamic_h_res(const TrainNetwork& net, const Vec& params, const TrainBatch& batch) {
  std::vector<std::vector<Mat>> out;
  if (net.options.mapping != Mapping::Dynamic || !params.allFinite()) return out;
  std::vector<LayerCache> caches;
  Mat Yhat;
  if (!forward_chunk(net, params, nullptr, batch.X, caches, Yhat)) return out;
  out.assign(static_cast<std::size_t>(batch.size()), std::vector<Mat>(static_cast<std::size_t>(net.options.layers)));
  for (std::size_t b = 0; b < out.size(); ++b)
    for (std::size_t l = 0; l < out[b].size(); ++l) out[b][l] = caches[l].H[b];
  return out;
}

}  // namespace mhclab
