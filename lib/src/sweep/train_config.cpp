// The training configuration file; see mhclab/sweep/train_config.hpp.
#include "mhclab/sweep/train_config.hpp"

#include <toml++/toml.h>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/sweep/experiment.hpp"

namespace mhclab {

namespace {
std::string value_text(const std::string& file, const std::string& key, const toml::node& n) {
  const std::string where = file + ":" + std::to_string(n.source().begin.line) + ": ";
  if (const auto* s = n.as_string()) return s->get();
  if (const auto* i = n.as_integer()) return std::to_string(i->get());
  if (const auto* f = n.as_floating_point()) return format_double(f->get());
  if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* a = n.as_array()) {
    std::string t;
    for (const toml::node& x : *a) {
      if (!x.as_integer()) throw InputError(where + "key '" + key + "' holds an array with a non-integer");
      t += (t.empty() ? "" : ",") + std::to_string(x.as_integer()->get());
    }
    return t;
  }
  throw InputError(where + "key '" + key + "' has an unsupported value type");
}
}  // namespace

void apply_train_config(std::string_view text, const std::string& file, const OptionSet& options,
                        const std::function<bool(const std::string& key)>& keep) {
  check_toml_depth(text, file);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw InputError(file + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }
  const toml::table* t = &root;
  if (const toml::node* tr = root.get("train")) {
    if (!tr->is_table())
      throw InputError(file + ":" + std::to_string(tr->source().begin.line) + ": 'train' must be a table");
    if (root.size() != 1)
      throw InputError(file + ": keys outside the [train] table; use either a flat table or [train], not both");
    t = tr->as_table();
  }
  for (const auto& [k, node] : *t) {
    const std::string key(k.str());
    const std::string where = file + ":" + std::to_string(k.source().begin.line) + ": ";
    // threads is how a run is executed, not what it computes: never part of a configuration (nor of config.toml).
    const OptionSpec* spec = key == "threads" ? nullptr : options.find(key);
    if (spec == nullptr) throw InputError(where + "unknown key '" + key + "' (see mhclab train --help for the keys)");
    if (keep && keep(spec->key)) continue;
    const std::string value = value_text(file, key, node);
    try {
      spec->set(value);
    } catch (const InputError& e) {
      throw InputError(where + "key '" + key + "': " + e.what());
    }
  }
}

}  // namespace mhclab
