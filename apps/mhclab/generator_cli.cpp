// The generator and file options (CLI.md "Generators", "Files"), shared by the verbs that build stacks.
#include <sstream>

#include "commands.hpp"
#include "mhclab/core/error.hpp"

namespace mhclab::app {

void GeneratorCli::add_to(CLI::App* sub) {
  sub->add_option("--generator", generator, "Stack generator: init|random|drift|trained|file (trained: --input DIR of `mhclab train --out DIR`)")->capture_default_str();
  sub->add_option("--noise", noise, "σ of `random`: θ_l = init + σ·N(0,1)")->capture_default_str();
  sub->add_option("--eta", eta, "η of `drift` (step size)")->capture_default_str();
  sub->add_option("--steps", steps, "`drift` snapshot step(s): K or K1,K2,... (strictly increasing); `trained`: which of the run's snapshots (default all)");
  sub->add_option("--rho", rho, "ρ of `drift`: weight of the step component shared by all layers, in [0, 1]")
      ->capture_default_str();
  sub->add_option("--input", input,
                  "`file` generator: stack file (.npy, long-form .csv, or .safetensors with --tensor); `trained`: the run's directory");
  sub->add_option("--tensor", tensor, "The tensor to read from a .safetensors --input");
  sub->add_option("--input-kind", input_kind, "What the file's trailing axes hold: " + input_kind_table.names())
      ->capture_default_str();
  sub->add_option("--layout", layout, "to_from (paper orientation) or from_to (transpose on read)")
      ->capture_default_str();
  sub->add_option("--seeds", seeds, "Number of seeds S (seeds S0..S0+S-1)")->capture_default_str();
  sub->add_option("--seed", seed, "First seed S0")->capture_default_str();
}

StackOptions GeneratorCli::resolve(const MethodCli& method, long layers) const {
  StackOptions s;
  s.kind = generator_table.from_string(generator);
  s.init = method.init_kind();
  s.init_eps = method.init_eps;
  s.noise = noise;
  s.eta = eta;
  s.rho = rho;
  if (!steps.empty()) {
    std::stringstream ss(steps);
    std::string item;
    while (std::getline(ss, item, ',')) {
      try {
        std::size_t pos = 0;
        const long k = std::stol(item, &pos);
        if (pos != item.size()) throw std::invalid_argument(item);
        s.steps.push_back(k);
      } catch (const std::exception&) {
        throw InputError("steps = '" + steps + "'; expected an integer K or a comma-separated list K1,K2,...");
      }
    }
  }
  s.input = input;
  s.input_kind = input_kind_table.from_string(input_kind);
  s.layout = layout_table.from_string(layout);
  s.tensor = tensor;
  const bool file = s.kind == GeneratorKind::File || s.kind == GeneratorKind::Trained;  // read, not drawn
  if (layers < (file ? 0 : 1))
    throw InputError("layers = " + std::to_string(layers) + "; must be ≥ 1 (--layers" +
                     (file ? "; 0 = as in the file)" : ")"));
  s.layers = layers;
  if (seeds < 1) throw InputError("seeds = " + std::to_string(seeds) + "; must be ≥ 1");
  if (file && seeds != 1)
    throw InputError("seeds = " + std::to_string(seeds) + "; the file and trained generators read their stack: use --seeds 1");
  s.validate();
  return s;
}

}  // namespace mhclab::app
