#pragma once
// The training configuration file of `mhclab train CONFIG.toml` (kinds/train.hpp's options by their CLI names):
// a flat TOML table, or one [train] table, whose keys are the option names and whose values are strings, integers,
// floats, booleans or arrays of integers. The reader shares the experiment reader's TOML parser and nesting limit.
#include <functional>
#include <string>
#include <string_view>

#include "mhclab/kinds/option_set.hpp"

namespace mhclab {

/// Sets the options named in `text` (a configuration file named `file` in messages) through their OptionSpec, except
/// those for which `keep(key)` is true (e.g. given on the command line, which wins). `threads` is not a
/// configuration key (it does not change the results). Throws InputError "file:line: …" for invalid TOML (or nesting
/// deeper than 64 levels), keys outside [train] when it exists, an unknown key, an unsupported value type or a value
/// the option refuses.
void apply_train_config(std::string_view text, const std::string& file, const OptionSet& options,
                        const std::function<bool(const std::string& key)>& keep = {});

}  // namespace mhclab
