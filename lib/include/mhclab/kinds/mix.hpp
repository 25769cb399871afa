#pragma once
// The `mix` experiment kind (CLI.md `mhclab mix --seeds S`, `kind = "mix"` in experiment files): S parameter sets
// θ from a generator (init | random, generators/params.hpp), H = mix(θ) for each, and per seed one row
//   seed,row_err,col_err,min_entry,spectral_norm,dist_identity,dist_tropical,iterations
// (mixing/matrix_stats.hpp; dist_tropical against the assignment of the same logits for mhc and tropical, else
// the nearest permutation; iterations = the Sinkhorn iterations run, 0 for methods without Sinkhorn), and with
// `jacobian` the learnability columns jac_sigma_max,jac_sigma_min_nonzero,jac_rank,logit_range
// (mixing/learnability.hpp). A single H from given parameters is `mix(method, θ)` (mixing/method.hpp).
#include <cstdint>

#include "mhclab/generators/params.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

struct MixKindOptions {
  MethodOptions method;
  ParamGeneratorOptions generator;  ///< init | random, with the init and σ
  Index seeds = 1;                  ///< S ≥ 1
  std::uint64_t first_seed = 0;
  bool jacobian = false;            ///< add the learnability columns
  int threads = 0;
  void validate() const;  ///< InputError naming the field
};

void bind_mix_options(OptionSet& s, MixKindOptions& o);

/// The table above. ComputeError naming the seed when a Sinkhorn projection reports numerical_issue.
[[nodiscard]] ResultTable mix_kind(const MixKindOptions& options);

}  // namespace mhclab
