// `mhclab fit` (CLI.md; the `expressivity` experiment): a shell over the fit experiment kind (kinds/fit.hpp): reach
// and gradient-descent fit of random interior Birkhoff targets, one CSV row per seed.
#include <fmt/core.h>

#include <memory>

#include "commands.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/fit.hpp"

namespace mhclab::app {

namespace {
struct FitCli {
  FitKindOptions o;
  OptionSet options;
  std::string out;
};
}  // namespace

void setup_fit(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("fit", "Reach and gradient-descent fit of random interior Birkhoff targets");
  auto c = std::make_shared<FitCli>();
  bind_fit_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  r.add(sub, [c] {
    check_csv_outputs({{"out", c->out}});
    emit(c->out, fit_kind(c->o).to_csv());
    if (!c->out.empty()) fmt::print(stderr, "mhclab fit: {} target(s), wrote {}\n", c->o.seeds, c->out);
    return 0;
  });
}

}  // namespace mhclab::app
