// `.safetensors` reader. See mhclab/io/safetensors.hpp for the format and every check made here.
#include "mhclab/io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {

constexpr std::size_t kMaxHeader = 100'000'000;  ///< the format's own limit on N (safetensors spec)

/// Item size of a dtype, 0 for an unknown one; `is_float` = read by this reader.
struct DtypeInfo {
  std::size_t itemsize = 0;
  bool is_float = false;
};

DtypeInfo dtype_info(const std::string& d) {
  if (d == "F64") return {8, true};
  if (d == "F32") return {4, true};
  if (d == "F16" || d == "BF16") return {2, true};
  if (d == "I64" || d == "U64") return {8, false};
  if (d == "I32" || d == "U32") return {4, false};
  if (d == "I16" || d == "U16") return {2, false};
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return {1, false};
  return {};
}

std::uint64_t load_le(const unsigned char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t k = bytes; k-- > 0;) v = (v << 8) | p[k];
  return v;
}

/// IEEE 754 binary16 → double (exact).
double half_to_double(std::uint16_t h) {
  const bool neg = (h & 0x8000U) != 0;
  const unsigned e = (h >> 10) & 0x1fU;
  const unsigned m = h & 0x3ffU;
  double v = 0.0;
  if (e == 0)
    v = std::ldexp(static_cast<double>(m), -24);  // zero or subnormal
  else if (e == 31)
    v = m == 0 ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  else
    v = std::ldexp(static_cast<double>(1024U + m), static_cast<int>(e) - 25);
  return neg ? -v : v;
}

/// A JSON value that must be a non-negative integer (`what` names it in errors).
std::size_t json_size(const nlohmann::json& j, const std::string& what) {
  if (!j.is_number_unsigned()) throw InputError(what + " is " + j.dump() + "; expected an integer ≥ 0");
  const auto v = j.get<std::uint64_t>();
  if (v > std::numeric_limits<std::size_t>::max()) throw InputError(what + " = " + std::to_string(v) + " is too large");
  return static_cast<std::size_t>(v);
}

/// RAII file descriptor of a regular file opened for reading.
class ReadFile {
 public:
  explicit ReadFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail(std::strerror(errno));
    struct ::stat st {};
    if (::fstat(fd_, &st) != 0) fail(std::strerror(errno));
    if (!S_ISREG(st.st_mode)) fail(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    size_ = static_cast<std::size_t>(st.st_size);
  }
  ReadFile(const ReadFile&) = delete;
  ReadFile& operator=(const ReadFile&) = delete;
  ~ReadFile() {
    if (fd_ >= 0) (void)::close(fd_);
  }
  [[nodiscard]] std::size_t size() const { return size_; }
  /// Exactly `count` bytes at `offset` (the caller checked the range against size()).
  [[nodiscard]] std::string read(std::size_t offset, std::size_t count) const {
    std::string out(count, '\0');
    std::size_t got = 0;
    while (got < count) {
      const ::ssize_t r = ::pread(fd_, out.data() + got, count - got, static_cast<::off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        fail(std::strerror(errno));
      }
      if (r == 0) fail("unexpected end of file (the file shrank while being read)");
      got += static_cast<std::size_t>(r);
    }
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw InputError(path_ + ": cannot read: " + why); }
  std::string path_;
  int fd_ = -1;
  std::size_t size_ = 0;
};

/// N from the first 8 bytes, validated against the file size.
std::size_t header_length(std::string_view prefix, std::size_t file_size, const std::string& name) {
  if (file_size < 8 || prefix.size() < 8)
    throw InputError(
        name + ": " + std::to_string(file_size) +
        " bytes is too short for a safetensors file; expected an 8-byte header length, then a JSON header");
  const std::uint64_t n = load_le(reinterpret_cast<const unsigned char*>(prefix.data()), 8);
  if (n > file_size - 8)
    throw InputError(name + ": header length " + std::to_string(n) + " exceeds the " + std::to_string(file_size - 8) +
                     " bytes after the length field; not a safetensors file, or truncated");
  if (n > kMaxHeader)
    throw InputError(name + ": header length " + std::to_string(n) + " exceeds the format's limit of " +
                     std::to_string(kMaxHeader) + " bytes");
  if (n < 2) throw InputError(name + ": header length " + std::to_string(n) + "; expected a JSON object (≥ 2 bytes)");
  return static_cast<std::size_t>(n);
}

}  // namespace

