#pragma once
// The `propagate` experiment kind (CLI.md `mhclab propagate`, `kind = "propagate"` in experiment files): the SPEC §5
// layer model (model/propagation.hpp) run on the H_res stacks of any generator, one row per seed, step and depth
// l = 0..L:
//   seed,step,layer,energy,log10_energy,stream_energy_1..n,log10_stream_energy_1..n,stream_sum_dev,
//   log10_stream_sum_dev,grad_norm,log10_grad_norm
// and, with jacobian_topk = K > 0, jacobian_sigma_1..K, jacobian_log10_sigma_1..K, jacobian_resolved_1..K,
// jacobian_status, jacobian_iterations, filled on the row l = L only (the top singular values of ∂X_L/∂X_0).
// Gate mode dsv4 (--gate-mode dsv4, method dsv4): each layer is a DeepSeek-V4 site whose gates and H are recomputed
// from the state entering it (model/propagation.hpp): with a checkpoint generator its fn/base/scale tensors (width =
// the model's C), otherwise sites synthesised from each layer's θ (the static comb logits) with random fn of the seed
// and scale α; the pre_/post_ columns then hold the gates of each state.
// Linear columns are scaled (beyond the double range they are written from their log form). Seeds run in
// parallel; rows come in seed order, so the table does not depend on the thread count.
#include <cstdint>

#include "mhclab/generators/stack.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/propagation.hpp"

namespace mhclab {

struct PropagateKindOptions {
  MethodOptions method;
  StackOptions stack;            ///< generator, layers, file input
  PropagationOptions propagation;
  /// gate_mode dsv4 without a checkpoint: sites synthesised by dsv4_synthetic_sites (mixing/dsv4_site.hpp) from each
  /// layer's θ, with scale = (α, α, α) (--dsv4-alpha)
  double dsv4_alpha = 0.01;
  Index seeds = 1;               ///< S ≥ 1 (file and trained generators: exactly 1)
  std::uint64_t first_seed = 0;  ///< seeds first_seed .. first_seed + S − 1
  int threads = 0;               ///< over seeds (0 = all cores)
  double memory_limit = 0;       ///< GB the request may use; 0 = half of the machine's memory (core/memory_limit.hpp)
  /// Throws InputError naming the field.
  void validate() const;
};

/// Binds every option of the kind by its CLI name (kinds/option_set.hpp) to the fields of `o`.
void bind_propagate_options(OptionSet& s, PropagateKindOptions& o);

/// The table above. InputError for bad options or a stack that is not (layer, n, n); ComputeError for a failed
/// computation.
[[nodiscard]] ResultTable propagate_kind(const PropagateKindOptions& options);

}  // namespace mhclab
