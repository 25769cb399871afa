// A checkpoint's hyper-connection sites as a stack: see mhclab/generators/checkpoint_stack.hpp.
#include "mhclab/generators/checkpoint_stack.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/checkpoint.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"

namespace mhclab {

namespace {
/// A family's names for one site: the base pattern and how fn and scale are named (empty: unknown).
struct FamilyNames {
  std::string base, fn;
  std::vector<std::string> scale;  ///< one tensor [3], or three tensors [1] (scale₀, scale₁, scale₂)
};

FamilyNames family_names(const CheckpointSelection& s) {
  switch (s.family) {
    case CheckpointFamily::DeepseekV4:
      return {"layers.{layer}.hc_{site}_base", "layers.{layer}.hc_{site}_fn", {"layers.{layer}.hc_{site}_scale"}};
    case CheckpointFamily::Megatron: {
      const std::string p = "decoder.layers.{layer}.{site}_hyper_connection.";
      return {p + "bias", p + "mapping_proj.weight", {p + "alpha_pre", p + "alpha_post", p + "alpha_res"}};
    }
    case CheckpointFamily::Pattern: return {s.pattern, "", {}};
  }
  return {};
}

std::string substitute(std::string pattern, Index layer, const std::string& site) {
  for (std::size_t p; (p = pattern.find("{layer}")) != std::string::npos;)
    pattern.replace(p, 7, std::to_string(layer));
  for (std::size_t p; (p = pattern.find("{site}")) != std::string::npos;) pattern.replace(p, 6, site);
  return pattern;
}

std::string regex_escape(const std::string& s) {
  static const std::string special = R"(\^$.|?*+()[]{})";
  std::string out;
  for (const char c : s) {
    if (special.find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

/// The pattern as a regex: {layer} → a decimal without leading zeros (group 1), {site} → one of the sites.
std::regex pattern_regex(const std::string& pattern, const std::vector<std::string>& sites) {
  std::string alt;
  for (const std::string& s : sites) alt += (alt.empty() ? "" : "|") + regex_escape(s);
  std::string re;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern.compare(i, 7, "{layer}") == 0) {
      re += "(0|[1-9][0-9]{0,8})";
      i += 7;
    } else if (pattern.compare(i, 6, "{site}") == 0) {
      re += "(?:" + alt + ")";
      i += 6;
    } else {
      re += regex_escape(std::string(1, pattern[i]));
      ++i;
    }
  }
  return std::regex(re);
}

Vec as_vec(const NpyArray& a) { return Eigen::Map<const Vec>(a.data.data(), static_cast<Index>(a.data.size())); }

/// The tensor `name` as a vector of `expected` entries (any shape with that many values).
Vec read_vector(const Checkpoint& c, const std::string& name, Index expected, const std::string& what) {
  const NpyArray a = c.read(name);
  if (static_cast<Index>(a.data.size()) != expected)
    throw InputError(c.source() + ": tensor '" + name + "' (" + what + ") has shape " + shape_string(a.shape) + "; expected " +
                     std::to_string(expected) + " values");
  return as_vec(a);
}

/// config.json beside the checkpoint: hc_mult (checked against n), hc_sinkhorn_iters, hc_eps.
void read_config(const Checkpoint& c, CheckpointStack& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path src(c.source());
  const fs::path dir = !c.index_file().empty() ? fs::path(c.index_file()).parent_path()
                       : fs::is_directory(src, ec) ? src
                                                   : src.parent_path();
  const fs::path file = dir / "config.json";
  if (!fs::is_regular_file(file, ec)) return;
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  const std::string name = file.string();
  if (j.is_discarded() || !j.is_object()) throw InputError(name + ": not a JSON object (the model's config)");
  auto integer = [&](const char* key) -> std::optional<long> {
    if (!j.contains(key)) return std::nullopt;
    if (!j[key].is_number_integer()) throw InputError(name + ": " + key + " is not an integer");
    return j[key].get<long>();
  };
  if (const auto m = integer("hc_mult"); m && *m != out.n)
    throw InputError(name + ": hc_mult = " + std::to_string(*m) + " but the site tensors have n = " +
                     std::to_string(out.n) + " streams");
  if (const auto t = integer("hc_sinkhorn_iters")) {
    if (*t < 1 || *t > 100000) throw InputError(name + ": hc_sinkhorn_iters = " + std::to_string(*t) + "; expected 1..100000");
    out.config_iters = static_cast<int>(*t);
  }
  if (j.contains("hc_eps")) {
    if (!j["hc_eps"].is_number() || !(j["hc_eps"].get<double>() >= 0.0 && j["hc_eps"].get<double>() < 1.0))
      throw InputError(name + ": hc_eps is not a number in [0, 1)");
    out.config_eps = j["hc_eps"].get<double>();
  }
  out.config_file = name;
}

Vec read_scale(const Checkpoint& c, const FamilyNames& f, Index layer, const std::string& site) {
  if (f.scale.size() == 1) return read_vector(c, substitute(f.scale[0], layer, site), 3, "scale");
  Vec s(3);
  for (int k = 0; k < 3; ++k) s[k] = read_vector(c, substitute(f.scale[static_cast<std::size_t>(k)], layer, site), 1, "scale")[0];
  return s;
}
}  // namespace

std::vector<std::string> checkpoint_family_sites(CheckpointFamily family) {
  switch (family) {
    case CheckpointFamily::DeepseekV4: return {"attn", "ffn"};
    case CheckpointFamily::Megatron: return {"self_attention", "mlp"};
    case CheckpointFamily::Pattern: return {};
  }
  return {};
}

void CheckpointSelection::validate() const {
  if (family == CheckpointFamily::Pattern) {
    if (pattern.find("{layer}") == std::string::npos)
      throw InputError("pattern = '" + pattern + "'; expected the base tensor's name with {layer} (and {site}), e.g. "
                       "'layers.{layer}.hc_{site}_base'");
    const bool has_site = pattern.find("{site}") != std::string::npos;
    if (has_site && sites.empty()) throw InputError("pattern has {site}: give the sites in depth order, e.g. attn,ffn");
    if (!has_site && sites.size() > 1)
      throw InputError("pattern has no {site} but " + std::to_string(sites.size()) + " sites were given");
    if (!hidden.empty())
      throw InputError("hidden needs the fn and scale tensors, which only a named family (deepseek-v4, megatron) "
                       "locates; family pattern reads the static mixing");
  } else if (!pattern.empty()) {
    throw InputError("pattern is only for family = pattern (got family " +
                     std::string(checkpoint_family_table.to_string(family)) + ")");
  }
  std::set<std::string> seen;
  for (const std::string& s : sites) {
    if (s.empty() || !seen.insert(s).second) throw InputError("sites: '" + s + "' is empty or repeated");
  }
  if (!(hc_eps >= 0.0 && hc_eps < 1.0)) throw InputError("hc-eps must be in [0, 1)");
  if (!(norm_eps > 0.0 && norm_eps < 1.0)) throw InputError("norm-eps must be in (0, 1)");
}

std::string checkpoint_gates_csv(const CheckpointStack& cs) {
  std::string out = cs.tokens > 0 ? "token,site,layer,name" : "site,layer,name";
  for (const char* g : {"pre_", "post_"})
    for (Index i = 0; i < cs.n; ++i) out += "," + std::string(g) + std::to_string(i);
  out += '\n';
  const std::size_t S = cs.sites.size();
  for (std::size_t e = 0; e < cs.gates.size(); ++e) {
    const std::size_t s = e % S;
    if (cs.tokens > 0) out += std::to_string(e / S) + ",";
    out += std::to_string(s) + "," + std::to_string(cs.sites[s].layer) + "," + cs.sites[s].site;
    for (const Vec* v : {&cs.gates[e].pre, &cs.gates[e].post})
      for (Index i = 0; i < v->size(); ++i) out += "," + format_double((*v)[i]);
    out += '\n';
  }
  return out;
}

CheckpointStack read_checkpoint_stack(const std::string& path, const CheckpointSelection& sel) {
  sel.validate();
  const Checkpoint ckpt(path);
  const FamilyNames f = family_names(sel);
  std::vector<std::string> sites = sel.sites.empty() ? checkpoint_family_sites(sel.family) : sel.sites;
  if (sites.empty()) sites = {""};  // a pattern without {site}
  // Discover the layers: every name that matches the base pattern.
  const std::regex re = pattern_regex(f.base, sites);
  Index max_layer = -1;
  std::size_t matched = 0;
  for (const std::string& name : ckpt.names()) {
    std::smatch m;
    if (!std::regex_match(name, m, re)) continue;
    ++matched;
    max_layer = std::max<Index>(max_layer, std::stol(m[1].str()));
  }
  if (matched == 0) {
    const std::vector<std::string> names = ckpt.names();
    throw InputError(path + ": no tensor matches '" + f.base + "' (family " +
                     std::string(checkpoint_family_table.to_string(sel.family)) + "); the checkpoint holds " +
                     safetensors_name_list(names, 10));
  }
  CheckpointStack out;
  out.source = path;
  out.layers = max_layer + 1;
  std::vector<std::string> missing;
  for (Index l = 0; l < out.layers; ++l)
    for (const std::string& s : sites) {
      const std::string name = substitute(f.base, l, s);
      if (!ckpt.has(name)) missing.push_back(name);
      out.sites.push_back({l, s, name});
    }
  if (!missing.empty())
    throw InputError(path + ": " + std::to_string(missing.size()) + " site tensor(s) missing below layer " +
                     std::to_string(max_layer) + ": " + safetensors_name_list(missing, 20));
  // Static gates: the mixes at zero.
  const std::size_t S = out.sites.size();
  std::vector<Vec> bases(S), scales(S);
  Index m = 0;
  for (std::size_t k = 0; k < S; ++k) {
    const CheckpointSite& site = out.sites[k];
    const NpyArray b = ckpt.read(site.base_tensor);
    if (k == 0) {
      m = static_cast<Index>(b.data.size());
      out.n = dsv4_streams(m, path + ": tensor '" + site.base_tensor + "'");
    }
    if (static_cast<Index>(b.data.size()) != m)
      throw InputError(path + ": tensor '" + site.base_tensor + "' has shape " + shape_string(b.shape) + "; expected " +
                       std::to_string(m) + " values like '" + out.sites[0].base_tensor + "'");
    bases[k] = as_vec(b);
    scales[k] = f.scale.empty() ? Vec(Vec::Ones(3)) : read_scale(ckpt, f, site.layer, site.site);
  }
  read_config(ckpt, out);
  if (sel.hidden.empty()) {
    for (std::size_t k = 0; k < S; ++k) out.gates.push_back(dsv4_gates(Vec::Zero(m), bases[k], scales[k], sel.hc_eps));
    return out;
  }
  // Per token.
  const NpyArray h = read_npy(sel.hidden);
  const bool states = h.shape.size() == 4;
  if (!(h.shape.size() == 3 || states) || h.shape[1] != S || (states && h.shape[2] != static_cast<std::size_t>(out.n)) ||
      (!states && h.shape[2] != static_cast<std::size_t>(m)) || h.shape[0] == 0)
    throw InputError(sel.hidden + ": shape " + shape_string(h.shape) + "; expected (tokens, " + std::to_string(S) +
                     ", " + std::to_string(out.n) + ", C) residual states or (tokens, " + std::to_string(S) + ", " +
                     std::to_string(m) + ") mixes for the " + std::to_string(S) + " sites of " + path);
  const std::size_t T = h.shape[0];
  const std::size_t width = states ? h.shape[2] * h.shape[3] : h.shape[2];
  out.tokens = T;
  out.gates.resize(T * S);
  for (std::size_t k = 0; k < S; ++k) {
    Mat fn;
    if (states) {
      const std::string name = substitute(f.fn, out.sites[k].layer, out.sites[k].site);
      const NpyArray a = ckpt.read(name);
      if (a.shape.size() != 2 || static_cast<Index>(a.shape[0]) != m || a.shape[1] != width)
        throw InputError(path + ": tensor '" + name + "' has shape " + shape_string(a.shape) + "; expected (" +
                         std::to_string(m) + ", " + std::to_string(width) + ") for hidden states of width " +
                         std::to_string(width / static_cast<std::size_t>(out.n)) + " per stream");
      fn = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          a.data.data(), m, static_cast<Index>(width));
    }
    for (std::size_t t = 0; t < T; ++t) {
      const Eigen::Map<const Vec> v(h.data.data() + (t * S + k) * width, static_cast<Index>(width));
      const Vec mixes = states ? dsv4_mixes(fn, v, sel.norm_eps) : Vec(v);
      out.gates[t * S + k] = dsv4_gates(mixes, bases[k], scales[k], sel.hc_eps);
    }
  }
  return out;
}

std::vector<Dsv4Site> read_checkpoint_sites(const std::string& path, const CheckpointSelection& sel,
                                            const CheckpointStack& stack) {
  const FamilyNames f = family_names(sel);
  if (f.fn.empty())
    throw InputError(path + ": family " + std::string(checkpoint_family_table.to_string(sel.family)) +
                     " does not name the fn and scale tensors a dynamic block needs; use deepseek-v4 or megatron");
  const Checkpoint ckpt(path);
  const Index m = (2 + stack.n) * stack.n;
  std::vector<Dsv4Site> out;
  out.reserve(stack.sites.size());
  Index width = -1;
  for (const CheckpointSite& site : stack.sites) {
    Dsv4Site t;
    t.base = read_vector(ckpt, site.base_tensor, m, "base");
    t.scale = read_scale(ckpt, f, site.layer, site.site);
    const std::string name = substitute(f.fn, site.layer, site.site);
    const NpyArray a = ckpt.read(name);
    if (a.shape.size() != 2 || static_cast<Index>(a.shape[0]) != m || a.shape[1] == 0 ||
        a.shape[1] % static_cast<std::size_t>(stack.n) != 0 || (width >= 0 && static_cast<Index>(a.shape[1]) != width))
      throw InputError(path + ": tensor '" + name + "' has shape " + shape_string(a.shape) + "; expected (" +
                       std::to_string(m) + ", n·C) with n = " + std::to_string(stack.n) +
                       (width >= 0 ? " and n·C = " + std::to_string(width) + " like the first site" : ""));
    width = static_cast<Index>(a.shape[1]);
    t.fn = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), m,
                                                                                                     width);
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace mhclab
