// kinds/result_table.hpp: typed cells, their CSV text (scaled values beyond the double range, empty cells), the
// type checks and appends.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/analysis/format_scaled.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/result_table.hpp"

using namespace mhclab;

TEST_SUITE("kinds_result_table") {
  TEST_CASE("cells of every type and their CSV text") {
    ResultTable t({{"seed", ColumnType::Unsigned, "seed"},
                   {"layer", ColumnType::Integer, "depth"},
                   {"energy", ColumnType::Real, "energy", true},
                   {"err", ColumnType::Real, "error"},
                   {"resolved", ColumnType::Boolean, "flag"},
                   {"status", ColumnType::Text, "status"}});
    t.add_row();
    t.set_unsigned(0, UINT64_MAX);
    t.set_integer(1, -3);
    t.set_real(2, std::numeric_limits<double>::infinity(), 5000.5);  // beyond the double range: the log form
    t.set_real(3, 0.1);
    t.set_boolean(4, true);
    t.set_text(5, "converged");
    t.add_row();  // all empty but one
    t.set_real(2, 0.25, std::log10(0.25));
    CHECK(t.rows() == 2);
    CHECK(t.to_csv() ==
          "seed,layer,energy,err,resolved,status\n"
          "18446744073709551615,-3," + format_metric(std::numeric_limits<double>::infinity(), 5000.5) +
              ",0.10000000000000001,true,converged\n"
          ",,0.25,,,\n");
    CHECK(t.find("err") == 3);
    CHECK(t.find("nope") == -1);
    CHECK(format_metric(std::numeric_limits<double>::infinity(), 5000.5).find("3.16227766") == 0);
    CHECK(t.cell_text(0, 2).ends_with("e+5000"));
    const ColumnData& e = t.columns()[2];
    CHECK((e.present.size() == 2 && e.present[0] == 1 && e.present[1] == 1));
    CHECK(e.log10_abs[0] == 5000.5);  // the number is kept, not its text
  }

  TEST_CASE("assign_rows and clear: blocks written into a sized table, in any order, equal the appended table") {
    const std::vector<ColumnSpec> cols{{"seed", ColumnType::Unsigned, "seed"},
                                       {"energy", ColumnType::Real, "energy", true},
                                       {"status", ColumnType::Text, "status"}};
    ResultTable appended(cols), sized(cols), block(cols);
    sized.add_rows(6, 2);
    for (const std::size_t b : {2U, 0U, 1U}) {
      block.clear();  // reused: columns kept, rows gone
      CHECK(block.rows() == 0);
      block.add_rows(2, 1);
      for (std::size_t r = 0; r < 2; ++r) {
        block.set_unsigned_at(r, 0, 10 * b + r);
        if (r == 0) block.set_real_at(r, 1, 0.5 * static_cast<double>(b), std::numeric_limits<double>::quiet_NaN());
        block.set_text_at(r, 2, b == 1 ? "x" : "converged");
      }
      sized.assign_rows(2 * b, block);
    }
    for (const std::size_t b : {0U, 1U, 2U}) {
      block.clear();
      block.add_rows(2, 1);
      for (std::size_t r = 0; r < 2; ++r) {
        block.set_unsigned_at(r, 0, 10 * b + r);
        if (r == 0) block.set_real_at(r, 1, 0.5 * static_cast<double>(b), std::numeric_limits<double>::quiet_NaN());
        block.set_text_at(r, 2, b == 1 ? "x" : "converged");
      }
      appended.append(block);
    }
    CHECK(sized.to_csv() == appended.to_csv());
    CHECK(sized.to_csv().find("\n10,0.5,x\n11,,x\n") != std::string::npos);
    CHECK_THROWS_AS(sized.assign_rows(5, block), InputError);  // rows 5..6 of 6
    ResultTable other({{"seed", ColumnType::Integer, "seed"}});
    other.add_rows(1, 1);
    CHECK_THROWS_AS(sized.assign_rows(0, other), InputError);
  }

  TEST_CASE("wrong types, unscaled log forms, text that would need quoting and mismatched appends are refused") {
    ResultTable t({{"a", ColumnType::Real, "a"}, {"s", ColumnType::Text, "s"}});
    CHECK_THROWS_AS(t.set_real(0, 1.0), InputError);  // no row yet
    t.add_row();
    CHECK_THROWS_AS(t.set_integer(0, 1), InputError);
    CHECK_THROWS_AS(t.set_real(0, 1.0, 0.0), InputError);  // not a scaled column
    CHECK_THROWS_AS(t.set_text(1, "a,b"), InputError);
    CHECK_THROWS_AS(t.set_real(7, 1.0), InputError);
    ResultTable other({{"a", ColumnType::Real, "a"}, {"t", ColumnType::Text, "t"}});
    CHECK_THROWS_AS(t.append(other), InputError);
    ResultTable same({{"a", ColumnType::Real, "a"}, {"s", ColumnType::Text, "s"}});
    same.add_row();
    same.set_real(0, 2.0);
    t.append(same);
    CHECK(t.rows() == 2);
    CHECK(t.cell_text(1, 0) == "2");
    CHECK(t.cell_text(0, 0).empty());
    CHECK_THROWS_AS(ResultTable({{"a", ColumnType::Real, "a"}, {"a", ColumnType::Real, "a"}}), InputError);
    CHECK_THROWS_AS(ResultTable({{"k", ColumnType::Integer, "k", true}}), InputError);
  }

  TEST_CASE("csv_chunks are the bytes of to_csv for any thread count; text round trip") {
    ResultTable t({{"i", ColumnType::Integer, "", false}, {"x", ColumnType::Real, "", true}, {"s", ColumnType::Text, "", false}});
    for (int r = 0; r < 20000; ++r) {
      t.add_row();
      t.set_integer(0, r);
      if (r % 7) t.set_real(1, r * 0.1, r % 11 ? std::numeric_limits<double>::quiet_NaN() : 1000.0 + r);
      t.set_text(2, r % 2 ? "a" : "b");
    }
    const std::string one = t.to_csv();
    for (int threads : {1, 2, 3}) {
      std::string joined;
      for (const std::string& c : t.csv_chunks(threads)) joined += c;
      CHECK(joined == one);
    }
    for (int threads : {1, 2, 3}) {
      std::string streamed;
      t.write_csv([&](std::string_view b) { streamed += b; }, threads);
      CHECK(streamed == one);
    }
    const ResultTable back = ResultTable::from_text(t.to_text());
    CHECK(back.to_csv() == one);
    CHECK(back.columns()[1].spec.type == ColumnType::Text);
    Table ragged = t.to_text();
    ragged.rows[7].pop_back();
    CHECK_THROWS_WITH_AS((void)ResultTable::from_text(ragged), doctest::Contains("row 8 has 2 cells"), InputError);
  }
}
