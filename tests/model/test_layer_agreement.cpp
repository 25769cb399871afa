// SPEC §5's layer model is implemented twice: model/propagation (one state, log-scaled, for depth studies; its
// matrix-free Jacobian) and model/train_network (batched tokens, trainable parameters, hand-written backward). On
// the same network they must agree: the training harness's static mapping at perturbed θ_l, a_pre, a_post, whose
// W_l are the propagation model's seeded branch weights (both draw RandomStream(seed, Weights, {l})·1/√C), run on
// one token x, so X_0 = 1_n xᵀ.
//   forward   X_L of train_network (residual_streams) = X_L of propagation (trace and forward_plain);
//   backward  with R = ∂ℓ/∂X_L of the teacher loss, propagation's G_{l+1} = ∂ℓ/∂X_{l+1} and X_l give every
//             parameter gradient by the layer's local rule, which must equal network_loss_and_gradient's:
//               ∂ℓ/∂W_l = (g φ'(z) ∘ ȳ) uᵀ,  ȳ = G_{l+1}ᵀ post,  u = N(h),  h = X_lᵀ pre,  z = W_l u
//               ∂ℓ/∂θ_l = vjp(θ_l, G_{l+1} X_lᵀ)        ∂ℓ/∂a_post_i = post'(a_i)·⟨G_{l+1}[i,:], F⟩
//               ∂ℓ/∂a_pre_i = pre'(a_i)·⟨X_l[i,:], h̄⟩,  h̄ = J_Nᵀ W_lᵀ (g φ'(z) ∘ ȳ),  J_N = (I − u uᵀ/C)/r;
//   Jacobian  propagation's ∂X_L/∂X_0 (dense, from the JVP its solver uses) applied to 1_n δxᵀ = the central
//             difference of train_network's X_L in direction δx.
// Tolerances: forward and backward 1e-12 relative to the largest entry (two double-precision evaluations of the
// same sums in different orders over 5 layers: ~1e-15 expected; the margin covers the σ/tanh evaluations);
// Jacobian 1e-7 relative (central difference with step 1e-5: truncation ~1e-10, cancellation ~1e-11).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/model/propagation.hpp"
#include "mhclab/model/train_network.hpp"

using namespace mhclab;

namespace {

double sigmoid(double a) { return 1.0 / (1.0 + std::exp(-a)); }

double max_abs(const Mat& A) { return A.size() ? A.cwiseAbs().maxCoeff() : 0.0; }

/// max|A − B| / max(max|B|, tiny).
double rel_diff(const Mat& A, const Mat& B) { return max_abs(A - B) / std::max(max_abs(B), 1e-300); }

double phi(Branch b, double z) {
  switch (b) {
    case Branch::Linear: return z;
    case Branch::Tanh: return std::tanh(z);
    case Branch::Relu: return z > 0 ? z : 0.0;
  }
  return 0.0;
}
double dphi(Branch b, double z) {
  switch (b) {
    case Branch::Linear: return 1.0;
    case Branch::Tanh: return 1.0 - std::tanh(z) * std::tanh(z);
    case Branch::Relu: return z > 0 ? 1.0 : 0.0;
  }
  return 0.0;
}

struct Case {
  MethodId method;
  Branch branch;
};

}  // namespace

