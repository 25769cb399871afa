// `mhclab bench project|depth|train` (CLI.md): throughput figures for the benchmark workloads, one line
// each, `name: value unit`, plus a checksum of the results so the work cannot be skipped.
//
// Sub-benchmarks are rows of one table (kSubBenches); `project` is itself a table of projection
// workloads (kProjectCases) that share the same generated inputs, so a later issue adds e.g. one
// `<method>_build_n4: … builds/s` line per mixing method by appending a row there.
//
// `mhclab bench project` inputs (regenerated bit for bit by bench/sinkhorn_numpy.py):
//   matrix k (k = 0..count−1) is filled from RandomStream(seed, Purpose::Bench, {k}) (core/random.hpp):
//   entry (i, j) is the (i·n + j)-th normal() draw of that stream (row-major order), stored at
//   Z[k·n² + i·n + j] (the layout of mixing/sinkhorn_batch.hpp). Inputs are generated before timing.
// Timing: wall clock (steady_clock) of the whole batched call, best of --repeat runs.
// checksum = Σ_k Σ_ij H_k[i,j]·(i·n + j + 1)², summed per matrix and then over k in index order
//   (Neumaier-compensated), printed with %.17g. The weight is squared on purpose: for a doubly stochastic
//   H every weight of the form a_i + b_j (such as i·n + j + 1) gives Σ_i a_i + Σ_j b_j whatever H is,
//   so a linear weight would not depend on the result; (i·n + j + 1)² is not separable and is not
//   symmetric under transposition.
// input_checksum = the same weighted sum of the logits Z (checks that both sides generated the same inputs).
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "mhclab/core/build_info.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"

