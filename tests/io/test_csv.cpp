// io/csv.hpp: tables, vectors and long-form stacks; round trips through the %.17g writers; error messages
// with file, line and what was expected.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
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
#include "mhclab/io/csv.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::max_abs_diff;
namespace fs = std::filesystem;
using mhclab::test::TempDir;
using mhclab::test::input_error_of;
using mhclab::test::read_text;
using mhclab::test::write_text;
using mhclab::test::read_bytes;
using mhclab::test::write_bytes;


TEST_SUITE("io") {

TEST_CASE("csv: a matrix with spaces, comments, CRLF, a BOM and a blank trailing line") {
  TempDir dir("mhclab_test_csv_");
  const std::string path = dir.file("h.csv");
  write_text(path, "\xEF\xBB\xBF# written by hand\r\n 0.7 , 0.3\r\n\r\n# second row\n+0.3,7e-1 \n\n   \n");
  const Mat H = read_csv_matrix(path);
  Mat expected(2, 2);
  expected << 0.7, 0.3, 0.3, 0.7;
  CHECK(max_abs_diff(H, expected) == 0.0);
  CHECK(H(0, 1) == 0.3);  // row i of the file is H[i, :]

  write_text(path, "1,2,3\n");
  const Vec row = read_csv_vector(path);
  CHECK(row.size() == 3);
  CHECK(row[2] == 3.0);
  write_text(path, "# logits\n1.5\n-2\n\n3e-3\n");
  const Vec col = read_csv_vector(path);
  REQUIRE(col.size() == 3);
  CHECK(col[0] == 1.5);
  CHECK(col[1] == -2.0);
  CHECK(col[2] == 3e-3);
}

TEST_CASE("csv: table errors name the file, the line and what was expected") {
  TempDir dir("mhclab_test_csv_");
  const std::string path = dir.file("h.csv");
  auto error_for = [&](const std::string& text, auto reader) {
    write_text(path, text);
    return input_error_of([&] { (void)reader(path); });
  };
  auto matrix = [](const std::string& p) { return read_csv_matrix(p); };
  auto vector = [](const std::string& p) { return read_csv_vector(p); };

  CHECK_MESSAGE_HAS(error_for("1,2,3,4\n5,6,7,8\n9,10,11\n13,14,15,16\n", matrix), "h.csv:3: expected 4 numbers, got 3");
  CHECK_MESSAGE_HAS(error_for("# header comment\n1,2\n\n3,x\n", matrix), "h.csv:4: expected a number in column 2, got 'x'");
  CHECK_MESSAGE_HAS(error_for("1,2\n3,\n", matrix), "h.csv:2: expected a number in column 2, got ''");
  CHECK_MESSAGE_HAS(error_for("1,2\n3,4 5\n", matrix), "h.csv:2:", "got '4 5'");
  CHECK_MESSAGE_HAS(error_for("1,nan\n3,4\n", matrix), "h.csv:1: non-finite value 'nan'", "expected finite");
  CHECK_MESSAGE_HAS(error_for("1,2\n-inf,4\n", matrix), "h.csv:2: non-finite value '-inf'");
  CHECK_MESSAGE_HAS(error_for("1,2\n1e400,4\n", matrix), "h.csv:2: value '1e400'", "out of the range of double");
  CHECK_MESSAGE_HAS(error_for("1,2,3\n4,5,6\n", matrix), "h.csv: expected a square matrix", "got 2 lines of 3 numbers");
  CHECK_MESSAGE_HAS(error_for("# nothing\n\n", matrix), "h.csv: no data");
  CHECK_MESSAGE_HAS(error_for("", matrix), "h.csv: no data");
  CHECK_MESSAGE_HAS(error_for("1,2\n3,4\n", vector), "h.csv: expected a vector", "2 lines of 2 numbers");
  CHECK_MESSAGE_HAS(input_error_of([&] { (void)read_csv_matrix(dir.file("nope.csv")); }), "nope.csv", "cannot read");
}

TEST_CASE("csv: long-form stacks in any order, with one or two leading columns") {
  TempDir dir("mhclab_test_csv_");
  const std::string path = dir.file("s.csv");
  // 2 layers of 2×2, shuffled, with a comment and spaces
  write_text(path, "layer, i, j, value\n1,1,1,8\n0,0,0,1\n# comment\n0,0,1,2\n1,0,0,5\n0,1,0,3\n0,1,1,4\n1,0,1,6\n1,1,0,7\n");
  const CsvLongForm s = read_csv_long(path);
  CHECK(s.lead_axes == std::vector<std::string>{"layer"});
  CHECK(s.index_axes == std::vector<std::string>{"i", "j"});
  CHECK(s.array.shape == std::vector<std::size_t>{2, 2, 2});
  CHECK(s.array.data == std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});

  write_text(path, "token,layer,i,j,value\n0,0,0,0,1\n1,0,0,0,2\n0,1,0,0,3\n1,1,0,0,4\n0,2,0,0,5\n1,2,0,0,6\n");
  const CsvLongForm t = read_csv_long(path);
  CHECK(t.lead_axes == std::vector<std::string>{"token", "layer"});
  CHECK(t.array.shape == std::vector<std::size_t>{2, 3, 1, 1});
  CHECK(t.array.data == std::vector<double>{1, 3, 5, 2, 4, 6});

  write_text(path, "i,j,value\n0,0,1\n0,1,2\n1,0,3\n1,1,4\n");
  const CsvLongForm m = read_csv_long(path);
  CHECK(m.lead_axes.empty());
  CHECK(m.array.shape == std::vector<std::size_t>{2, 2});

  write_text(path, "layer,k,value\n0,0,1\n0,1,2\n1,0,3\n1,1,4\n2,0,5\n2,1,6\n");
  const CsvLongForm p = read_csv_long(path, {"k"});
  CHECK(p.array.shape == std::vector<std::size_t>{3, 2});
  CHECK(p.array.data == std::vector<double>{1, 2, 3, 4, 5, 6});

  CHECK(csv_has_header("layer,i,j,value\n"));
  CHECK(csv_has_header("# c\n\"layer\",\"i\",\"j\",\"value\"\n"));
  CHECK_FALSE(csv_has_header("1,2\n3,4\n"));
  CHECK_FALSE(csv_has_header("nan,2\n"));
  CHECK_FALSE(csv_has_header(""));
}

