#include "mhclab/generators/stack.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/npy.hpp"

#include <nlohmann/json.hpp>

namespace mhclab {
namespace {

std::string kind_name(GeneratorKind k) { return std::string(generator_table.to_string(k)); }

/// One drift step k of one layer: S += shared + b·ξ_{l,k}, where shared = a·ξ_k (already scaled by the caller) and ξ_{l,k} is RandomStream(seed, Drift, {layer, k}). A stream whose coefficient is 0 is not drawn.
void add_drift_step(Vec& S, const Vec& shared, double a, double b, std::uint64_t seed, std::uint64_t layer,
                    std::uint64_t k) {
  if (b != 0.0) {
    RandomStream rl(seed, Purpose::Drift, {layer, k});
    if (a != 0.0)
      for (Index j = 0; j < S.size(); ++j) S[j] += shared[j] + b * rl.normal();
    else
      for (Index j = 0; j < S.size(); ++j) S[j] += b * rl.normal();
  } else {
    S += shared;
  }
}

/// Checks of the numeric options that do not depend on steps/layers/input (shared with stack_theta).
void validate_values(const StackOptions& o) {
  if (!(o.noise >= 0.0) || !std::isfinite(o.noise))
    throw InputError("noise = " + format_double(o.noise, "%g") + "; must be ≥ 0 and finite");
  if (!(o.eta >= 0.0) || !std::isfinite(o.eta))
    throw InputError("eta = " + format_double(o.eta, "%g") + "; must be ≥ 0 and finite");
  if (!(o.rho >= 0.0 && o.rho <= 1.0))
    throw InputError("rho = " + format_double(o.rho, "%g") + "; must be in [0, 1]");
}

ParamGeneratorOptions param_options(const StackOptions& o) {
  ParamGeneratorOptions p;
  p.kind = o.kind == GeneratorKind::Init ? GeneratorKind::Init : GeneratorKind::Random;
  p.init = o.init;
  p.init_eps = o.init_eps;
  p.noise = o.noise;
  return p;
}

std::string where(std::uint64_t seed, std::size_t entry, long step, const GeneratedStack& st) {
  std::string s = "seed " + std::to_string(seed);
  // entry → multi-index of the leading axes (C order, last fastest).
  std::vector<std::size_t> idx(st.lead_shape.size(), 0);
  std::size_t rem = entry;
  for (std::size_t a = st.lead_shape.size(); a-- > 0;) {
    const std::size_t ext = st.lead_shape[a] == 0 ? 1 : st.lead_shape[a];
    idx[a] = rem % ext;
    rem /= ext;
  }
  for (std::size_t a = 0; a < st.lead_axes.size(); ++a) {
    if (st.lead_axes[a] == "layer")
      s += ", layer " + std::to_string(idx[a] + 1) + " (index " + std::to_string(idx[a]) + ")";
    else
      s += ", " + st.lead_axes[a] + " " + std::to_string(idx[a]);
  }
  s += ", step " + std::to_string(step);
  return s;
}

/// Builds H for every θ of `st` (appending H and sinkhorn), throwing ComputeError on a numerical issue.
void build_all(const Method& method, std::uint64_t seed, GeneratedStack& st,
               const std::string& origin) {
  st.H.reserve(st.thetas.size());
  st.sinkhorn.reserve(st.thetas.size());
  for (std::size_t e = 0; e < st.thetas.size(); ++e) {
    MixResult r;
    try {
      r = method.mix(st.thetas[e]);
    } catch (const InputError& err) {
      throw InputError(origin + where(seed, e, st.step, st) + ": " + err.what());
    }
    if (r.H.size() == 0 || !r.H.allFinite()) {
      std::string reason = "non-finite matrix";
      if (r.sinkhorn && r.sinkhorn->status == SinkhornStatus::NumericalIssue)
        reason = "Sinkhorn numerical_issue: " + r.sinkhorn->issue;
      throw ComputeError(origin + where(seed, e, st.step, st) + ": " + reason);
    }
    st.H.push_back(std::move(r.H));
    st.sinkhorn.push_back(std::move(r.sinkhorn));
  }
}

GeneratedStack empty_stack(Index layers, long step) {
  GeneratedStack st;
  st.step = step;
  st.lead_axes = {"layer"};
  st.lead_shape = {static_cast<std::size_t>(layers)};
  return st;
}

/// Trained: the H_res snapshots of a `mhclab train --out DIR` run (model/train.hpp): DIR/manifest.json names the
/// snapshot steps and DIR/h_res.npy holds (snapshots, L, n, n), or (snapshots, tokens, L, n, n) for a dynamic
/// mapping. One stack per selected snapshot, step = the training step; the matrices are the network's H_res as
/// trained (its own modifiers already applied: the method's are not applied again).
std::vector<GeneratedStack> trained_stacks(const Method& method, const StackOptions& o) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::is_directory(o.input) ? fs::path(o.input) : fs::path(o.input).parent_path();
  const std::string manifest_path = (dir / "manifest.json").string(), h_path = (dir / "h_res.npy").string();
  std::vector<long> snapshot_steps;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file_bytes(manifest_path));
    snapshot_steps = j.at("snapshot_steps").get<std::vector<long>>();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(manifest_path + ": not the manifest of a `mhclab train --out` run (" + e.what() + ")");
  }
  const NpyArray a = read_npy(h_path);
  const bool dynamic = a.shape.size() == 5;
  if ((a.shape.size() != 4 && !dynamic) || a.shape.front() != snapshot_steps.size())
    throw InputError(h_path + ": shape " + shape_string(a.shape) + "; expected (" +
                     std::to_string(snapshot_steps.size()) + ", L, n, n) or (" + std::to_string(snapshot_steps.size()) +
                     ", tokens, L, n, n) for the " + std::to_string(snapshot_steps.size()) +
                     " snapshot steps of manifest.json");
  const std::size_t n = a.shape.back(), L = a.shape[a.shape.size() - 3], T = dynamic ? a.shape[1] : 1;
  if (a.shape[a.shape.size() - 2] != n || n != static_cast<std::size_t>(method.n()))
    throw InputError(h_path + ": matrices of shape " + shape_string({a.shape[a.shape.size() - 2], n}) +
                     "; the method has n = " + std::to_string(method.n()));
  if (o.layers > 0 && L != static_cast<std::size_t>(o.layers))
    throw InputError(h_path + ": the run has " + std::to_string(L) + " layers; layers = " + std::to_string(o.layers) +
                     " was asked for");
  for (const long s : o.steps)
    if (std::find(snapshot_steps.begin(), snapshot_steps.end(), s) == snapshot_steps.end())
      throw InputError("steps: the run has no snapshot at step " + std::to_string(s) + " (" + manifest_path + ")");
  std::vector<GeneratedStack> out;
  const std::size_t per = T * L * n * n;
  for (std::size_t k = 0; k < snapshot_steps.size(); ++k) {
    if (!o.steps.empty() && std::find(o.steps.begin(), o.steps.end(), snapshot_steps[k]) == o.steps.end()) continue;
    GeneratedStack st;
    st.step = snapshot_steps[k];
    st.lead_axes = dynamic ? std::vector<std::string>{"token", "layer"} : std::vector<std::string>{"layer"};
    st.lead_shape = dynamic ? std::vector<std::size_t>{T, L} : std::vector<std::size_t>{L};
    for (std::size_t e = 0; e < T * L; ++e) {
      Mat H(static_cast<Index>(n), static_cast<Index>(n));
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t jj = 0; jj < n; ++jj) H(static_cast<Index>(i), static_cast<Index>(jj)) =
            a.data[k * per + e * n * n + i * n + jj];  // C order, paper orientation
      if (!H.allFinite()) throw InputError(h_path + ": snapshot " + std::to_string(k) + " has a non-finite entry");
      st.H.push_back(std::move(H));
    }
    st.sinkhorn.assign(st.H.size(), std::nullopt);
    out.push_back(std::move(st));
  }
  return out;
}

