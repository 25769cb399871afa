// io/npy.hpp: round trips, the exact bytes NumPy writes, every rejected kind of file with its own message,
// and interoperability with Debian's python3-numpy when it is installed.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/io/npy.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;
namespace fs = std::filesystem;
using mhclab::test::TempDir;
using mhclab::test::input_error_of;
using mhclab::test::read_text;
using mhclab::test::write_text;
using mhclab::test::read_bytes;
using mhclab::test::write_bytes;

namespace {


std::string le_bytes(std::uint64_t u, int n) {
  std::string s;
  for (int b = 0; b < n; ++b) s += static_cast<char>((u >> (8 * b)) & 0xffu);
  return s;
}
std::string f8(const std::vector<double>& v) {
  std::string s;
  for (const double x : v) s += le_bytes(std::bit_cast<std::uint64_t>(x), 8);
  return s;
}
std::string f4(const std::vector<float>& v) {
  std::string s;
  for (const float x : v) s += le_bytes(std::bit_cast<std::uint32_t>(x), 4);
  return s;
}

/// A hand-made .npy file: magic, version (major.0), header length, `dict` padded to 64 bytes + '\n', data.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  while ((6 + 2 + len_bytes + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  out += le_bytes(header.size(), static_cast<int>(len_bytes));
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, const std::string& fortran = "False") {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

NpyArray iota_array(std::vector<std::size_t> shape) {
  NpyArray a;
  a.shape = std::move(shape);
  a.data.resize(a.element_count());
  for (std::size_t k = 0; k < a.data.size(); ++k) a.data[k] = (static_cast<double>(k) - 2.5) / 3.0;
  return a;
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::bit_cast<std::uint64_t>(a[k]) != std::bit_cast<std::uint64_t>(b[k])) return false;
  return true;
}

bool have_numpy() { return std::system("/usr/bin/python3 -c \"import numpy\" >/dev/null 2>&1") == 0; }

}  // namespace

