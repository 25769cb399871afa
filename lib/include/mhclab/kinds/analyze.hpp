#pragma once
// The `analyze` kind (CLI.md `mhclab analyze`): the SPEC §4 metrics of a stack read from a file — matrices, or
// parameter vectors turned into matrices by the method — one row per depth and kind: `depth,kind,` + the columns of
// report/depth_table.hpp (Sinkhorn layer columns for mhc parameter stacks; lyap_1..lyap_n with lyapunov).
// Per-token stacks (token, layer, …) take token_average (SPEC §8):
//   metric     every token's table, then per row and column the statistics mean, q05, median, q95 over tokens
//              (a leading `stat` column; rows ordered by stat, then kind and depth);
//   matrix     the table of the stack H̄_l = mean_t H_{t,l};
//   composite  the table of the mean products mean_t(P_{t,l}) (analysis/token_average.hpp).
// Spectra (SPEC §4 optional outputs; analysis/spectrum.hpp): eigenvalues (rows depth,kind,index,re,im,abs,log10_abs)
// and singular values (rows depth,kind,index,value,log10_value) of every depth and kind (dense, n ≲ 512). With
// topk = K — automatic, K = 6, for n ≥ 512 — instead the top-K values of the end-to-end product M_L = H_L···H_1 (kind
// prefix, depth L) from the matrix-free normalised product (analysis/topk.hpp: Spectra's GenEigs for eigenvalues,
// subspace iteration for singular values), with the solver's report.
#include <optional>
#include <string>

#include "mhclab/analysis/token_average.hpp"
#include "mhclab/analysis/topk.hpp"
#include "mhclab/generators/checkpoint_stack.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/report/depth_table.hpp"

namespace mhclab {

struct AnalyzeKindOptions {
  MethodOptions method;  ///< parameter stacks: θ → H; its modifiers apply to matrix stacks too
  InitKind init = InitKind::Identity;  ///< accepted with the other method options (unused: nothing is drawn)
  double init_eps = 0.01;
  std::string input;     ///< the stack file (.npy, long-form .csv, .safetensors with tensor); required
  std::string tensor;    ///< the tensor of a .safetensors input
  /// A production checkpoint instead of input (generators/checkpoint_stack.hpp): its 2L sites as the stack, method
  /// dsv4; the gates table (pre/post per site) comes with the result.
  std::string checkpoint;
  CheckpointSelection selection;
  InputKind input_kind = InputKind::Matrices;
  Layout layout = Layout::ToFrom;
  DepthTableOptions table;  ///< kinds, metrics, lyapunov (sinkhorn_columns is decided here)
  std::optional<TokenAverage> token_average;  ///< a per-token (token, layer, …) stack and how to average it
  bool eigenvalues = false;      ///< all eigenvalues per depth and kind (or the top-k ones)
  bool singular_values = false;  ///< all singular values per depth and kind (or the top-k ones)
  Index topk = 0;                ///< K ≥ 1: the top-K values of the end-to-end product; 0 = dense (automatic top-6 for n ≥ 512)
  /// InputError naming the field; `stack_given`: the stack comes in memory (analyze_kind(options, stack)), so input
  /// and checkpoint must be empty.
  void validate(bool stack_given = false) const;
};

/// Every option by its CLI name (input, tensor, input-kind, layout, token-average, topk and the method and selection
/// groups); the output files are the caller's.
void bind_analyze_options(OptionSet& s, AnalyzeKindOptions& o);

struct AnalyzeKindResult {
  ResultTable table;            ///< the depth table (lead `stat` with token-average metric, depth, kind, columns)
  std::string csv;              ///< table.to_csv()
  std::string eigenvalue_csv;   ///< when options.eigenvalues
  std::string singular_value_csv;  ///< when options.singular_values
  std::optional<TopkResult> topk;  ///< when the top-k solver ran (its statuses and iterations)
  std::string gates_csv;        ///< checkpoint: `[token,]site,layer,name,pre_0..,post_0..` per site
  /// checkpoint: what was read and, against the model's config.json (if any), what the analysis used — one line.
  std::string checkpoint_summary;
  std::size_t matrices = 0;     ///< matrices read
  Index n = 0;                  ///< their size
};

/// The table and spectra above. InputError for bad options or files; ComputeError for a failed computation.
[[nodiscard]] AnalyzeKindResult analyze_kind(const AnalyzeKindOptions& options);
/// The same for a stack in memory (e.g. a NumPy array from the Python binding) instead of options.input: matrices
/// (n×n, paper orientation, the method's modifiers applied) or parameter vectors (through the method); lead axes
/// (layer) or, with token_average, (token, layer).
[[nodiscard]] AnalyzeKindResult analyze_kind(const AnalyzeKindOptions& options, Stack stack);

}  // namespace mhclab
