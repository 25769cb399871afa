// io/safetensors.hpp and its use through io/matrix_file.hpp (`--tensor`): every dtype read, every rejected kind
// of file with its own message, garbage and truncated files (never a crash), and identical stacks from .npy and
// .safetensors (layout from_to, input-kind params, per-token stacks). Files are written byte by byte here.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::TempDir;
using mhclab::test::write_bytes;

namespace {

std::string le(std::uint64_t u, int bytes) {
  std::string s;
  for (int b = 0; b < bytes; ++b) s += static_cast<char>((u >> (8 * b)) & 0xffU);
  return s;
}

/// One tensor of a hand-made file: dtype, shape and the raw little-endian payload.
struct Raw {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::string payload;
};

std::string f64_bytes(const std::vector<double>& v) {
  std::string s;
  for (const double x : v) s += le(std::bit_cast<std::uint64_t>(x), 8);
  return s;
}
std::string f32_bytes(const std::vector<float>& v) {
  std::string s;
  for (const float x : v) s += le(std::bit_cast<std::uint32_t>(x), 4);
  return s;
}

/// A safetensors file: header with consecutive data_offsets in the given order, padded with spaces to a
/// multiple of 8 (as the reference writer does), then the payloads.
std::string safetensors_file(const std::vector<Raw>& tensors, const std::string& metadata = R"({"format":"pt"})") {
  std::string h = "{";
  if (!metadata.empty()) h += R"("__metadata__":)" + metadata;
  std::size_t off = 0;
  std::string data;
  for (const Raw& t : tensors) {
    if (h.size() > 1) h += ",";
    std::string shape = "[";
    for (std::size_t k = 0; k < t.shape.size(); ++k) {
      if (k) shape += ',';  // (not `"," + std::string`: GCC 12 reports a false -Wrestrict there)
      shape += std::to_string(t.shape[k]);
    }
    shape += "]";
    h += "\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" +
         std::to_string(off) + "," + std::to_string(off + t.payload.size()) + "]}";
    off += t.payload.size();
    data += t.payload;
  }
  h += "}";
  while (h.size() % 8 != 0) h += ' ';
  return le(h.size(), 8) + h + data;
}

/// A file with a literal header text (for malformed headers) and `data` bytes.
std::string with_header(const std::string& header, const std::string& data = "") {
  return le(header.size(), 8) + header + data;
}

std::vector<double> iota_values(std::size_t count, double scale = 0.125) {
  std::vector<double> v(count);
  for (std::size_t k = 0; k < count; ++k) v[k] = scale * static_cast<double>(k) - 1.0;
  return v;
}

}  // namespace

