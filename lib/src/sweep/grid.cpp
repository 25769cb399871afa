// Grid expansion: see mhclab/sweep/grid.hpp.
#include "mhclab/sweep/grid.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/hash.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

const ConfigValue* SweepPoint::find(const std::string& key) const {
  for (const ConfigValue& v : config)
    if (v.key == key) return &v;
  return nullptr;
}

std::string SweepPoint::describe(const std::vector<std::string>& keys) const {
  std::string out;
  for (const std::string& k : keys)
    if (const ConfigValue* v = find(k)) {
      if (!out.empty()) out += ", ";
      out += k + "=" + v->text;
    }
  return out;
}

void check_keys(const Experiment& e, const std::vector<OptionSchema>& accepted, const std::vector<std::string>& reserved) {
  auto names = [&] {
    std::string s;
    for (const OptionSchema& o : accepted)
      if (std::find(reserved.begin(), reserved.end(), o.key) == reserved.end()) s += (s.empty() ? "" : ", ") + o.key;
    return s;
  };
  auto check = [&](const ConfigValue& v) {
    if (std::find(reserved.begin(), reserved.end(), v.key) != reserved.end())
      throw InputError(e.where(v.line) + "key '" + v.key + "' is set by `mhclab run`, not by the experiment" +
                       (v.key == "seed" ? " (set [experiment] seed; each point derives its own)" : ""));
    const auto it = std::find_if(accepted.begin(), accepted.end(), [&](const OptionSchema& o) { return o.key == v.key; });
    if (it == accepted.end())
      throw InputError(e.where(v.line) + "unknown key '" + v.key + "' for kind '" + e.kind + "'; expected one of " + names());
    if (it->flag && !v.boolean)
      throw InputError(e.where(v.line) + "key '" + v.key + "' is a flag; expected true or false, got '" + v.text + "'");
    if (!it->flag && !it->boolean && v.boolean)
      throw InputError(e.where(v.line) + "key '" + v.key + "' takes a value, not a boolean");
  };
  for (const ConfigValue& v : e.base) check(v);
  for (const SweepAxis& a : e.axes)
    for (const auto& setting : a.values)
      for (const ConfigValue& v : setting) check(v);
  for (const ExcludeRule& r : e.excludes)
    for (const auto& m : r.match) {
      const std::string& key = m.first;
      const auto it = std::find_if(accepted.begin(), accepted.end(), [&](const OptionSchema& o) { return o.key == key; });
      if (it == accepted.end() || std::find(reserved.begin(), reserved.end(), key) != reserved.end())
        throw InputError(e.where(r.line) + "[[exclude]] names unknown key '" + key + "'");
    }
}

std::vector<std::string> axis_keys(const Experiment& e) {
  std::vector<std::string> out;
  for (const SweepAxis& a : e.axes) out.insert(out.end(), a.keys.begin(), a.keys.end());
  return out;
}

namespace {
/// FNV-1a over the bytes, finalised with SplitMix64.
std::uint64_t hash_text(const std::string& s) { return splitmix64_mix(fnv1a64(s)); }

/// "key=text\n" for the given keys, sorted by key (order of the file does not matter).
std::string canonical(const std::vector<ConfigValue>& config, const std::vector<std::string>* only) {
  std::vector<std::string> lines;
  for (const ConfigValue& v : config)
    if (!only || std::find(only->begin(), only->end(), v.key) != only->end()) lines.push_back(v.key + "=" + v.text + "\n");
  std::sort(lines.begin(), lines.end());
  std::string s;
  for (const std::string& l : lines) s += l;
  return s;
}

bool excluded(const Experiment& e, const std::vector<ConfigValue>& config) {
  for (const ExcludeRule& r : e.excludes) {
    bool all = true;
    for (const auto& [key, texts] : r.match) {
      const std::string& k = key;  // (a structured binding cannot be captured by clang 14)
      const auto it = std::find_if(config.begin(), config.end(), [&](const ConfigValue& v) { return v.key == k; });
      if (it == config.end() || std::find(texts.begin(), texts.end(), it->text) == texts.end()) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}
}  // namespace

std::vector<SweepPoint> expand_grid(const Experiment& e) {
  std::vector<SweepPoint> points;
  std::vector<std::size_t> counter(e.axes.size(), 0);
  std::set<std::string> ids;
  // The size is checked before anything is expanded (a grid of 10^9 points would fill the memory, even for --dry-run).
  double size = 1;
  std::string product;
  for (const SweepAxis& a : e.axes) {
    size *= static_cast<double>(a.values.size());
    product += (product.empty() ? "" : " × ") + std::to_string(a.values.size());
  }
  if (size > static_cast<double>(e.max_points))
    throw InputError(e.where(0) + "the grid has " + format_double(size) + " points (" + product +
                     "), more than max-points = " + std::to_string(e.max_points) +
                     "; set [experiment] max-points to raise the limit");
  const auto total = static_cast<std::size_t>(size);
  for (std::size_t p = 0; p < total; ++p) {
    // Odometer over the axes, last axis fastest.
    std::size_t rest = p;
    for (std::size_t k = e.axes.size(); k-- > 0;) {
      counter[k] = rest % e.axes[k].values.size();
      rest /= e.axes[k].values.size();
    }
    std::vector<ConfigValue> config = e.base;
    for (std::size_t k = 0; k < e.axes.size(); ++k)
      for (const ConfigValue& v : e.axes[k].values[counter[k]]) config.push_back(v);
    if (excluded(e, config)) continue;
    SweepPoint pt;
    pt.index = points.size();
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(hash_text("kind=" + e.kind + "\n" + canonical(config, nullptr))));
    pt.id = hex;
    if (!ids.insert(pt.id).second)
      throw InputError(e.where(0) + "two grid points have the same configuration (" + canonical(config, nullptr) + ")");
    const std::string seed_text = canonical(config, e.has_seed_keys ? &e.seed_keys : nullptr);
    pt.seed = splitmix64_mix(e.seed ^ hash_text(seed_text)) >> 16;
    pt.config = std::move(config);
    points.push_back(std::move(pt));
  }
  if (points.empty()) throw InputError(e.where(0) + "every grid point is excluded; nothing to run");
  return points;
}

}  // namespace mhclab
