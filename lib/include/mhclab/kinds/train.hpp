#pragma once
// The `train` experiment kind (CLI.md `mhclab train`, `kind = "train"` in experiment files): the training harness of
// model/train.hpp run for S seeds, one row per logged step:
//   seed,step,loss,accuracy,grad_norm,fwd_amax_max,log10_fwd_amax_max,fwd_amax_min,log10_fwd_amax_min,
//   bwd_amax_max,log10_bwd_amax_max,bwd_amax_min,log10_bwd_amax_min,jac_smax_min,jac_smax_max
// (accuracy empty unless the task is clusters; a value that is not defined — NaN — is an empty cell). One run's
// steps.csv is the same table without the seed column (train_log_table). Seeds run one after the other, each with
// `threads` over gradient chunks; the table does not depend on the thread count.
#include <cstdint>
#include <optional>
#include <vector>

#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/model/train.hpp"

namespace mhclab {

struct TrainKindOptions {
  TrainOptions train;  ///< the run (its seed is the first seed)
  Index seeds = 1;     ///< S ≥ 1 runs with seeds train.seed .. train.seed + S − 1
  int threads = 0;     ///< over gradient chunks
  double memory_limit = 0;  ///< GB a run may use; 0 = half of the machine's memory (core/memory_limit.hpp)
  void validate() const;  ///< InputError naming the field
};

/// Every option of the kind by its CLI name (the training configuration file's keys are the same).
void bind_train_options(OptionSet& s, TrainKindOptions& o);

/// The logged steps of one run as a table; with `seed`, a leading seed column.
[[nodiscard]] ResultTable train_log_table(const std::vector<TrainStep>& log, std::optional<std::uint64_t> seed = {});

/// The runs of every seed, concatenated (the table above).
[[nodiscard]] ResultTable train_kind(const TrainKindOptions& options);

}  // namespace mhclab
