// `.safetensors` writer and sharded checkpoints. See mhclab/io/safetensors_writer.hpp for the layout and every
// check made here.
#include "mhclab/io/safetensors_writer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string_view>
#include <system_error>

#include "mhclab/core/error.hpp"
#include "mhclab/core/precision.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/npy.hpp"

namespace mhclab {

namespace {

constexpr std::size_t kMaxHeader = 100'000'000;  ///< the format's own limit on the header (as the reader checks)

/// Item size of a dtype this writer produces; 0 for any other.
std::size_t item_size(const std::string& dtype) {
  if (dtype == "F64") return 8;
  if (dtype == "F32") return 4;
  if (dtype == "BF16" || dtype == "F16") return 2;
  return 0;
}

/// The largest finite value of a dtype (for the overflow message).
const char* largest_finite(const std::string& dtype) {
  if (dtype == "F32") return "3.4028235e+38";
  if (dtype == "BF16") return "3.3895314e+38";
  return "65504";  // F16
}

std::string number(double x) {
  char buf[40];
  (void)std::snprintf(buf, sizeof buf, "%.17g", x);
  return buf;
}

void store_le(char* p, std::uint64_t v, std::size_t bytes) {
  for (std::size_t k = 0; k < bytes; ++k) p[k] = static_cast<char>((v >> (8 * k)) & 0xffU);
}

/// A tensor checked for name, dtype and size: its item size and byte count.
struct Checked {
  std::size_t itemsize = 0;
  std::size_t bytes = 0;
};

std::string where_of(const std::string& file, const SafetensorsTensor& t) { return file + ": tensor '" + t.name + "'"; }

/// Checks everything but the values of `t` (see the header comment).
Checked check_shape(const SafetensorsTensor& t, const std::string& file) {
  if (t.name.empty()) throw InputError(file + ": a tensor has an empty name; expected a non-empty name");
  const std::string where = where_of(file, t);
  if (t.name == "__metadata__")
    throw InputError(where + ": the name is reserved for the header's metadata; expected another name");
  Checked c;
  c.itemsize = item_size(t.dtype);
  if (c.itemsize == 0) throw InputError(where + ": dtype '" + t.dtype + "'; expected F64, F32, BF16 or F16");
  std::size_t count = 1;
  for (const std::size_t d : t.shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d)
      throw InputError(where + ": shape " + shape_string(t.shape) + " has more than 2^64 elements");
    count *= d;
  }
  if (t.values.size() != count)
    throw InputError(where + ": " + std::to_string(t.values.size()) + " values; shape " + shape_string(t.shape) +
                     " expects " + std::to_string(count));
  if (count > std::numeric_limits<std::size_t>::max() / c.itemsize)
    throw InputError(where + ": more than 2^64 bytes of data");
  c.bytes = count * c.itemsize;
  return c;
}

/// Converts the values of `t` to its dtype, little-endian, into `out` (bytes of the tensor), or only checks them
/// when `out` is null: every value finite and finite after rounding.
void convert(const SafetensorsTensor& t, const std::string& file, char* out) {
  const std::size_t n = t.values.size();
  const bool f64 = t.dtype == "F64", f32 = t.dtype == "F32", bf16 = t.dtype == "BF16";
  for (std::size_t k = 0; k < n; ++k) {
    const double x = t.values[k];
    if (!std::isfinite(x))
      throw InputError(where_of(file, t) + ": value " + std::to_string(k) +
                       " (flat C-order index) is not finite; expected finite values");
    std::uint64_t bits = 0;
    bool overflow = false;
    if (f64) {
      bits = std::bit_cast<std::uint64_t>(x);
    } else if (f32) {
      const double r = round_to(x, Precision::FP32);
      overflow = !std::isfinite(r);
      bits = std::bit_cast<std::uint32_t>(static_cast<float>(r));  // exact: r is a binary32 value
    } else if (bf16) {
      bits = double_to_bf16_bits(x);
      overflow = (bits & 0x7f80U) == 0x7f80U;
    } else {
      bits = double_to_f16_bits(x);
      overflow = (bits & 0x7c00U) == 0x7c00U;
    }
    if (overflow)
      throw InputError(where_of(file, t) + ": value " + std::to_string(k) + " (flat C-order index) = " + number(x) +
                       " overflows " + t.dtype + " (largest finite value " + largest_finite(t.dtype) +
                       "); expected values representable in the dtype");
    if (out != nullptr) {
      const std::size_t size = f64 ? 8 : f32 ? 4 : 2;
      store_le(out + k * size, bits, size);
    }
  }
}

/// Names unique and every tensor valid (values included); returns the checked sizes.
std::vector<Checked> check_all(const std::vector<SafetensorsTensor>& tensors, const std::string& file) {
  std::vector<Checked> out;
  out.reserve(tensors.size());
  std::set<std::string_view> seen;
  for (const SafetensorsTensor& t : tensors) {
    out.push_back(check_shape(t, file));
    if (!seen.insert(t.name).second)
      throw InputError(where_of(file, t) + " is given twice; expected unique tensor names");
  }
  for (const SafetensorsTensor& t : tensors) convert(t, file, nullptr);
  return out;
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  store_le(s.data(), v, 8);
  return s;
}

/// The file bytes for tensors already checked by check_all.
std::string encode_checked(const std::vector<const SafetensorsTensor*>& tensors, const std::vector<Checked>& sizes,
                           const SafetensorsMetadata& metadata, const std::string& file) {
  // Data layout: decreasing item size, then name (every tensor aligned to its item size).
  std::vector<std::size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (sizes[a].itemsize != sizes[b].itemsize) return sizes[a].itemsize > sizes[b].itemsize;
    return tensors[a]->name < tensors[b]->name;
  });
  nlohmann::json header = nlohmann::json::object();  // std::map underneath: keys sorted
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<std::size_t> offset(tensors.size());
  std::size_t data_size = 0;
  for (const std::size_t k : order) {
    offset[k] = data_size;
    if (sizes[k].bytes > std::numeric_limits<std::size_t>::max() - data_size)
      throw InputError(file + ": more than 2^64 bytes of tensor data");
    data_size += sizes[k].bytes;
    header[tensors[k]->name] = {{"dtype", tensors[k]->dtype},
                                {"shape", tensors[k]->shape},
                                {"data_offsets", {offset[k], offset[k] + sizes[k].bytes}}};
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(file + ": a tensor name or metadata string is not valid UTF-8 (" + e.what() + ")");
  }
  text.append((8 - text.size() % 8) % 8, ' ');  // 8 + N a multiple of 8
  if (text.size() > kMaxHeader)
    throw InputError(file + ": the header would take " + std::to_string(text.size()) +
                     " bytes, beyond the format's limit of " + std::to_string(kMaxHeader));
  std::string out = le64(text.size()) + text;
  const std::size_t data_start = out.size();
  out.resize(data_start + data_size);
  for (std::size_t k = 0; k < tensors.size(); ++k) convert(*tensors[k], file, out.data() + data_start + offset[k]);
  return out;
}