TEST_SUITE("model_layer_agreement") {
  TEST_CASE("propagation and the training network agree on forward, backward and the Jacobian") {
    const std::uint64_t seed = 11;
    for (const Case k : {Case{MethodId::MHC, Branch::Tanh}, Case{MethodId::MHC, Branch::Relu},
                         Case{MethodId::HC, Branch::Linear}, Case{MethodId::MHCLite, Branch::Tanh}}) {
      CAPTURE(static_cast<int>(k.method));
      CAPTURE(static_cast<int>(k.branch));
      NetworkOptions no;
      no.method.method = k.method;
      no.method.n = 4;
      no.layers = 5;
      no.width = 6;
      no.outputs = 3;
      no.branch = k.branch;
      no.gain = 0.8;
      const TrainNetwork net = make_network(no, seed);
      const Index n = net.n, C = net.C, L = no.layers;
      // Perturbed gates and mixes (W_l stays the seeded draw both models make).
      Vec params = initial_parameters(net);
      for (const LayerSlots& s : net.layout.layers) {
        for (Index j = 0; j < net.p; ++j) params[s.theta + j] += 0.3 * std::sin(1.0 + static_cast<double>(s.theta + j));
        for (Index i = 0; i < n; ++i) {
          params[s.pre + i] += 0.4 * std::cos(2.0 + static_cast<double>(s.pre + i));
          params[s.post + i] += 0.4 * std::sin(3.0 + static_cast<double>(s.post + i));
        }
      }
      const bool sigmoid_gates = net.gates == GateStyle::Sigmoid;
      const auto gate = [&](double a, double scale) { return sigmoid_gates ? scale * sigmoid(a) : a; };
      const auto dgate = [&](double a, double scale) {
        return sigmoid_gates ? scale * sigmoid(a) * (1.0 - sigmoid(a)) : 1.0;
      };
      PropagationOptions po;
      po.width = C;
      po.branch = k.branch;
      po.norm = BranchNorm::Rms;  // the training network's branch norm (ε = 0)
      po.gain = no.gain;
      for (const LayerSlots& s : net.layout.layers) {
        PrePost g{Vec(n), Vec(n)};
        for (Index i = 0; i < n; ++i) {
          g.pre[i] = gate(params[s.pre + i], 1.0);
          g.post[i] = gate(params[s.post + i], 2.0);
        }
        po.gates.push_back(g);
      }
      const std::vector<Mat> H = static_h_res(net, params);
      const TrainBatch batch = make_batch(net, 0, 1);
      const Vec x = batch.X.col(0);
      const Mat X0 = Vec::Ones(n) * x.transpose();

      // Forward.
      const Mat XL = residual_streams(net, params, batch).at(0);
      CHECK(rel_diff(detail::forward_plain(H, k.method, po, seed, X0, 0), XL) <= 1e-12);
      const Vec m = XL.colwise().sum().transpose() / static_cast<double>(n);
      const Vec err = net.W_out * m - batch.Y.col(0);
      const Mat R = Vec::Constant(n, 1.0 / static_cast<double>(n)) * (net.W_out.transpose() * err).transpose();
      const detail::PropagationTrace tr = detail::propagation_trace(H, k.method, po, seed, {X0, R});
      CHECK(rel_diff(tr.X.back().value(), XL) <= 1e-12);

      // Backward.
      const LossGradient lg = network_loss_and_gradient(net, params, batch, true, 1);
      REQUIRE(lg.finite);
      CHECK(lg.loss == doctest::Approx(0.5 * err.squaredNorm()).epsilon(1e-12));
      Vec expected = Vec::Zero(lg.gradient.size());
      for (Index l = 0; l < L; ++l) {
        const LayerSlots& s = net.layout.layers[static_cast<std::size_t>(l)];
        const Mat X = tr.X[static_cast<std::size_t>(l)].value(), G = tr.G[static_cast<std::size_t>(l + 1)].value();
        const PrePost& g = po.gates[static_cast<std::size_t>(l)];
        const Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> W(
            params.data() + s.W, C, C);
        const Vec h = X.transpose() * g.pre;
        const double r = h.norm() / std::sqrt(static_cast<double>(C));
        const Vec u = h / r, z = W * u, ybar = G.transpose() * g.post;
        Vec F(C), dz(C);
        for (Index c = 0; c < C; ++c) {
          F[c] = no.gain * phi(k.branch, z[c]);
          dz[c] = no.gain * dphi(k.branch, z[c]) * ybar[c];
        }
        const Mat dW = dz * u.transpose();
        for (Index a = 0; a < C; ++a)
          for (Index b = 0; b < C; ++b) expected[s.W + a * C + b] = dW(a, b);
        if (net.p > 0) expected.segment(s.theta, net.p) = net.method->vjp(params.segment(s.theta, net.p), G * X.transpose());
        const Vec uw = W.transpose() * dz;
        const Vec hbar = (uw - u * (u.dot(uw) / static_cast<double>(C))) / r;
        for (Index i = 0; i < n; ++i) {
          expected[s.post + i] = dgate(params[s.post + i], 2.0) * G.row(i).dot(F.transpose());
          expected[s.pre + i] = dgate(params[s.pre + i], 1.0) * X.row(i).dot(hbar.transpose());
        }
      }
      const double gerr = rel_diff(lg.gradient, expected);
      MESSAGE("method " << static_cast<int>(k.method) << ", branch " << static_cast<int>(k.branch)
                        << ": gradient difference " << gerr << " (relative to the largest entry)");
      CHECK(gerr <= 1e-12);

      // Jacobian: J·vec(1 δxᵀ) (vec index i + n·c) against the central difference of the training forward.
      const detail::DenseJacobian dj = detail::dense_jacobian(H, k.method, po, seed, {X0, {}});
      const Mat J = dj.J_hat * std::pow(10.0, dj.log10_scale);
      Vec dx(C);
      for (Index c = 0; c < C; ++c) dx[c] = std::cos(1.0 + 0.7 * static_cast<double>(c));
      const Mat D = Vec::Ones(n) * dx.transpose();
      const Vec Jd = J * Eigen::Map<const Vec>(D.data(), n * C);
      const double step = 1e-5;
      TrainBatch plus = batch, minus = batch;
      plus.X.col(0) += step * dx;
      minus.X.col(0) -= step * dx;
      const Mat fd = (residual_streams(net, params, plus).at(0) - residual_streams(net, params, minus).at(0)) / (2 * step);
      const double jerr = rel_diff(Eigen::Map<const Mat>(Jd.data(), n, C), fd);
      MESSAGE("Jacobian difference " << jerr);
      CHECK(jerr <= 1e-7);
    }
  }

  TEST_CASE("given states of the wrong shape are refused by name") {
    const std::vector<Mat> H(2, Mat::Identity(3, 3));
    PropagationOptions po;
    po.width = 4;
    CHECK_THROWS_WITH_AS((void)detail::propagation_trace(H, MethodId::MHC, po, 1, {Mat::Zero(3, 5), {}}),
                         doctest::Contains("given X_0 is 3×5"), InputError);
    Mat R = Mat::Zero(3, 4);
    R(0, 0) = std::nan("");
    CHECK_THROWS_WITH_AS((void)detail::propagation_trace(H, MethodId::MHC, po, 1, {{}, R}),
                         doctest::Contains("non-finite"), InputError);
  }
}
