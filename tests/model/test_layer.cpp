// model/layer.hpp: the shared parts of the SPEC §5 layer (φ and φ', the gates and their static init, the RMSNorm
// derivative), against closed forms and central differences.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/layer.hpp"
#include "mhclab/model/train_network.hpp"
#include "support/check.hpp"

using namespace mhclab;

TEST_SUITE("model_layer") {

TEST_CASE("layer: static_pre_post follows SPEC §5 (mHC Eq. 8; HC's init)") {
  const double sp = 1.0 / (1.0 + std::exp(-1.0)), sm = 1.0 / (1.0 + std::exp(1.0));
  for (MethodId m : {MethodId::MHC, MethodId::MHCLite, MethodId::KromHC, MethodId::TBP, MethodId::RTBP,
                     MethodId::Tropical}) {
    const PrePost pp = static_pre_post(m, 4, 6);  // k = 6 mod 4 = 2
    for (Index i = 0; i < 4; ++i) {
      CHECK(pp.pre[i] == (i == 2 ? sp : sm));
      CHECK(pp.post[i] == 2.0 * pp.pre[i]);
    }
  }
  for (MethodId m : {MethodId::HC, MethodId::ResNet}) {
    const PrePost pp = static_pre_post(m, 3, 4);  // k = 1
    CHECK(pp.pre == (Vec(3) << 0, 1, 0).finished());
    CHECK(pp.post == Vec::Ones(3));
  }
  const PrePost r1 = static_pre_post(MethodId::ResNet, 1, 17);
  CHECK(r1.pre == Vec::Ones(1));
  CHECK(r1.post == Vec::Ones(1));
  CHECK_THROWS_AS((void)static_pre_post(MethodId::MHC, 0, 0), InputError);
  CHECK_THROWS_AS((void)static_pre_post(MethodId::MHC, 2, -1), InputError);
}

TEST_CASE("layer: static_gate_logits are the logits whose gates are static_pre_post") {
  const GateLogits s = static_gate_logits(GateStyle::Sigmoid, 4, 5);  // k = 1
  CHECK(s.pre == (Vec(4) << -1, 1, -1, -1).finished());
  CHECK(s.post == s.pre);
  const GateLogits l = static_gate_logits(GateStyle::Linear, 4, 5);
  CHECK(l.pre == (Vec(4) << 0, 1, 0, 0).finished());
  CHECK(l.post == Vec::Ones(4));
  CHECK_THROWS_WITH_AS((void)static_gate_logits(GateStyle::Linear, 0, 0), "static gates: n = 0; must be ≥ 1",
                       InputError);
}

TEST_CASE("layer: φ', the gate derivative and the RMSNorm derivative equal central differences") {
  // Central differences with step 1e-6 on smooth O(1) functions: truncation ~1e-12, rounding ~1e-16/1e-6 = 1e-10;
  // tolerance 1e-8 absolute.
  const double h = 1e-6;
  for (Branch b : {Branch::Linear, Branch::Tanh, Branch::Relu})
    for (double z : {-2.3, -0.4, 0.7, 1.9}) {
      const double fd = (branch_phi(b, z + h) - branch_phi(b, z - h)) / (2 * h);
      MHCLAB_CHECK_NEAR(branch_phi_prime(b, z), fd, 1e-8, 0.0);
    }
  CHECK(branch_phi_prime(Branch::Relu, 0.0) == 0.0);
  CHECK(branch_phi_prime(Branch::Tanh, HUGE_VAL) == 0.0);
  for (GateStyle g : {GateStyle::Sigmoid, GateStyle::Linear})
    for (double scale : {1.0, 2.0})
      for (double a : {-3.0, -0.5, 0.0, 1.2}) {
        const double fd = (gate_value(g, a + h, scale) - gate_value(g, a - h, scale)) / (2 * h);
        MHCLAB_CHECK_NEAR(gate_derivative(g, a, scale), fd, 1e-8, 0.0);
      }
  CHECK(gate_value(GateStyle::Sigmoid, 0.0, 2.0) == 1.0);
  CHECK(gate_value(GateStyle::Linear, -0.25, 2.0) == -0.25);
  // N(v) = v / (‖v‖/√m): its Jacobian applied to d, against a dense central-difference Jacobian.
  const Index m = 7;
  RandomStream rng(4, Purpose::Test, {});
  Vec x(m), d(m);
  rng.fill_normal(x, 1.0);
  rng.fill_normal(d, 1.0);
  const auto N = [m](const Vec& v) { return Vec(v / (v.norm() / std::sqrt(static_cast<double>(m)))); };
  Mat J(m, m);
  for (Index j = 0; j < m; ++j) {
    Vec xp = x, xm = x;
    xp[j] += h;
    xm[j] -= h;
    J.col(j) = (N(xp) - N(xm)) / (2 * h);
  }
  const double r = x.norm() / std::sqrt(static_cast<double>(m));
  const Vec got = rms_norm_derivative(N(x), r, d);
  CHECK(test::max_abs_diff(got, J * d) <= 1e-8);
  CHECK(test::max_abs_diff(got, J.transpose() * d) <= 1e-8);  // symmetric: the same rule serves the VJP
}

TEST_CASE("layer: rms_scale is v.norm()/√m in range and exact beyond it") {
  RandomStream rng(6, Purpose::Test, {});
  Vec v(9);
  rng.fill_normal(v, 1.0);
  CHECK(rms_scale(v) == v.norm() / 3.0);  // the plain form, bit for bit (the training network's bytes)
  // 2^±600·v: the squares over/underflow (1e±361), the scaled sum does not; the scale is exact up to rounding.
  for (const long e : {600L, -600L}) {
    const Vec w = v * std::ldexp(1.0, static_cast<int>(e));
    const double r = rms_scale(w);
    CHECK(std::isfinite(r));
    CHECK(r > 0.0);
    MHCLAB_CHECK_NEAR(std::ldexp(r, static_cast<int>(-e)), v.norm() / 3.0, 0.0, 1e-15);
  }
  CHECK(rms_scale(Vec::Zero(4)) == 0.0);
}

TEST_CASE("layer: the training network's branch is scale invariant down to tiny streams (RMSNorm, ε = 0)") {
  // One layer, X_1 = H X_0 + post ⊗ F(pre X_0). Scaling the tokens by 2^−600 scales H X_0 to ~1e-181, but N(h) and
  // so the branch F are unchanged: X_1(2^−600 x) equals the branch part of X_1(x) = X_1(x) − X_1(x; gain 0) to
  // round-off (1e-13 relative: the subtraction of two O(1) matrices). With the plain sum of squares, r underflowed
  // to 0 and the branch was silently 0.
  NetworkOptions o;
  o.method.method = MethodId::MHC;
  o.method.n = 3;
  o.layers = 1;
  o.width = 6;
  o.outputs = 2;
  o.branch = Branch::Tanh;
  const TrainNetwork net = make_network(o, 3);
  NetworkOptions o0 = o;
  o0.gain = 0.0;
  const TrainNetwork net0 = make_network(o0, 3);
  const Vec params = initial_parameters(net);
  TrainBatch batch = make_batch(net, 0, 2);
  const Mat full = residual_streams(net, params, batch)[0];
  const Mat mixing = residual_streams(net0, params, batch)[0];
  batch.X *= std::ldexp(1.0, -600);
  const Mat tiny = residual_streams(net, params, batch)[0];
  const Mat branch = full - mixing;
  CHECK(branch.cwiseAbs().maxCoeff() > 0.1);
  CHECK(test::max_abs_diff(tiny, branch) <= 1e-13 * branch.cwiseAbs().maxCoeff());
}

}  // TEST_SUITE
