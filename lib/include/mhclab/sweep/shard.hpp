#pragma once
// Splitting a sweep over machines (CLI.md `mhclab run FILE --shard k/N`): a deterministic split of the resolved grid
// into N shards balanced by an estimate of each point's cost, so that N processes — Slurm array tasks, MPI ranks,
// hosts of any scheduler — run disjoint subsets whose point files merge (sweep/sweep.hpp merge_shards) into exactly
// what one process writes.
//
// Cost estimate of a point (relative units; only the ratios between points matter):
//   cost = seeds · max(layers, 1) · (n³ + t·n²) · steps_factor
// with the point's own values of `seeds` (default 1), `layers` (1), `n` (4), t = `iters` (20) for the Sinkhorn
// methods (mhc, dsv4; 0 otherwise: one n×n product per layer costs n³, a Sinkhorn iteration n²), and steps_factor =
// `fit-steps` (fit, default 1) or the training steps `steps` (train) — the dominant loops of the kinds. Width-like
// keys (`width`, `hidden`) multiply by their value / n when present (propagate, train: a layer costs n·C² there).
//
// Assignment: points in decreasing cost (ties: grid index), each to the shard with the least total so far (ties: the
// lowest shard index) — the greedy LPT rule, within 4/3 of the best possible makespan. Pure function of the grid.
#include <cstddef>
#include <string_view>
#include <vector>

#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"

namespace mhclab {

/// Shard `index` of `count` (0 ≤ index < count).
struct ShardSpec {
  std::size_t index = 0;
  std::size_t count = 1;
  /// Parses "k/N" (InputError "--shard = 'x'; expected k/N with 0 ≤ k < N, e.g. 0/4").
  [[nodiscard]] static ShardSpec parse(std::string_view text);
  [[nodiscard]] std::string text() const;  ///< "k/N"
};

/// The estimated cost of a point (formula above).
[[nodiscard]] double point_cost(const Experiment& e, const SweepPoint& p);

/// For every shard, the grid indices of its points in grid order (LPT assignment above). count ≥ 1.
[[nodiscard]] std::vector<std::vector<std::size_t>> assign_shards(const Experiment& e,
                                                                  const std::vector<SweepPoint>& points,
                                                                  std::size_t count);

}  // namespace mhclab