/// Drift: one pass over k = 1..max(steps), snapshots at each requested step (SPEC §6; header for the recipe).
std::vector<GeneratedStack> drift_stacks(const Method& method, const StackOptions& o, std::uint64_t seed) {
  const Vec init = method.init_params(o.init, o.init_eps);
  const Index p = init.size();
  const auto L = static_cast<std::size_t>(o.layers);
  const double a = std::sqrt(o.rho), b = std::sqrt(1.0 - o.rho);
  std::vector<Vec> sum(L, Vec::Zero(p));
  Vec shared(p);
  std::vector<GeneratedStack> out;
  out.reserve(o.steps.size());
  long k = 0;
  for (const long s : o.steps) {
    for (; k < s;) {
      ++k;
      const auto ku = static_cast<std::uint64_t>(k);
      if (a != 0.0) {
        RandomStream rs(seed, Purpose::Drift, {kDriftSharedTag, ku});
        for (Index j = 0; j < p; ++j) shared[j] = a * rs.normal();
      }
      for (std::size_t l = 0; l < L; ++l) {
        Vec& S = sum[l];
        add_drift_step(S, shared, a, b, seed, static_cast<std::uint64_t>(l), ku);
      }
    }
    GeneratedStack st = empty_stack(o.layers, s);
    st.thetas.reserve(L);
    for (std::size_t l = 0; l < L; ++l) st.thetas.push_back(init + o.eta * sum[l]);
    build_all(method, seed, st, "");
    out.push_back(std::move(st));
  }
  return out;
}

