#include "mhclab/report/walkthrough.hpp"

#include <Eigen/Eigenvalues>

#include <cmath>
#include <cstdio>

#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

namespace {
std::string fmt(const char* f, double a) {
  char buf[128];
  std::snprintf(buf, sizeof buf, f, a);
  return buf;
}
std::string vec2(const Vec& v) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "[%.12g, %.12g]", v[0], v[1]);
  return buf;
}
std::string mat2(const Mat& M) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "[[%.12g, %.12g], [%.12g, %.12g]]", M(0, 0), M(0, 1), M(1, 0), M(1, 1));
  return buf;
}
double converged_first_entry(const Mat& Z) {
  SinkhornOptions o;
  o.iterations = 1000;
  o.tol = 1e-15;
  return sinkhorn(Z, o).H(0, 0);
}
}  // namespace

Walkthrough seed_walkthrough() {
  Walkthrough w;
  w.H.resize(2, 2);
  w.H << 0.7, 0.3, 0.3, 0.7;
  w.x.resize(2);
  w.x << 10, 20;
  w.Hx = w.H * w.x;
  w.H2 = w.H * w.H;
  Eigen::SelfAdjointEigenSolver<Mat> es(w.H);
  w.eigenvalues = es.eigenvalues();
  Mat P = Mat::Identity(2, 2);
  for (int k = 0; k < 20; ++k) P = w.H * P;
  w.H20x = P * w.x;
  Mat Hp(2, 2);
  Hp << 0.8, 0.3, 0.3, 0.8;
  w.rho_Hp = Eigen::SelfAdjointEigenSolver<Mat>(Hp).eigenvalues().cwiseAbs().maxCoeff();
  Vec y = w.x;
  for (int k = 0; k < 20; ++k) y = Hp * y;
  w.norm_Hp20x = y.norm();
  w.pow_1_1_100 = std::pow(1.1, 100);
  Mat Z(2, 2);
  Z << std::log(2.0), 0.0, 0.0, std::log(2.0);
  SinkhornOptions one;
  one.iterations = 1;
  w.sinkhorn_2112 = sinkhorn(Z, one).H;
  w.swap_weight = w.H(0, 1);
  Mat A(2, 2), B(2, 2);
  A << 0.8, 0.4, 0.2, 0.9;
  B << 0.75, 0.35, 0.28, 0.72;
  w.proj1_noexp = converged_first_entry(A.array().log());
  w.proj1_exp = converged_first_entry(A);
  w.proj2_noexp = converged_first_entry(B.array().log());
  w.proj2_exp = converged_first_entry(B);
  double g = 1.0;
  for (int k = 0; k < 20; ++k) g += 0.9 * g;
  w.growth_1_9_per_layer = g;
  Vec v(3);
  v << 1.0, 1.0, -2.0;  // v ⊥ 1 with three non-zeros (v = (1,−1,0) would give a plain swap)
  v /= std::sqrt(6.0);
  const Mat R = Mat::Identity(3, 3) - 2.0 * v * v.transpose();
  w.reflection_min_entry = R.minCoeff();

  auto& L = w.lines;
  L.push_back({"H x, H = [[.7,.3],[.3,.7]], x = [10,20]", vec2(w.Hx), "[13, 17]", true});
  L.push_back({"H^2", mat2(w.H2), "[[0.58, 0.42], [0.42, 0.58]]", true});
  L.push_back({"eigenvalues of H", vec2(w.eigenvalues), "{0.4, 1}", true});
  L.push_back({"H^20 x", vec2(w.H20x), "[15 - 5*0.4^20, 15 + 5*0.4^20] (seed: ~[15, 15], 'converge to the average')", true});
  L.push_back({"spectral radius of H' = [[.8,.3],[.3,.8]]", fmt("%.15g", w.rho_Hp), "1.1", true});
  L.push_back({"||H'^20 x||_2", fmt("%.12f", w.norm_Hp20x), "15*sqrt(2)*1.1^20 = 142.711825038...", true});
  L.push_back({"1.1^100", fmt("%.10f", w.pow_1_1_100), "13780.6123398224...", true});
  L.push_back({"Sinkhorn of [[2,1],[1,2]], 1 iteration", mat2(w.sinkhorn_2112), "[[2/3, 1/3], [1/3, 2/3]]", true});
  L.push_back({"H = (1-w) I + w swap", fmt("w = %.15g", w.swap_weight), "0.7 I + 0.3 swap", true});
  L.push_back({"projection of [[.8,.4],[.2,.9]] (H_00, without / with exp)",
               fmt("%.3f", w.proj1_noexp) + " / " + fmt("%.3f", w.proj1_exp), "0.65", false});
  L.push_back({"projection of [[.75,.35],[.28,.72]] (H_00, without / with exp)",
               fmt("%.3f", w.proj2_noexp) + " / " + fmt("%.3f", w.proj2_exp), "0.68", false});
  L.push_back({"x + 0.9x over 20 layers (gain)", fmt("%.6g", w.growth_1_9_per_layer) + " = 1.9^20",
               "'controlled growth' (it is 1.9^L)", false});
  L.push_back({"DS eigenvalues", "|lambda| <= 1 (e.g. swap has -1)", "'<= 1' (true in modulus)", false});
  L.push_back({"I - 2vv^T, v = (1,1,-2)/sqrt(6): min entry", fmt("%.3g", w.reflection_min_entry),
               "'Birkhoff polytope is the only space that conserves these' (this keeps both sums and the norm)",
               false});
  return w;
}

}  // namespace mhclab
