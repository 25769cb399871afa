// The training loop, optimizers and per-step figures (model/train.hpp).
#include "mhclab/model/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/analysis/metric_cell.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

namespace {

void require(bool ok, const std::string& message) {
  if (!ok) throw InputError(message);
}
std::string num(double x) { return format_double(x, "%g"); }

/// A signed value that may lie beyond the double range, ordered by (sign, log10 |value|).
struct Signed {
  double value = 0, log10_abs = 0;
};
bool less(const Signed& a, const Signed& b) {
  const int sa = (a.value > 0) - (a.value < 0), sb = (b.value > 0) - (b.value < 0);
  if (sa != sb) return sa < sb;
  if (sa == 0) return false;
  return sa > 0 ? a.log10_abs < b.log10_abs : a.log10_abs > b.log10_abs;
}

/// Running extremes of the suffix-product gains over one or several stacks.
struct AmaxAccumulator {
  bool any = false;
  Signed fmax, fmin, bmax, bmin;
  double log10_fmin = 0, log10_bmin = 0;  ///< log10 of the (signed) minima: NaN when negative
  Signed smin;                            ///< σ_min of the whole product (the minimum over stacks)
  void add(const std::vector<Mat>& stack) {
    if (!stack.empty()) {
      DepthMetricGroups g{false, false, true, false, false, false};
      const DepthMetrics whole = depth_metrics(stack, ProductKind::Prefix, g).back();
      const Signed s{whole.sigma_min, whole.log10_sigma_min};
      if (!any || less(s, smin)) smin = s;
    }
    for (const DepthMetrics& m : depth_metrics(stack, ProductKind::Suffix)) {
      const Signed fM{m.fwd_gain, m.log10_fwd_gain}, bM{m.bwd_gain, m.log10_bwd_gain};
      const Signed fm{m.fwd_gain_min, m.log10_abs.fwd_gain_min}, bm{m.bwd_gain_min, m.log10_abs.bwd_gain_min};
      if (!any || less(fmax, fM)) fmax = fM;
      if (!any || less(bmax, bM)) bmax = bM;
      if (!any || less(fm, fmin)) fmin = fm, log10_fmin = m.log10_fwd_gain_min;
      if (!any || less(bm, bmin)) bmin = bm, log10_bmin = m.log10_bwd_gain_min;
      any = true;
    }
  }
};

double sigma_max(const Mat& J) {
  if (J.size() == 0) return 0.0;
  return Eigen::JacobiSVD<Mat>(J).singularValues()[0];
}

void fill_figures(const TrainNetwork& net, const Vec& params, const TrainBatch& probe, TrainStep& row) {
  AmaxAccumulator acc;
  const std::vector<Mat> Hs = static_h_res(net, params);
  if (net.options.mapping == Mapping::Static) {
    acc.add(Hs);
  } else {
    const std::vector<std::vector<Mat>> per_token = dynamic_h_res(net, params, probe);
    if (per_token.empty()) throw ComputeError("non-finite H_res on the probe batch");
    for (const std::vector<Mat>& stack : per_token) acc.add(stack);
  }
  row.fwd_amax_max = acc.fmax.value, row.log10_fwd_amax_max = acc.fmax.log10_abs;
  row.bwd_amax_max = acc.bmax.value, row.log10_bwd_amax_max = acc.bmax.log10_abs;
  row.fwd_amax_min = acc.fmin.value, row.log10_fwd_amax_min = acc.log10_fmin;
  row.bwd_amax_min = acc.bmin.value, row.log10_bwd_amax_min = acc.log10_bmin;
  row.log10_abs_fwd_amax_min = acc.fmin.log10_abs, row.log10_abs_bwd_amax_min = acc.bmin.log10_abs;
  row.sigma_min_product = acc.smin.value, row.log10_sigma_min_product = acc.smin.log10_abs;
  double jmin = std::numeric_limits<double>::infinity(), jmax = 0;
  for (Index l = 0; l < net.options.layers; ++l) {
    double s = 0;
    if (net.p > 0) {
      const Vec theta = params.segment(net.layout.layers[static_cast<std::size_t>(l)].theta, net.p);
      s = sigma_max(mix_jacobian(*net.method, theta));
    }
    jmin = std::min(jmin, s);
    jmax = std::max(jmax, s);
  }
  row.jac_smax_min = jmin, row.jac_smax_max = jmax;
  row.streams = stream_diagnostics(net, params, probe);
}

void append_flat(std::vector<double>& out, const Mat& H) {
  for (Index i = 0; i < H.rows(); ++i)
    for (Index j = 0; j < H.cols(); ++j) out.push_back(H(i, j));
}

}  // namespace

