// `mhclab fit` (CLI.md; the `expressivity` experiment): for each of S seeds draw an interior Birkhoff target T
// (mixing/birkhoff.hpp birkhoff_target: Dirichlet(α) weights over all n! permutations, mixed with s·J/n; the
// random stream is keyed by (seed, Purpose::Target, n) only, so every method sees the same targets), then report
// two separate things:
//   reach   ‖mix(θ_inv) − T‖_max for θ_inv from the method's inverse chart (mixing/inverse_chart.hpp):
//           reach_status ok, or no_chart (the method has none: kromhc, resnet, tropical; reach_err empty), or
//           outside (the target, after undoing --lazy/--minorize, is not in the chart's domain; reach_err empty);
//   fit     the residual after fit_target (mixing/fit.hpp): Adam on ½‖mix(θ) − T‖_F² from the --init parameters
//           (default identity) for exactly --fit-steps steps at --fit-lr.
// One CSV row per seed:
//   seed,reach_err,reach_status,fit_residual_fro,fit_residual_max,initial_residual_fro,fit_steps_run
// (fit_steps_run = Adam steps taken, = --fit-steps; a different name from the option so that `mhclab run` does not
// have to rename the configuration column).
#include <fmt/core.h>

#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/birkhoff.hpp"
#include "mhclab/mixing/fit.hpp"
#include "mhclab/mixing/inverse_chart.hpp"
#include "mhclab/mixing/permutations.hpp"

namespace mhclab::app {

namespace {
struct FitCli {
  MethodCli method;
  std::string target = "birkhoff";
  double dirichlet_alpha = 1.0;
  double uniform_mix = 0.1;
  long seeds = 1;
  std::uint64_t seed = 0;
  long fit_steps = 2000;
  double fit_lr = 0.05;
  std::string out;
  int threads = 0;
};

struct FitRow {
  std::optional<double> reach_err;
  std::string reach_status;
  FitSummary fit;
};

FitOptions fit_options(const FitCli& c) {
  FitOptions f;
  f.steps = c.fit_steps;
  f.lr = c.fit_lr;
  f.validate();
  return f;
}

/// Resolves and validates every option (no computation beyond building the method).
MethodOptions check_fit(const FitCli& c) {
  if (c.target != "birkhoff") throw InputError("target = '" + c.target + "'; expected birkhoff");
  if (c.seeds < 1) throw InputError("seeds = " + std::to_string(c.seeds) + "; must be ≥ 1");
  if (c.threads < 0) throw InputError("threads = " + std::to_string(c.threads) + "; must be ≥ 0");
  (void)fit_options(c);
  const MethodOptions o = c.method.resolve();
  if (o.n > kPermutationTableMaxN)
    throw InputError("n = " + std::to_string(o.n) + "; the birkhoff target enumerates all n! permutations: n ≤ " +
                     std::to_string(kPermutationTableMaxN));
  if (!(std::isfinite(c.dirichlet_alpha) && c.dirichlet_alpha > 0.0))
    throw InputError("dirichlet-alpha = " + g17(c.dirichlet_alpha) + "; must be > 0 and finite");
  if (!(c.uniform_mix >= 0.0 && c.uniform_mix <= 1.0))
    throw InputError("uniform-mix = " + g17(c.uniform_mix) + "; must be in [0, 1]");
  const auto method = make_method(o);
  (void)method->init_params(c.method.init_kind(), c.method.init_eps);
  return o;
}

std::vector<FitRow> fit_rows(const FitCli& c) {
  const MethodOptions o = check_fit(c);
  const FitOptions fo = fit_options(c);
  const auto method = make_method(o);
  const Vec theta0 = method->init_params(c.method.init_kind(), c.method.init_eps);
  const auto S = static_cast<Index>(c.seeds);
  std::vector<FitRow> rows(static_cast<std::size_t>(S));
  parallel_for(S, c.threads, [&](Index k) {
    const std::uint64_t seed = c.seed + static_cast<std::uint64_t>(k);
    RandomStream rng(seed, Purpose::Target, {static_cast<std::uint64_t>(o.n)});
    const Mat T = birkhoff_target(o.n, c.dirichlet_alpha, c.uniform_mix, rng);
    FitRow& row = rows[static_cast<std::size_t>(k)];
    if (!has_inverse_chart(o.method)) {
      row.reach_status = "no_chart";
    } else if (const std::optional<Vec> inv = inverse_chart(o, T)) {
      row.reach_err = reach_error(*method, *inv, T);
      row.reach_status = "ok";
    } else {
      row.reach_status = "outside";
    }
    row.fit = fit_target(*method, theta0, T, fo);
  });
  return rows;
}

std::string fit_csv(const FitCli& c) {
  const std::vector<FitRow> rows = fit_rows(c);
  std::string csv =
      "seed,reach_err,reach_status,fit_residual_fro,fit_residual_max,initial_residual_fro,fit_steps_run\n";
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const FitRow& r = rows[k];
    csv += std::to_string(c.seed + k) + ',' + (r.reach_err ? g17(*r.reach_err) : std::string()) + ',' + r.reach_status +
           ',' + g17(r.fit.residual_fro) + ',' + g17(r.fit.residual_max) + ',' + g17(r.fit.initial_residual_fro) + ',' +
           std::to_string(r.fit.steps) + '\n';
  }
  return csv;
}
}  // namespace

VerbFunctions declare_fit(CLI::App* sub) {
  auto c = std::make_shared<FitCli>();
  c->method.add_to(sub);
  sub->add_option("--target", c->target, "Target family: birkhoff (Dirichlet weights over all n! permutations)")
      ->capture_default_str();
  sub->add_option("--dirichlet-alpha", c->dirichlet_alpha, "Dirichlet concentration α of the permutation weights")
      ->capture_default_str();
  sub->add_option("--uniform-mix", c->uniform_mix, "s of T = (1-s)·Σ w_k P_k + s·J/n (s > 0: interior)")
      ->capture_default_str();
  sub->add_option("--seeds", c->seeds, "Number of targets S (seeds S0..S0+S-1)")->capture_default_str();
  sub->add_option("--seed", c->seed, "First seed S0")->capture_default_str();
  sub->add_option("--fit-steps", c->fit_steps, "Adam steps of the gradient-descent fit")->capture_default_str();
  sub->add_option("--fit-lr", c->fit_lr, "Adam learning rate (constant)")->capture_default_str();
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--threads", c->threads, "Threads over seeds (0 = all cores); results do not depend on it")
      ->capture_default_str();
  auto run = [c] {
    const std::string csv = fit_csv(*c);
    emit(c->out, csv);
    if (!c->out.empty()) fmt::print(stderr, "mhclab fit: {} target(s), wrote {}\n", c->seeds, c->out);
    return 0;
  };
  return {[c] { (void)check_fit(*c); }, [c] { return fit_csv(*c); }, run};
}

void setup_fit(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("fit", "Reach and gradient-descent fit of random interior Birkhoff targets");
  r.add(sub, declare_fit(sub).run);
}

}  // namespace mhclab::app
