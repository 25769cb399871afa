#include "mhclab/generators/params.hpp"

#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

void ParamGeneratorOptions::validate() const {
  if (kind != GeneratorKind::Init && kind != GeneratorKind::Random)
    throw InputError("generator '" + std::string(generator_table.to_string(kind)) +
                     "' is not available for single matrices yet; use init or random");
  if (!(noise >= 0.0) || !std::isfinite(noise)) throw InputError("noise must be ≥ 0 and finite");
}

Vec generate_params(const Method& method, const ParamGeneratorOptions& o, std::uint64_t seed, std::uint64_t layer,
                    std::uint64_t step) {
  o.validate();
  Vec theta = method.init_params(o.init, o.init_eps);
  if (o.kind == GeneratorKind::Random && o.noise != 0.0) {
    RandomStream s(seed, Purpose::Theta, {layer, step});
    for (Index k = 0; k < theta.size(); ++k) theta[k] += o.noise * s.normal();
  }
  return theta;
}

}  // namespace mhclab