std::string five_digits(std::size_t k) {
  std::string s = std::to_string(k);
  if (s.size() < 5) s.insert(0, 5 - s.size(), '0');
  return s;
}

}  // namespace

std::uint16_t double_to_f16_bits(double x) noexcept {
  const std::uint16_t sign = std::signbit(x) ? 0x8000U : 0U;
  if (std::isnan(x)) return static_cast<std::uint16_t>(sign | 0x7e00U);
  const double a = std::fabs(x);
  if (std::isinf(a)) return static_cast<std::uint16_t>(sign | 0x7c00U);
  if (a == 0.0) return sign;
  // a = f·2^e with 1 ≤ f < 2; below the smallest normal 2^-14 the quantum stays 2^-24 (gradual underflow).
  int e2 = 0;
  (void)std::frexp(a, &e2);
  const int e = std::max(e2 - 1, -14);
  const double q = std::ldexp(1.0, e - 10);    // 11 significant bits
  const double r = std::nearbyint(a / q) * q;  // a/q is exact (power-of-two scaling); nearbyint: ties to even
  if (r >= 65536.0) return static_cast<std::uint16_t>(sign | 0x7c00U);  // rounded beyond 65504: overflow
  if (r < 0x1p-14) return static_cast<std::uint16_t>(sign | static_cast<unsigned>(r * 0x1p24));  // subnormal (or 0)
  int r2 = 0;
  (void)std::frexp(r, &r2);  // rounding may have carried into the next binade: take r's own exponent
  const int E = r2 - 1;      // −14 … 15
  const auto mant = static_cast<unsigned>(std::ldexp(r, 10 - E)) - 1024U;
  return static_cast<std::uint16_t>(sign | (static_cast<unsigned>(E + 15) << 10) | mant);
}

std::uint16_t double_to_bf16_bits(double x) noexcept {
  if (std::isnan(x)) return static_cast<std::uint16_t>((std::signbit(x) ? 0x8000U : 0U) | 0x7fc0U);
  const double r = round_to(x, Precision::BF16);  // a bfloat16 value (or ±inf): exact in binary32
  return static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(static_cast<float>(r)) >> 16);
}