TEST_SUITE("io_safetensors") {
  TEST_CASE("F64, F32, F16 and BF16 tensors are read exactly, shapes as stored") {
    // Every value below is exactly representable in its dtype, so the conversion must be exact (tolerance 0).
    const std::vector<double> v = iota_values(12);  // multiples of 1/8 in [−1, 0.375]: exact in all four
    std::vector<float> vf(v.begin(), v.end());
    std::string f16, bf16;
    // binary16 / bfloat16 bit patterns of the same values, written by hand from the float32 bits:
    // bf16 = the upper 16 bits of binary32 (exact here); f16 from sign, exponent − 127 + 15 and the top 10 mantissa
    // bits.
    for (const float x : vf) {
      const std::uint32_t b = std::bit_cast<std::uint32_t>(x);
      bf16 += le(b >> 16, 2);
      std::uint32_t h = 0;
      if (x != 0.0F) {
        const std::uint32_t sign = (b >> 31) << 15;
        const int e = static_cast<int>((b >> 23) & 0xffU) - 127 + 15;
        REQUIRE(e > 0);  // normal in binary16
        h = sign | (static_cast<std::uint32_t>(e) << 10) | ((b >> 13) & 0x3ffU);
      }
      f16 += le(h, 2);
    }
    const std::string bytes = safetensors_file({{"a.f64", "F64", {3, 4}, f64_bytes(v)},
                                                {"b.f32", "F32", {12}, f32_bytes(vf)},
                                                {"c.f16", "F16", {2, 2, 3}, f16},
                                                {"d.bf16", "BF16", {4, 3}, bf16}});
    for (const char* name : {"a.f64", "b.f32", "c.f16", "d.bf16"}) {
      INFO(name);
      const NpyArray a = parse_safetensors(bytes, name, "m.safetensors");
      CHECK(a.data == v);
    }
    CHECK(parse_safetensors(bytes, "a.f64", "m").shape == std::vector<std::size_t>{3, 4});
    CHECK(parse_safetensors(bytes, "c.f16", "m").shape == std::vector<std::size_t>{2, 2, 3});
    // The same through a file on disk (pread of the header and of one tensor only).
    TempDir dir;
    write_bytes(dir.file("m.safetensors"), bytes);
    CHECK(read_safetensors(dir.file("m.safetensors"), "d.bf16").data == v);
    CHECK(safetensors_names(dir.file("m.safetensors")) ==
          std::vector<std::string>{"a.f64", "b.f32", "c.f16", "d.bf16"});
  }

  TEST_CASE("F16 special values: subnormals, largest finite, negative zero") {
    // 0x0001 = 2^-24 (smallest subnormal), 0x03ff = 1023·2^-24, 0x7bff = 65504, 0x8000 = −0, 0x3c00 = 1.
    const std::string payload = le(0x0001, 2) + le(0x03ff, 2) + le(0x7bff, 2) + le(0x8000, 2) + le(0x3c00, 2);
    const NpyArray a = parse_safetensors(safetensors_file({{"h", "F16", {5}, payload}}), "h", "m");
    CHECK(a.data[0] == std::ldexp(1.0, -24));
    CHECK(a.data[1] == std::ldexp(1023.0, -24));
    CHECK(a.data[2] == 65504.0);
    CHECK(a.data[3] == 0.0);
    CHECK(std::signbit(a.data[3]));
    CHECK(a.data[4] == 1.0);
  }

  TEST_CASE("scalars and empty tensors") {
    const std::string bytes = safetensors_file({{"s", "F64", {}, f64_bytes({2.5})}, {"e", "F32", {0, 4}, ""}});
    const NpyArray s = parse_safetensors(bytes, "s", "m");
    CHECK(s.shape.empty());
    CHECK(s.data == std::vector<double>{2.5});
    const NpyArray e = parse_safetensors(bytes, "e", "m");
    CHECK(e.shape == std::vector<std::size_t>{0, 4});
    CHECK(e.data.empty());
  }

  TEST_CASE("a missing tensor lists the available names, truncated to 20") {
    std::vector<Raw> many;
    for (int k = 0; k < 25; ++k) many.push_back({"layer" + std::to_string(100 + k), "F64", {1}, f64_bytes({1.0})});
    const std::string msg = input_error_of([&] { (void)parse_safetensors(safetensors_file(many), "nope", "m.st"); });
    CHECK_MESSAGE_HAS(msg, "m.st: no tensor 'nope'", "25 tensor(s)", "layer100, layer101", "layer119", "(5 more)");
    CHECK(msg.find("layer120") == std::string::npos);
  }

  TEST_CASE("every malformed header has its own message") {
    const std::string ok = f64_bytes({1.0, 2.0});
    struct Case {
      const char* what;
      std::string bytes;
      const char* expect;
    };
    const std::vector<Case> cases{
        {"too short", std::string("\x05\x00\x00", 3), "too short for a safetensors file"},
        {"length beyond the file", le(1000, 8) + "{}", "header length 1000 exceeds the 2 bytes"},
        {"huge length", le(~0ULL, 8) + "{}", "exceeds"},
        {"length below 2", le(1, 8) + "{", "expected a JSON object"},
        {"not JSON", with_header("{\"a\": [1, 2"), "not valid JSON"},
        {"not an object", with_header("[1, 2, 3]"), "is a JSON array; expected an object"},
        {"metadata not an object", with_header(R"({"__metadata__": 3})"), "__metadata__ is a JSON number"},
        {"entry not an object", with_header(R"({"a": 3})"), "tensor 'a' is a JSON number"},
        {"missing dtype", with_header(R"({"a": {"shape": [2], "data_offsets": [0, 16]}})", ok), "missing \"dtype\""},
        {"dtype not a string", with_header(R"({"a": {"dtype": 8, "shape": [2], "data_offsets": [0, 16]}})", ok),
         "dtype is 8"},
        {"negative shape", with_header(R"({"a": {"dtype": "F64", "shape": [-2], "data_offsets": [0, 16]}})", ok),
         "shape entry is -2"},
        {"fractional shape", with_header(R"({"a": {"dtype": "F64", "shape": [2.5], "data_offsets": [0, 16]}})", ok),
         "shape entry is 2.5"},
        {"offsets not a pair", with_header(R"({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0]}})", ok),
         "expected [begin, end]"},
        {"offsets beyond the buffer",
         with_header(R"({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 24]}})", ok), "out of range"},
        {"begin after end", with_header(R"({"a": {"dtype": "F64", "shape": [0], "data_offsets": [8, 0]}})", ok),
         "out of range"},
        {"size mismatch", with_header(R"({"a": {"dtype": "F64", "shape": [3], "data_offsets": [0, 16]}})", ok),
         "needs 24 bytes, but data_offsets span 16"},
        {"shape overflow",
         with_header(R"({"a": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}})", ok),
         "more than 2^64"},
        {"overlap",
         with_header(R"({"a": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]},)"
                     R"( "b": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]}})",
                     ok),
         "tensors 'a' and 'b' overlap"},
        {"a name twice",
         with_header(R"({"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]},)"
                     R"( "a": {"dtype": "F64", "shape": [1], "data_offsets": [8, 16]}})",
                     ok),
         "names 'a' twice"},
    };
    for (const Case& c : cases) {
      INFO(c.what);
      const std::string msg = input_error_of([&] { (void)parse_safetensors(c.bytes, "a", "f.safetensors"); });
      CHECK_MESSAGE_HAS(msg, "f.safetensors", c.expect);
    }
  }

  TEST_CASE("non-float and unknown dtypes are refused when read; an unknown dtype elsewhere is tolerated") {
    const std::string bytes = safetensors_file(
        {{"i", "I64", {2}, le(1, 8) + le(2, 8)}, {"u", "F4_X", {3}, "abc"}, {"h", "F64", {1}, f64_bytes({0.5})}});
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)parse_safetensors(bytes, "i", "m"); }),
                      "tensor 'i': dtype I64 is not a floating-point type; expected F64, F32, F16 or BF16");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)parse_safetensors(bytes, "u", "m"); }), "unknown dtype 'F4_X'");
    CHECK(parse_safetensors(bytes, "h", "m").data == std::vector<double>{0.5});
  }

  TEST_CASE("non-finite values are refused with their flat index") {
    const std::string bytes =
        safetensors_file({{"x", "F32", {3}, f32_bytes({1.0F, 2.0F, std::numeric_limits<float>::infinity()})},
                          {"y", "BF16", {2}, le(0x3f80, 2) + le(0x7fc0, 2)}});  // 1, NaN
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)parse_safetensors(bytes, "x", "m"); }), "value 2", "not finite");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)parse_safetensors(bytes, "y", "m"); }), "value 1", "not finite");
  }

  TEST_CASE("garbage and every truncation of a valid file give InputError, never a crash") {
    const std::string good = safetensors_file({{"w", "F64", {2, 2}, f64_bytes({0.5, 0.5, 0.5, 0.5})}});
    // Every prefix: too short, header truncated (length beyond the file), or data truncated (offsets beyond).
    for (std::size_t len = 0; len < good.size(); ++len) {
      INFO("prefix length " << len);
      (void)input_error_of([&] { (void)parse_safetensors(std::string_view(good).substr(0, len), "w", "t"); });
    }
    // Random bytes (with a plausible length field, so the JSON parser sees garbage too).
    RandomStream rng(5, Purpose::Test);
    const int trials = static_cast<int>(mhclab::test::test_size(400, 100));
    for (int t = 0; t < trials; ++t) {
      std::string junk(8 + rng.next() % 64, '\0');
      for (char& c : junk) c = static_cast<char>(rng.next() & 0xffU);
      const std::size_t room = junk.size() - 8;
      if (t % 2 == 0) junk.replace(0, 8, le(room - std::min<std::size_t>(room, rng.next() % 4), 8));
      try {
        (void)parse_safetensors(junk, "w", "g");
      } catch (const InputError&) {
      }
    }
    // Flipped bytes of the valid file: either still valid or an InputError.
    for (std::size_t k = 0; k < good.size(); ++k) {
      std::string b = good;
      b[k] = static_cast<char>(b[k] ^ 0x5a);
      try {
        (void)parse_safetensors(b, "w", "f");
      } catch (const InputError&) {
      }
    }
  }

  TEST_CASE("read_stack: --tensor is required for .safetensors and refused elsewhere") {
    TempDir dir;
    const std::vector<double> v = iota_values(2 * 3 * 3, 0.0625);
    write_bytes(dir.file("m.safetensors"), safetensors_file({{"h_res", "F64", {2, 3, 3}, f64_bytes(v)},
                                                             {"other", "F32", {1}, f32_bytes({1.0F})}}));
    write_npy(dir.file("m.npy"), NpyArray{{2, 3, 3}, v});
    StackReadOptions o;
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_stack(dir.file("m.safetensors"), o); }), "m.safetensors",
                      "--tensor NAME", "h_res, other");
    o.tensor = "h_res";
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_stack(dir.file("m.npy"), o); }), "--tensor 'h_res'", "m.npy",
                      "is not one");
    o.tensor = "nope";
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_stack(dir.file("m.safetensors"), o); }), "no tensor 'nope'");
    CHECK_MESSAGE_HAS(input_error_of([&] { write_matrix(dir.file("w.safetensors"), Mat::Identity(2, 2)); }),
                      "cannot write .safetensors");
  }

  TEST_CASE("read_stack: the same stack from .npy and .safetensors (layouts, kinds, per-token)") {
    TempDir dir;
    const std::vector<double> v = iota_values(2 * 3 * 4 * 4, 0.01);
    write_bytes(dir.file("m.safetensors"), safetensors_file({{"tok", "F64", {2, 3, 4, 4}, f64_bytes(v)},
                                                             {"par", "F64", {3, 9}, f64_bytes(iota_values(27))}}));
    write_npy(dir.file("tok.npy"), NpyArray{{2, 3, 4, 4}, v});
    write_npy(dir.file("par.npy"), NpyArray{{3, 9}, iota_values(27)});
    for (const Layout layout : {Layout::ToFrom, Layout::FromTo}) {
      StackReadOptions o;
      o.layout = layout;
      o.lead_axes = {"token", "layer"};
      const Stack a = read_stack(dir.file("tok.npy"), o);
      o.tensor = "tok";
      const Stack b = read_stack(dir.file("m.safetensors"), o);
      CHECK(a.lead_shape == b.lead_shape);
      REQUIRE(a.matrices.size() == b.matrices.size());
      for (std::size_t k = 0; k < a.matrices.size(); ++k) CHECK(a.matrices[k] == b.matrices[k]);  // bitwise
    }
    StackReadOptions p;
    p.kind = InputKind::Params;
    p.expected_params = 9;
    const Stack a = read_stack(dir.file("par.npy"), p);
    p.tensor = "par";
    const Stack b = read_stack(dir.file("m.safetensors"), p);
    REQUIRE(a.params.size() == 3);
    for (std::size_t k = 0; k < 3; ++k) CHECK(a.params[k] == b.params[k]);
    // from_to really transposes: element (i, j) of layer 0 of token 0 is v[j·4 + i].
    StackReadOptions t;
    t.layout = Layout::FromTo;
    t.lead_axes = {"token", "layer"};
    t.tensor = "tok";
    CHECK(read_stack(dir.file("m.safetensors"), t).matrices[0](1, 2) == v[2 * 4 + 1]);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_matrix(dir.file("m.safetensors"), Layout::ToFrom, "tok"); }),
                      "shape (2, 3, 4, 4) does not fit");
  }
}
