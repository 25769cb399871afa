#pragma once
// Expansion of an experiment into grid points (SPEC §10): every point has a stable id (a hash of its
// resolved configuration) and its own seed (a hash of the experiment seed and the values of the seed keys),
// so any subset of points can run in any order, in any process, and give the same rows.
#include <cstdint>
#include <string>
#include <vector>

#include "mhclab/sweep/experiment.hpp"

namespace mhclab {

/// An option the kind accepts (kinds/option_set.hpp): its key (CLI spelling without "--"), whether it is a switch
/// (only TOML booleans) and whether its value is a boolean (TOML booleans accepted, as well as "true"/"false").
struct OptionSchema {
  std::string key;
  bool flag = false;
  bool boolean = false;
};

struct SweepPoint {
  std::size_t index = 0;            ///< position in grid order (base, then axes in file order, last fastest)
  std::string id;                   ///< 16 hex digits: FNV-1a/SplitMix hash of kind and sorted key=value
  std::uint64_t seed = 0;           ///< first seed of the point (< 2^48, readable on a command line)
  std::vector<ConfigValue> config;  ///< base keys in file order, then the axes' keys

  [[nodiscard]] const ConfigValue* find(const std::string& key) const;
  /// "method=hc, eta=0.1" (axes only when `axes_only`, i.e. what varies).
  [[nodiscard]] std::string describe(const std::vector<std::string>& keys) const;
};

/// Throws InputError "<file>:<line>: unknown key 'x' for kind 'depth'; …" for a key the kind does not take, a
/// reserved key (set by the runner: seed, threads, …), or a boolean given to an option that takes no boolean / a
/// non-boolean to a switch.
void check_keys(const Experiment& e, const std::vector<OptionSchema>& accepted, const std::vector<std::string>& reserved);

/// All points, excluded ones dropped; InputError if none is left or two points have the same configuration.
[[nodiscard]] std::vector<SweepPoint> expand_grid(const Experiment& e);

/// The keys that vary across the grid (axes' keys, in order).
[[nodiscard]] std::vector<std::string> axis_keys(const Experiment& e);

}  // namespace mhclab