TEST_CASE("csv: long-form errors: missing, duplicate, gaps, bad indices and headers") {
  TempDir dir("mhclab_test_csv_");
  const std::string path = dir.file("s.csv");
  auto error_for = [&](const std::string& text) {
    write_text(path, text);
    return input_error_of([&] { (void)read_csv_long(path); });
  };
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,1\n0,0,1,2\n0,1,0,3\n"), "s.csv: missing entry (layer=0, i=1, j=1)",
                    "layer < 1, i < 2, j < 2", "exactly once");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,1\n2,0,0,2\n"), "s.csv: missing entry (layer=1, i=0, j=0)");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n1,0,0,1\n"), "s.csv: missing entry (layer=0, i=0, j=0)");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,1\n0,0,0,2\n"), "s.csv:3: duplicate entry (layer=0, i=0, j=0)",
                    "first given on line 2");
  // different n per layer cannot be dense
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,1\n1,0,0,1\n1,0,1,1\n1,1,0,1\n1,1,1,1\n"),
                    "s.csv: missing entry (layer=0, i=0, j=1)");
  // a huge index: reported as missing, nothing allocated
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,1\n4000000000000000000,0,0,1\n"), "s.csv: missing entry (layer=1");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,1.5,1\n"), "s.csv:2: column 'j': expected a non-negative integer index, got '1.5'");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,-1,0,1\n"), "s.csv:2: column 'i'", "got '-1'");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0\n"), "s.csv:2: expected 4 fields (layer,i,j,value), got 3");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,nan\n"), "s.csv:2: non-finite value 'nan'");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n0,0,0,abc\n"), "s.csv:2: expected a number in column 'value', got 'abc'");
  CHECK_MESSAGE_HAS(error_for("layer,i,j,value\n\n# only comments\n"), "s.csv: no data lines after the header");
  CHECK_MESSAGE_HAS(error_for("layer,row,col,value\n0,0,0,1\n"), "s.csv:1: bad header 'layer,row,col,value'",
                    "expected a header '[lead columns,]i,j,value', e.g. 'layer,i,j,value'");
  CHECK_MESSAGE_HAS(error_for("layer,i,j\n0,0,0\n"), "s.csv:1: bad header");
  CHECK_MESSAGE_HAS(error_for("layer,layer,i,j,value\n0,0,0,0,1\n"), "s.csv:1: bad header");
  CHECK_MESSAGE_HAS(error_for(""), "s.csv: empty file");
}

TEST_CASE("csv: writers round-trip every double exactly and refuse non-finite values") {
  TempDir dir("mhclab_test_csv_");
  Mat A(3, 3);
  A << 1.0 / 3.0, -0.0, 1e-300, std::numeric_limits<double>::denorm_min(), -2.5e17, 0.1,
      std::numeric_limits<double>::max(), std::nextafter(1.0, 2.0), -7.0;
  const std::string path = dir.file("a.csv");
  write_csv_matrix(path, A);
  const Mat B = read_csv_matrix(path);
  REQUIRE(B.rows() == 3);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(std::bit_cast<std::uint64_t>(B(i, j)) == std::bit_cast<std::uint64_t>(A(i, j)));
  CHECK(read_text(path).substr(0, 20) == "0.33333333333333331,");

  CsvLongForm s;
  s.lead_axes = {"step", "layer"};
  s.index_axes = {"i", "j"};
  s.array.shape = {2, 3, 2, 2};
  for (int k = 0; k < 24; ++k) s.array.data.push_back(k / 7.0 - 1.0);
  const std::string lpath = dir.file("long.csv");
  write_csv_long(lpath, s);
  const std::string text = read_text(lpath);
  CHECK(text.substr(0, text.find('\n')) == "step,layer,i,j,value");
  CHECK(text.find("\n0,0,0,1,") != std::string::npos);
  const CsvLongForm r = read_csv_long(lpath);
  CHECK(r.lead_axes == s.lead_axes);
  CHECK(r.array.shape == s.array.shape);
  CHECK(r.array.data == s.array.data);

  Mat N = A;
  N(1, 1) = std::numeric_limits<double>::infinity();
  const std::string bad = dir.file("bad.csv");
  CHECK_THROWS_AS(write_csv_matrix(bad, N), ComputeError);
  CHECK_FALSE(fs::exists(bad));
  s.array.data[5] = std::nan("");
  CHECK_THROWS_AS(write_csv_long(bad, s), ComputeError);
  CHECK_FALSE(fs::exists(bad));
  s.array.shape = {2, 3, 4};
  CHECK_THROWS_AS(write_csv_long(bad, s), InputError);
  CHECK_FALSE(fs::exists(bad));
}

}  // TEST_SUITE
