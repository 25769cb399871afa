// sweep/aggregate.hpp: statistics over seeds against direct formulas, flags as fractions, empty and out-of-range
// cells, and the Student-t interval.
#include <doctest/doctest.h>

#include <cmath>

#include "mhclab/core/error.hpp"
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
}
