// `mhclab propagate` (CLI.md, SPEC §5): a shell over the propagate experiment kind (kinds/propagate.hpp): the layer
// model on the H_res stacks of any generator, one CSV row per seed, step and depth l = 0..L (columns there).
#include <fmt/core.h>

#include <memory>

#include "commands.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/propagate.hpp"

namespace mhclab::app {

namespace {
struct PropagateCli {
  PropagateKindOptions o;
  OptionSet options;
  std::string out;
};
}  // namespace

void setup_propagate(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("propagate", "Energy, stream sums and gradient norms through the SPEC §5 layer model");
  auto c = std::make_shared<PropagateCli>();
  bind_propagate_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  r.add(sub, [c] {
    check_output_paths({{"input", c->o.stack.input}}, {{"out", c->out}});
    check_csv_outputs({{"out", c->out}});
    emit(c->out, propagate_kind(c->o).to_csv());
    if (!c->out.empty())
      fmt::print(stderr, "mhclab propagate: method {} n = {} C = {}, {} seed(s), wrote {}\n",
                 method_table.to_string(c->o.method.method), c->o.method.n, c->o.propagation.width, c->o.seeds, c->out);
    return 0;
  });
}

}  // namespace mhclab::app
