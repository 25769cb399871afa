#pragma once
// Stack generators of SPEC §6: the L matrices H_1..H_L (and their θ) of one seed, for the depth analysis.
//
// Kinds (GeneratorKind):
//   init    θ_l = the method's init (InitKind, init_eps) for every layer.
//   random  θ_l = init + σ·ξ_l,  ξ_l ~ N(0, I_p): exactly generate_params(method, {random, init, eps, σ}, seed,
//           l, 0), so layer l of a stack equals the single-matrix generator at layer index l.
//   drift   θ_l(s) = init + η Σ_{k=1..s} (√ρ·ξ_k + √(1−ρ)·ξ_{l,k})       (ρ ∈ [0, 1], η ≥ 0)
//           a random walk whose steps share the component ξ_k across layers with weight ρ. ρ = 0 is `random`
//           with σ = η√s in distribution; ρ = 1 gives every layer the same increment. One stack per snapshot
//           step in `steps` (strictly increasing, ≥ 0; step 0 = the init), computed incrementally in one pass
//           over k = 1..max(steps) (the partial sums are never recomputed per snapshot).
//   file    a stack read by io::read_stack (mhclab/io/matrix_file.hpp): input-kind matrices → H directly
//           (θ left empty), params → H(θ) of the method per entry. Leading axes (layer), (step, layer) or
//           (token, layer); all entries are returned in one GeneratedStack, flattened in C order (layer
//           fastest), with lead_axes/lead_shape so a caller can group by token or step.
//   trained the H_res snapshots of a training run (`mhclab train --out DIR`, model/train.hpp): input = DIR (or a
//           file in it); DIR/manifest.json lists the snapshot steps, DIR/h_res.npy holds (snapshots, L, n, n) or,
//           for a dynamic mapping, (snapshots, tokens, L, n, n). One stack per snapshot (`steps` selects some;
//           empty = all), step = the training step, lead axes (layer) or (token, layer); the matrices as trained
//           (the run's modifiers are in them; the method's are not applied again; no θ).
//   checkpoint the hyper-connection sites of a production checkpoint (generators/checkpoint_stack.hpp): input =
//           the index, directory or .safetensors file; θ_s = site s's comb logits L[from, to] (static, or per token
//           with hidden states: lead axes (token, layer)), 2L sites in depth order as the layer axis; method dsv4.
//
// Random streams (mhclab/core/random.hpp gives the recipe; all indices uint64, layer index l = 0..L−1 is
// 0-based, H_1 ↔ l = 0; each stream is consumed as exactly p = method.num_params() normals, in θ order):
//   random:       ξ_l     = first p normals of RandomStream(seed, Purpose::Theta, {l, 0})
//   drift layer:  ξ_{l,k} = first p normals of RandomStream(seed, Purpose::Drift, {l, k}),          k ≥ 1
//   drift shared: ξ_k     = first p normals of RandomStream(seed, Purpose::Drift, {kDriftSharedTag, k}), k ≥ 1
//   with kDriftSharedTag = 2^63, which no layer index reaches (layers < 2^63 always), so shared and
//   per-layer streams never collide. A stream whose coefficient is 0 (√ρ = 0 or √(1−ρ) = 0) is not drawn;
//   its term would be an exact 0 anyway, so this changes no bit.
// Drift arithmetic (bit-for-bit, so a NumPy script can match to round-off): per layer and parameter,
//   S ← 0;  for k = 1..s:  S ← S + (√ρ·ξ_k + √(1−ρ)·ξ_{l,k})   (a term with coefficient 0 is left out)
//   θ = init + η·S.
// Every (seed, layer, step) is a pure function of its indices: layers can be generated in any order or in
// parallel with identical numbers (stack_theta gives one entry from scratch).
//
// Failures: options → InputError naming the option; a layer whose Sinkhorn projection reports
// numerical_issue (or any non-finite H) → ComputeError naming seed, layer (1-based, as in H_l, and the
// 0-based stream index), step and the reason. Non-finite numbers are never returned.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/generators/checkpoint_stack.hpp"
#include "mhclab/generators/params.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

/// Tag of the shared drift component's stream: RandomStream(seed, Purpose::Drift, {kDriftSharedTag, k}).
inline constexpr std::uint64_t kDriftSharedTag = std::uint64_t{1} << 63;

