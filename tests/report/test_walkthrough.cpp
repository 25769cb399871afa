// report/walkthrough.hpp: SPEC §9 reference values at 1e-12 relative.
#include <doctest/doctest.h>

#include <cmath>

#include "mhclab/report/walkthrough.hpp"
#include "support/check.hpp"

using namespace mhclab;

TEST_SUITE("report") {
TEST_CASE("SPEC §9 values of the 2-neuron walkthrough") {
  const Walkthrough w = seed_walkthrough();
  const double r = 1e-12;
  MHCLAB_CHECK_NEAR(w.Hx[0], 13.0, 0, r);
  MHCLAB_CHECK_NEAR(w.Hx[1], 17.0, 0, r);
  MHCLAB_CHECK_NEAR(w.H2(0, 0), 0.58, 0, r);
  MHCLAB_CHECK_NEAR(w.H2(0, 1), 0.42, 0, r);
  MHCLAB_CHECK_NEAR(w.H2(1, 0), 0.42, 0, r);
  MHCLAB_CHECK_NEAR(w.H2(1, 1), 0.58, 0, r);
  MHCLAB_CHECK_NEAR(w.eigenvalues[0], 0.4, 0, r);
  MHCLAB_CHECK_NEAR(w.eigenvalues[1], 1.0, 0, r);
  MHCLAB_CHECK_NEAR(w.H20x[0], 15.0 - 5.0 * std::pow(0.4, 20), 0, r);
  MHCLAB_CHECK_NEAR(w.H20x[1], 15.0 + 5.0 * std::pow(0.4, 20), 0, r);
  MHCLAB_CHECK_NEAR(w.rho_Hp, 1.1, 0, r);
  MHCLAB_CHECK_NEAR(w.norm_Hp20x, 15.0 * std::sqrt(2.0) * std::pow(1.1, 20), 0, r);
  MHCLAB_CHECK_NEAR(w.norm_Hp20x, 142.711825038, 0, 1e-11);  // the printed digits
  MHCLAB_CHECK_NEAR(w.pow_1_1_100, 13780.6123398224, 0, 1e-14);
  MHCLAB_CHECK_NEAR(w.sinkhorn_2112(0, 0), 2.0 / 3.0, 0, r);
  MHCLAB_CHECK_NEAR(w.sinkhorn_2112(0, 1), 1.0 / 3.0, 0, r);
  MHCLAB_CHECK_NEAR(w.sinkhorn_2112(1, 0), 1.0 / 3.0, 0, r);
  MHCLAB_CHECK_NEAR(w.sinkhorn_2112(1, 1), 2.0 / 3.0, 0, r);
  const Mat swap = (Mat(2, 2) << 0, 1, 1, 0).finished();
  CHECK(test::max_abs_diff(w.H, 0.7 * Mat::Identity(2, 2) + 0.3 * swap) <= 1e-15);
  // Seed statements that are not exact (SPEC §9): the computed values, to 3 decimals.
  MHCLAB_CHECK_NEAR(w.proj1_noexp, 0.750, 5e-4, 0);
  MHCLAB_CHECK_NEAR(w.proj1_exp, 0.634, 5e-4, 0);
  MHCLAB_CHECK_NEAR(w.proj2_noexp, 0.701, 5e-4, 0);
  MHCLAB_CHECK_NEAR(w.proj2_exp, 0.603, 5e-4, 0);
  MHCLAB_CHECK_NEAR(w.growth_1_9_per_layer, std::pow(1.9, 20), 0, r);
  CHECK(w.reflection_min_entry < 0);
  CHECK(w.lines.size() >= 10);
}
}
