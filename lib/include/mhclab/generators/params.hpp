#pragma once
// Parameter generators of SPEC §6 for single matrices: `init` (θ = the method's init) and `random`
// (θ = init + σ·N(0,1) per entry). Counter-based seeding: the noise of (seed, layer, step) is the stream
// RandomStream(seed, Purpose::Theta, {layer, step}) consumed in θ order, so any subset of layers/steps can
// be generated in any order or thread with the same numbers. The stack generators (drift, trained, file) are
// in generators/stack.hpp.
#include <cstdint>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

enum class GeneratorKind { Init, Random, Drift, Trained, File, Checkpoint };
inline constexpr EnumTable<GeneratorKind, 6> generator_table{
    "generator",
    {{{GeneratorKind::Init, "init"},
      {GeneratorKind::Random, "random"},
      {GeneratorKind::Drift, "drift"},
      {GeneratorKind::Trained, "trained"},
      {GeneratorKind::File, "file"},
      {GeneratorKind::Checkpoint, "checkpoint"}}}};

struct ParamGeneratorOptions {
  GeneratorKind kind = GeneratorKind::Random;
  InitKind init = InitKind::Identity;
  double init_eps = 0.01;  ///< ε of the identity init
  double noise = 1.0;      ///< σ of `random`
  void validate() const;   ///< init and random only (others: InputError "not available yet")
};

/// θ for (seed, layer, step). Shape: method.num_params().
[[nodiscard]] Vec generate_params(const Method& method, const ParamGeneratorOptions& options, std::uint64_t seed,
                                  std::uint64_t layer = 0, std::uint64_t step = 0);

}  // namespace mhclab
