// `mhclab mix` (CLI.md): builds one H, or with --seeds S the summary statistics of S generated matrices.
// --jacobian (learnability diagnostics, mixing/learnability.hpp): instead of H, prints
//   sigma_max=… sigma_min_nonzero=… rank=… logit_range=… params=…
//   singular_values=v1,v2,…            (descending, min(n², p) of them, %.17g)
// and with --out FILE.csv writes the dense Jacobian J = ∂vec(H)/∂θ in long form, header `i,j,k,value`, one
// row per entry: value = ∂H[i, j]/∂θ_k (row-major over i, j, then k; all n²·p entries, zeros included).
// With --seeds S, --jacobian adds the columns jac_sigma_max, jac_sigma_min_nonzero, jac_rank, logit_range to
// each seed's row (and to the printed summary).
#include <fmt/core.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/generators/params.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "mhclab/mixing/learnability.hpp"
#include "mhclab/mixing/matrix_stats.hpp"

namespace mhclab::app {

namespace {
struct MixCli {
  MethodCli method;
  std::string logits;
  std::string out;
  long seeds = 0;
  std::uint64_t seed = 0;
  std::string generator = "random";
  double noise = 1.0;
  int threads = 0;
  bool jacobian = false;
};

/// The tropical permutation of the same logits for the Sinkhorn family (SPEC §4 dist_tropical), else none.
Mat tropical_of(const MethodOptions& o, const Vec& theta) {
  if (o.method != MethodId::MHC && o.method != MethodId::Tropical) return Mat();
  Mat Z(o.n, o.n);
  for (Index i = 0; i < o.n; ++i)
    for (Index j = 0; j < o.n; ++j) Z(i, j) = theta[i * o.n + j];
  return permutation_matrix(max_weight_assignment(Z).sigma);
}

void print_summary_line(const MixResult& r, const Mat& H) {
  std::string line = "row_err=" + g17(r.sinkhorn ? r.sinkhorn->row_err : row_error(H)) +
                     " col_err=" + g17(r.sinkhorn ? r.sinkhorn->col_err : col_error(H)) +
                     " min_entry=" + g17(H.minCoeff());
  if (r.sinkhorn) {
    const auto& s = *r.sinkhorn;
    line += " iterations=" + std::to_string(s.iterations) + " status=" +
            std::string(sinkhorn_status_table.to_string(s.status));
  } else {
    line += " iterations=0 status=none";
  }
  fmt::print("{}\n", line);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// --jacobian --out must name a CSV file (the long form i,j,k,value).
void check_jacobian_out(const MixCli& c) {
  if (c.jacobian && c.seeds == 0 && !c.out.empty() && !ends_with(c.out, ".csv"))
    throw InputError("--jacobian --out writes the Jacobian as CSV (long form i,j,k,value); got '" + c.out +
                     "', expected a FILE.csv");
}

/// The Jacobian in long form: header i,j,k,value; value = ∂H[i, j]/∂θ_k.
std::string jacobian_csv(const Mat& J, Index n) {
  std::string csv = "i,j,k,value\n";
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j)
      for (Index k = 0; k < J.cols(); ++k)
        csv +=
            std::to_string(i) + ',' + std::to_string(j) + ',' + std::to_string(k) + ',' + g17(J(i * n + j, k)) + '\n';
  return csv;
}

int run_jacobian(const MixCli& c, const Method& method, const Vec& theta) {
  Mat J;
  const LearnabilitySummary s = learnability(method, theta, c.out.empty() ? nullptr : &J);
  if (!c.out.empty()) emit(c.out, jacobian_csv(J, method.n()));
  fmt::print("sigma_max={} sigma_min_nonzero={} rank={} logit_range={} params={}\n", g17(s.sigma_max),
             g17(s.sigma_min_nonzero), s.rank, g17(s.logit_range), s.params);
  std::string sv;
  for (Index k = 0; k < s.singular_values.size(); ++k) sv += (k ? "," : "") + g17(s.singular_values[k]);
  fmt::print("singular_values={}\n", sv);
  return 0;
}

int run_single(const MixCli& c) {
  const MethodOptions o = c.method.resolve();
  const auto method = make_method(o);
  const ParamMatrixShape shape = param_matrix_shape(o.method, o.n);
  const Vec theta = c.logits.empty() ? method->init_params(c.method.init_kind(), c.method.init_eps)
                                     : read_params(c.logits, method->num_params(), shape.rows, shape.cols);
  const MixResult r = method->mix(theta);
  if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue) {
    fmt::print(stderr, "mhclab: numerical issue: {}\n", r.sinkhorn->issue);
    fmt::print("status=numerical_issue\n");
    return 1;
  }
  if (c.jacobian) return run_jacobian(c, *method, theta);
  if (!c.out.empty()) {
    write_matrix(c.out, r.H);
  } else {
    for (Index i = 0; i < r.H.rows(); ++i) {
      std::string row;
      for (Index j = 0; j < r.H.cols(); ++j) {
        if (j) row += ' ';
        row += g17(r.H(i, j));
      }
      fmt::print("{}\n", row);
    }
  }
  std::string extra;
  if (r.sinkhorn && o.sinkhorn.precision != Precision::FP64) {
    const auto& s = *r.sinkhorn;
    extra = " trunc_row_err=" + g17(s.trunc_row_err) + " trunc_col_err=" + g17(s.trunc_col_err) +
            " round_err=" + g17(s.round_err_max) + " round_row_err=" + g17(s.round_row_err) +
            " round_col_err=" + g17(s.round_col_err);
  }
  print_summary_line(r, r.H);
  if (!extra.empty()) fmt::print("{}\n", extra.substr(1));
  return 0;
}

void check_seeds(const MixCli& c) {
  if (c.seeds < 1) throw InputError("seeds = " + std::to_string(c.seeds) + "; must be ≥ 1");
  if (!c.logits.empty()) throw InputError("--seeds generates matrices; it cannot be combined with --logits");
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
  (void)make_method(c.method.resolve());
}

/// Statistics of each of the S generated matrices (seed order).
struct SeedStats {
  std::vector<MatrixStats> stats;
  std::vector<int> iterations;
  std::vector<LearnabilitySummary> learn;  ///< with --jacobian
};

SeedStats seed_stats(const MixCli& c) {
  check_seeds(c);
  const MethodOptions o = c.method.resolve();
  const auto method = make_method(o);
  ParamGeneratorOptions g;
  g.kind = generator_table.from_string(c.generator);
  g.init = c.method.init_kind();
  g.init_eps = c.method.init_eps;
  g.noise = c.noise;
  g.validate();
  const auto S = static_cast<Index>(c.seeds);
  SeedStats out;
  out.stats.resize(static_cast<std::size_t>(S));
  out.iterations.assign(static_cast<std::size_t>(S), 0);
  if (c.jacobian) out.learn.resize(static_cast<std::size_t>(S));
  std::vector<std::string> issues(static_cast<std::size_t>(S));
  parallel_for(S, c.threads, [&](Index k) {
    const Vec theta = generate_params(*method, g, c.seed + static_cast<std::uint64_t>(k));
    const MixResult r = method->mix(theta);
    const auto kk = static_cast<std::size_t>(k);
    if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue) {
      issues[kk] = r.sinkhorn->issue;
      return;
    }
    if (r.sinkhorn) out.iterations[kk] = r.sinkhorn->iterations;
    out.stats[kk] = matrix_stats(r.H, tropical_of(o, theta));
    if (c.jacobian) out.learn[kk] = learnability(*method, theta);
  });
  for (Index k = 0; k < S; ++k)
    if (!issues[static_cast<std::size_t>(k)].empty())
      throw ComputeError("numerical issue at seed " + std::to_string(c.seed + static_cast<std::uint64_t>(k)) + ": " +
                         issues[static_cast<std::size_t>(k)]);
  return out;
}

