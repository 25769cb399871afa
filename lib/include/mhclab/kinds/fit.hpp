#pragma once
// The `fit` experiment kind (CLI.md `mhclab fit`; the `expressivity` experiment): for each of S seeds draw an
// interior Birkhoff target T (mixing/birkhoff.hpp birkhoff_target: Dirichlet(α) weights over all n! permutations,
// mixed with s·J/n; the random stream is keyed by (seed, Purpose::Target, n) only, so every method sees the same
// targets), then report two separate things:
//   reach   ‖mix(θ_inv) − T‖_max for θ_inv from the method's inverse chart (mixing/inverse_chart.hpp):
//           reach_status ok, or no_chart (the method has none; reach_err empty), or outside (the target, after
//           undoing the modifiers, is not in the chart's domain; reach_err empty);
//   fit     the residual after fit_target (mixing/fit.hpp): Adam on ½‖mix(θ) − T‖_F² from the init parameters for
//           exactly fit-steps steps at fit-lr.
// One row per seed: seed,reach_err,reach_status,fit_residual_fro,fit_residual_max,initial_residual_fro,
// fit_steps_run (= fit-steps; a name distinct from the option so that a sweep needs no renaming).
#include <cstdint>
#include <string>

#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/fit.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

struct FitKindOptions {
  MethodOptions method;
  InitKind init = InitKind::Identity;  ///< the fit's starting parameters
  double init_eps = 0.01;
  std::string target = "birkhoff";     ///< the target family (only birkhoff)
  double dirichlet_alpha = 1.0;        ///< α > 0 of the permutation weights
  double uniform_mix = 0.1;            ///< s ∈ [0, 1] of T = (1 − s)·Σ w_k P_k + s·J/n
  FitOptions fit;                      ///< Adam steps and learning rate
  Index seeds = 1;
  std::uint64_t first_seed = 0;
  int threads = 0;
  /// Throws InputError naming the field (n ≤ kPermutationTableMaxN: the target enumerates all n! permutations).
  void validate() const;
};

void bind_fit_options(OptionSet& s, FitKindOptions& o);

[[nodiscard]] ResultTable fit_kind(const FitKindOptions& options);

}  // namespace mhclab