const SafetensorsEntry& SafetensorsHeader::entry(const std::string& tensor, const std::string& file) const {
  const auto it = std::lower_bound(tensors.begin(), tensors.end(), tensor,
                                   [](const SafetensorsEntry& e, const std::string& t) { return e.name < t; });
  if (it == tensors.end() || it->name != tensor)
    throw InputError(file + ": no tensor '" + tensor + "'; the file holds " +
                     std::to_string(tensors.size()) + " tensor(s): " + safetensors_name_list(names()));
  return *it;
}

std::vector<std::string> SafetensorsHeader::names() const {
  std::vector<std::string> out;
  out.reserve(tensors.size());
  for (const SafetensorsEntry& e : tensors) out.push_back(e.name);
  return out;
}

std::string safetensors_name_list(const std::vector<std::string>& names, std::size_t limit) {
  if (names.empty()) return "(none)";
  std::string out;
  const std::size_t shown = std::min(limit, names.size());
  for (std::size_t k = 0; k < shown; ++k) {
    if (k) out += ", ";
    out += names[k];
  }
  if (shown < names.size()) out += " … (" + std::to_string(names.size() - shown) + " more)";
  return out;
}

SafetensorsHeader parse_safetensors_header(std::string_view prefix, std::size_t file_size, const std::string& name) {
  const std::size_t n = header_length(prefix, file_size, name);
  if (prefix.size() < 8 + n)
    throw InputError(name + ": header of " + std::to_string(n) + " bytes is incomplete; the file is truncated");
  const std::string_view text = prefix.substr(8, n);
  nlohmann::json j;
  // JSON allows a name twice and nlohmann keeps the last one; a checkpoint with two tensors of one name is
  // ambiguous, so a repeated top-level key is refused (seen through the parser callback, depth 1 = the top object).
  std::set<std::string> names;
  std::string duplicate;
  const nlohmann::json::parser_callback_t watch = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      const std::string& k = parsed.get_ref<const std::string&>();
      if (!names.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  try {
    j = nlohmann::json::parse(text.begin(), text.end(), watch);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(name + ": the safetensors header is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty())
    throw InputError(name + ": the safetensors header names '" + duplicate + "' twice; a tensor name must be unique");
  if (!j.is_object())
    throw InputError(name + ": the safetensors header is a JSON " + std::string(j.type_name()) +
                     "; expected an object {\"name\": {\"dtype\", \"shape\", \"data_offsets\"}, …}");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  h.data_size = file_size - h.data_start;
  for (const auto& [key, v] : j.items()) {
    if (key == "__metadata__") {
      if (!v.is_object())
        throw InputError(name + ": __metadata__ is a JSON " + std::string(v.type_name()) + "; expected an object");
      continue;
    }
    const std::string where = name + ": tensor '" + key + "'";
    if (!v.is_object())
      throw InputError(where + " is a JSON " + std::string(v.type_name()) +
                       "; expected an object with dtype, shape, data_offsets");
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!v.contains(field)) throw InputError(where + ": missing \"" + field + "\"");
    SafetensorsEntry e;
    e.name = key;
    if (!v["dtype"].is_string())
      throw InputError(where + ": dtype is " + v["dtype"].dump() + "; expected a string such as \"F32\"");
    e.dtype = v["dtype"].get<std::string>();
    const nlohmann::json& shape = v["shape"];
    if (!shape.is_array())
      throw InputError(where + ": shape is " + shape.dump() + "; expected an array of integers ≥ 0");
    std::size_t count = 1;
    bool overflow = false;
    for (const nlohmann::json& s : shape) {
      const std::size_t d = json_size(s, where + ": shape entry");
      e.shape.push_back(d);
      if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) overflow = true;
      count *= d;
    }
    const nlohmann::json& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2)
      throw InputError(where + ": data_offsets is " + off.dump() + "; expected [begin, end]");
    e.begin = json_size(off[0], where + ": data_offsets begin");
    e.end = json_size(off[1], where + ": data_offsets end");
    if (e.begin > e.end || e.end > h.data_size)
      throw InputError(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                       "] out of range; expected begin ≤ end ≤ " + std::to_string(h.data_size) +
                       " (the size of the data buffer)");
    const DtypeInfo info = dtype_info(e.dtype);
    if (info.itemsize != 0) {
      const bool too_big = overflow || (count != 0 && info.itemsize > std::numeric_limits<std::size_t>::max() / count);
      if (too_big || count * info.itemsize != e.end - e.begin)
        throw InputError(where + ": shape " + shape_string(e.shape) + " of dtype " + e.dtype + " needs " +
                         (too_big ? std::string("more than 2^64") : std::to_string(count * info.itemsize)) +
                         " bytes, but data_offsets span " + std::to_string(e.end - e.begin));
    }
    h.tensors.push_back(std::move(e));
  }
  std::sort(h.tensors.begin(), h.tensors.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) { return a.name < b.name; });
  // Overlaps: sort the non-empty byte ranges by begin; each must start at or after the furthest end so far.
  std::vector<const SafetensorsEntry*> by_offset;
  for (const SafetensorsEntry& e : h.tensors)
    if (e.end > e.begin) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  for (std::size_t k = 1; k < by_offset.size(); ++k)
    if (by_offset[k]->begin < by_offset[k - 1]->end)
      throw InputError(name + ": tensors '" + by_offset[k - 1]->name + "' and '" + by_offset[k]->name +
                       "' overlap in the data buffer ([" + std::to_string(by_offset[k - 1]->begin) + ", " +
                       std::to_string(by_offset[k - 1]->end) + ") and [" + std::to_string(by_offset[k]->begin) + ", " +
                       std::to_string(by_offset[k]->end) + "))");
  return h;
}