namespace mhclab::app {

namespace {

struct BenchCli {
  std::string name;
  long count = 1000000;
  int threads = 0;  // 0 = all cores
  std::uint64_t seed = 0;
  long n = 4;
  int iters = 20;
  double tau = 1.0;
  std::string order = "col_then_row";
  int repeat = 5;
  long scalar_count = 100000;
  long print_inputs = 0;
  double method_min_time = 0.3;  ///< seconds per method build figure (0 = skip the method figures)
  long method_pool = 2000;       ///< distinct θ per (method, n)
};

/// Neumaier-compensated running sum (checksums independent of how the terms were produced).
struct CompensatedSum {
  double sum = 0.0, c = 0.0;
  void add(double x) {
    const double t = sum + x;
    c += std::fabs(sum) >= std::fabs(x) ? (sum - t) + x : (x - t) + sum;
    sum = t;
  }
  [[nodiscard]] double value() const { return sum + c; }
};

/// Σ_k Σ_ij A_k[i,j]·(i·n + j + 1)² over `count` n×n matrices in the batch layout.
double weighted_checksum(const std::vector<double>& A, Index n) {
  const Index nn = n * n;
  const Index count = static_cast<Index>(A.size()) / nn;
  CompensatedSum total;
  for (Index k = 0; k < count; ++k) {
    double s = 0.0;
    for (Index e = 0; e < nn; ++e) s += A[static_cast<std::size_t>(k * nn + e)] * static_cast<double>((e + 1) * (e + 1));
    total.add(s);
  }
  return total.value();
}

std::string rate(double x) { return fmt::format("{:.4g}", x); }

/// What every projection workload sees: the resolved options and the generated inputs.
struct ProjectContext {
  const BenchCli& cli;
  SinkhornBatchOptions batch;          ///< n, t, τ, order, resolved thread count
  std::vector<double> Z;               ///< count·n² logits (layout of sinkhorn_batch.hpp)
  std::vector<double> H;               ///< the batched results (filled by the first workload)
  [[nodiscard]] Index n() const { return batch.n; }
  [[nodiscard]] Index count() const { return static_cast<Index>(Z.size()) / (n() * n()); }
  [[nodiscard]] std::string suffix() const { return fmt::format("n{}_t{}", batch.n, batch.iterations); }
};

/// Best wall-clock seconds of `repeat` runs of f.
template <class F>
double best_seconds(int repeat, F&& f) {
  double best = INFINITY;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// ---- projection workloads ---------------------------------------------------------------------------
// The batched structure-of-arrays Sinkhorn over all inputs, on all requested threads.
void project_batched(ProjectContext& c) {
  std::vector<SinkhornStatus> status(static_cast<std::size_t>(c.count()));
  SinkhornBatchSummary summary;
  const double secs = best_seconds(c.cli.repeat, [&] { summary = sinkhorn_batch(c.Z, c.H, status, c.batch); });
  fmt::print("sinkhorn_project_{}: {} projections/s\n", c.suffix(), rate(static_cast<double>(c.count()) / secs));
  fmt::print("threads: {}\n", c.batch.threads);
  fmt::print("count: {}\n", c.count());
  fmt::print("best_time: {} s (best of {})\n", fmt::format("{:.6f}", secs), c.cli.repeat);
  fmt::print("numerical_issues: {}\n", summary.numerical_issues);
  fmt::print("checksum: {}\n", g17(weighted_checksum(c.H, c.n())));
}

// The scalar library sinkhorn() (one Eigen matrix per call, 1 thread) on the first scalar_count inputs, for
// context; also its largest deviation from the batched results on that subset.
void project_scalar(ProjectContext& c) {
  const Index m = std::min<Index>(c.cli.scalar_count, c.count());
  if (m <= 0) return;
  const Index n = c.n(), nn = n * n;
  std::vector<Mat> inputs(static_cast<std::size_t>(m), Mat(n, n));
  for (Index k = 0; k < m; ++k)
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) inputs[static_cast<std::size_t>(k)](i, j) = c.Z[static_cast<std::size_t>(k * nn + i * n + j)];
  SinkhornOptions o;
  o.iterations = c.batch.iterations;
  o.tau = c.batch.tau;
  o.order = c.batch.order;
  std::vector<Mat> out(static_cast<std::size_t>(m));
  const double secs = best_seconds(std::min(c.cli.repeat, 3), [&] {
    for (Index k = 0; k < m; ++k) out[static_cast<std::size_t>(k)] = sinkhorn(inputs[static_cast<std::size_t>(k)], o).H;
  });
  double max_diff = 0.0;
  for (Index k = 0; k < m; ++k) {
    const Mat& Hs = out[static_cast<std::size_t>(k)];
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < n; ++j) {
        const double b = c.H[static_cast<std::size_t>(k * nn + i * n + j)];
        max_diff = std::max(max_diff, Hs.size() == 0 ? (b == 0.0 ? 0.0 : INFINITY) : std::fabs(Hs(i, j) - b));
      }
  }
  fmt::print("sinkhorn_scalar_{}: {} projections/s (1 thread, first {} matrices)\n", c.suffix(),
             rate(static_cast<double>(m) / secs), m);
  fmt::print("scalar_vs_batched_max_abs_diff: {}\n", g17(max_diff));
}

// Build throughput of every registered method (issue 3): H(θ) for n = 4, 8, 16 (mhc-lite to 8), on all
// requested threads, θ entries N(0,1) from RandomStream(seed, Purpose::Bench, {1000 + method, n, k}) for a
// pool of `method_pool` parameter vectors generated before timing; each measurement cycles through the pool
// until at least `method_min_time` seconds have passed. mhc runs the scalar sinkhorn() with the
// projection options above (t, τ, order). Checksum: Σ over built matrices of Σ_ij H[i,j]·(i·n + j + 1)².
void project_methods(ProjectContext& c) {
  if (c.cli.method_min_time <= 0.0) return;
  const int threads = c.batch.threads;
  for (const auto& [id, name] : method_table.entries) {
    for (Index n : {4, 8, 16}) {
      MethodOptions o;
      o.method = id;
      o.n = n;
      o.sinkhorn.iterations = c.batch.iterations;
      o.sinkhorn.tau = c.batch.tau;
      o.sinkhorn.order = c.batch.order;
      std::unique_ptr<Method> m;
      try {
        m = make_method(o);
      } catch (const InputError&) {
        continue;  // mhc-lite above n = 8
      }
      const Index pool = c.cli.method_pool;
      std::vector<Vec> thetas(static_cast<std::size_t>(pool));
      for (Index k = 0; k < pool; ++k) {
        RandomStream rs(c.cli.seed, Purpose::Bench,
                        {1000 + static_cast<std::uint64_t>(id), static_cast<std::uint64_t>(n), static_cast<std::uint64_t>(k)});
        Vec& t = thetas[static_cast<std::size_t>(k)];
        t.resize(m->num_params());
        rs.fill_normal(t);
      }
      // One round = every pool entry once, split over the threads; per-entry checksums by index.
      std::vector<double> sums(static_cast<std::size_t>(pool), 0.0);
      auto round = [&] {
        parallel_for(pool, threads, [&](Index k) {
          const MixResult r = m->build(thetas[static_cast<std::size_t>(k)]);
          double s = 0.0;
          for (Index i = 0; i < r.H.rows(); ++i)
            for (Index j = 0; j < r.H.cols(); ++j) s += r.H(i, j) * static_cast<double>((i * n + j + 1) * (i * n + j + 1));
          sums[static_cast<std::size_t>(k)] = s;
        });
      };
      long rounds = 0;
      const auto t0 = std::chrono::steady_clock::now();
      double secs = 0.0;
      do {
        round();
        ++rounds;
        secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      } while (secs < c.cli.method_min_time);
      CompensatedSum total;
      for (double x : sums) total.add(x);
      fmt::print("method_build_{}_n{}: {} matrices/s (checksum {})\n", name, n,
                 rate(static_cast<double>(rounds * pool) / secs), g17(total.value()));
    }
  }
}

struct ProjectCase {
  std::string_view name;
  std::function<void(ProjectContext&)> run;
};
/// The projection workloads, run in this order on the same inputs (the first one fills H).
const std::vector<ProjectCase>& project_cases() {
  static const std::vector<ProjectCase> cases{{"sinkhorn_batched", project_batched},
                                              {"sinkhorn_scalar", project_scalar},
                                              {"method_builds", project_methods}};
  return cases;
}

/// Inputs as documented at the top of this file, generated on all threads (counter-based: the thread
/// count does not matter).
std::vector<double> generate_inputs(Index count, Index n, std::uint64_t seed, int threads) {
  const Index nn = n * n;
  std::vector<double> Z(static_cast<std::size_t>(count * nn));
  constexpr Index kChunk = 4096;
  parallel_for((count + kChunk - 1) / kChunk, threads, [&](Index c) {
    for (Index k = c * kChunk; k < std::min(count, (c + 1) * kChunk); ++k) {
      RandomStream rs(seed, Purpose::Bench, {static_cast<std::uint64_t>(k)});
      for (Index e = 0; e < nn; ++e) Z[static_cast<std::size_t>(k * nn + e)] = rs.normal();
    }
  });
  return Z;
}

int run_project(const BenchCli& cli) {
  if (cli.count < 1) throw InputError(fmt::format("count = {}; must be ≥ 1", cli.count));
  if (cli.repeat < 1) throw InputError(fmt::format("repeat = {}; must be ≥ 1", cli.repeat));
  if (cli.print_inputs < 0) throw InputError(fmt::format("print-inputs = {}; must be ≥ 0", cli.print_inputs));
  if (cli.threads < 0) throw InputError(fmt::format("threads = {}; must be ≥ 0 (0 = all cores)", cli.threads));
  ProjectContext c{cli, {}, {}, {}};
  if (cli.n < 1 || cli.n > kSinkhornBatchMaxN)
    throw InputError(fmt::format("n = {}; the batched kernel takes 1..{}", cli.n, kSinkhornBatchMaxN));
  c.batch.n = static_cast<int>(cli.n);
  c.batch.iterations = cli.iters;
  c.batch.tau = cli.tau;
  c.batch.order = sinkhorn_order_table.from_string(cli.order);
  c.batch.threads = resolve_threads(cli.threads);
  c.batch.validate();
  const Index n = c.n(), nn = n * n;
  c.Z = generate_inputs(cli.count, n, cli.seed, c.batch.threads);
  c.H.assign(c.Z.size(), 0.0);  // touched before timing

  const BuildInfo b = build_info();
  fmt::print("bench: project (n = {}, t = {}, tau = {}, order = {}, exp domain, fp64, tol = 0, seed = {})\n", n,
             cli.iters, g17(cli.tau), cli.order, cli.seed);
  for (const auto& pc : project_cases()) pc.run(c);
  fmt::print("input_checksum: {}\n", g17(weighted_checksum(c.Z, n)));
  for (Index k = 0; k < std::min<Index>(cli.print_inputs, c.count()); ++k) {
    std::string line = fmt::format("input[{}]:", k);
    for (Index e = 0; e < nn; ++e) {
      line += ' ';
      line += g17(c.Z[static_cast<std::size_t>(k * nn + e)]);
    }
    fmt::print("{}\n", line);
  }
  fmt::print("build_flags: {}\n", b.flags);
  fmt::print("build_type: {}\n", b.build_type);
  fmt::print("compiler: {}\n", b.compiler);
  fmt::print("commit: {}\n", b.commit);
  return 0;
}

// ---- the sub-benchmark table ------------------------------------------------------------------------
struct SubBench {
  std::string_view name;
  std::string_view what;
  int (*run)(const BenchCli&);  ///< nullptr: not available yet
};
constexpr SubBench kSubBenches[] = {
    {"project",
     "Sinkhorn projections/s (batched SoA kernel and scalar reference) and every method's build throughput, with "
     "checksums",
     &run_project},
    {"depth", "depth-analysis throughput (not available yet)", nullptr},
    {"train", "training-step throughput (not available yet)", nullptr},
};

int run_bench(const BenchCli& cli) {
  for (const auto& s : kSubBenches)
    if (s.name == cli.name) {
      if (s.run == nullptr)
        throw InputError(fmt::format("bench '{}' is not available yet (available: project)", cli.name));
      return s.run(cli);
    }
  throw InputError(fmt::format("unknown bench '{}'", cli.name));  // unreachable: CLI11 checks the name
}

}  // namespace