GeneratedStack file_stack(const Method& method, const StackOptions& o, std::uint64_t seed) {
  StackReadOptions ro;
  ro.kind = o.input_kind;
  ro.layout = o.layout;
  ro.tensor = o.tensor;
  ro.lead_axes = o.lead_axes;
  if (o.input_kind == InputKind::Matrices)
    ro.expected_n = method.n();
  else
    ro.expected_params = method.num_params();
  Stack in = read_stack(o.input, ro);
  if (o.layers > 0 && !in.lead_shape.empty() && in.lead_shape.back() != static_cast<std::size_t>(o.layers))
    throw InputError(o.input + ": the file has " + std::to_string(in.lead_shape.back()) + " layers; layers = " +
                     std::to_string(o.layers) + " was asked for");
  return stack_from_contents(method, std::move(in), o.input, seed);
}

}  // namespace

void StackOptions::validate() const {
  validate_values(*this);
  const std::string g = "generator '" + kind_name(kind) + "'";
  if (kind == GeneratorKind::Checkpoint) {
    if (input.empty()) throw InputError(g + " needs input (a checkpoint: index .json, directory or .safetensors)");
    if (layers < 0) throw InputError("layers = " + std::to_string(layers) + "; must be ≥ 1 (or 0 = every site)");
    if (!tensor.empty()) throw InputError("tensor is only for generator 'file' with a .safetensors input");
    checkpoint.validate();
  } else if (kind == GeneratorKind::Trained) {
    if (input.empty()) throw InputError(g + " needs input (the directory of a `mhclab train --out DIR` run)");
    if (layers < 0) throw InputError("layers = " + std::to_string(layers) + "; must be ≥ 1 (or 0 = as in the run)");
    if (!tensor.empty()) throw InputError("tensor is only for generator 'file' with a .safetensors input");
  } else if (kind == GeneratorKind::File) {
    if (input.empty()) throw InputError(g + " needs input (a stack file)");
    if (layers < 0) throw InputError("layers = " + std::to_string(layers) + "; must be ≥ 1 (or 0 = as in the file)");
    const bool axes_ok = lead_axes == std::vector<std::string>{"layer"} ||
                         lead_axes == std::vector<std::string>{"step", "layer"} ||
                         lead_axes == std::vector<std::string>{"token", "layer"};
    if (!axes_ok) {
      std::string got;
      for (const auto& a : lead_axes) got += (got.empty() ? "" : ", ") + a;
      throw InputError("lead axes (" + got + ") are not supported; use (layer), (step, layer) or (token, layer)");
    }
  } else {
    if (layers < 1) throw InputError("layers = " + std::to_string(layers) + "; must be ≥ 1");
    if (!input.empty()) throw InputError("input is only for generators 'file' and 'trained' (got " + g + ")");
    if (!tensor.empty())
      throw InputError("tensor is only for generator 'file' with a .safetensors input (got " + g + ")");
  }
  if (kind == GeneratorKind::Trained) {
    for (std::size_t i = 0; i < steps.size(); ++i)
      if (i > 0 && steps[i] <= steps[i - 1])
        throw InputError("steps must be strictly increasing (no duplicates); got " + std::to_string(steps[i]) +
                         " after " + std::to_string(steps[i - 1]));
  } else if (kind == GeneratorKind::Drift) {
    if (steps.empty()) throw InputError(g + " needs steps (K means the single snapshot K)");
    for (std::size_t i = 0; i < steps.size(); ++i) {
      if (steps[i] < 0) throw InputError("steps: " + std::to_string(steps[i]) + " is negative; steps must be ≥ 0");
      if (i > 0 && steps[i] <= steps[i - 1])
        throw InputError("steps must be strictly increasing (no duplicates); got " + std::to_string(steps[i]) +
                         " after " + std::to_string(steps[i - 1]));
    }
  } else if (!steps.empty()) {
    throw InputError("steps is only for generators 'drift' and 'trained' (got " + g + ")");
  }
}

std::vector<GeneratedStack> generate_stacks(const Method& method, const StackOptions& o, std::uint64_t seed) {
  o.validate();
  switch (o.kind) {
    case GeneratorKind::Init:
    case GeneratorKind::Random: {
      const ParamGeneratorOptions po = param_options(o);
      GeneratedStack st = empty_stack(o.layers, 0);
      st.thetas.reserve(static_cast<std::size_t>(o.layers));
      for (Index l = 0; l < o.layers; ++l)
        st.thetas.push_back(generate_params(method, po, seed, static_cast<std::uint64_t>(l), 0));
      build_all(method, seed, st, "");
      std::vector<GeneratedStack> out;
      out.push_back(std::move(st));
      return out;
    }
    case GeneratorKind::Drift:
      return drift_stacks(method, o, seed);
    case GeneratorKind::File: {
      std::vector<GeneratedStack> out;
      out.push_back(file_stack(method, o, seed));
      return out;
    }
    case GeneratorKind::Trained: return trained_stacks(method, o);
    case GeneratorKind::Checkpoint: {
      std::vector<GeneratedStack> out;
      out.push_back(stack_from_checkpoint(method, read_checkpoint_stack(o.input, o.checkpoint), seed, o.layers));
      return out;
    }
  }
  throw InputError("generator '" + kind_name(o.kind) + "' is not available for stacks yet");
}

