// `mhclab mix` (CLI.md): builds one H (mix(method, θ), mixing/method.hpp), or with --seeds S the mix experiment kind
// (kinds/mix.hpp): per-seed statistics of S generated matrices, summarised on stdout or one CSV row per seed.
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
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/mix.hpp"
#include "mhclab/mixing/learnability.hpp"
#include "mhclab/mixing/matrix_stats.hpp"

namespace mhclab::app {

namespace {
struct MixCli {
  MixKindOptions o;  ///< method, init, generator, seeds, jacobian, threads
  OptionSet options;
  std::string logits;
  std::string out;
  bool seeds_given = false;  ///< --seeds: the statistics of generated matrices instead of one H
};

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
  if (c.o.jacobian && !c.seeds_given && !c.out.empty() && !ends_with(c.out, ".csv"))
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
  const MethodOptions& o = c.o.method;
  const auto method = make_method(o);
  const ParamMatrixShape shape = param_matrix_shape(o);
  const Vec theta = c.logits.empty() ? method->init_params(c.o.generator.init, c.o.generator.init_eps)
                                     : read_params(c.logits, method->num_params(), shape.rows, shape.cols);
  const MixResult r = method->mix(theta);
  if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue) {
    fmt::print(stderr, "mhclab: numerical issue: {}\n", r.sinkhorn->issue);
    fmt::print("status=numerical_issue\n");
    return 1;
  }
  if (c.o.jacobian) return run_jacobian(c, *method, theta);
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

int run_seeds(const MixCli& c) {
  if (!c.logits.empty()) throw InputError("--seeds generates matrices; it cannot be combined with --logits");
  check_csv_outputs({{"out", c.out}});
  const ResultTable t = mix_kind(c.o);
  if (!c.out.empty()) {
    emit(c.out, t.to_csv());
    fmt::print(stderr, "mhclab mix: {} seed(s), wrote {}\n", c.o.seeds, c.out);
    return 0;
  }
  const MethodOptions& o = c.o.method;
  fmt::print("method={} n={} generator={} init={} noise={} seeds={} seed0={}\n", method_table.to_string(o.method), o.n,
             generator_table.to_string(c.o.generator.kind), init_table.to_string(c.o.generator.init),
             g17(c.o.generator.noise), c.o.seeds, c.o.first_seed);
  fmt::print("{:<14} {:>24} {:>24} {:>24}\n", "metric", "mean", "median", "max");
  for (const ColumnData& col : t.columns()) {
    if (col.spec.name == "seed" || col.spec.name == "iterations") continue;
    std::vector<double> v;
    if (col.spec.type == ColumnType::Real) v.assign(col.real.begin(), col.real.end());
    else
      for (std::int64_t x : col.integer) v.push_back(static_cast<double>(x));
    const SampleSummary q = summarize(v);
    fmt::print("{:<14} {:>24} {:>24} {:>24}\n", col.spec.name, g17(q.mean), g17(q.median), g17(q.max));
  }
  return 0;
}
}  // namespace

void setup_mix(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("mix", "Build one mixing matrix H (or statistics of --seeds S of them)");
  auto c = std::make_shared<MixCli>();
  bind_mix_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--logits", c->logits, "Parameters (.npy or .csv): the vector (p,) in SPEC §2's order, or for hc/mhc/tropical the (n, n) logit "
                  "matrix Z (tbp: the (n-1, n-1) chart matrix), row-major as NumPy/PyTorch save it");
  sub->add_option("--out", c->out,
                  "Write H to FILE.npy or FILE.csv instead of printing it; with --seeds, one CSV row per seed; with "
                  "--jacobian (one H), the Jacobian dH/dtheta in long form (FILE.csv: i,j,k,value)");
  r.add(sub, [c, sub] {
    c->seeds_given = sub->count("--seeds") > 0;
    check_jacobian_out(*c);
    check_output_paths({{"logits", c->logits}}, {{"out", c->out}});
    return c->seeds_given ? run_seeds(*c) : run_single(*c);
  });
}

}  // namespace mhclab::app