void setup_bench(CLI::App& app, Registry& r) {
  auto cli = std::make_shared<BenchCli>();
  CLI::App* sub = app.add_subcommand("bench", "Throughput figures for the benchmark workloads (name: value unit)");
  std::vector<std::string> names;
  std::string help = "Sub-benchmark:";
  for (const auto& s : kSubBenches) {
    names.emplace_back(s.name);
    help += fmt::format("\n  {}: {}", s.name, s.what);
  }
  sub->add_option("name", cli->name, help)->required()->check(CLI::IsMember(names));
  sub->add_option("--count", cli->count, "Number of distinct N(0,1) logit matrices (generated before timing)")
      ->capture_default_str();
  sub->add_option("--threads", cli->threads, "Worker threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  sub->add_option("--seed", cli->seed, "Seed of the input streams (Purpose::Bench, index k)")->capture_default_str();
  sub->add_option("--n", cli->n, "Matrix size n (batched kernel: 1..8)")->capture_default_str();
  sub->add_option("--iters", cli->iters, "Sinkhorn iterations t (all run: tol = 0)")->capture_default_str();
  sub->add_option("--tau", cli->tau, "Sinkhorn temperature τ")->capture_default_str();
  sub->add_option("--order", cli->order, "Sinkhorn order: " + sinkhorn_order_table.names())->capture_default_str();
  sub->add_option("--repeat", cli->repeat, "Timed repeats (best is reported)")->capture_default_str();
  sub->add_option("--scalar-count", cli->scalar_count,
                  "Matrices for the scalar sinkhorn() reference figure (0 = skip)")
      ->capture_default_str();
  sub->add_option("--print-inputs", cli->print_inputs,
                  "Print the first K input matrices (%.17g, row-major) for cross-checks")
      ->capture_default_str();
  sub->add_option("--method-min-time", cli->method_min_time,
                  "Seconds per method build-throughput figure (0 = skip them)")
      ->capture_default_str();
  sub->add_option("--method-pool", cli->method_pool, "Distinct θ per (method, n) for the build figures")
      ->capture_default_str();
  r.add(sub, [cli] {
    if (cli->method_pool < 1) throw InputError(fmt::format("method-pool = {}; must be ≥ 1", cli->method_pool));
    return run_bench(*cli);
  });
}

}  // namespace mhclab::app