GeneratedStack stack_from_contents(const Method& method, Stack contents, const std::string& origin, std::uint64_t seed) {
  GeneratedStack st;
  st.step = 0;
  st.lead_axes = contents.lead_axes;
  st.lead_shape = contents.lead_shape;
  const std::string prefix = origin + ": ";
  if (!contents.params.empty()) {
    st.thetas = std::move(contents.params);
    build_all(method, seed, st, prefix);
  } else {
    st.H = std::move(contents.matrices);
    st.sinkhorn.assign(st.H.size(), std::nullopt);
    for (std::size_t e = 0; e < st.H.size(); ++e) {
      if (st.H[e].rows() != method.n() || st.H[e].cols() != method.n())
        throw InputError(prefix + where(seed, e, 0, st) + ": the matrix is " + std::to_string(st.H[e].rows()) + "×" +
                         std::to_string(st.H[e].cols()) + "; expected n×n with n = " + std::to_string(method.n()));
      if (!st.H[e].allFinite()) throw InputError(prefix + where(seed, e, 0, st) + ": the matrix has a non-finite entry");
      apply_modifiers(st.H[e], method.modifiers());
    }
  }
  return st;
}

GeneratedStack stack_from_checkpoint(const Method& method, const CheckpointStack& cs, std::uint64_t seed,
                                     Index layers) {
  if (method.id() != MethodId::Dsv4)
    throw InputError(cs.source + ": a checkpoint's sites hold DeepSeek-V4-style [from, to] comb logits; use method "
                     "dsv4 (got " + std::string(method_table.to_string(method.id())) + ")");
  if (cs.n != method.n())
    throw InputError(cs.source + ": the sites have n = " + std::to_string(cs.n) + " streams; the method has n = " +
                     std::to_string(method.n()));
  const std::size_t S = cs.sites.size();
  if (layers != 0 && static_cast<std::size_t>(layers) != S)
    throw InputError(cs.source + ": " + std::to_string(S) + " sites (" + std::to_string(cs.layers) +
                     " layers); layers = " + std::to_string(layers) + " requested");
  GeneratedStack st;
  st.lead_axes = cs.tokens == 0 ? std::vector<std::string>{"layer"} : std::vector<std::string>{"token", "layer"};
  st.lead_shape = cs.tokens == 0 ? std::vector<std::size_t>{S} : std::vector<std::size_t>{cs.tokens, S};
  for (const Dsv4Gates& g : cs.gates) {
    Vec theta(g.comb_logits.size());
    for (Index j = 0; j < g.comb_logits.rows(); ++j)
      for (Index k = 0; k < g.comb_logits.cols(); ++k) theta[j * g.comb_logits.cols() + k] = g.comb_logits(j, k);
    st.thetas.push_back(std::move(theta));
  }
  build_all(method, seed, st, cs.source);
  return st;
}

Vec stack_theta(const Method& method, const StackOptions& o, std::uint64_t seed, std::uint64_t layer, long step) {
  validate_values(o);
  if (o.kind != GeneratorKind::Init && o.kind != GeneratorKind::Random && o.kind != GeneratorKind::Drift)
    throw InputError("stack_theta: generator '" + kind_name(o.kind) + "' has no per-layer θ recipe");
  if (step < 0) throw InputError("step = " + std::to_string(step) + "; must be ≥ 0");
  if (o.kind != GeneratorKind::Drift) {
    if (step != 0) throw InputError("step = " + std::to_string(step) + "; generator '" + kind_name(o.kind) +
                                    "' has only step 0");
    return generate_params(method, param_options(o), seed, layer, 0);
  }
  const Vec init = method.init_params(o.init, o.init_eps);
  const Index p = init.size();
  const double a = std::sqrt(o.rho), b = std::sqrt(1.0 - o.rho);
  Vec S = Vec::Zero(p), shared(p);
  for (long k = 1; k <= step; ++k) {
    const auto ku = static_cast<std::uint64_t>(k);
    if (a != 0.0) {
      RandomStream rs(seed, Purpose::Drift, {kDriftSharedTag, ku});
      for (Index j = 0; j < p; ++j) shared[j] = a * rs.normal();
    }
    add_drift_step(S, shared, a, b, seed, layer, ku);
  }
  return init + o.eta * S;
}

}  // namespace mhclab