std::string encode_safetensors(const std::vector<SafetensorsTensor>& tensors, const SafetensorsMetadata& metadata,
                               const std::string& name) {
  const std::vector<Checked> sizes = check_all(tensors, name);
  std::vector<const SafetensorsTensor*> ptrs;
  ptrs.reserve(tensors.size());
  for (const SafetensorsTensor& t : tensors) ptrs.push_back(&t);
  return encode_checked(ptrs, sizes, metadata, name);
}

void write_safetensors(const std::string& path, const std::vector<SafetensorsTensor>& tensors,
                       const SafetensorsMetadata& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata, path));
}

ShardedCheckpointResult write_sharded_checkpoint(const std::string& dir, const std::vector<SafetensorsTensor>& tensors,
                                                 const ShardedCheckpointOptions& options) {
  if (tensors.empty()) throw InputError(dir + ": no tensors to write; a checkpoint needs at least one");
  if (options.index_metadata.count("total_size"))
    throw InputError(dir + ": index_metadata has \"total_size\", which the writer computes; expected other keys");
  const std::vector<Checked> sizes = check_all(tensors, dir);

  ShardedCheckpointResult result;
  std::size_t shards = 0;
  if (!options.shard_of.empty()) {
    if (options.max_tensors_per_shard != 0 || options.max_shard_bytes != 0)
      throw InputError(dir + ": both an explicit shard assignment and a shard size limit; expected one of them");
    if (options.shard_of.size() != tensors.size())
      throw InputError(dir + ": the shard assignment has " + std::to_string(options.shard_of.size()) +
                       " entries; expected one per tensor (" + std::to_string(tensors.size()) + ")");
    shards = *std::max_element(options.shard_of.begin(), options.shard_of.end()) + 1;
    std::vector<bool> used(shards, false);
    for (const std::size_t s : options.shard_of) used[s] = true;
    for (std::size_t s = 0; s < shards; ++s)
      if (!used[s])
        throw InputError(dir + ": shard " + std::to_string(s) + " of the assignment receives no tensor; expected " +
                         "every shard 0.." + std::to_string(shards - 1) + " to hold at least one");
    result.shard_of = options.shard_of;
  } else {
    std::size_t count = 0, bytes = 0;
    shards = 1;
    for (std::size_t k = 0; k < tensors.size(); ++k) {
      const std::size_t limit = options.max_shard_bytes;
      const bool over_count = options.max_tensors_per_shard != 0 && count + 1 > options.max_tensors_per_shard;
      const bool over_bytes = limit != 0 && (bytes > limit || sizes[k].bytes > limit - bytes);  // bytes + this > limit
      const bool full = count > 0 && (over_count || over_bytes);
      if (full) {
        ++shards;
        count = 0;
        bytes = 0;
      }
      ++count;
      bytes += sizes[k].bytes;
      result.shard_of.push_back(shards - 1);
    }
  }

  // The index first (in memory): its names and metadata are checked for UTF-8 before any file is written.
  std::vector<std::string> files(shards);
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t s = 0; s < shards; ++s)
    files[s] = "model-" + five_digits(s + 1) + "-of-" + five_digits(shards) + ".safetensors";
  for (std::size_t k = 0; k < tensors.size(); ++k) {
    weight_map[tensors[k].name] = files[result.shard_of[k]];
    result.total_size += sizes[k].bytes;
  }
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [key, value] : options.index_metadata) metadata[key] = value;
  metadata["total_size"] = result.total_size;
  const nlohmann::json index = {{"metadata", metadata}, {"weight_map", weight_map}};
  result.index_file = (std::filesystem::path(dir) / "model.safetensors.index.json").string();
  std::string text;
  try {
    text = index.dump(2) + "\n";
    (void)nlohmann::json(options.shard_metadata).dump();
  } catch (const nlohmann::json::exception& e) {
    throw InputError(dir + ": a tensor name or metadata string is not valid UTF-8 (" + e.what() + ")");
  }

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create the checkpoint directory: " + ec.message());
  for (std::size_t s = 0; s < shards; ++s) {
    const std::string path = (std::filesystem::path(dir) / files[s]).string();
    std::vector<const SafetensorsTensor*> members;
    std::vector<Checked> member_sizes;
    for (std::size_t k = 0; k < tensors.size(); ++k)
      if (result.shard_of[k] == s) {
        members.push_back(&tensors[k]);
        member_sizes.push_back(sizes[k]);
      }
    write_file_atomically(path, encode_checked(members, member_sizes, options.shard_metadata, path));
    result.shard_files.push_back(path);
  }
  write_file_atomically(result.index_file, text);
  return result;
}

}  // namespace mhclab
