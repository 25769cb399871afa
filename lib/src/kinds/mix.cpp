// The mix kind: see mhclab/kinds/mix.hpp.
#include "mhclab/kinds/mix.hpp"

#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "mhclab/mixing/learnability.hpp"
#include "mhclab/mixing/matrix_stats.hpp"

namespace mhclab {

namespace {
/// The tropical permutation of the same logits for the Sinkhorn family (SPEC §4 dist_tropical), else none.
Mat tropical_of(const MethodOptions& o, const Vec& theta) {
  if (o.method != MethodId::MHC && o.method != MethodId::Tropical) return Mat();
  Mat Z(o.n, o.n);
  for (Index i = 0; i < o.n; ++i)
    for (Index j = 0; j < o.n; ++j) Z(i, j) = theta[i * o.n + j];
  return permutation_matrix(max_weight_assignment(Z).sigma);
}
}  // namespace

void MixKindOptions::validate() const {
  validate_runs(seeds, threads);
  method.validate();
  generator.validate();
  (void)make_method(method)->init_params(generator.init, generator.init_eps);
}

void bind_mix_options(OptionSet& s, MixKindOptions& o) {
  bind_method_options(s, o.method, o.generator.init, o.generator.init_eps);
  bind_seed_options(s, o.seeds, o.first_seed, "generated matrices");
  s.bind("generator", o.generator.kind, generator_table, "Parameter generator (init or random)");
  s.bind("noise", o.generator.noise, "σ of the random generator (θ = init + σ·N(0,1))");
  bind_threads_option(s, o.threads);
  s.bind("jacobian", o.jacobian,
         "Learnability: singular values of dH/dtheta, rank and logit range (with seeds: the jac_* columns)", true);
}

ResultTable mix_kind(const MixKindOptions& o) {
  o.validate();
  const auto method = make_method(o.method);
  const auto S = static_cast<std::size_t>(o.seeds);
  std::vector<MatrixStats> stats(S);
  std::vector<int> iterations(S, 0);
  std::vector<LearnabilitySummary> learn(o.jacobian ? S : 0);
  std::vector<std::string> issues(S);
  parallel_for(o.seeds, o.threads, [&](Index k) {
    const auto i = static_cast<std::size_t>(k);
    const Vec theta = generate_params(*method, o.generator, o.first_seed + i);
    const MixResult r = method->mix(theta);
    if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue) {
      issues[i] = r.sinkhorn->issue;
      return;
    }
    if (r.sinkhorn) iterations[i] = r.sinkhorn->iterations;
    stats[i] = matrix_stats(r.H, tropical_of(o.method, theta));
    if (o.jacobian) learn[i] = learnability(*method, theta);
  });
  for (std::size_t i = 0; i < S; ++i)
    if (!issues[i].empty())
      throw ComputeError("numerical issue at seed " + std::to_string(o.first_seed + i) + ": " + issues[i]);
  std::vector<ColumnSpec> columns{
      {"seed", ColumnType::Unsigned, "seed of θ"},
      {"row_err", ColumnType::Real, "max_i |Σ_j H_ij − 1|"},
      {"col_err", ColumnType::Real, "max_j |Σ_i H_ij − 1|"},
      {"min_entry", ColumnType::Real, "min_ij H_ij"},
      {"spectral_norm", ColumnType::Real, "σ_max(H)"},
      {"dist_identity", ColumnType::Real, "‖H − I‖_F"},
      {"dist_tropical", ColumnType::Real, "‖H − P_trop‖_max (assignment of the logits, else nearest permutation)"},
      {"iterations", ColumnType::Integer, "Sinkhorn iterations run (0: no Sinkhorn)"},
  };
  if (o.jacobian) {
    columns.push_back({"jac_sigma_max", ColumnType::Real, "largest singular value of ∂vec(H)/∂θ"});
    columns.push_back({"jac_sigma_min_nonzero", ColumnType::Real, "smallest σ > 1e-12·σ_max of ∂vec(H)/∂θ"});
    columns.push_back({"jac_rank", ColumnType::Integer, "numerical rank of ∂vec(H)/∂θ"});
    columns.push_back({"logit_range", ColumnType::Real, "range of the logits (exp(Z/τ) methods: (max Z − min Z)/τ)"});
  }
  ResultTable t(std::move(columns));
  for (std::size_t i = 0; i < S; ++i) {
    const MatrixStats& m = stats[i];
    t.add_row();
    t.set_unsigned(0, o.first_seed + i);
    t.set_real(1, m.row_err);
    t.set_real(2, m.col_err);
    t.set_real(3, m.min_entry);
    t.set_real(4, m.spectral_norm);
    t.set_real(5, m.dist_identity);
    t.set_real(6, m.dist_tropical);
    t.set_integer(7, iterations[i]);
    if (o.jacobian) {
      t.set_real(8, learn[i].sigma_max);
      t.set_real(9, learn[i].sigma_min_nonzero);
      t.set_integer(10, learn[i].rank);
      t.set_real(11, learn[i].logit_range);
    }
  }
  return t;
}

}  // namespace mhclab