/// One row per seed: seed,row_err,col_err,min_entry,spectral_norm,dist_identity,dist_tropical,iterations
/// (+ jac_sigma_max,jac_sigma_min_nonzero,jac_rank,logit_range with --jacobian).
std::string seeds_csv(const MixCli& c) {
  const SeedStats s = seed_stats(c);
  std::string csv = "seed,row_err,col_err,min_entry,spectral_norm,dist_identity,dist_tropical,iterations";
  csv += c.jacobian ? ",jac_sigma_max,jac_sigma_min_nonzero,jac_rank,logit_range\n" : "\n";
  for (std::size_t k = 0; k < s.stats.size(); ++k) {
    const MatrixStats& m = s.stats[k];
    csv += std::to_string(c.seed + k) + ',' + g17(m.row_err) + ',' + g17(m.col_err) + ',' + g17(m.min_entry) + ',' +
           g17(m.spectral_norm) + ',' + g17(m.dist_identity) + ',' + g17(m.dist_tropical) + ',' +
           std::to_string(s.iterations[k]);
    if (c.jacobian) {
      const LearnabilitySummary& l = s.learn[k];
      csv += ',' + g17(l.sigma_max) + ',' + g17(l.sigma_min_nonzero) + ',' + std::to_string(l.rank) + ',' +
             g17(l.logit_range);
    }
    csv += '\n';
  }
  return csv;
}

