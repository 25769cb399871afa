#pragma once
// A production model's hyper-connection sites read from a checkpoint (io/checkpoint.hpp: an index, a directory or a
// .safetensors file) and assembled into a stack in depth order: layer 0's sites in the family's order (DeepSeek-V4:
// attention, then FFN), then layer 1's, … — 2L sites for two sites per layer. Each site's gates (pre, post and the
// comb logits L[from, to] of mixing/dsv4_site.hpp) are static (the mixes at zero: from `base` alone) or, with hidden
// states, per token.
//
// Families (the tensor names of one site; {layer} = 0, 1, …, {site} = one of the sites):
//   deepseek-v4  layers.{layer}.hc_{site}_base [m], …_fn [m, n·C], …_scale [3]; sites attn, ffn
//                (deepseek-ai/DeepSeek-V4-Flash inference/model.py, Block; vLLM keeps these names). hc_head_* (a
//                pre only) and the MTP block's mtp.* tensors are not matched (names are matched whole), so they
//                stay outside the chain.
//   megatron     decoder.layers.{layer}.{site}_hyper_connection.bias [m], ….mapping_proj.weight [m, n·C],
//                ….alpha_pre / alpha_post / alpha_res [1] (scale₀, scale₁, scale₂); sites self_attention, mlp
//                (NVIDIA/Megatron-LM megatron/core/transformer/hyper_connection.py, HyperConnectionModule: the same
//                [pre | post | comb] order and [from, to] comb as DeepSeek-V4).
//   pattern      a user pattern for the base tensor, e.g. 'layers.{layer}.hc_{site}_base', with the sites given
//                (static mixing only: fn and scale names are unknown).
// Layers are discovered from the names: L = 1 + the largest {layer} that matches; every (layer, site) below it must
// exist — the missing ones are reported by tensor name. m = (2 + n)·n fixes n (24 → 4).
//
// Hidden states (`hidden`, a .npy file; tokens T, sites S = 2L in depth order):
//   (T, S, n, C)  residual states X entering each site: the mixes are r·(fn·v) (dsv4_site.hpp (S1)–(S2));
//   (T, S, m)     the mixes themselves (e.g. dumped from a kernel), scale and base applied here.
// The model's config.json next to the checkpoint (the index's directory), if any, is read for DeepSeek-V4's hc_mult
// (must equal the n of the tensors), hc_sinkhorn_iters and hc_eps, so a caller can use or check them.
// Errors are InputError naming the checkpoint, tensor or file and what was expected.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/dsv4_site.hpp"

namespace mhclab {

enum class CheckpointFamily { DeepseekV4, Megatron, Pattern };
inline constexpr EnumTable<CheckpointFamily, 3> checkpoint_family_table{
    "family",
    {{{CheckpointFamily::DeepseekV4, "deepseek-v4"},
      {CheckpointFamily::Megatron, "megatron"},
      {CheckpointFamily::Pattern, "pattern"}}}};

struct CheckpointSelection {
  CheckpointFamily family = CheckpointFamily::DeepseekV4;
  std::string pattern;             ///< pattern family: the base tensor's name with {layer} and {site}
  std::vector<std::string> sites;  ///< empty = the family's; required for `pattern`
  std::string hidden;              ///< optional .npy: (T, S, n, C) residual states or (T, S, m) mixes
  double hc_eps = 1e-6;            ///< added to pre (S3); DeepSeek-V4's hc_eps
  double norm_eps = 1e-6;          ///< inside the RMS of (S1); DeepSeek-V4's norm_eps
  void validate() const;           ///< InputError naming the option
};

/// One site of the chain.
struct CheckpointSite {
  Index layer = 0;
  std::string site;         ///< e.g. "attn"
  std::string base_tensor;  ///< the tensor its base came from
};

struct CheckpointStack {
  std::string source;                ///< the path opened
  Index n = 0;                       ///< streams
  Index layers = 0;                  ///< L (sites = L·sites_per_layer)
  std::vector<CheckpointSite> sites;  ///< depth order
  std::size_t tokens = 0;            ///< 0 = static gates
  /// static: one per site; per token: tokens × sites, token-major (gates[t·S + s]).
  std::vector<Dsv4Gates> gates;
  std::string config_file;                   ///< the config.json read ("" if none)
  std::optional<int> config_iters;           ///< its hc_sinkhorn_iters
  std::optional<double> config_eps;          ///< its hc_eps
};

/// The family's site names (deepseek-v4: attn, ffn; megatron: self_attention, mlp; pattern: none).
[[nodiscard]] std::vector<std::string> checkpoint_family_sites(CheckpointFamily family);

/// The gates as CSV: `[token,]site,layer,name,pre_0..pre_{n−1},post_0..post_{n−1}` (site = 0-based depth index;
/// token only with hidden states), numbers %.17g.
[[nodiscard]] std::string checkpoint_gates_csv(const CheckpointStack& stack);

/// Reads the sites of the checkpoint at `path` (see the header comment).
[[nodiscard]] CheckpointStack read_checkpoint_stack(const std::string& path, const CheckpointSelection& selection);

/// The tensors (fn [m, n·C], base [m], scale [3]) of every site of `stack` (as read by read_checkpoint_stack with the
/// same selection), in depth order: what the dynamic DeepSeek-V4 block of the layer model needs (model/propagation.hpp,
/// gate mode dsv4). InputError for the pattern family (fn and scale unnamed) or an fn of the wrong shape.
[[nodiscard]] std::vector<Dsv4Site> read_checkpoint_sites(const std::string& path, const CheckpointSelection& selection,
                                                          const CheckpointStack& stack);

}  // namespace mhclab
