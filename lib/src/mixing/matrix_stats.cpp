#include "mhclab/mixing/matrix_stats.hpp"

#include <Eigen/SVD>

#include <algorithm>
#include <numeric>

#include "mhclab/mixing/hungarian.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

MatrixStats matrix_stats(const Mat& H, const Mat& tropical) {
  MatrixStats s;
  const Index n = H.rows();
  s.row_err = row_error(H);
  s.col_err = col_error(H);
  s.min_entry = H.minCoeff();
  s.spectral_norm = Eigen::JacobiSVD<Mat>(H).singularValues()[0];
  s.dist_identity = (H - Mat::Identity(n, n)).norm();
  const Mat P = tropical.size() != 0 ? tropical : permutation_matrix(max_weight_assignment(H).sigma);
  s.dist_tropical = (H - P).cwiseAbs().maxCoeff();
  return s;
}

SampleSummary summarize(std::vector<double> v) {
  SampleSummary s;
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  s.median = v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  s.max = v.back();
  return s;
}

}  // namespace mhclab
