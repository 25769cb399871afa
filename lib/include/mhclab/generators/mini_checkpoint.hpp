#pragma once
// A miniature checkpoint in the exact DeepSeek-V4 layout (generators/checkpoint_stack.hpp's deepseek-v4 family), for
// tests, notebooks and examples without a 160 GB download: sharded safetensors with an index
// (io/safetensors_writer.hpp), the hyper-connection tensors in float32 as deployed, and unrelated tensors around them
// (attention/FFN weights in BF16, the embedding, hc_head_* and an MTP block's mtp.0.hc_* — which are outside the
// chain and must be skipped by a reader).
//
// Per layer l and site s ∈ {attn, ffn} (m = (2 + n)·n), drawn from RandomStream(seed, Purpose::Theta, {l, s}):
//   base[0..n)      pre logits   ~ N(0, noise²)
//   base[n..2n)     post logits  ~ N(0, noise²)
//   base[2n + n·j + k] comb logits L[from j, to k] = comb_diag·[j = k] + N(0, noise²) — non-symmetric
//   fn  [m, n·C]    ~ N(0, 1/(n·C))  (so the mixes r·fn·v are O(1))
//   scale [3]       = (0.1, 0.1, 0.1)·(1 + N(0, 0.1²))
#include <cstdint>
#include <string>

#include "mhclab/core/types.hpp"
#include "mhclab/io/safetensors_writer.hpp"

namespace mhclab {

struct MiniCheckpointOptions {
  Index layers = 4;         ///< L ≥ 1 (2L sites)
  Index n = 4;              ///< streams (hc_mult)
  Index width = 8;          ///< C, the hidden size per stream
  Index shards = 3;         ///< ≥ 1 files (tensors spread evenly in name order)
  std::uint64_t seed = 0;
  double comb_diag = 4.0;   ///< the comb logits' diagonal (towards the identity)
  double noise = 0.5;       ///< σ of the logits
  void validate() const;    ///< InputError naming the field
};

/// Writes the checkpoint into `dir` (model-0000k-of-0000N.safetensors + model.safetensors.index.json).
ShardedCheckpointResult write_mini_dsv4_checkpoint(const std::string& dir, const MiniCheckpointOptions& options);

}  // namespace mhclab
