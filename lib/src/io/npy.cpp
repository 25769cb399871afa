// NumPy .npy reader and writer. See mhclab/io/npy.hpp for the accepted format and the error policy.
#include "mhclab/core/format.hpp"
#include "mhclab/io/npy.hpp"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>

#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kAlign = 64;             // numpy.lib.format.ARRAY_ALIGN
constexpr std::size_t kGrowthAxisDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS (NumPy ≥ 1.24)

/// Printable excerpt of a header for error messages (non-printable bytes escaped, long headers cut).
std::string quoted(std::string_view s, std::size_t max_len = 120) {
  std::string out = "\"";
  for (std::size_t k = 0; k < s.size() && k < max_len; ++k) {
    const auto c = static_cast<unsigned char>(s[k]);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_len) out += "...";
  return out + "\"";
}

/// "(0, 1, 2)": the multi-index of flat C-order position `flat`.
std::string index_string(const std::vector<std::size_t>& shape, std::size_t flat) {
  std::vector<std::size_t> idx(shape.size());
  for (std::size_t d = shape.size(); d-- > 0;) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return shape_string(idx);
}

std::optional<std::size_t> checked_product(const std::vector<std::size_t>& shape) {
  std::size_t p = 1;
  for (const std::size_t s : shape)
    if (__builtin_mul_overflow(p, s, &p)) return std::nullopt;
  return p;
}

struct Header {
  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<std::size_t>> shape;
};

/// Parser for the header dict, a restricted Python literal:
///   {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : s_(text), name_(name) {}

  Header parse() {
    Header h;
    skip_ws();
    expect('{', "'{' opening the header dict");
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string("a quoted key");
      skip_ws();
      expect(':', "':' after key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (h.descr) fail("key 'descr' appears twice");
        if (peek() != '\'' && peek() != '"')
          throw InputError(name_ + ": structured or non-string dtype descriptor not supported; expected "
                                   "float64 ('<f8') or float32 ('<f4'), little-endian");
        h.descr = parse_string("a dtype string");
      } else if (key == "fortran_order") {
        if (h.fortran_order) fail("key 'fortran_order' appears twice");
        h.fortran_order = parse_bool();
      } else if (key == "shape") {
        if (h.shape) fail("key 'shape' appears twice");
        h.shape = parse_shape();
      } else {
        fail("unexpected key '" + key + "'; expected exactly 'descr', 'fortran_order' and 'shape'");
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') break;
      fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++pos_;  // '}'
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
    if (pos_ != s_.size()) fail("unexpected characters after the header dict");
    if (!h.descr) fail("key 'descr' missing");
    if (!h.fortran_order) fail("key 'fortran_order' missing");
    if (!h.shape) fail("key 'shape' missing");
    return h;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(name_ + ": bad .npy header: " + what + " (at offset " + std::to_string(pos_) +
                     " of header " + quoted(s_) + "); expected a dict like {'descr': '<f8', "
                     "'fortran_order': False, 'shape': (2, 3), }");
  }
  [[nodiscard]] char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  void expect(char c, const std::string& what) {
    if (peek() != c) fail("expected " + what);
    ++pos_;
  }
  std::string parse_string(const std::string& what) {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected " + what);
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\' || s_[pos_] == '\n') fail("escape sequences and newlines in strings are not supported");
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("expected True or False for 'fortran_order'");
  }
  std::size_t parse_dim() {
    if (peek() < '0' || peek() > '9') fail("expected a non-negative integer in 'shape'");
    std::size_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<std::size_t>(peek() - '0');
      if (__builtin_mul_overflow(v, std::size_t{10}, &v) || __builtin_add_overflow(v, digit, &v))
        throw InputError(name_ + ": bad .npy header: a dimension in 'shape' does not fit in 64 bits");
      ++pos_;
    }
    if (peek() == 'L') ++pos_;  // Python 2 long literal, e.g. (3L, 4L)
    return v;
  }
  std::vector<std::size_t> parse_shape() {
    expect('(', "a tuple '(…)' for 'shape'");
    std::vector<std::size_t> shape;
    skip_ws();
    if (peek() == ')') {
      ++pos_;
      return shape;
    }
    for (;;) {
      skip_ws();
      shape.push_back(parse_dim());
      skip_ws();
      if (peek() == ')') {
        if (shape.size() == 1) fail("a 1-tuple needs a trailing comma, e.g. (3,)");
        ++pos_;
        return shape;
      }
      expect(',', "',' or ')' in 'shape'");
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        return shape;
      }
    }
  }

  std::string_view s_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

std::uint32_t load_le32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
std::uint64_t load_le64(const unsigned char* p) {
  return static_cast<std::uint64_t>(load_le32(p)) | static_cast<std::uint64_t>(load_le32(p + 4)) << 32;
}
void store_le64(std::string& out, std::uint64_t u) {
  for (int b = 0; b < 8; ++b) out += static_cast<char>((u >> (8 * b)) & 0xffu);
}

std::string dict_string(const std::vector<std::size_t>& shape) {
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  // NumPy ≥ 1.24 reserves room to grow the first axis in place; copy it so the bytes match np.save.
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisDigits) h.append(kGrowthAxisDigits - digits, ' ');
  }
  return h;
}

}  // namespace

std::size_t NpyArray::element_count() const {
  std::size_t p = 1;
  for (const std::size_t s : shape) p *= s;
  return p;
}

