// sweep/aggregate.hpp: statistics over seeds against direct formulas, flags as fractions, empty and out-of-range
// cells, and the Student-t interval.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/sweep/aggregate.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;

TEST_SUITE("sweep_aggregate") {
  TEST_CASE("seed statistics: mean, sample sd, type-7 quantiles, t interval") {
    const SeedStatistics s = seed_statistics({4.0, 1.0, 3.0, 2.0, 5.0});
    CHECK(s.count == 5);
    CHECK(s.mean == 3.0);
    MHCLAB_CHECK_NEAR(s.sd, std::sqrt(2.5), 1e-15, 0.0);
    CHECK(s.median == 3.0);
    MHCLAB_CHECK_NEAR(s.q05, 1.2, 1e-15, 0.0);  // NumPy: np.quantile([1..5], 0.05) = 1.2
    MHCLAB_CHECK_NEAR(s.q95, 4.8, 1e-15, 0.0);
    // t_{0.975, 4} = 2.7764451051977987 (tables); half width = t·sd/√5.
    const double half = 2.7764451051977987 * std::sqrt(2.5) / std::sqrt(5.0);
    MHCLAB_CHECK_NEAR(s.ci95_lo, 3.0 - half, 1e-13, 0.0);
    MHCLAB_CHECK_NEAR(s.ci95_hi, 3.0 + half, 1e-13, 0.0);
    const SeedStatistics one = seed_statistics({2.0});
    CHECK(one.mean == 2.0);
    CHECK(std::isnan(one.sd));
    CHECK(std::isnan(one.ci95_lo));
  }

  TEST_CASE("tables: groups in order, flags as fractions, text dropped, empty skipped, out of range left empty") {
    Table t;
    t.header = {"seed", "depth", "kind", "gain", "resolved", "status", "big"};
    t.rows = {{"0", "1", "layer", "1", "true", "ok", "1e+4139"},
              {"1", "1", "layer", "3", "false", "ok", "2"},
              {"0", "2", "layer", "2", "true", "ok", "2"},
              {"1", "2", "layer", "", "true", "ok", "2"}};
    AggregateOptions o;
    o.group_columns = {"depth", "kind"};
    const Table a = aggregate_over_seeds(t, o);
    REQUIRE(a.header.size() == 2 + 9);
    REQUIRE(a.rows.size() == 2 * 3);  // gain, resolved, big (status is text)
    CHECK(a.rows[0][0] == "1");
    CHECK(a.rows[0][2] == "gain");
    CHECK(a.rows[0][3] == "2");  // count
    CHECK(a.rows[0][4] == "2");  // mean of 1 and 3
    CHECK(a.rows[1][2] == "resolved");
    CHECK(a.rows[1][4] == "0.5");
    CHECK(a.rows[2][2] == "big");
    CHECK(a.rows[2][4].empty());  // a value beyond the double range: not averaged as a double
    CHECK(a.rows[3][2] == "gain");
    CHECK(a.rows[3][3] == "1");   // the empty cell is left out
    CHECK(a.rows[3][5].empty());  // sd of one value
    o.metrics = {"status"};
    CHECK(mhclab::test::input_error_of([&] { (void)aggregate_over_seeds(t, o); }).find("holds text") != std::string::npos);
    o.metrics = {"nope"};
    CHECK(mhclab::test::input_error_of([&] { (void)aggregate_over_seeds(t, o); }).find("no column 'nope'") != std::string::npos);
  }

  TEST_CASE("typed tables aggregate to the same bytes as their CSV text read back") {
    // One statistics path: aggregate_over_seeds(ResultTable) must give exactly the text that aggregating the
    // table's own CSV gives, for every cell kind: integers, normal, subnormal and zero reals, values beyond the
    // double range (log form), NaN, ±inf log10 cells, flags, text, empty cells, unsigned seeds.
    const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
    ResultTable t({{"seed", ColumnType::Unsigned, "", false},
                   {"depth", ColumnType::Integer, "", false},
                   {"kind", ColumnType::Text, "", false},
                   {"gain", ColumnType::Real, "", true},
                   {"log10_gain", ColumnType::Real, "", true},
                   {"plain", ColumnType::Real, "", false},
                   {"ok", ColumnType::Boolean, "", false},
                   {"status", ColumnType::Text, "", false},
                   {"count", ColumnType::Integer, "", false}});
    const struct {
      double gain, log10_gain, plain;
    } cells[] = {{1.5, nan, 0.25},        {0.0, -inf, 4.9406564584124654e-324},
                 {inf, 4139.25, 1e-310},  {0.0, -4000.5, nan},
                 {2.0, nan, -3.0},        {nan, nan, 7.0},
                 {3e-320, -319.5, 0.0},   {1e300, nan, 1e-300}};
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
      t.add_row();
      t.set_unsigned(0, 10 + seed);
      t.set_integer(1, static_cast<std::int64_t>(seed % 2));
      t.set_text(2, seed % 4 < 2 ? "prefix" : "layer");
      t.set_real(3, cells[seed].gain, cells[seed].log10_gain);
      if (seed != 5) t.set_real(4, cells[seed].log10_gain, nan);
      t.set_real(5, cells[seed].plain);
      if (seed % 3) t.set_boolean(6, seed % 2 == 0);
      t.set_text(7, "converged");
      t.set_integer(8, static_cast<std::int64_t>(seed) * 3);
    }
    AggregateOptions o;
    o.group_columns = {"depth", "kind"};
    const ResultTable typed = aggregate_over_seeds(t, o);
    const Table text = aggregate_over_seeds(parse_table(t.to_csv(), "rows"), o);
    CHECK(typed.to_csv() == text.to_csv());
    CHECK(typed.rows() == text.rows.size());
    // the typed output keeps the group columns' types
    CHECK(typed.columns()[0].spec.type == ColumnType::Integer);
    o.metrics = {"gain", "ok"};
    CHECK(aggregate_over_seeds(t, o).to_csv() == aggregate_over_seeds(parse_table(t.to_csv(), "rows"), o).to_csv());
    o.metrics = {"status"};
    CHECK(mhclab::test::input_error_of([&] { (void)aggregate_over_seeds(t, o); }).find("holds text ('converged')") !=
          std::string::npos);
  }
}