NpyArray decode_safetensors_tensor(const SafetensorsEntry& e, std::string_view raw, const std::string& name) {
  const std::string where = name + ": tensor '" + e.name + "'";
  const DtypeInfo info = dtype_info(e.dtype);
  if (info.itemsize == 0) throw InputError(where + ": unknown dtype '" + e.dtype + "'; expected F64, F32, F16 or BF16");
  if (!info.is_float)
    throw InputError(where + ": dtype " + e.dtype + " is not a floating-point type; expected F64, F32, F16 or BF16");
  if (raw.size() != e.end - e.begin)
    throw InputError(where + ": " + std::to_string(raw.size()) + " data bytes; expected " +
                     std::to_string(e.end - e.begin));
  NpyArray a;
  a.shape = e.shape;
  const std::size_t count = raw.size() / info.itemsize;  // = product(shape), checked by the header parser
  a.data.resize(count);
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint64_t bits = load_le(p + k * info.itemsize, info.itemsize);
    double v = 0.0;
    if (e.dtype == "F64")
      v = std::bit_cast<double>(bits);
    else if (e.dtype == "F32")
      v = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
    else if (e.dtype == "F16")
      v = half_to_double(static_cast<std::uint16_t>(bits));
    else  // BF16: the upper half of a binary32
      v = static_cast<double>(std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16));
    if (!std::isfinite(v))
      throw InputError(where + ": value " + std::to_string(k) +
                       " (flat C-order index) is not finite; expected finite values");
    a.data[k] = v;
  }
  return a;
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  const ReadFile f(path);
  const std::string len = f.read(0, std::min<std::size_t>(8, f.size()));
  const std::size_t n = header_length(len, f.size(), path);
  return parse_safetensors_header(len + f.read(8, n), f.size(), path);
}

std::vector<std::string> safetensors_names(const std::string& path) { return read_safetensors_header(path).names(); }

NpyArray read_safetensors(const std::string& path, const std::string& tensor) {
  const ReadFile f(path);
  const std::string len = f.read(0, std::min<std::size_t>(8, f.size()));
  const std::size_t n = header_length(len, f.size(), path);
  const SafetensorsHeader h = parse_safetensors_header(len + f.read(8, n), f.size(), path);
  const SafetensorsEntry& e = h.entry(tensor, path);
  const DtypeInfo info = dtype_info(e.dtype);
  if (info.itemsize == 0 || !info.is_float)  // refuse before reading the bytes
    return decode_safetensors_tensor(e, std::string_view(), path);
  return decode_safetensors_tensor(e, f.read(h.data_start + e.begin, e.end - e.begin), path);
}

NpyArray parse_safetensors(std::string_view bytes, const std::string& tensor, const std::string& name) {
  const SafetensorsHeader h = parse_safetensors_header(bytes, bytes.size(), name);
  const SafetensorsEntry& e = h.entry(tensor, name);
  return decode_safetensors_tensor(e, bytes.substr(h.data_start + e.begin, e.end - e.begin), name);
}

}  // namespace mhclab
