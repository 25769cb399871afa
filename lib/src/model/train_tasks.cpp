// The training network's fixed parts, parameter layout and init, and the synthetic tasks
// (model/train_network.hpp: random recipe in the header comment).
#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/model/train_network.hpp"

namespace mhclab {

namespace {

/// rows×cols, N(0,1)·scale, filled row-major from `rs`.
Mat normal_matrix(RandomStream rs, Index rows, Index cols, double scale) {
  Mat M(rows, cols);
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) M(r, c) = scale * rs.normal();
  return M;
}

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}

}  // namespace

void NetworkOptions::validate() const {
  method.validate();
  require(layers >= 1, "layers = " + std::to_string(layers) + "; must be ≥ 1");
  require(width >= 1, "width = " + std::to_string(width) + "; must be ≥ 1");
  require(outputs >= 1, "outputs = " + std::to_string(outputs) + "; must be ≥ 1");
  require(task != TrainTask::Clusters || outputs >= 2,
          "outputs = " + std::to_string(outputs) + "; the clusters task needs ≥ 2 classes");
  require(std::isfinite(gain), "gain = " + format_double(gain, "%g") + "; must be finite");
  require(std::isfinite(alpha_init), "alpha-init must be finite");
  require(std::isfinite(init_eps) && init_eps >= 0 && init_eps <= 1,
          "init-eps = " + format_double(init_eps, "%g") + "; must be in [0, 1]");
  require(teacher_depth >= 0,
          "teacher-depth = " + std::to_string(teacher_depth) + "; must be ≥ 0");
  require(std::isfinite(cluster_scale) && cluster_scale >= 0,
          "cluster-scale = " + format_double(cluster_scale, "%g") + "; must be finite and ≥ 0");
}

TrainNetwork make_network(const NetworkOptions& options, std::uint64_t seed) {
  options.validate();
  TrainNetwork net;
  net.options = options;
  net.method = make_method(options.method);
  net.n = options.method.n;
  net.C = options.width;
  net.p = net.method->num_params();
  net.K = options.outputs;
  net.seed = seed;
  net.gates = method_traits(options.method.method).gates;
  const bool dyn = options.mapping == Mapping::Dynamic;
  const Index n = net.n, C = net.C, p = net.p, nC = n * C;
  ParamLayout& lay = net.layout;
  auto take = [&](Index count, ParamGroup g) {
    const Index off = lay.size;
    lay.size += count;
    lay.group.insert(lay.group.end(), static_cast<std::size_t>(count), g);
    return off;
  };
  for (Index l = 0; l < options.layers; ++l) {
    LayerSlots s;
    s.W = take(C * C, ParamGroup::Weights);
    if (!dyn) {
      if (p > 0) s.theta = take(p, ParamGroup::Res);
      s.pre = take(n, ParamGroup::PrePost);
      s.post = take(n, ParamGroup::PrePost);
    } else {
      if (p > 0) {
        s.phi_res = take(nC * p, ParamGroup::Res);
        s.alpha_res = take(1, ParamGroup::Res);
        s.theta = take(p, ParamGroup::Res);
      }
      s.phi_pre = take(nC * n, ParamGroup::PrePost);
      s.alpha_pre = take(1, ParamGroup::PrePost);
      s.pre = take(n, ParamGroup::PrePost);
      s.phi_post = take(nC * n, ParamGroup::PrePost);
      s.alpha_post = take(1, ParamGroup::PrePost);
      s.post = take(n, ParamGroup::PrePost);
    }
    lay.layers.push_back(s);
  }
  const double sc = 1.0 / std::sqrt(static_cast<double>(C));
  net.W_out = normal_matrix(RandomStream(seed, Purpose::Readout, {kTrainTag, 0}), net.K, C, sc);
  if (options.task == TrainTask::Teacher) {
    for (Index k = 0; k < options.teacher_depth; ++k)
      net.teacher_V.push_back(
          normal_matrix(RandomStream(seed, Purpose::Weights, {kTrainTag, static_cast<std::uint64_t>(k)}), C, C, sc));
    net.teacher_R = normal_matrix(RandomStream(seed, Purpose::Readout, {kTrainTag, 1}), net.K, C, sc);
  } else {
    net.centres = normal_matrix(RandomStream(seed, Purpose::State, {kTrainTag, 0}), net.K, C, options.cluster_scale);
  }
  return net;
}

Vec initial_parameters(const TrainNetwork& net) {
  Vec v = Vec::Zero(net.layout.size);
  const Index n = net.n, C = net.C, p = net.p, nC = n * C;
  const Vec theta0 = p > 0 ? net.method->init_params(net.options.init, net.options.init_eps) : Vec(0);
  const double sphi = 1.0 / std::sqrt(static_cast<double>(nC));
  for (Index l = 0; l < net.options.layers; ++l) {
    const LayerSlots& s = net.layout.layers[static_cast<std::size_t>(l)];
    const auto ul = static_cast<std::uint64_t>(l);
    {
      const Mat W = detail::branch_weights(C, l, net.seed);  // the same W_l as propagation.hpp
      for (Index r = 0; r < C; ++r)
        for (Index c = 0; c < C; ++c) v[s.W + r * C + c] = W(r, c);
    }
    if (p > 0) v.segment(s.theta, p) = theta0;
    const GateLogits a = static_gate_logits(net.gates, n, l);  // so pre/post at init are static_pre_post's
    v.segment(s.pre, n) = a.pre;
    v.segment(s.post, n) = a.post;
    if (net.options.mapping == Mapping::Dynamic) {
      auto fill_phi = [&](Index off, Index cols, std::uint64_t which) {
        RandomStream rs(net.seed, Purpose::Theta, {kTrainTag, ul, which});
        for (Index q = 0; q < nC * cols; ++q) v[off + q] = sphi * rs.normal();
      };
      if (p > 0) {
        fill_phi(s.phi_res, p, 0);
        v[s.alpha_res] = net.options.alpha_init;
      }
      fill_phi(s.phi_pre, n, 1);
      v[s.alpha_pre] = net.options.alpha_init;
      fill_phi(s.phi_post, n, 2);
      v[s.alpha_post] = net.options.alpha_init;
    }
  }
  return v;
}

TrainBatch make_batch(const TrainNetwork& net, Index step, Index batch, bool probe) {
  TrainBatch tb;
  const Index C = net.C, K = net.K;
  tb.X.resize(C, batch);
  const bool clusters = net.options.task == TrainTask::Clusters;
  if (clusters) tb.labels.resize(static_cast<std::size_t>(batch));
  for (Index b = 0; b < batch; ++b) {
    RandomStream rs =
        probe ? RandomStream(net.seed, Purpose::State, {kTrainTag, 2, static_cast<std::uint64_t>(b)})
              : RandomStream(net.seed, Purpose::State,
                             {kTrainTag, 1, static_cast<std::uint64_t>(step), static_cast<std::uint64_t>(b)});
    if (clusters) {
      const auto label = std::min<Index>(K - 1, static_cast<Index>(std::floor(rs.uniform() * static_cast<double>(K))));
      tb.labels[static_cast<std::size_t>(b)] = label;
      for (Index c = 0; c < C; ++c) tb.X(c, b) = net.centres(label, c) + rs.normal();
    } else {
      for (Index c = 0; c < C; ++c) tb.X(c, b) = rs.normal();
    }
  }
  if (!clusters) {
    Mat T = tb.X;
    for (const Mat& V : net.teacher_V) T += (V * T).array().tanh().matrix();
    tb.Y = net.teacher_R * T;
  }
  return tb;
}

}  // namespace mhclab