int run_seeds(const MixCli& c) {
  if (!c.out.empty()) {
    emit(c.out, seeds_csv(c));
    fmt::print(stderr, "mhclab mix: {} seed(s), wrote {}\n", c.seeds, c.out);
    return 0;
  }
  const SeedStats st = seed_stats(c);
  const MethodOptions o = c.method.resolve();
  fmt::print("method={} n={} generator={} init={} noise={} seeds={} seed0={}\n", c.method.method, o.n, c.generator,
             c.method.init, g17(c.noise), c.seeds, c.seed);
  fmt::print("{:<14} {:>24} {:>24} {:>24}\n", "metric", "mean", "median", "max");
  auto row = [&](const char* name, auto get) {
    std::vector<double> v;
    v.reserve(st.stats.size());
    for (const auto& s : st.stats) v.push_back(get(s));
    const SampleSummary q = summarize(v);
    fmt::print("{:<14} {:>24} {:>24} {:>24}\n", name, g17(q.mean), g17(q.median), g17(q.max));
  };
  row("row_err", [](const MatrixStats& s) { return s.row_err; });
  row("col_err", [](const MatrixStats& s) { return s.col_err; });
  row("min_entry", [](const MatrixStats& s) { return s.min_entry; });
  row("spectral_norm", [](const MatrixStats& s) { return s.spectral_norm; });
  row("dist_identity", [](const MatrixStats& s) { return s.dist_identity; });
  row("dist_tropical", [](const MatrixStats& s) { return s.dist_tropical; });
  if (c.jacobian) {
    auto lrow = [&](const char* name, auto get) {
      std::vector<double> v;
      v.reserve(st.learn.size());
      for (const auto& l : st.learn) v.push_back(get(l));
      const SampleSummary q = summarize(v);
      fmt::print("{:<14} {:>24} {:>24} {:>24}\n", name, g17(q.mean), g17(q.median), g17(q.max));
    };
    lrow("jac_sigma_max", [](const LearnabilitySummary& l) { return l.sigma_max; });
    lrow("jac_sigma_min_nonzero", [](const LearnabilitySummary& l) { return l.sigma_min_nonzero; });
    lrow("jac_rank", [](const LearnabilitySummary& l) { return static_cast<double>(l.rank); });
    lrow("logit_range", [](const LearnabilitySummary& l) { return l.logit_range; });
  }
  return 0;
}
}  // namespace

VerbFunctions declare_mix(CLI::App* sub) {
  auto c = std::make_shared<MixCli>();
  c->method.add_to(sub);
  sub->add_option("--logits", c->logits, "Parameters (.npy or .csv): the vector (p,) in SPEC §2's order, or for hc/mhc/tropical the (n, n) logit "
                  "matrix Z (tbp: the (n-1, n-1) chart matrix), row-major as NumPy/PyTorch save it");
  sub->add_option("--out", c->out,
                  "Write H to FILE.npy or FILE.csv instead of printing it; with --seeds, one CSV row per seed");
  sub->add_option("--seeds", c->seeds, "Summary statistics of S generated matrices");
  sub->add_option("--seed", c->seed, "First seed S0 (seeds S0..S0+S-1)")->capture_default_str();
  sub->add_option("--generator", c->generator, "Generator for --seeds: init|random")->capture_default_str();
  sub->add_option("--noise", c->noise, "σ of the random generator (θ = init + σ·N(0,1))")->capture_default_str();
  sub->add_option("--threads", c->threads, "Threads (0 = all cores); results do not depend on it")
      ->capture_default_str();
  sub->add_flag("--jacobian", c->jacobian,
                "Learnability: singular values of dH/dtheta, rank and logit range instead of H; --out J.csv writes "
                "the Jacobian (i,j,k,value); with --seeds adds jac_* columns");
  auto run = [c] {
    check_jacobian_out(*c);
    if (c->threads < 0) throw InputError("threads = " + std::to_string(c->threads) + "; must be ≥ 0");
    return c->seeds != 0 ? run_seeds(*c) : run_single(*c);
  };
  return {[c] { check_seeds(*c); }, [c] { return seeds_csv(*c); }, run};
}

void setup_mix(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("mix", "Build one mixing matrix H (or statistics of --seeds S of them)");
  r.add(sub, declare_mix(sub).run);
}

}  // namespace mhclab::app
