// Learnability diagnostics (mixing/learnability.hpp): singular values of ∂H/∂θ and the logit range.
#include "mhclab/mixing/learnability.hpp"

#include <Eigen/SVD>  // JacobiSVD: high relative accuracy for tiny σ (saturated mhc), QR-preconditioned for wide J

namespace mhclab {

LearnabilitySummary learnability(const Method& method, const Vec& theta, Mat* jacobian) {
  Mat J = mix_jacobian(method, theta);  // n²×p; validates θ
  LearnabilitySummary s;
  s.params = method.num_params();
  if (s.params > 0) {
    const double tau = method.logit_tau();
    s.logit_range = (theta.maxCoeff() - theta.minCoeff()) / (tau > 0.0 ? tau : 1.0);
    const Eigen::JacobiSVD<Mat> svd(J);  // singular values only, descending
    s.singular_values = svd.singularValues();
    s.sigma_max = s.singular_values.size() ? s.singular_values[0] : 0.0;
    if (s.sigma_max > 0.0) {
      const double floor = kLearnabilityRankTol * s.sigma_max;
      for (Index k = 0; k < s.singular_values.size() && s.singular_values[k] > floor; ++k) {
        s.rank = k + 1;
        s.sigma_min_nonzero = s.singular_values[k];
      }
    }
  } else {
    s.singular_values = Vec(0);
  }
  if (jacobian) *jacobian = std::move(J);
  return s;
}

}  // namespace mhclab
