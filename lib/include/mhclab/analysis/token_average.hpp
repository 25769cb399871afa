#pragma once
// Depth metrics of per-token stacks (SPEC §8 `--token-average`): a checkpoint evaluated on T tokens gives T
// stacks H_{t,1..L} (dynamic mappings: one H per token and layer). Three ways to summarise them:
//   metric     metrics of each token's products, then statistics over tokens (report/depth_table.hpp);
//   matrix     H̄_l = mean_t H_{t,l}, then the products of H̄ (the mHC paper's Fig. 8 averages matrices);
//   composite  the mean over tokens of each token's products, mean_t (H_{t,l}···H_{t,1}), then metrics.
// This header gives the matrix and composite forms; `metric` needs no new linear algebra.
#include <vector>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

enum class TokenAverage { Metric, Matrix, Composite };
inline constexpr EnumTable<TokenAverage, 3> token_average_table{
    "token-average",
    {{{TokenAverage::Metric, "metric"}, {TokenAverage::Matrix, "matrix"}, {TokenAverage::Composite, "composite"}}}};

/// H̄_l = (1/T) Σ_t H_{t,l}. tokens: T ≥ 1 stacks of the same length L, all n×n. Throws InputError otherwise.
[[nodiscard]] std::vector<Mat> mean_stack(const std::vector<std::vector<Mat>>& tokens);

/// Metrics of C_l = (1/T) Σ_t P_{t,l} for the `kind` products P_{t,l} of every token (layer: C_l = H̄_l).
/// Products are kept as ScaledMatrix per token and averaged with a common scale (the largest token's), so
/// nothing overflows. When every factor of every token has unit margins (has_unit_margins), the collapse is
/// σ_max of the mean of the centred products Π(H_{t,l} − J/n) — equal to C_l − J/n, since each token's
/// centred product is its product minus J/n — and stays resolved at any depth (depth_metrics.hpp).
/// Throws InputError like mean_stack.
[[nodiscard]] std::vector<DepthMetrics> composite_metrics(const std::vector<std::vector<Mat>>& tokens,
                                                          ProductKind kind);

}  // namespace mhclab
