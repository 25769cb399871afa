// io/output_paths.hpp: an output that names an input or another output — by the same text, another spelling, a
// symbolic link or a hard link — is refused; distinct and empty paths pass. And io/atomic_file.hpp's streamed writer.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/output_paths.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::TempDir;

TEST_SUITE("io_output_paths") {
  TEST_CASE("same file under other names is refused; distinct or absent paths pass") {
    TempDir dir;
    const std::string in = dir.file("s.npy");
    std::ofstream(in) << "x";
    std::filesystem::create_symlink(in, dir.file("link.npy"));
    std::filesystem::create_hard_link(in, dir.file("hard.npy"));
    CHECK_NOTHROW(check_output_paths({{"input", in}}, {{"out", dir.file("o.csv")}, {"save-matrices", ""}}));
    CHECK(input_error_of([&] { check_output_paths({{"input", in}}, {{"out", in}}); }) ==
          "out = '" + in + "' is the same file as input = '" + in +
              "'; refusing to replace an input (write the output elsewhere)");
    const std::string dotted = dir.file("sub/../s.npy");
    std::filesystem::create_directory(dir.file("sub"));
    CHECK(input_error_of([&] { check_output_paths({{"input", in}}, {{"out", dotted}}); }).find("same file") !=
          std::string::npos);
    CHECK(input_error_of([&] { check_output_paths({{"input", in}}, {{"out", dir.file("link.npy")}}); })
              .find("same file") != std::string::npos);
    CHECK(input_error_of([&] { check_output_paths({{"input", in}}, {{"out", dir.file("hard.npy")}}); })
              .find("same file") != std::string::npos);
    CHECK(input_error_of([&] {
            check_output_paths({}, {{"out", dir.file("a.csv")}, {"save-matrices", dir.file("./a.csv")}});
          }).find("save-matrices = '") == 0);
  }

  TEST_CASE("CSV outputs must be named .csv") {
    CHECK_NOTHROW(check_csv_outputs({{"out", "a.csv"}, {"x", "B.CSV"}, {"y", ""}}));
    CHECK(input_error_of([] { check_csv_outputs({{"out", "d.npy"}}); }) ==
          "out = 'd.npy': writes CSV; expected a path ending in .csv");
    CHECK(input_error_of([] { check_csv_outputs({{"out", "table"}}); }).find("expected a path ending in .csv") !=
          std::string::npos);
  }

  TEST_CASE("streamed atomic writes: pieces in order; a throwing producer leaves neither the file nor a temporary") {
    const TempDir dir;
    const std::string path = (dir.path / "out.csv").string();
    write_file_atomically_streamed(path, [](const ByteSink& sink) {
      sink("a,b\n");
      sink("");
      sink("1,2\n");
    });
    CHECK(read_file_bytes(path) == "a,b\n1,2\n");
    const std::string other = (dir.path / "other.csv").string();
    CHECK_THROWS_AS(write_file_atomically_streamed(other,
                                                   [](const ByteSink& sink) {
                                                     sink("partial");
                                                     throw std::runtime_error("stop");
                                                   }),
                    std::runtime_error);
    // the library's own error type thrown by a producer is cleaned up the same way
    CHECK_THROWS_AS(write_file_atomically_streamed(other,
                                                   [](const ByteSink& sink) {
                                                     sink("partial");
                                                     throw InputError("bad cell");
                                                   }),
                    InputError);
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path)) ++files;
    CHECK(files == 1);  // out.csv only
  }
}
