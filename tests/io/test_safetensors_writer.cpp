// io/safetensors_writer.hpp: the exact header and data layout, round trips through the reader for every dtype,
// round-to-nearest-even for F32, BF16 and F16 (ties, subnormals, overflow), every refused input with nothing
// written, and the sharded checkpoint layout (file names, index JSON, shard assignment).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"
#include "mhclab/io/safetensors_writer.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::read_bytes;
using mhclab::test::TempDir;

namespace {

/// The value of every binary16 bit pattern as the existing reader decodes it (NaN for inf/NaN patterns, which
/// the reader refuses): one hand-made file holding all 63488 finite patterns.
const std::vector<double>& f16_table() {
  static const std::vector<double> table = [] {
    std::vector<std::uint16_t> finite;
    for (std::uint32_t b = 0; b < 0x10000U; ++b)
      if ((b & 0x7c00U) != 0x7c00U) finite.push_back(static_cast<std::uint16_t>(b));
    std::string h = R"({"x":{"dtype":"F16","shape":[)" + std::to_string(finite.size()) + R"(],"data_offsets":[0,)" +
                    std::to_string(2 * finite.size()) + "]}}";
    while (h.size() % 8 != 0) h += ' ';
    std::string file(8, '\0');
    for (std::size_t b = 0; b < 8; ++b) file[b] = static_cast<char>((h.size() >> (8 * b)) & 0xffU);
    file += h;
    for (const std::uint16_t b : finite) {
      file += static_cast<char>(b & 0xffU);
      file += static_cast<char>(b >> 8);
    }
    const std::vector<double> values = parse_safetensors(file, "x", "f16").data;
    std::vector<double> out(0x10000U, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t k = 0; k < finite.size(); ++k) out[finite[k]] = values[k];
    return out;
  }();
  return table;
}

double f16_value(std::uint16_t bits) { return f16_table()[bits]; }

/// Round trip of one value through a one-tensor file of `dtype`.
double through(const std::string& dtype, double x) {
  return parse_safetensors(encode_safetensors({{"x", dtype, {}, {x}}}), "x", "m").data[0];
}

}  // namespace