void TrainOptions::validate() const {
  network.validate();
  require(std::isfinite(lr) && lr > 0, "lr = " + num(lr) + "; must be > 0");
  require(std::isfinite(momentum) && momentum >= 0 && momentum < 1,
          "momentum = " + num(momentum) + "; must be in [0, 1)");
  require(std::isfinite(beta1) && beta1 >= 0 && beta1 < 1,
          "beta1 = " + num(beta1) + "; must be in [0, 1)");
  require(std::isfinite(beta2) && beta2 >= 0 && beta2 < 1,
          "beta2 = " + num(beta2) + "; must be in [0, 1)");
  require(std::isfinite(adam_eps) && adam_eps > 0, "adam-eps = " + num(adam_eps) + "; must be > 0");
  require(std::isfinite(clip) && clip >= 0, "clip = " + num(clip) + "; must be ≥ 0 (0 = off)");
  require(steps >= 0, "steps = " + std::to_string(steps) + "; must be ≥ 0");
  require(batch >= 1, "batch = " + std::to_string(batch) + "; must be ≥ 1");
  require(log_every >= 1, "log-every = " + std::to_string(log_every) + "; must be ≥ 1");
  require(probe_tokens >= 1, "probe-tokens = " + std::to_string(probe_tokens) + "; must be ≥ 1");
  for (std::size_t k = 0; k < snapshot_steps.size(); ++k) {
    require(snapshot_steps[k] >= 0 && snapshot_steps[k] <= steps,
            "snapshot-steps: " + std::to_string(snapshot_steps[k]) +
                " is outside [0, steps = " + std::to_string(steps) + "]");
    require(k == 0 || snapshot_steps[k] > snapshot_steps[k - 1],
            "snapshot-steps must be strictly increasing");
  }
}

std::vector<Index> TrainOptions::resolved_snapshot_steps() const {
  if (!snapshot_steps.empty()) return snapshot_steps;
  if (steps == 0) return {0};
  return {0, steps};
}

TrainSummary train(const TrainOptions& o, int threads) {
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const TrainNetwork net = make_network(o.network, o.seed);
  Vec params = initial_parameters(net);
  TrainSummary s;
  s.parameters = net.layout.size;
  const Index L = net.options.layers, n = net.n;
  const bool dyn = net.options.mapping == Mapping::Dynamic;
  const TrainBatch probe = make_batch(net, 0, o.probe_tokens, true);
  const std::vector<Index> snaps = o.resolved_snapshot_steps();

  // Trainable mask per flat entry.
  Vec mask(net.layout.size);
  for (Index k = 0; k < net.layout.size; ++k) {
    const ParamGroup gr = net.layout.group[static_cast<std::size_t>(k)];
    const bool on = gr == ParamGroup::Weights ? o.train_weights
                    : gr == ParamGroup::Res   ? o.train_res
                                              : o.train_pre_post;
    mask[k] = on ? 1.0 : 0.0;
  }
  Vec m1 = Vec::Zero(net.layout.size), m2 = Vec::Zero(net.layout.size);
  std::size_t next_snap = 0;
  TrainWorkspace workspace;
  Vec g(net.layout.size);
  for (Index step = 0; step <= o.steps; ++step) {
    const TrainBatch batch = make_batch(net, step, o.batch);
    LossGradient lg = network_loss_and_gradient(net, params, batch, true, threads, &workspace);
    if (!lg.finite || !std::isfinite(lg.loss)) {
      s.status = "diverged";
      s.diverged_step = step;
      break;
    }
    g.array() = lg.gradient.array() * mask.array();
    const double gnorm = g.norm();
    if (!std::isfinite(gnorm)) {
      s.status = "diverged";
      s.diverged_step = step;
      break;
    }
    if (step % o.log_every == 0 || step == o.steps) {
      TrainStep row;
      row.step = step;
      row.loss = lg.loss;
      row.accuracy = lg.accuracy;
      row.grad_norm = gnorm;
      fill_figures(net, params, probe, row);
      s.log.push_back(row);
    }
    if (next_snap < snaps.size() && snaps[next_snap] == step) {
      s.snapshot_steps.push_back(step);
      const std::vector<Mat> Hs = static_h_res(net, params);
      if (!dyn) {
        for (const Mat& H : Hs) append_flat(s.snapshots, H);
      } else {
        for (const Mat& H : Hs) append_flat(s.snapshots_bias, H);
        for (const std::vector<Mat>& stack : dynamic_h_res(net, params, probe))
          for (const Mat& H : stack) append_flat(s.snapshots, H);
      }
      ++next_snap;
    }
    if (step == o.steps) break;
    // Update.
    if (o.clip > 0 && gnorm > o.clip) g *= o.clip / gnorm;
    if (o.optimizer == OptimizerKind::Sgd) {
      m1.array() = o.momentum * m1.array() + g.array();  // in place: no per-step temporaries
      params.array() -= o.lr * m1.array();
    } else {
      const double t = static_cast<double>(step + 1);
      m1.array() = o.beta1 * m1.array() + (1.0 - o.beta1) * g.array();
      m2.array() = o.beta2 * m2.array() + (1.0 - o.beta2) * g.array().square();
      const double c1 = 1.0 - std::pow(o.beta1, t), c2 = 1.0 - std::pow(o.beta2, t);
      params.array() -= o.lr * (m1.array() / c1) / ((m2.array() / c2).sqrt() + o.adam_eps);
    }
    s.steps_done = step + 1;
  }
  const auto ns = static_cast<std::size_t>(s.snapshot_steps.size());
  if (!dyn) {
    s.snapshot_shape = {ns, static_cast<std::size_t>(L), static_cast<std::size_t>(n), static_cast<std::size_t>(n)};
  } else {
    s.snapshot_shape = {ns, static_cast<std::size_t>(o.probe_tokens), static_cast<std::size_t>(L),
                        static_cast<std::size_t>(n), static_cast<std::size_t>(n)};
    s.snapshot_bias_shape = {ns, static_cast<std::size_t>(L), static_cast<std::size_t>(n), static_cast<std::size_t>(n)};
  }
  s.final_parameters = params;
  s.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace mhclab
