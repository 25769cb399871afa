#pragma once
// The one-screen comparison of the methods (README's main job until the experiments land): for each
// registered method at a given n, its parameter count, whether it is exactly doubly stochastic, and the
// marginal errors, spectral norm and distance to I of H at the `authors` init, the `identity` init and
// for random θ (entries N(0,1); mean over `random_draws` draws, seeds 0..draws−1).
#include <string>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/mixing/matrix_stats.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

struct MethodComparisonOptions {
  Index n = 4;
  double init_eps = 0.01;
  int random_draws = 100;
  SinkhornOptions sinkhorn;  ///< for mhc (defaults: t = 20, τ = 1, exp domain)
};

struct MethodComparisonRow {
  MethodId method{};
  std::string status;      ///< "ok", or why the method is not available at this n
  Index num_params = 0;
  bool exact_ds = false;
  MatrixStats authors, identity, random_mean;
};

[[nodiscard]] std::vector<MethodComparisonRow> compare_methods(const MethodComparisonOptions& options);

/// Fixed-width text table of the rows (one screen).
[[nodiscard]] std::string format_comparison(const std::vector<MethodComparisonRow>& rows, Index n);

}  // namespace mhclab
