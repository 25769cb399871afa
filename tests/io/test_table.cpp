// io/table.hpp: round trips, quoted fields from other tools, ragged lines, numbers beyond the double range.
#include <doctest/doctest.h>

#include "mhclab/core/error.hpp"
#include "mhclab/io/table.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;

TEST_SUITE("io_table") {
  TEST_CASE("parse and write round trip; quoted fields; errors with line numbers") {
    const Table t = parse_table("a,b,c\r\n1,x,\n\n2,\"y,\"\"z\"\"\",3\n", "t.csv");
    REQUIRE(t.rows.size() == 2);
    CHECK(t.rows[0] == std::vector<std::string>{"1", "x", ""});
    CHECK(t.rows[1][1] == "y,\"z\"");
    CHECK(t.column("c", "here") == 2);
    CHECK(input_error_of([&] { (void)t.column("d", "plot"); }) == "plot: no column 'd'; columns are a, b, c");
    Table u;
    u.header = {"a", "b"};
    u.rows = {{"1", "2"}};
    CHECK(u.to_csv() == "a,b\n1,2\n");
    u.rows = {{"1,5", "2"}};
    CHECK(input_error_of([&] { (void)u.to_csv(); }).find("holds a ','") != std::string::npos);
    CHECK(input_error_of([&] { (void)parse_table("a,b\n1\n", "r.csv"); }) ==
          "r.csv:2: expected 2 fields (as in the header), got 1");
    CHECK(input_error_of([&] { (void)parse_table("a,a\n", "d.csv"); }).find("appears twice") != std::string::npos);
    CHECK(input_error_of([&] { (void)parse_table("\n", "e.csv"); }).find("e.csv: empty file") == 0);
  }

  TEST_CASE("table_number: finite doubles only") {
    CHECK(table_number("1.5").value() == 1.5);
    CHECK(table_number("+2").value() == 2.0);
    CHECK(!table_number(""));
    CHECK(!table_number("true"));
    CHECK(!table_number("1e+4139"));
    CHECK(!table_number("inf"));
    CHECK(!table_number("nan"));
    CHECK(!table_number("1.5x"));
  }
}
