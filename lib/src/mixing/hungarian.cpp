// Maximum-weight assignment by shortest augmenting paths with potentials (Kuhn–Munkres in the
// Jonker–Volgenant form): O(n³). Solved as the min-cost problem on C = −Z; the potentials of that problem,
// negated, certify optimality of the maximisation: u_i + v_j ≥ Z_ij, equality on (i, σ(i)).
#include "mhclab/mixing/hungarian.hpp"

#include <algorithm>
#include <limits>
#include <vector>
#include <string>

#include "mhclab/core/error.hpp"

namespace mhclab {

AssignmentResult max_weight_assignment(const Mat& Z) {
  const Index n = Z.rows();
  if (n < 1 || Z.cols() != n)
    throw InputError("assignment: weights must be a non-empty square matrix; got " + std::to_string(Z.rows()) + "x" +
                     std::to_string(Z.cols()));
  if (!Z.allFinite()) throw InputError("assignment: weights must be finite");
  const double inf = std::numeric_limits<double>::infinity();
  // 1-based arrays; row 0 / column 0 are the virtual start of each augmenting path.
  std::vector<double> u(n + 1, 0.0), v(n + 1, 0.0), minv(n + 1);
  std::vector<Index> p(n + 1, 0), way(n + 1, 0);  // p[j] = row matched to column j
  std::vector<char> used(n + 1);
  for (Index i = 1; i <= n; ++i) {
    p[0] = i;
    Index j0 = 0;
    std::fill(minv.begin(), minv.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    do {
      used[j0] = 1;
      const Index i0 = p[j0];
      double delta = inf;
      Index j1 = 0;
      for (Index j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double cur = -Z(i0 - 1, j - 1) - u[i0] - v[j];  // reduced cost of C = −Z
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = j0;
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (Index j = 0; j <= n; ++j) {
        if (used[j]) {
          u[p[j]] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {  // augment along the path
      const Index j1 = way[j0];
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  AssignmentResult r;
  r.sigma.assign(static_cast<std::size_t>(n), 0);
  for (Index j = 1; j <= n; ++j) r.sigma[static_cast<std::size_t>(p[j] - 1)] = j - 1;
  r.u.resize(n);
  r.v.resize(n);
  for (Index i = 0; i < n; ++i) {
    r.u[i] = -u[i + 1];
    r.v[i] = -v[i + 1];
    r.value += Z(i, r.sigma[static_cast<std::size_t>(i)]);
  }
  return r;
}

Mat permutation_matrix(const std::vector<Index>& sigma) {
  const auto n = static_cast<Index>(sigma.size());
  Mat P = Mat::Zero(n, n);
  for (Index i = 0; i < n; ++i) P(i, sigma[static_cast<std::size_t>(i)]) = 1.0;
  return P;
}

}  // namespace mhclab
