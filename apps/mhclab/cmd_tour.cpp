// `mhclab tour`: the README's main job until the experiments land: the seeds' 2-neuron walkthrough
// (SPEC §9) and the one-screen comparison of the methods.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/core/build_info.hpp"
#include "mhclab/report/method_comparison.hpp"
#include "mhclab/report/walkthrough.hpp"

namespace mhclab::app {

void setup_tour(CLI::App& app, Registry& r) {
  struct TourCli {
    long n = 4;
    int draws = 100;
    double init_eps = 0.01;
  };
  auto c = std::make_shared<TourCli>();
  CLI::App* sub = app.add_subcommand("tour", "The seeds' 2-neuron walkthrough and a comparison of the methods");
  sub->add_option("--n", c->n, "n of the comparison table")->capture_default_str();
  sub->add_option("--draws", c->draws, "Random θ draws per method")->capture_default_str();
  sub->add_option("--init-eps", c->init_eps, "ε of the identity init")->capture_default_str();
  r.add(sub, [c] {
    const BuildInfo b = build_info();
    fmt::print("mhclab {} (commit {}, {} {})\n\n", b.version, b.commit, b.compiler, b.flags);
    fmt::print("== The 2-neuron walkthrough (seed 002, SPEC §9) ==\n");
    const Walkthrough w = seed_walkthrough();
    for (const auto& line : w.lines)
      fmt::print("{:<66} {:<44} seed: {}{}\n", line.label, line.computed, line.claim,
                 line.exact ? "" : "  [not exact]");
    fmt::print("\n== Mixing methods (SPEC §2) ==\n");
    MethodComparisonOptions o;
    o.n = c->n;
    o.random_draws = c->draws;
    o.init_eps = c->init_eps;
    fmt::print("{}", format_comparison(compare_methods(o), o.n));
    return 0;
  });
}

}  // namespace mhclab::app