/// Options of a stack generator (CLI.md "Generators" and "Files").
struct StackOptions {
  GeneratorKind kind = GeneratorKind::Random;
  InitKind init = InitKind::Identity;
  double init_eps = 0.01;        ///< ε of the identity init (checked by the method's init_params)
  double noise = 1.0;            ///< σ of `random`, ≥ 0, finite
  double eta = 0.01;             ///< η of `drift`, ≥ 0, finite
  double rho = 0.0;              ///< ρ of `drift`, ∈ [0, 1]
  /// drift (required there) and trained (optional selection of the run's snapshots; empty = all); must be empty
  /// otherwise: snapshot steps, strictly increasing, ≥ 0.
  /// The CLI's `--steps K` means the single snapshot {K}.
  std::vector<long> steps = {};
  std::string input;             ///< file (the stack file) and trained (the run's directory); required there
  InputKind input_kind = InputKind::Matrices;   ///< file: meaning of the trailing axes
  Layout layout = Layout::ToFrom;               ///< file: from_to transposes each matrix on read
  std::string tensor;  ///< file: the tensor of a .safetensors input (`--tensor`; must be empty otherwise)
  CheckpointSelection checkpoint;  ///< checkpoint: family, pattern, sites, hidden states
  /// file: leading axes, one of {"layer"}, {"step", "layer"}, {"token", "layer"}.
  std::vector<std::string> lead_axes = {"layer"};
  /// Number of layers L ≥ 1 (init/random/drift: required). file: 0 = as in the file, otherwise the file's
  /// layer extent must equal it.
  Index layers = 0;

  /// Throws InputError naming the offending option.
  void validate() const;
};

/// One stack (one snapshot step) of one seed. thetas, H and sinkhorn have count() entries, flattened in
/// C order of lead_shape (layer fastest).
struct GeneratedStack {
  long step = 0;                        ///< drift: the snapshot step s; init/random/file: 0
  std::vector<std::string> lead_axes;   ///< {"layer"} for generated stacks; file: as requested
  std::vector<std::size_t> lead_shape;  ///< {L} for generated stacks; file: the file's leading extents
  std::vector<Vec> thetas;              ///< p-vectors θ; empty for file input-kind matrices
  std::vector<Mat> H;                   ///< n × n, paper orientation, the method's modifiers applied (also to
                                        ///< matrices read from a file)
  std::vector<std::optional<SinkhornSummary>> sinkhorn;  ///< mhc only (nullopt otherwise and for file matrices)

  [[nodiscard]] std::size_t count() const { return H.size(); }
  /// Extent of the last (layer) axis.
  [[nodiscard]] std::size_t layers() const { return lead_shape.empty() ? 0 : lead_shape.back(); }
};

/// Generates the stacks of one seed: drift → one GeneratedStack per snapshot step (in `steps` order);
/// every other kind → exactly one (step 0).
[[nodiscard]] std::vector<GeneratedStack> generate_stacks(const Method& method, const StackOptions& options,
                                                          std::uint64_t seed);

/// A stack already read or handed over in memory (io/matrix_file.hpp Stack, e.g. a NumPy array from the Python
/// binding) as a generated stack: parameter vectors (when `contents.params` is not empty) through `method`, else the
/// n×n matrices checked (size, finite) with the method's modifiers applied. `origin` (a file name, "stack") prefixes
/// errors, which name the entry.
[[nodiscard]] GeneratedStack stack_from_contents(const Method& method, Stack contents, const std::string& origin,
                                                 std::uint64_t seed = 0);

/// The stack of a checkpoint's sites (generator checkpoint): θ = each site's comb logits, row-major [from, to]; H
/// through `method`, which must be dsv4 with the sites' n (InputError otherwise). Lead axes (layer) for static gates,
/// (token, layer) per token; the sites are the layer axis. layers ≠ 0 must equal the number of sites (InputError).
[[nodiscard]] GeneratedStack stack_from_checkpoint(const Method& method, const CheckpointStack& stack, std::uint64_t seed,
                                                   Index layers = 0);

/// θ of (seed, layer, step) computed from scratch (init, random, drift; layer 0-based, step ≥ 0; step must
/// be 0 for init/random). The reference for the incremental drift and for parallel callers: O(step·p).
[[nodiscard]] Vec stack_theta(const Method& method, const StackOptions& options, std::uint64_t seed,
                              std::uint64_t layer, long step);

}  // namespace mhclab