std::string shape_string(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t d = 0; d < shape.size(); ++d) {
    if (d > 0) s += ", ";
    s += std::to_string(shape[d]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

NpyArray parse_npy(std::string_view bytes, const std::string& name) {
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < kMagic.size() || bytes.substr(0, kMagic.size()) != kMagic)
    throw InputError(name + ": not a .npy file: bad magic string " + quoted(bytes.substr(0, 6)) +
                     "; expected \"\\x93NUMPY\"");
  if (bytes.size() < 8) throw InputError(name + ": truncated .npy file: no format version after the magic string");
  const unsigned major = u[6], minor = u[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    throw InputError(name + ": .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                     " not supported; expected 1.0, 2.0 or 3.0");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + len_bytes)
    throw InputError(name + ": truncated .npy file: the header length field is incomplete");
  const std::size_t header_len = major == 1 ? static_cast<std::size_t>(u[8]) | static_cast<std::size_t>(u[9]) << 8
                                            : static_cast<std::size_t>(load_le32(u + 8));
  const std::size_t header_start = 8 + len_bytes;
  if (header_len > bytes.size() - header_start)
    throw InputError(name + ": truncated .npy file: the header is " + std::to_string(header_len) +
                     " bytes long but only " + std::to_string(bytes.size() - header_start) + " bytes follow");
  const std::string_view header = bytes.substr(header_start, header_len);
  const Header h = HeaderParser(header, name).parse();

  std::size_t item = 0;
  if (*h.descr == "<f8") {
    item = 8;
  } else if (*h.descr == "<f4") {
    item = 4;
  } else if (*h.descr == ">f8" || *h.descr == ">f4") {
    throw InputError(name + ": dtype '" + *h.descr + "' is big-endian, not supported; expected float64 ('<f8') or "
                     "float32 ('<f4'), little-endian (convert with a.astype('<f8'))");
  } else {
    throw InputError(name + ": dtype '" + *h.descr + "' not supported; expected float64 ('<f8') or float32 "
                     "('<f4'), little-endian");
  }
  if (*h.fortran_order)
    throw InputError(name + ": fortran_order True not supported; expected C order (re-save with "
                     "np.save(f, np.ascontiguousarray(a)))");

  NpyArray a;
  a.shape = *h.shape;
  const std::size_t data_start = header_start + header_len;
  const std::size_t available = bytes.size() - data_start;
  const auto count = checked_product(a.shape);
  std::size_t needed = 0;
  if (!count || __builtin_mul_overflow(*count, item, &needed))
    throw InputError(name + ": shape " + shape_string(a.shape) + " overflows: its element count does not fit "
                     "in 64 bits; expected a shape matching the " + std::to_string(available) + " data bytes in the file");
  if (needed > available)
    throw InputError(name + ": truncated data: shape " + shape_string(a.shape) + " of dtype '" + *h.descr +
                     "' needs " + std::to_string(needed) + " bytes, but the file has " + std::to_string(available) +
                     " after the header");
  if (needed < available)
    throw InputError(name + ": trailing garbage: " + std::to_string(available - needed) +
                     " unexpected bytes after the data of shape " + shape_string(a.shape) + " (dtype '" + *h.descr +
                     "', " + std::to_string(needed) + " bytes)");

  a.data.resize(*count);
  const unsigned char* p = u + data_start;
  for (std::size_t k = 0; k < *count; ++k) {
    const double v = item == 8 ? std::bit_cast<double>(load_le64(p + 8 * k))
                               : static_cast<double>(std::bit_cast<float>(load_le32(p + 4 * k)));
    if (!std::isfinite(v))
      throw InputError(name + ": non-finite value " + format_double(v) + " at index " + index_string(a.shape, k) +
                       "; expected finite numbers only");
    a.data[k] = v;
  }
  return a;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file_bytes(path), path); }

std::string encode_npy(const NpyArray& a, const std::string& name) {
  const auto count = checked_product(a.shape);
  if (!count || *count != a.data.size())
    throw InputError(name + ": internal: array of shape " + shape_string(a.shape) + " holds " +
                     std::to_string(a.data.size()) + " values");
  for (std::size_t k = 0; k < a.data.size(); ++k)
    if (!std::isfinite(a.data[k]))
      throw ComputeError(name + ": refusing to write non-finite value " + format_double(a.data[k]) + " at index " +
                         index_string(a.shape, k) + " (mhclab's readers accept finite values only)");

  const std::string dict = dict_string(a.shape);
  // Version 1.0 has a 2-byte header length; fall back to 2.0 (4 bytes) only for huge headers (NumPy does too).
  std::size_t len_bytes = 2;
  auto padding = [&](std::size_t lb) { return kAlign - (kMagic.size() + 2 + lb + dict.size() + 1) % kAlign; };
  if (dict.size() + padding(2) + 1 > 65535) len_bytes = 4;
  const std::size_t pad = padding(len_bytes);
  const std::size_t header_len = dict.size() + pad + 1;

  std::string out;
  out.reserve(kMagic.size() + 2 + len_bytes + header_len + 8 * a.data.size());
  out += kMagic;
  out += static_cast<char>(len_bytes == 2 ? 1 : 2);
  out += static_cast<char>(0);
  for (std::size_t b = 0; b < len_bytes; ++b) out += static_cast<char>((header_len >> (8 * b)) & 0xffu);
  out += dict;
  out.append(pad, ' ');
  out += '\n';
  for (const double v : a.data) store_le64(out, std::bit_cast<std::uint64_t>(v));
  return out;
}

void write_npy(const std::string& path, const NpyArray& a) { write_file_atomically(path, encode_npy(a, path)); }

}  // namespace mhclab
