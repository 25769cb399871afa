// kinds/depth.hpp: the depth experiment kind, dense and streaming engines.
#include "mhclab/kinds/depth.hpp"

#include "mhclab/kinds/common_options.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstddef>
#include <memory>
#include <functional>
#include <vector>

#include "mhclab/analysis/depth_stream.hpp"
#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/memory_limit.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/sweep/aggregate.hpp"

namespace mhclab {
namespace {

/// The columns the stream engine computes, in the full table's order (depth_metric_columns()).
constexpr std::array<const char*, 6> kStreamColumns{"fwd_gain",       "bwd_gain",       "sigma_max",
                                                    "log10_fwd_gain", "log10_bwd_gain", "log10_sigma_max"};

bool sinkhorn_columns_for(const DepthKindOptions& o) {
  return o.method.method == MethodId::MHC && o.stack.kind != GeneratorKind::Trained &&
         !(o.stack.kind == GeneratorKind::File && o.stack.input_kind == InputKind::Matrices);
}

// ---- dense -----------------------------------------------------------------------------------------------
/// The lead columns of the depth kind's rows.
std::vector<ColumnSpec> depth_lead() {
  return {{"seed", ColumnType::Unsigned, "seed of the stack (SPEC §9)", false},
          {"step", ColumnType::Integer, "drift snapshot step (0 for other generators)", false}};
}

/// Where an engine's rows go: `block(index, rows)` receives the rows of block `index` (indices 0, 1, … each once;
/// block k's rows follow block k − 1's in the table) concurrently from the worker threads, and may move them away;
/// a worker whose block fails calls `abort()` before the error propagates (InOrder's contract, core/parallel.hpp).
struct BlockSink {
  std::function<void(std::size_t index, ResultTable& block)> block;
  std::function<void()> abort;
};

/// Blocks in flight a consumer holds at most: two per thread (every thread busy while one writes).
std::size_t block_window(int threads) { return 2 * static_cast<std::size_t>(resolve_threads(threads)) + 2; }

/// Dense engine: one block per seed.
void dense_blocks(const DepthKindOptions& o, const DepthTableOptions& table, const std::vector<std::string>& columns,
                  const BlockSink& sink) {
  const auto method = make_method(o.method);
  parallel_for(
      o.seeds, o.threads,
      [&](Index k) {
        try {
          const std::uint64_t seed = o.first_seed + static_cast<std::uint64_t>(k);
          const std::vector<GeneratedStack> stacks = generate_stacks(*method, o.stack, seed);
          std::vector<DepthRowGroup> groups;
          for (const GeneratedStack& g : stacks) {
            if (g.lead_shape.size() != 1)
              throw InputError(o.stack.input + ": depth reads a (layer, …) stack; use `mhclab analyze --token-average` "
                                               "for per-token stacks");
            const std::vector<LayerExtras> extras = sinkhorn_extras(o.method.method, o.method.n, g.thetas, g.sinkhorn);
            DepthTableOptions t = table;
            t.sinkhorn_columns = table.sinkhorn_columns && !extras.empty();
            if (t.sinkhorn_columns != table.sinkhorn_columns)
              throw ComputeError("seed " + std::to_string(seed) + ": missing Sinkhorn summaries");
            groups.push_back({{std::to_string(seed), std::to_string(g.step)}, depth_table(g.H, extras, t)});
          }
          ResultTable part = depth_result_table(depth_lead(), columns, groups);
          sink.block(static_cast<std::size_t>(k), part);
        } catch (...) {
          sink.abort();
          throw;
        }
      },
      1);
}

/// Stream engine: one block per 16 seeds (kDepthStreamBlock, one depth_stream call each on the block's thread; a
/// seed's figures do not depend on the seeds it shares a call with), rows seed-major (seed, kind, layer).
void stream_blocks(const DepthKindOptions& o, const std::vector<std::string>& columns, const BlockSink& sink) {
  DepthStreamOptions s;
  s.n = o.method.n;
  s.layers = o.stack.layers;
  s.init = o.stack.init;
  s.init_eps = o.stack.init_eps;
  s.noise = o.stack.noise;
  s.iterations = o.method.sinkhorn.iterations;
  s.tau = o.method.sinkhorn.tau;
  s.order = o.method.sinkhorn.order;
  s.init_tau = o.method.init_tau;
  s.kinds = o.table.kinds;
  s.threads = 1;
  std::array<bool, kStreamColumns.size()> want{};
  for (std::size_t c = 0; c < kStreamColumns.size(); ++c)
    want[c] = std::find(columns.begin(), columns.end(), kStreamColumns[c]) != columns.end();
  s.sigma_max = want[2] || want[5];

  const Index L = s.layers, blocks = (o.seeds + kDepthStreamBlock - 1) / kDepthStreamBlock;
  std::vector<ProductKind> kinds;  // table order
  for (const auto& [kind, name] : product_kind_table.entries)
    if (s.has_kind(kind)) kinds.push_back(kind);
  const auto slot_of = [&](ProductKind k) {
    return static_cast<Index>(std::find(kinds.begin(), kinds.end(), k) - kinds.begin());
  };
  const auto kslots = static_cast<Index>(kinds.size());
  const ResultTable empty = depth_result_table(depth_lead(), columns, {});
  std::array<std::size_t, kStreamColumns.size()> col{};  // the table column of each computed metric
  for (std::size_t c = 0; c < kStreamColumns.size(); ++c)
    if (want[c]) col[c] = static_cast<std::size_t>(empty.find(kStreamColumns[c]));
  // Point buffers and block tables are recycled between blocks (about one per thread is in use): fresh memory per
  // block would page-fault on every block.
  Recycler<std::vector<DepthStreamPoint>> point_buffers;
  Recycler<ResultTable> tables;

  parallel_for(
      blocks, o.threads,
      [&](Index block) {
        try {
          DepthStreamOptions sb = s;
          sb.first_seed = o.first_seed + static_cast<std::uint64_t>(block * kDepthStreamBlock);
          sb.seeds = std::min<Index>(kDepthStreamBlock, o.seeds - block * kDepthStreamBlock);
          const Index lanes = sb.seeds;
          // The points of every kind slot, layer and lane, then the block's rows.
          std::vector<DepthStreamPoint> buf = point_buffers.take();
          buf.resize(static_cast<std::size_t>(kslots * L * lanes));
          (void)depth_stream(sb, [&](const DepthStreamBatch& b) {
            const Index base = (slot_of(b.kind) * L + (b.layer - 1)) * lanes + b.seed_index;
            std::copy(b.points.begin(), b.points.end(), buf.begin() + base);
          });
          ResultTable out = tables.take();
          if (out.columns().empty()) out = empty;
          out.clear();
          out.add_rows(static_cast<std::size_t>(lanes * kslots * L), 1);
          // A linear cell keeps its log form only beyond the double range (as the dense table writes it).
          constexpr double kExact = std::numeric_limits<double>::quiet_NaN();
          const auto linear = [&](std::size_t row, std::size_t c, double value,
                                  double (DepthStreamPoint::*log10_of)() const, const DepthStreamPoint& q) {
            const bool exact = std::isfinite(value) && std::fabs(value) >= 0x1p-1022;
            out.set_real_at(row, c, value, exact ? kExact : (q.*log10_of)());
          };
          for (Index lane = 0; lane < lanes; ++lane) {
            const std::uint64_t seed = sb.first_seed + static_cast<std::uint64_t>(lane);
            for (Index k = 0; k < kslots; ++k) {
              const std::string kind_name(product_kind_table.to_string(kinds[static_cast<std::size_t>(k)]));
              for (Index l = 0; l < L; ++l) {
                const DepthStreamPoint& q = buf[static_cast<std::size_t>((k * L + l) * lanes + lane)];
                const auto row = static_cast<std::size_t>((lane * kslots + k) * L + l);
                out.set_unsigned_at(row, 0, seed);
                out.set_integer_at(row, 1, 0);
                out.set_integer_at(row, 2, l + 1);
                out.set_text_at(row, 3, kind_name);
                if (want[0]) linear(row, col[0], q.fwd_gain(), &DepthStreamPoint::log10_fwd_gain, q);
                if (want[1]) linear(row, col[1], q.bwd_gain(), &DepthStreamPoint::log10_bwd_gain, q);
                if (want[2]) linear(row, col[2], q.sigma_max(), &DepthStreamPoint::log10_sigma_max, q);
                if (want[3]) out.set_real_at(row, col[3], q.log10_fwd_gain(), kExact);
                if (want[4]) out.set_real_at(row, col[4], q.log10_bwd_gain(), kExact);
                if (want[5]) out.set_real_at(row, col[5], q.log10_sigma_max(), kExact);
              }
            }
          }
          point_buffers.give(std::move(buf));
          sink.block(static_cast<std::size_t>(block), out);
          tables.give(std::move(out));
        } catch (...) {
          sink.abort();
          throw;
        }
      },
      1);
}

/// What a request runs: the table options with sinkhorn_columns decided, its columns and the engine.
struct DepthPlan {
  DepthTableOptions table;
  std::vector<std::string> columns;
  DepthEngine engine = DepthEngine::Dense;
};

DepthPlan plan_of(const DepthKindOptions& o) {
  DepthPlan p;
  p.table = o.table;
  p.table.sinkhorn_columns = sinkhorn_columns_for(o);
  p.columns = depth_table_columns(o.method.n, p.table);
  const bool stream = o.engine == DepthEngine::Stream ||
                      (o.engine == DepthEngine::Auto && depth_stream_refusal(o).empty());
  p.engine = stream ? DepthEngine::Stream : DepthEngine::Dense;
  return p;
}

void run_blocks(const DepthKindOptions& o, const DepthPlan& p, const BlockSink& sink) {
  if (p.engine == DepthEngine::Stream) stream_blocks(o, p.columns, sink);
  else dense_blocks(o, p.table, p.columns, sink);
}

/// Options, and the memory of the request: with `rows_kept` every row is held until written (a ResultTable),
/// else only the blocks in flight (a few per thread).
void check_request(const DepthKindOptions& o, bool rows_kept) {
  o.method.validate();
  o.stack.validate();
  validate_runs(o.seeds, o.threads, &o.stack);
  DepthTableOptions t = o.table;
  t.sinkhorn_columns = sinkhorn_columns_for(o);
  t.validate(o.method.n);
  if (o.engine == DepthEngine::Stream) {
    const std::string why = depth_stream_refusal(o);
    if (!why.empty()) throw InputError("engine = stream: " + why + " (use engine auto or dense)");
  }
  // Memory: the typed rows (per cell a presence byte, the double and its log10: ≈ 17 bytes; per row the kind's text
  // and the lead: ≈ 56 bytes) and their CSV text (≈ 22 bytes per cell), all of them when the rows are kept, else
  // two blocks per thread (a block: 16 seeds, or one seed in the dense engine); each thread holds one seed's stacks
  // (θ, H, products: ≈ 4 n×n doubles per layer and step). File and trained stacks are bounded by their file.
  if (o.stack.kind != GeneratorKind::File && o.stack.kind != GeneratorKind::Trained) {
    const double steps = o.stack.kind == GeneratorKind::Drift ? static_cast<double>(o.stack.steps.size()) : 1.0;
    const double L = static_cast<double>(o.stack.layers), nn = static_cast<double>(o.method.n * o.method.n);
    const double cols = static_cast<double>(depth_table_columns(o.method.n, t).size());
    const double written = t.depths.empty() ? L : static_cast<double>(t.depths.size());
    const double threads_used =
        std::min<double>(static_cast<double>(resolve_threads(o.threads)), static_cast<double>(o.seeds));
    const double seeds_held =
        rows_kept ? static_cast<double>(o.seeds)
                  : std::min<double>(static_cast<double>(o.seeds), 2.0 * threads_used * kDepthStreamBlock);
    const double rows = seeds_held * steps * static_cast<double>(t.kinds.size()) * written;
    const double text = rows * (24.0 + 22.0 * cols) + rows * (56.0 + 17.0 * cols);
    const double work = threads_used * steps * L * nn * 8.0 * 4.0;
    char detail[160];
    std::snprintf(detail, sizeof detail, "%.3g rows of %.0f columns held: %.3g GB of table and text; %.3g GB of stacks",
                  rows, cols, text / 1e9, work / 1e9);
    check_memory("depth: the request", text + work, o.memory_limit, detail,
                 "fewer layers, seeds or steps, only the kinds and metrics needed (kinds, metrics), or aggregate in a "
                 "sweep (mhclab run) instead of one call");
  }
}

}  // namespace

void DepthKindOptions::validate() const { check_request(*this, true); }
void DepthKindOptions::validate_streamed() const { check_request(*this, aggregate); }

void bind_depth_options(OptionSet& s, DepthKindOptions& o) {
  bind_method_options(s, o.method, o.stack.init, o.stack.init_eps);
  bind_stack_options(s, o.stack);
  bind_seed_options(s, o.seeds, o.first_seed);
  s.bind("layers", o.stack.layers, "Number of layers L (file generator: 0 = as in the file)");
  bind_selection_options(s, o.table);
  s.bind("engine", o.engine, depth_engine_table,
         "Engine: stream (SIMD over seeds, O(n²) memory per thread) takes mhc (exp, fp64, constant tau, tol 0), "
         "generator random and only gains/sigma_max metrics; auto picks it when the request fits; the engines agree "
         "to round-off (1e-12 relative), not bit for bit");
  s.bind("memory-limit", o.memory_limit, "GB the request may use (0 = half of the machine's memory)");
  s.bind("aggregate", o.aggregate,
         "Write per (step, depth, kind) the statistics over seeds (count, mean, sd, median, q05, q95, 95% CI; as a "
         "sweep's aggregates.csv) instead of the rows",
         true);
  bind_threads_option(s, o.threads);
}

std::string depth_stream_refusal(const DepthKindOptions& o) {
  const SinkhornOptions& sk = o.method.sinkhorn;
  if (o.method.method != MethodId::MHC) return "the stream engine runs method mhc only";
  if (!sinkhorn_batch_supports(sk))
    return "the stream engine runs the exp-domain, fp64, constant-tau Sinkhorn with tol = 0, start exp and eps = 0 "
           "only";
  if (o.method.modifiers.active()) return "the stream engine does not apply the lazy/minorize modifiers";
  if (o.stack.kind != GeneratorKind::Random) return "the stream engine runs the random generator only";
  if (o.table.lyapunov) return "the stream engine has no Lyapunov columns";
  if (!o.table.depths.empty()) return "the stream engine writes every depth (no depths selection)";
  if (o.table.metrics.empty()) return "the stream engine computes gains and sigma_max only; list them in metrics";
  for (const std::string& m : o.table.metrics)
    if (std::find(kStreamColumns.begin(), kStreamColumns.end(), m) == kStreamColumns.end())
      return "the stream engine does not compute '" + m + "' (it computes fwd_gain, bwd_gain, sigma_max and their "
             "log10 columns)";
  return {};
}

std::string DepthKindResult::csv() const { return table.to_csv(); }

void DepthKindResult::write(const std::string& path, int threads) const {
  write_file_atomically_streamed(path, [&](const ByteSink& sink) { table.write_csv(sink, threads); });
}

DepthKindResult depth_kind(const DepthKindOptions& o) {
  o.validate();
  const DepthPlan p = plan_of(o);
  DepthKindResult r{depth_result_table(depth_lead(), p.columns, {}), p.engine};
  if (p.engine == DepthEngine::Stream) {
    // Every block but the last has the same rows: the table is sized once and each block fills its own rows from
    // its thread.
    const auto per_block = static_cast<std::size_t>(kDepthStreamBlock * o.stack.layers) * o.table.kinds.size();
    r.table.add_rows(static_cast<std::size_t>(o.seeds * o.stack.layers) * o.table.kinds.size(), o.threads);
    run_blocks(o, p, {[&](std::size_t index, ResultTable& block) { r.table.assign_rows(index * per_block, block); },
                      [] {}});
  } else {
    InOrder<ResultTable> gather([&](ResultTable& block) { r.table.append(block); }, block_window(o.threads));
    run_blocks(o, p, {[&](std::size_t index, ResultTable& block) { gather.submit(index, std::move(block)); },
                      [&] { gather.abort(); }});
  }
  if (o.aggregate) {
    AggregateOptions a;
    a.group_columns = {"step", "depth", "kind"};
    a.drop = {"seed"};
    r.table = aggregate_over_seeds(r.table, a);
  }
  return r;
}

DepthEngine write_depth_kind_csv(const DepthKindOptions& o, const ByteSink& sink) {
  if (o.aggregate) {
    const DepthKindResult r = depth_kind(o);
    r.table.write_csv(sink, o.threads);
    return r.engine;
  }
  o.validate_streamed();
  const DepthPlan p = plan_of(o);
  sink(depth_result_table(depth_lead(), p.columns, {}).csv_header());
  // Each block is rendered on the thread that computed it, into a recycled buffer, and written in row order.
  Recycler<std::string> buffers;
  InOrder<std::string> write(
      [&](std::string& text) {
        sink(text);
        text.clear();
        buffers.give(std::move(text));
      },
      block_window(o.threads));
  run_blocks(o, p,
             {[&](std::size_t index, ResultTable& block) {
                std::string text = buffers.take();
                block.append_csv_rows(text, 0, block.rows());
                write.submit(index, std::move(text));
              },
              [&] { write.abort(); }});
  return p.engine;
}

}  // namespace mhclab