TEST_SUITE("io") {

TEST_CASE("npy: float64 round trip is exact for ranks 0 to 4 and empty arrays") {
  TempDir dir("mhclab_test_npy_");
  const std::vector<std::vector<std::size_t>> shapes = {{}, {5}, {3, 4}, {2, 3, 3}, {2, 1, 3, 2}, {0}, {0, 3}, {2, 0, 4}};
  for (const auto& shape : shapes) {
    NpyArray a = iota_array(shape);
    if (!a.data.empty()) {
      a.data[0] = -0.0;
      a.data.back() = std::numeric_limits<double>::denorm_min();
    }
    const std::string path = dir.file("a.npy");
    write_npy(path, a);
    const NpyArray b = read_npy(path);
    INFO("shape " << shape_string(shape));
    CHECK(b.shape == a.shape);
    CHECK(bitwise_equal(b.data, a.data));
    // NumPy's layout: version 1.0, data aligned to 64 bytes, header ends in '\n'.
    const std::string bytes = read_bytes(path);
    REQUIRE(bytes.size() >= 10);
    CHECK(bytes.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
    CHECK((10 + header_len) % 64 == 0);
    CHECK(bytes[10 + header_len - 1] == '\n');
    CHECK(bytes.size() == 10 + header_len + 8 * a.data.size());
    CHECK(bytes.find("'descr': '<f8', 'fortran_order': False, 'shape': " + shape_string(shape)) != std::string::npos);
  }
  CHECK(shape_string({}) == "()");
  CHECK(shape_string({3}) == "(3,)");
  CHECK(shape_string({2, 3}) == "(2, 3)");
}

TEST_CASE("npy: float32 files read exactly as the float values; versions 2.0 and 3.0") {
  TempDir dir("mhclab_test_npy_");
  const std::vector<float> vals = {0.1f, -1.5f, 3.14159274f, 1e-40f /* subnormal */, 65504.0f, -0.0f};
  const std::string path = dir.file("f32.npy");
  write_bytes(path, npy_file(dict("<f4", "(2, 3)"), f4(vals)));
  const NpyArray a = read_npy(path);
  CHECK(a.shape == std::vector<std::size_t>{2, 3});
  REQUIRE(a.data.size() == vals.size());
  for (std::size_t k = 0; k < vals.size(); ++k) CHECK(a.data[k] == static_cast<double>(vals[k]));
  CHECK(a.data[0] != 0.1);  // the float value, not the decimal

  for (const int major : {2, 3}) {
    const std::string p = dir.file(major == 2 ? "v2.npy" : "v3.npy");
    write_bytes(p, npy_file("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2,)}", f8({1.25, -7.0}), major));
    const NpyArray b = read_npy(p);
    CHECK(b.shape == std::vector<std::size_t>{2});
    CHECK(b.data == std::vector<double>{1.25, -7.0});
  }
  // 0-d array, keys in another order, Python 2 long literals, no trailing comma
  const std::string p0 = dir.file("scalar.npy");
  write_bytes(p0, npy_file("{'shape': (), 'fortran_order': False, 'descr': '<f8'}", f8({42.5})));
  const NpyArray s = read_npy(p0);
  CHECK(s.shape.empty());
  CHECK(s.data == std::vector<double>{42.5});
  const std::string pl = dir.file("long.npy");
  write_bytes(pl, npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1L, 2L), }", f8({1, 2})));
  CHECK(read_npy(pl).shape == std::vector<std::size_t>{1, 2});
}

TEST_CASE("npy: every malformed header is rejected with its own message") {
  TempDir dir("mhclab_test_npy_");
  const std::string path = dir.file("m.npy");
  auto error_for = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    return input_error_of([&] { (void)read_npy(path); });
  };
  const std::string ok_data = f8({1, 2, 3, 4});

  CHECK_MESSAGE_HAS(error_for(std::string("\x93NUMPZ\x01\x00", 8) + "junk"), "m.npy", "bad magic", "\\x93NUMPY");
  CHECK_MESSAGE_HAS(error_for("a,b\n1,2\n"), "m.npy", "not a .npy file");
  CHECK_MESSAGE_HAS(error_for(""), "m.npy", "not a .npy file");
  CHECK_MESSAGE_HAS(error_for(std::string("\x93NUMPY", 6)), "m.npy", "truncated", "version");
  {
    std::string b = npy_file(dict("<f8", "(2, 2)"), ok_data);
    b[6] = 4;
    CHECK_MESSAGE_HAS(error_for(b), "m.npy", "version 4.0 not supported", "expected 1.0, 2.0 or 3.0");
  }
  {
    std::string b = npy_file(dict("<f8", "(2, 2)"), ok_data);
    b[8] = '\xff';
    b[9] = '\xff';
    CHECK_MESSAGE_HAS(error_for(b.substr(0, 100)), "m.npy", "truncated .npy file", "header is 65535 bytes");
  }
  CHECK_MESSAGE_HAS(error_for(npy_file("{'descr': '<f8', 'fortran_order': False}", ok_data)), "m.npy",
                    "bad .npy header", "'shape' missing");
  CHECK_MESSAGE_HAS(error_for(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), 'x': 1}", ok_data)),
                    "m.npy", "unexpected key 'x'");
  CHECK_MESSAGE_HAS(error_for(npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", ok_data)),
                    "m.npy", "'descr' appears twice");
  CHECK_MESSAGE_HAS(error_for(npy_file("not a dict at all", ok_data)), "m.npy", "bad .npy header", "'{'");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(4)"), ok_data)), "m.npy", "trailing comma");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(2, -2)"), ok_data)), "m.npy", "non-negative integer");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(4,)", "maybe"), ok_data)), "m.npy", "True or False");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(4,)") + " trailing", ok_data)), "m.npy",
                    "unexpected characters after the header dict");
  CHECK_MESSAGE_HAS(error_for(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4,", ok_data)), "m.npy",
                    "bad .npy header");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(99999999999999999999999, 2)"), ok_data)), "m.npy",
                    "does not fit in 64 bits");

  // fortran order, byte order and dtypes
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(2, 2)", "True"), ok_data)), "m.npy",
                    "fortran_order True not supported", "expected C order");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict(">f8", "(2, 2)"), ok_data)), "m.npy", "dtype '>f8' is big-endian",
                    "little-endian");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<i8", "(2, 2)"), ok_data)), "m.npy",
                    "dtype '<i8' not supported; expected float64 ('<f8') or float32 ('<f4'), little-endian");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<c16", "(2,)"), ok_data)), "m.npy", "dtype '<c16' not supported");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("|O", "(4,)"), ok_data)), "m.npy", "dtype '|O' not supported");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f2", "(4,)"), ok_data)), "m.npy", "dtype '<f2' not supported");
  CHECK_MESSAGE_HAS(
      error_for(npy_file("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4,), }", ok_data)), "m.npy",
      "structured", "expected float64");
}

TEST_CASE("npy: data size must match the shape exactly; absurd shapes are refused before allocating") {
  TempDir dir("mhclab_test_npy_");
  const std::string path = dir.file("d.npy");
  auto error_for = [&](const std::string& bytes) {
    write_bytes(path, bytes);
    return input_error_of([&] { (void)read_npy(path); });
  };
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(2, 3)"), f8({1, 2, 3, 4, 5}))), "d.npy", "truncated data",
                    "needs 48 bytes", "has 40");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f4", "(2, 3)"), f4({1, 2, 3, 4, 5}))), "d.npy", "truncated data",
                    "needs 24 bytes");
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(2, 2)"), f8({1, 2, 3, 4}) + "xyz")), "d.npy", "trailing garbage",
                    "3 unexpected bytes");
  // 2^40 · 2^40 elements: the count overflows 64 bits
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(1099511627776, 1099511627776)"), f8({1}))), "d.npy",
                    "overflows");
  // 2^61 elements of 8 bytes: the byte count overflows
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(2305843009213693952,)"), f8({1}))), "d.npy", "overflows");
  // a huge but representable shape: must be reported as truncated, not allocated (ASan would abort)
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(1000000000, 1000000)"), f8({1, 2}))), "d.npy", "truncated data");
  // an empty shape dimension with data present
  CHECK_MESSAGE_HAS(error_for(npy_file(dict("<f8", "(0, 3)"), f8({1}))), "d.npy", "trailing garbage");
}

