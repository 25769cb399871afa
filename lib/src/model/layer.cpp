// model/layer.hpp: the shared parts of the SPEC §5 layer.
#include "mhclab/model/layer.hpp"

#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"

namespace mhclab {

double branch_phi(Branch b, double z) {
  switch (b) {
    case Branch::Linear: return z;
    case Branch::Tanh: return std::tanh(z);
    case Branch::Relu: return z > 0 ? z : 0.0;
  }
  return z;
}

double branch_phi_prime(Branch b, double z) {
  switch (b) {
    case Branch::Linear: return 1.0;
    case Branch::Tanh: {
      const double t = std::tanh(z);
      return 1.0 - t * t;
    }
    case Branch::Relu: return z > 0 ? 1.0 : 0.0;
  }
  return 1.0;
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double gate_value(GateStyle style, double a, double scale) {
  return style == GateStyle::Sigmoid ? scale * logistic(a) : a;
}

double gate_derivative(GateStyle style, double a, double scale) {
  if (style != GateStyle::Sigmoid) return 1.0;
  const double s = logistic(a);
  return scale * s * (1.0 - s);
}

GateLogits static_gate_logits(GateStyle style, Index n, Index layer) {
  if (n < 1) throw InputError("static gates: n = " + std::to_string(n) + "; must be ≥ 1");
  if (layer < 0) throw InputError("static gates: layer = " + std::to_string(layer) + "; must be ≥ 0");
  const Index k = layer % n;
  GateLogits a;
  if (style == GateStyle::Linear) {
    a.pre = Vec::Zero(n);  // HC's static init (= Pre-Norm): read stream k, write every stream
    a.pre[k] = 1.0;
    a.post = Vec::Ones(n);
  } else {
    a.pre = Vec::Constant(n, -1.0);  // mHC Eq. (8): b = −1 except b_k = +1
    a.pre[k] = 1.0;
    a.post = a.pre;
  }
  return a;
}

PrePost static_pre_post(MethodId method, Index n, Index layer) {
  const GateStyle style = method_traits(method).gates;
  const GateLogits a = static_gate_logits(style, n, layer);
  return {a.pre.unaryExpr([style](double x) { return gate_value(style, x, 1.0); }),
          a.post.unaryExpr([style](double x) { return gate_value(style, x, 2.0); })};
}

}  // namespace mhclab
