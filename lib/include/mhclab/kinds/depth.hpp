#pragma once
// The `depth` experiment kind (CLI.md `mhclab depth`, `kind = "depth"` in experiment files): S seeds of generated
// stacks (SPEC §6) → the depth table of SPEC §4 (report/depth_table.hpp) with `seed,step` first, as a typed
// ResultTable (kinds/result_table.hpp). Python takes the table (depth_kind); the CLI verb and the sweep runner
// stream the same rows as CSV (write_depth_kind_csv).
//
// Rows come in (seed, step, kind, depth) order (kinds in table order layer, prefix, suffix) and every seed is a
// pure function of its index, so the text is bitwise identical for any thread count.
//
// Engines (DepthEngine):
//   dense   generate_stacks per seed, then depth_table (only the kinds and the metric groups asked for);
//   stream  analysis/depth_stream.hpp: θ and H generated per (block of 16 seeds, layer) on the fly, the products
//           kept as M̂·2^K, SIMD over seeds for n ≤ 8; memory O(n²·threads) plus the output. It takes the
//           requests it was built for: method mhc with the exp-domain, fp64, constant-τ, fixed-iteration
//           Sinkhorn (tol = 0), no modifiers, generator random, no Lyapunov columns, and metrics ⊆ {fwd_gain,
//           bwd_gain, sigma_max and their log10 columns} (an explicit list: the full table is dense).
//   auto    stream when the request fits it, else dense.
// The two engines agree to round-off, not bit for bit (tests/kinds/test_depth_kind.cpp checks 1e-12 relative): the
// stream draws its normals with vectorised log/sin/cos (≤ 4 ulp·max(1,|θ|) from RandomStream's, analysis/
// depth_stream.hpp), projects with sinkhorn_batch (≤ 1 ulp per entry from sinkhorn()), sums the products in a
// fixed order and takes σ_max by Jacobi on M̂ᵀM̂ instead of an SVD of M̂. A request's output never depends on
// the thread count; `engine` fixes which computation a script gets.
#include <cstdint>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/kinds/option_set.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/report/depth_table.hpp"

namespace mhclab {

enum class DepthEngine { Auto, Dense, Stream };
inline constexpr EnumTable<DepthEngine, 3> depth_engine_table{
    "engine", {{{DepthEngine::Auto, "auto"}, {DepthEngine::Dense, "dense"}, {DepthEngine::Stream, "stream"}}}};

struct DepthKindOptions {
  MethodOptions method;          ///< the method (modifiers included)
  StackOptions stack;            ///< generator, layers, file input
  Index seeds = 1;               ///< S ≥ 1 (file generator: exactly 1)
  std::uint64_t first_seed = 0;  ///< seeds first_seed .. first_seed + S − 1
  /// kinds, metrics, lyapunov. sinkhorn_columns is decided here (mhc stacks that carry their θ), not read.
  DepthTableOptions table;
  DepthEngine engine = DepthEngine::Auto;
  /// Instead of the rows: per (step, depth, kind), over seeds, the statistics of sweep/aggregate.hpp (count,
  /// mean, sd, median, q05, q95, Student-t 95% CI) of every metric column — what a sweep's aggregates.csv holds.
  bool aggregate = false;
  int threads = 0;               ///< over seeds (0 = all cores); results do not depend on it
  /// GB the request may use (the rows kept until written plus every thread's working set); 0 = half of the machine's
  /// memory. validate() refuses a larger estimate (core/memory_limit.hpp); write_depth_kind_csv counts only the
  /// blocks in flight.
  double memory_limit = 0;

  /// Throws InputError naming the field (method, stack, seeds, table.kinds/metrics, engine, memory). The memory
  /// check counts every row (what depth_kind returns).
  void validate() const;
  /// The same checks, with the memory of write_depth_kind_csv: the blocks in flight (every row with `aggregate`).
  void validate_streamed() const;
};

/// Every option of the kind by its CLI name (kinds/option_set.hpp), bound to the fields of `o`.
void bind_depth_options(OptionSet& s, DepthKindOptions& o);

/// Why the stream engine cannot run these options ("" when it can).
[[nodiscard]] std::string depth_stream_refusal(const DepthKindOptions& options);

struct DepthKindResult {
  /// The rows: `seed` (Unsigned), `step` (Integer), `depth`, `kind`, then the selected columns typed by
  /// depth_column_spec (report/depth_table.hpp); with `aggregate`: `step,depth,kind,metric,count,mean,sd,median,q05,
  /// q95,ci95_lo,ci95_hi` (sweep/aggregate.hpp).
  ResultTable table;
  DepthEngine engine{};   ///< the engine that ran (Dense or Stream)
  /// The CSV text (table.to_csv()).
  [[nodiscard]] std::string csv() const;
  /// Writes the CSV to `path` atomically (io/atomic_file.hpp), rendered in parallel blocks on `threads` (0 = all
  /// cores; the bytes do not depend on it).
  void write(const std::string& path, int threads = 0) const;
};

/// The depth table of every seed (see the top of this file). InputError for bad options, ComputeError for a
/// failed computation (naming seed and layer).
[[nodiscard]] DepthKindResult depth_kind(const DepthKindOptions& options);

/// The same rows as CSV — the bytes of depth_kind(options).csv() — handed to `sink` in order as they are computed,
/// never holding the whole table: each block of rows (16 seeds in the stream engine, one seed in the dense one) is
/// rendered on the thread that computed it and passed on in row order, so memory is the engine's working set plus
/// a few blocks per thread. The memory check counts only those (with `aggregate`, which needs every row, it is
/// depth_kind followed by its CSV). `sink` is called from the worker threads, one call at a time. Returns the
/// engine that ran. Errors as depth_kind; rows already handed to `sink` stay there.
DepthEngine write_depth_kind_csv(const DepthKindOptions& options, const ByteSink& sink);

}  // namespace mhclab
