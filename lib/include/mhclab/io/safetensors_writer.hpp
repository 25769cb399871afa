#pragma once
// Writing `.safetensors` files and sharded Hugging Face checkpoints (the read side is mhclab/io/safetensors.hpp
// for one file and mhclab/io/checkpoint.hpp for a sharded checkpoint).
//
// One file (format: see mhclab/io/safetensors.hpp), laid out as the reference implementation (the Rust
// `safetensors` crate) does:
//   - the header is compact JSON with its keys sorted (byte order, so "__metadata__" sorts after upper-case and
//     before lower-case names): {"__metadata__": {…}, "<name>": {"dtype", "shape", "data_offsets"}, …};
//     "__metadata__" is written only when the metadata is not empty (its values are strings, as the format
//     requires);
//   - the header is padded with spaces so that 8 + N is a multiple of 8: the data buffer starts 8-byte aligned;
//   - the tensors are laid out in the data buffer by decreasing item size, then by name, back to back, so every
//     tensor starts at a multiple of its own item size (zero-copy readers can map it as a typed array);
//   - values are little-endian, C order (last index fastest).
// Dtypes written: F64 (exact), F32, BF16 and F16, each value rounded once from the exact double to the nearest
// value of the format, ties to even (F32 and BF16 through core/precision.hpp's round_to; F16, binary16 with
// 11 significant bits and exponents −14..15, here, with gradual underflow: values below 2^-14 become subnormal
// multiples of 2^-24, values below 2^-25 round to ±0 — 2^-25 itself is a tie and goes to the even 0).
//
// Checks, before anything is written (InputError "<file>: tensor '<name>': …" saying what was expected):
//   - tensor names: non-empty, unique, not "__metadata__";
//   - dtype: "F64", "F32", "BF16" or "F16";
//   - values.size() = product(shape) (no overflow);
//   - every value finite, and still finite after rounding (e.g. 65520 overflows F16, whose largest finite value
//     is 65504; 3.5e38 overflows F32 and BF16): the error names the flat C-order index and the value. Underflow
//     to a subnormal or to zero is ordinary rounding and is not an error.
// Files are written atomically (mhclab/io/atomic_file.hpp): each appears complete under its name or not at all.
//
// Sharded checkpoint (Hugging Face layout, what `save_pretrained(max_shard_size=…)` writes):
//   <dir>/model-00001-of-00003.safetensors, …, <dir>/model-00003-of-00003.safetensors (5-digit numbers, 1-based)
//   <dir>/model.safetensors.index.json =
//     {"metadata": {"total_size": <bytes of all tensor data>, <extra string entries>},
//      "weight_map": {"<name>": "model-0000k-of-0000N.safetensors", …}}
//   written as JSON with sorted keys and a 2-space indent plus a final newline (as transformers writes it). The
//   shards are written first and the index last, so an index on disk only names shards that are complete. The
//   directory is created if missing; files of an earlier, different write are not removed. The shard
//   assignment is either explicit (one shard number per tensor; every shard must receive a tensor) or greedy in
//   the given tensor order under a tensor-count and/or byte limit (a tensor larger than the byte limit gets a
//   shard of its own); with neither, one shard. Always writes an index, also for a single shard.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mhclab {

/// A tensor to write.
struct SafetensorsTensor {
  std::string name;
  std::string dtype = "F32";       ///< "F64", "F32", "BF16" or "F16"
  std::vector<std::size_t> shape;  ///< C order; empty = a scalar (one value)
  std::vector<double> values;      ///< product(shape) values, C order; rounded to dtype when written
};

/// The "__metadata__" object of a safetensors header (string → string, as the format requires).
using SafetensorsMetadata = std::map<std::string, std::string>;

/// The binary16 bit pattern of x rounded to nearest, ties to even (gradual underflow, overflow → ±inf 0x7c00 /
/// 0xfc00, NaN → 0x7e00, −0 → 0x8000).
[[nodiscard]] std::uint16_t double_to_f16_bits(double x) noexcept;

/// The bfloat16 bit pattern of x rounded to nearest, ties to even (overflow → ±inf, NaN → 0x7fc0).
[[nodiscard]] std::uint16_t double_to_bf16_bits(double x) noexcept;

/// The bytes of a safetensors file holding `tensors` (see the header comment; `name` names the file in
/// errors). Throws InputError for every violation listed there.
[[nodiscard]] std::string encode_safetensors(const std::vector<SafetensorsTensor>& tensors,
                                             const SafetensorsMetadata& metadata = {},
                                             const std::string& name = "safetensors");

/// Writes `tensors` to `path` as one safetensors file, atomically. Throws InputError (nothing written) for a
/// bad tensor, InputError "<path>: cannot write: …" for an OS failure.
void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const SafetensorsMetadata& metadata = {});

/// How write_sharded_checkpoint splits the tensors and what it records.
struct ShardedCheckpointOptions {
  /// Explicit assignment: shard_of[k] = 0-based shard of tensors[k]. If non-empty it must have one entry per
  /// tensor, every shard 0..max must receive at least one tensor, and both limits below must be 0.
  std::vector<std::size_t> shard_of;
  /// Greedy assignment in tensor order: a new shard starts when adding the next tensor would exceed either limit
  /// (0 = no limit). With no assignment and no limits, every tensor goes into one shard.
  std::size_t max_tensors_per_shard = 0;
  std::size_t max_shard_bytes = 0;  ///< limit on a shard's tensor data (not counting its header)
  SafetensorsMetadata shard_metadata = {{"format", "pt"}};  ///< "__metadata__" of every shard
  SafetensorsMetadata index_metadata;  ///< extra string entries of the index's "metadata" (not "total_size")
};

/// What write_sharded_checkpoint wrote.
struct ShardedCheckpointResult {
  std::string index_file;                ///< <dir>/model.safetensors.index.json
  std::vector<std::string> shard_files;  ///< <dir>/model-0000k-of-0000N.safetensors, in shard order
  std::vector<std::size_t> shard_of;     ///< the shard (0-based) of every tensor, in the given order
  std::size_t total_size = 0;            ///< bytes of tensor data over all shards (metadata.total_size)
};

/// Writes `tensors` to the directory `dir` as a sharded Hugging Face checkpoint (see the header comment).
/// Every tensor is checked (as by encode_safetensors, names unique over all shards) and the assignment
/// validated before any file is written; then InputError "<dir>: …".
ShardedCheckpointResult write_sharded_checkpoint(const std::string& dir, const std::vector<SafetensorsTensor>& tensors,
                                                 const ShardedCheckpointOptions& options = {});

}  // namespace mhclab