TEST_CASE("npy: NaN and Inf are rejected with their index; missing files and directories are InputErrors") {
  TempDir dir("mhclab_test_npy_");
  const std::string path = dir.file("nan.npy");
  write_bytes(path, npy_file(dict("<f8", "(2, 2)"), f8({1, 2, std::numeric_limits<double>::quiet_NaN(), 4})));
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(path); }), "nan.npy", "non-finite value nan", "(1, 0)",
                    "expected finite");
  write_bytes(path, npy_file(dict("<f8", "(3,)"), f8({1, std::numeric_limits<double>::infinity(), 3})));
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(path); }), "nan.npy", "non-finite value inf", "(1,)");
  write_bytes(path, npy_file(dict("<f4", "(2,)"), f4({-std::numeric_limits<float>::infinity(), 1.0f})));
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(path); }), "nan.npy", "non-finite value -inf", "(0,)");

  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(dir.file("missing.npy")); }), "missing.npy", "cannot read",
                    "No such file");
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(dir.path.string()); }), "is a directory");
}

TEST_CASE("npy: the writer refuses non-finite values and inconsistent arrays without creating the file") {
  TempDir dir("mhclab_test_npy_");
  const std::string path = dir.file("w.npy");
  NpyArray a = iota_array({2, 2});
  a.data[3] = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(write_npy(path, a), ComputeError);
  CHECK_FALSE(fs::exists(path));
  a.data.pop_back();
  CHECK_THROWS_AS(write_npy(path, a), InputError);
  CHECK_FALSE(fs::exists(path));
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("npy: files written by NumPy read back exactly; NumPy reads ours; headers are byte-identical") {
  if (!have_numpy()) {
    MESSAGE("python3-numpy not available: NumPy interoperability test skipped");
    return;
  }
  TempDir dir("mhclab_test_npy_");
  const std::string script = dir.file("make.py");
  {
    std::ofstream f(script);
    f << "import sys, numpy as np\n"
         "d = sys.argv[1]\n"
         "np.save(d + '/f64.npy', (np.arange(18, dtype=np.float64).reshape(2, 3, 3) - 4.0) / 7.0)\n"
         "np.save(d + '/f32.npy', (np.arange(6, dtype=np.float32).reshape(3, 2) / np.float32(3)))\n"
         "np.save(d + '/fortran.npy', np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)))\n"
         "np.save(d + '/scalar.npy', np.float64(2.5))\n"
         "np.save(d + '/int.npy', np.arange(4))\n"
         "np.save(d + '/big.npy', np.arange(4, dtype='>f8'))\n";
  }
  REQUIRE(std::system(("/usr/bin/python3 " + script + " " + dir.path.string()).c_str()) == 0);

  const NpyArray a = read_npy(dir.file("f64.npy"));
  CHECK(a.shape == std::vector<std::size_t>{2, 3, 3});
  REQUIRE(a.data.size() == 18);
  for (std::size_t k = 0; k < 18; ++k) CHECK(a.data[k] == (static_cast<double>(k) - 4.0) / 7.0);

  const NpyArray b = read_npy(dir.file("f32.npy"));
  CHECK(b.shape == std::vector<std::size_t>{3, 2});
  REQUIRE(b.data.size() == 6);
  for (std::size_t k = 0; k < 6; ++k) CHECK(b.data[k] == static_cast<double>(static_cast<float>(k) / 3.0f));

  const NpyArray s = read_npy(dir.file("scalar.npy"));
  CHECK(s.shape.empty());
  CHECK(s.data == std::vector<double>{2.5});

  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(dir.file("fortran.npy")); }), "fortran.npy",
                    "fortran_order True");
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(dir.file("int.npy")); }), "int.npy", "dtype '<i8'");
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_npy(dir.file("big.npy")); }), "big.npy", "big-endian");

  // Our writer produces the same bytes as np.save for the same float64 array.
  CHECK(encode_npy(a) == read_bytes(dir.file("f64.npy")));
  CHECK(encode_npy(s) == read_bytes(dir.file("scalar.npy")));

  // NumPy reads what we write.
  NpyArray c = iota_array({2, 2, 3});
  write_npy(dir.file("ours.npy"), c);
  const std::string check = "/usr/bin/python3 -c \"import sys, numpy as np; a = np.load(sys.argv[1]); "
                            "e = (np.arange(12, dtype=np.float64).reshape(2, 2, 3) - 2.5) / 3.0; "
                            "sys.exit(0 if a.dtype == np.float64 and a.shape == (2, 2, 3) and (a == e).all() else 1)\" " +
                            dir.file("ours.npy");
  CHECK(std::system(check.c_str()) == 0);
}

}  // TEST_SUITE
