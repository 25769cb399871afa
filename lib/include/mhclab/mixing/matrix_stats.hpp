#pragma once
// Summary figures of one mixing matrix H (n×n, paper orientation), used by `mhclab mix --seeds` and the
// method comparison table.
#include <string>
#include <vector>

#include "mhclab/core/types.hpp"

namespace mhclab {

struct MatrixStats {
  double row_err = 0;        ///< max_i |Σ_j H_ij − 1|
  double col_err = 0;        ///< max_j |Σ_i H_ij − 1|
  double min_entry = 0;      ///< min_ij H_ij
  double spectral_norm = 0;  ///< σ_max(H) (dense SVD)
  double dist_identity = 0;  ///< ‖H − I‖_F
  double dist_tropical = 0;  ///< ‖H − P‖_max for the given tropical permutation P
};

/// `tropical`: P_trop of the same logits (Sinkhorn family: the assignment of Z), or, when empty, the
/// permutation nearest H in the assignment sense (maximising Σ_i H_{iσ(i)}).
[[nodiscard]] MatrixStats matrix_stats(const Mat& H, const Mat& tropical = Mat());

/// mean / median / max of a sample (median: mean of the two middle values for even sizes).
struct SampleSummary {
  double mean = 0, median = 0, max = 0;
};
[[nodiscard]] SampleSummary summarize(std::vector<double> values);

}  // namespace mhclab
