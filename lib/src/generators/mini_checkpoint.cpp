// A miniature DeepSeek-V4-format checkpoint: see mhclab/generators/mini_checkpoint.hpp.
#include "mhclab/generators/mini_checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

void MiniCheckpointOptions::validate() const {
  if (layers < 1 || layers > 1000) throw InputError("layers = " + std::to_string(layers) + "; must be in 1..1000");
  if (n < 1 || n > 64) throw InputError("n = " + std::to_string(n) + "; must be in 1..64");
  if (width < 1 || width > 65536) throw InputError("width = " + std::to_string(width) + "; must be in 1..65536");
  if (shards < 1) throw InputError("shards = " + std::to_string(shards) + "; must be ≥ 1");
  if (!(noise >= 0.0) || !(std::abs(comb_diag) < 1e3)) throw InputError("noise must be ≥ 0 and comb_diag finite");
}

ShardedCheckpointResult write_mini_dsv4_checkpoint(const std::string& dir, const MiniCheckpointOptions& o) {
  o.validate();
  const auto n = static_cast<std::size_t>(o.n), C = static_cast<std::size_t>(o.width), m = (2 + n) * n;
  std::vector<SafetensorsTensor> t;
  auto normals = [](RandomStream& rs, std::size_t count, double sd) {
    std::vector<double> v(count);
    for (double& x : v) x = sd * rs.normal();
    return v;
  };
  auto site = [&](const std::string& prefix, std::uint64_t l, std::uint64_t s) {
    RandomStream rs(o.seed, Purpose::Theta, {l, s});
    std::vector<double> base = normals(rs, m, o.noise);
    for (std::size_t j = 0; j < n; ++j) base[2 * n + n * j + j] += o.comb_diag;
    const std::vector<double> fn = normals(rs, m * n * C, 1.0 / std::sqrt(static_cast<double>(n * C)));
    std::vector<double> scale(3);
    for (double& x : scale) x = 0.1 * (1.0 + 0.1 * rs.normal());
    t.push_back({prefix + "_base", "F32", {m}, base});
    t.push_back({prefix + "_fn", "F32", {m, n * C}, fn});
    t.push_back({prefix + "_scale", "F32", {3}, scale});
  };
  RandomStream other(o.seed, Purpose::Weights, {0});
  for (Index l = 0; l < o.layers; ++l) {
    const std::string p = "layers." + std::to_string(l);
    site(p + ".hc_attn", static_cast<std::uint64_t>(l), 0);
    site(p + ".hc_ffn", static_cast<std::uint64_t>(l), 1);
    t.push_back({p + ".attn.wq.weight", "BF16", {C, C}, normals(other, C * C, 0.02)});
    t.push_back({p + ".ffn.w1.weight", "BF16", {2 * C, C}, normals(other, 2 * C * C, 0.02)});
    t.push_back({p + ".attn_norm.weight", "BF16", {C}, std::vector<double>(C, 1.0)});
  }
  t.push_back({"embed.weight", "BF16", {16, C}, normals(other, 16 * C, 0.02)});
  t.push_back({"hc_head_fn", "F32", {n, n * C}, normals(other, n * n * C, 0.1)});
  t.push_back({"hc_head_base", "F32", {n}, normals(other, n, 0.1)});
  t.push_back({"hc_head_scale", "F32", {1}, {0.1}});
  site("mtp.0.hc_attn", static_cast<std::uint64_t>(o.layers), 0);  // the MTP block: outside the chain
  std::sort(t.begin(), t.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) { return a.name < b.name; });
  ShardedCheckpointOptions so;
  so.max_tensors_per_shard = (t.size() + static_cast<std::size_t>(o.shards) - 1) / static_cast<std::size_t>(o.shards);
  so.index_metadata = {{"mhclab_miniature", "deepseek-v4"}};
  return write_sharded_checkpoint(dir, t, so);
}

}  // namespace mhclab