TEST_SUITE("io_safetensors_writer") {
  TEST_CASE("the header is compact, key-sorted and space-padded; data by item size, then name") {
    const std::vector<SafetensorsTensor> tensors = {{"b", "F16", {3}, {1.0, 2.0, 3.0}},
                                                    {"a", "F64", {2}, {0.5, -0.5}},
                                                    {"c", "F32", {1, 1}, {4.0}},
                                                    {"A", "BF16", {}, {-2.0}}};
    const std::string bytes = encode_safetensors(tensors, {{"format", "pt"}});
    // Layout: F64 a [0,16), F32 c [16,20), then the 2-byte ones by name: A [20,22), b [22,28).
    std::string expected =
        R"({"A":{"data_offsets":[20,22],"dtype":"BF16","shape":[]},"__metadata__":{"format":"pt"},)"
        R"("a":{"data_offsets":[0,16],"dtype":"F64","shape":[2]},"b":{"data_offsets":[22,28],"dtype":"F16","shape":[3]},)"
        R"("c":{"data_offsets":[16,20],"dtype":"F32","shape":[1,1]}})";
    while ((8 + expected.size()) % 8 != 0) expected += ' ';
    std::uint64_t n = 0;
    for (int b = 7; b >= 0; --b) n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(b)]);
    REQUIRE(n == expected.size());
    CHECK(n % 8 == 0);
    CHECK(bytes.substr(8, n) == expected);
    CHECK(bytes.size() == 8 + n + 28);
    // Every dtype reads back through the existing reader.
    CHECK(parse_safetensors(bytes, "a", "m").data == std::vector<double>{0.5, -0.5});
    CHECK(parse_safetensors(bytes, "b", "m").data == std::vector<double>{1.0, 2.0, 3.0});
    CHECK(parse_safetensors(bytes, "c", "m").shape == std::vector<std::size_t>{1, 1});
    CHECK(parse_safetensors(bytes, "c", "m").data == std::vector<double>{4.0});
    CHECK(parse_safetensors(bytes, "A", "m").data == std::vector<double>{-2.0});
    CHECK(parse_safetensors(bytes, "A", "m").shape.empty());
    // No metadata: no "__metadata__" key; no tensors: "{}" padded to 8 bytes.
    CHECK(encode_safetensors({{"z", "F64", {0}, {}}}).find("__metadata__") == std::string::npos);
    const std::string empty = encode_safetensors({});
    CHECK(empty.substr(8) == "{}      ");
    CHECK(parse_safetensors_header(empty, empty.size(), "e").tensors.empty());
  }

  TEST_CASE("write_safetensors: a file the existing reader reads, every dtype, shapes and empty tensors") {
    TempDir dir;
    std::vector<double> v(24);
    for (std::size_t k = 0; k < v.size(); ++k) v[k] = 0.25 * static_cast<double>(k) - 3.0;  // exact in all four
    const std::string path = dir.file("m.safetensors");
    write_safetensors(path,
                      {{"w.f64", "F64", {2, 3, 4}, v},
                       {"w.f32", "F32", {24}, v},
                       {"w.bf16", "BF16", {4, 6}, v},
                       {"w.f16", "F16", {6, 4}, v},
                       {"empty", "F32", {0, 5}, {}}},
                      {{"format", "pt"}});
    CHECK(dir.entries() == std::vector<std::string>{"m.safetensors"});  // no temporary left behind
    CHECK(safetensors_names(path) == std::vector<std::string>{"empty", "w.bf16", "w.f16", "w.f32", "w.f64"});
    for (const char* name : {"w.f64", "w.f32", "w.bf16", "w.f16"}) {
      INFO(name);
      CHECK(read_safetensors(path, name).data == v);
    }
    CHECK(read_safetensors(path, "w.f64").shape == std::vector<std::size_t>{2, 3, 4});
    CHECK(read_safetensors(path, "empty").shape == std::vector<std::size_t>{0, 5});
    CHECK(read_safetensors(path, "empty").data.empty());
    // Every tensor starts at a multiple of its item size (the data buffer is 8-aligned in the file).
    const SafetensorsHeader h = read_safetensors_header(path);
    CHECK(h.data_start % 8 == 0);
    for (const SafetensorsEntry& e : h.tensors) {
      const std::size_t item = e.dtype == "F64" ? 8 : e.dtype == "F32" ? 4 : 2;
      CHECK((h.data_start + e.begin) % item == 0);
    }
    // Rewriting replaces the file atomically.
    write_safetensors(path, {{"only", "F64", {1}, {7.0}}});
    CHECK(safetensors_names(path) == std::vector<std::string>{"only"});
  }

  TEST_CASE("BF16 and F32 round to nearest, ties to even") {
    // bf16 has 8 significant bits: the spacing at 1 is 2^-7.
    CHECK(through("BF16", 1.0 + 0x1p-9) == 1.0);                     // below half a spacing
    CHECK(through("BF16", 1.0 + 0x1p-8) == 1.0);                     // a tie: to the even 1
    CHECK(through("BF16", 1.0 + 3 * 0x1p-8) == 1.0 + 0x1p-6);        // a tie: to the even 1 + 2^-6
    CHECK(through("BF16", 1.0 + 0x1p-8 + 0x1p-30) == 1.0 + 0x1p-7);  // just above a tie: up
    CHECK(through("BF16", -(1.0 + 0x1p-8 + 0x1p-30)) == -(1.0 + 0x1p-7));
    CHECK(through("BF16", 0x1p-133) == 0x1p-133);  // smallest bf16 subnormal
    CHECK(through("BF16", 0x1p-134) == 0.0);       // a tie with 0: to 0
    CHECK(double_to_bf16_bits(1.0) == 0x3f80U);
    CHECK(double_to_bf16_bits(-0.0) == 0x8000U);
    CHECK(double_to_bf16_bits(3.5e38) == 0x7f80U);  // overflow → +inf pattern
    // fp32: 24 bits, spacing 2^-23 at 1.
    CHECK(through("F32", 1.0 + 0x1p-24) == 1.0);
    CHECK(through("F32", 1.0 + 3 * 0x1p-24) == 1.0 + 0x1p-22);
    CHECK(through("F32", 0.1) == static_cast<double>(0.1F));
    CHECK(through("F32", 0x1p-149) == 0x1p-149);  // smallest fp32 subnormal
    CHECK(through("F64", 0.1) == 0.1);
    CHECK(std::signbit(through("F16", -0.0)));
    CHECK(std::signbit(through("BF16", -0.0)));
  }

  TEST_CASE("F16: round to nearest even, subnormals, the largest finite value, overflow") {
    CHECK(double_to_f16_bits(1.0) == 0x3c00U);
    CHECK(double_to_f16_bits(-2.0) == 0xc000U);
    CHECK(double_to_f16_bits(0.0) == 0x0000U);
    CHECK(double_to_f16_bits(-0.0) == 0x8000U);
    CHECK(double_to_f16_bits(1.0 + 0x1p-11) == 0x3c00U);      // a tie: to the even 1
    CHECK(double_to_f16_bits(1.0 + 3 * 0x1p-11) == 0x3c02U);  // a tie: to the even 1 + 2^-9
    CHECK(double_to_f16_bits(0x1p-14) == 0x0400U);            // smallest normal
    CHECK(double_to_f16_bits(0x1p-24) == 0x0001U);            // smallest subnormal
    CHECK(double_to_f16_bits(0x1p-25) == 0x0000U);            // a tie with 0: to 0
    CHECK(double_to_f16_bits(0x1p-25 + 0x1p-40) == 0x0001U);  // above the tie: up
    CHECK(double_to_f16_bits(3 * 0x1p-25) == 0x0002U);        // 1.5·2^-24: a tie, to the even 2
    CHECK(double_to_f16_bits(1023 * 0x1p-24) == 0x03ffU);     // largest subnormal
    CHECK(double_to_f16_bits(1023.5 * 0x1p-24) == 0x0400U);   // rounds up into the normal range
    CHECK(double_to_f16_bits(-5 * 0x1p-24) == 0x8005U);
    CHECK(double_to_f16_bits(1e-10) == 0x0000U);
    CHECK(double_to_f16_bits(65504.0) == 0x7bffU);
    CHECK(double_to_f16_bits(65519.99) == 0x7bffU);  // below the midpoint 65520
    CHECK(double_to_f16_bits(65520.0) == 0x7c00U);   // the midpoint: to the even 2^16 = overflow
    CHECK(double_to_f16_bits(-1e6) == 0xfc00U);
    CHECK(double_to_f16_bits(std::numeric_limits<double>::quiet_NaN()) == 0x7e00U);
    // Subnormals survive the file round trip.
    CHECK(through("F16", 0x1p-24) == 0x1p-24);
    CHECK(through("F16", 3 * 0x1p-26) == 0x1p-24);  // 0.75·2^-24: nearest is 2^-24
    CHECK(through("F16", 1000 * 0x1p-24) == 1000 * 0x1p-24);
    CHECK(f16_value(0x03ffU) == 1023 * 0x1p-24);
    // Every finite binary16 value converts to its own bit pattern (all 63488 of them, both signs).
    for (std::uint32_t b = 0; b < 0x10000U; ++b) {
      if ((b & 0x7c00U) == 0x7c00U) continue;  // inf / NaN
      const double x = f16_value(static_cast<std::uint16_t>(b));
      if (double_to_f16_bits(x) != b) {
        FAIL_CHECK("bits " << b << " → " << x << " → " << double_to_f16_bits(x));
        break;
      }
    }
#ifdef __FLT16_MAX__
    // The compiler's own double → _Float16 conversion (correctly rounded) as an independent oracle, on random
    // doubles over the whole range (subnormals, normals, overflow) and on the midpoints between neighbours.
    std::mt19937_64 rng(12345);
    std::uniform_real_distribution<double> mant(1.0, 2.0);
    std::uniform_int_distribution<int> expo(-27, 16);
    for (int k = 0; k < 200000; ++k) {
      double x = std::ldexp(mant(rng), expo(rng));
      if (k % 2 == 1) {  // a midpoint: halfway between a random half value and the next one
        const auto h = static_cast<std::uint16_t>(rng() % 0x7c00U);  // a finite positive pattern
        const double lo = f16_value(h);
        const double hi = h == 0x7bffU ? 65536.0 : f16_value(static_cast<std::uint16_t>(h + 1));
        x = (lo + hi) / 2;
      }
      if (k % 3 == 0) x = -x;
      const auto want = std::bit_cast<std::uint16_t>(static_cast<_Float16>(x));
      if (double_to_f16_bits(x) != want) {
        char hex[40];
        (void)std::snprintf(hex, sizeof hex, "%a", x);
        FAIL_CHECK(hex << ": got " << double_to_f16_bits(x) << ", _Float16 gives " << want);
        break;
      }
    }
#endif
  }

  TEST_CASE("refused tensors: nothing is written, each with its own message") {
    TempDir dir;
    const std::string path = dir.file("bad.safetensors");
    const auto refused = [&](const std::vector<SafetensorsTensor>& t) {
      return input_error_of([&] { write_safetensors(path, t); });
    };
    CHECK_MESSAGE_HAS(refused({{"x", "F16", {2}, {1.0, 65520.0}}}), path, "tensor 'x'", "value 1", "65520",
                      "overflows F16", "65504");
    CHECK_MESSAGE_HAS(refused({{"x", "F32", {1}, {3.5e38}}}), "overflows F32");
    CHECK_MESSAGE_HAS(refused({{"x", "BF16", {1}, {3.5e38}}}), "overflows BF16");
    CHECK_MESSAGE_HAS(refused({{"x", "F64", {3}, {1.0, 2.0, std::nan("")}}}), "value 2", "not finite");
    CHECK_MESSAGE_HAS(refused({{"x", "F64", {2, 2}, {1.0, 2.0, 3.0}}}), "3 values", "(2, 2)", "expects 4");
    CHECK_MESSAGE_HAS(refused({{"x", "I32", {1}, {1.0}}}), "dtype 'I32'", "expected F64, F32, BF16 or F16");
    CHECK_MESSAGE_HAS(refused({{"x", "F64", {1}, {1.0}}, {"x", "F32", {1}, {1.0}}}), "tensor 'x' is given twice");
    CHECK_MESSAGE_HAS(refused({{"", "F64", {1}, {1.0}}}), "empty name");
    CHECK_MESSAGE_HAS(refused({{"__metadata__", "F64", {1}, {1.0}}}), "reserved");
    CHECK_MESSAGE_HAS(refused({{"\xff\xfe", "F64", {1}, {1.0}}}), "not valid UTF-8");
    CHECK(dir.entries().empty());
  }

  TEST_CASE("write_sharded_checkpoint: file names, index JSON and total_size") {
    TempDir dir;
    const std::string root = dir.file("ckpt");  // created by the writer
    const std::vector<SafetensorsTensor> t = {{"z.weight", "F32", {2, 2}, {1, 2, 3, 4}},
                                              {"a.bias", "BF16", {3}, {1, 2, 3}},
                                              {"m.w", "F64", {1}, {5}},
                                              {"b.h", "F16", {2}, {0.5, 0.25}},
                                              {"c", "F32", {}, {9}}};
    ShardedCheckpointOptions opt;
    opt.max_tensors_per_shard = 2;
    opt.index_metadata = {{"producer", "mhclab"}};
    const ShardedCheckpointResult r = write_sharded_checkpoint(root, t, opt);
    CHECK(r.shard_of == std::vector<std::size_t>{0, 0, 1, 1, 2});
    CHECK(r.total_size == 16 + 6 + 8 + 4 + 4);
    REQUIRE(r.shard_files.size() == 3);
    CHECK(r.shard_files[0] == root + "/model-00001-of-00003.safetensors");
    CHECK(r.shard_files[2] == root + "/model-00003-of-00003.safetensors");
    CHECK(r.index_file == root + "/model.safetensors.index.json");
    const std::string text = read_bytes(r.index_file);
    const nlohmann::json j = nlohmann::json::parse(text);
    CHECK(text == j.dump(2) + "\n");  // sorted keys, 2-space indent, final newline
    CHECK(j["metadata"]["total_size"] == r.total_size);
    CHECK(j["metadata"]["producer"] == "mhclab");
    CHECK(j["weight_map"].size() == 5);
    CHECK(j["weight_map"]["z.weight"] == "model-00001-of-00003.safetensors");
    CHECK(j["weight_map"]["m.w"] == "model-00002-of-00003.safetensors");
    CHECK(j["weight_map"]["c"] == "model-00003-of-00003.safetensors");
    CHECK(safetensors_names(r.shard_files[0]) == std::vector<std::string>{"a.bias", "z.weight"});
    CHECK(read_safetensors(r.shard_files[1], "b.h").data == std::vector<double>{0.5, 0.25});
    CHECK(read_bytes(r.shard_files[0]).find(R"("__metadata__":{"format":"pt"})") != std::string::npos);
  }

  TEST_CASE("write_sharded_checkpoint: greedy byte limit and explicit assignment") {
    TempDir dir;
    const std::vector<SafetensorsTensor> t = {{"a", "F64", {4}, {1, 2, 3, 4}},                 // 32 bytes
                                              {"b", "F64", {1}, {1}},                          // 8
                                              {"c", "F64", {8}, std::vector<double>(8, 1.0)},  // 64 > the limit
                                              {"d", "F32", {2}, {1, 2}}};                      // 8
    ShardedCheckpointOptions bytes;
    bytes.max_shard_bytes = 40;
    CHECK(write_sharded_checkpoint(dir.file("b"), t, bytes).shard_of == std::vector<std::size_t>{0, 0, 1, 2});
    ShardedCheckpointOptions one;
    const ShardedCheckpointResult single = write_sharded_checkpoint(dir.file("one"), t, one);
    CHECK(single.shard_files == std::vector<std::string>{dir.file("one") + "/model-00001-of-00001.safetensors"});
    ShardedCheckpointOptions expl;
    expl.shard_of = {1, 0, 1, 0};
    const ShardedCheckpointResult e = write_sharded_checkpoint(dir.file("e"), t, expl);
    CHECK(safetensors_names(e.shard_files[0]) == std::vector<std::string>{"b", "d"});
    CHECK(safetensors_names(e.shard_files[1]) == std::vector<std::string>{"a", "c"});

    // Refused before anything is written.
    const auto refused = [&](const std::vector<SafetensorsTensor>& ts, const ShardedCheckpointOptions& o) {
      return input_error_of([&] { (void)write_sharded_checkpoint(dir.file("bad"), ts, o); });
    };
    ShardedCheckpointOptions gap;
    gap.shard_of = {0, 2, 0, 2};
    CHECK_MESSAGE_HAS(refused(t, gap), "shard 1 of the assignment receives no tensor");
    ShardedCheckpointOptions short_;
    short_.shard_of = {0, 1};
    CHECK_MESSAGE_HAS(refused(t, short_), "2 entries; expected one per tensor (4)");
    ShardedCheckpointOptions both = expl;
    both.max_tensors_per_shard = 1;
    CHECK_MESSAGE_HAS(refused(t, both), "expected one of them");
    ShardedCheckpointOptions total;
    total.index_metadata = {{"total_size", "1"}};
    CHECK_MESSAGE_HAS(refused(t, total), "total_size");
    CHECK_MESSAGE_HAS(refused({}, one), "no tensors");
    std::vector<SafetensorsTensor> late_bad = t;
    late_bad.push_back({"e", "F16", {1}, {1e6}});  // would go to the last shard
    CHECK_MESSAGE_HAS(refused(late_bad, bytes), "tensor 'e'", "overflows F16");
    std::vector<SafetensorsTensor> dup = t;
    dup.push_back({"a", "F32", {1}, {1}});
    CHECK_MESSAGE_HAS(refused(dup, bytes), "tensor 'a' is given twice");
    CHECK(!std::filesystem::exists(dir.file("bad")));
  }
}
