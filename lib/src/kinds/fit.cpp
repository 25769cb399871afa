// The fit kind: see mhclab/kinds/fit.hpp.
#include "mhclab/kinds/fit.hpp"

#include <cmath>
#include <optional>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/inverse_chart.hpp"
#include "mhclab/mixing/permutations.hpp"

namespace mhclab {

void FitKindOptions::validate() const {
  if (target != "birkhoff") throw InputError("target = '" + target + "'; expected birkhoff");
  validate_runs(seeds, threads);
  fit.validate();
  method.validate();
  if (method.n > kPermutationTableMaxN)
    throw InputError("n = " + std::to_string(method.n) + "; the birkhoff target enumerates all n! permutations: n ≤ " +
                     std::to_string(kPermutationTableMaxN));
  if (!(std::isfinite(dirichlet_alpha) && dirichlet_alpha > 0.0))
    throw InputError("dirichlet-alpha = " + format_double(dirichlet_alpha) + "; must be > 0 and finite");
  if (!(uniform_mix >= 0.0 && uniform_mix <= 1.0))
    throw InputError("uniform-mix = " + format_double(uniform_mix) + "; must be in [0, 1]");
  (void)make_method(method)->init_params(init, init_eps);
}

void bind_fit_options(OptionSet& s, FitKindOptions& o) {
  bind_method_options(s, o.method, o.init, o.init_eps);
  s.bind("target", o.target, "Target family: birkhoff (Dirichlet weights over all n! permutations)");
  s.bind("dirichlet-alpha", o.dirichlet_alpha, "Dirichlet concentration α of the permutation weights");
  s.bind("uniform-mix", o.uniform_mix, "s of T = (1-s)·Σ w_k P_k + s·J/n (s > 0: interior)");
  bind_seed_options(s, o.seeds, o.first_seed, "targets");
  s.bind("fit-steps", o.fit.steps, "Adam steps of the gradient-descent fit");
  s.bind("fit-lr", o.fit.lr, "Adam learning rate (constant)");
  bind_threads_option(s, o.threads);
}

ResultTable fit_kind(const FitKindOptions& o) {
  o.validate();
  const auto method = make_method(o.method);
  const Vec theta0 = method->init_params(o.init, o.init_eps);
  const auto S = static_cast<std::size_t>(o.seeds);
  std::vector<std::optional<double>> reach(S);
  std::vector<std::string> status(S);
  std::vector<FitSummary> fits(S);
  parallel_for(o.seeds, o.threads, [&](Index k) {
    const std::uint64_t seed = o.first_seed + static_cast<std::uint64_t>(k);
    RandomStream rng(seed, Purpose::Target, {static_cast<std::uint64_t>(o.method.n)});
    const Mat T = birkhoff_target(o.method.n, o.dirichlet_alpha, o.uniform_mix, rng);
    const auto i = static_cast<std::size_t>(k);
    if (!has_inverse_chart(o.method.method)) {
      status[i] = "no_chart";
    } else if (const std::optional<Vec> inv = inverse_chart(o.method, T)) {
      reach[i] = reach_error(*method, *inv, T);
      status[i] = "ok";
    } else {
      status[i] = "outside";
    }
    fits[i] = fit_target(*method, theta0, T, o.fit);
  });
  ResultTable t({
      {"seed", ColumnType::Unsigned, "seed of the target T"},
      {"reach_err", ColumnType::Real, "‖mix(θ_inv) − T‖_max for θ_inv of the inverse chart (empty: no θ_inv)"},
      {"reach_status", ColumnType::Text, "ok | no_chart (the method has none) | outside (T not in the chart's domain)"},
      {"fit_residual_fro", ColumnType::Real, "‖mix(θ) − T‖_F after the Adam fit"},
      {"fit_residual_max", ColumnType::Real, "‖mix(θ) − T‖_max after the Adam fit"},
      {"initial_residual_fro", ColumnType::Real, "‖mix(θ_0) − T‖_F at the init"},
      {"fit_steps_run", ColumnType::Integer, "Adam steps taken"},
  });
  for (std::size_t i = 0; i < S; ++i) {
    t.add_row();
    t.set_unsigned(0, o.first_seed + i);
    if (reach[i]) t.set_real(1, *reach[i]);
    t.set_text(2, status[i]);
    t.set_real(3, fits[i].residual_fro);
    t.set_real(4, fits[i].residual_max);
    t.set_real(5, fits[i].initial_residual_fro);
    t.set_integer(6, fits[i].steps);
  }
  return t;
}

}  // namespace mhclab
