// report/depth_table.hpp: the table of `analyze`/`depth` (columns, Sinkhorn and Lyapunov cells, aggregation).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/report/depth_table.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
std::size_t column(const std::vector<std::string>& cols, const std::string& name) {
  for (std::size_t k = 0; k < cols.size(); ++k)
    if (cols[k] == name) return k;
  FAIL("no column " << name);
  return 0;
}
}  // namespace

TEST_SUITE("report_depth_table") {
  TEST_CASE("columns, row order and cell kinds for an mhc stack") {
    MethodOptions mo;
    mo.method = MethodId::MHC;
    mo.n = 3;
    const auto method = make_method(mo);
    StackOptions so;
    so.kind = GeneratorKind::Random;
    so.noise = 2.0;
    so.layers = 5;
    const GeneratedStack g = generate_stacks(*method, so, 11).front();
    const std::vector<LayerExtras> extras = sinkhorn_extras(MethodId::MHC, 3, g.thetas, g.sinkhorn);
    REQUIRE(extras.size() == 5);
    DepthTableOptions o;
    o.sinkhorn_columns = true;
    o.lyapunov = true;
    const auto cols = depth_table_columns(3, o);
    CHECK(cols.size() == depth_metric_columns().size() + 9 + 3);
    CHECK(cols.back() == "lyap_3");
    const auto rows = depth_table(g.H, extras, o);
    REQUIRE(rows.size() == 15);
    CHECK(rows[0].kind == ProductKind::Layer);
    CHECK(rows[5].kind == ProductKind::Prefix);
    CHECK(rows[10].kind == ProductKind::Suffix);
    CHECK(rows[4].depth == 5);
    for (const auto& r : rows) {
      REQUIRE(r.cells.size() == cols.size());
      const auto& it = r.cells[column(cols, "iterations")];
      const auto& ly = r.cells[column(cols, "lyap_1")];
      CHECK((it.kind == MetricCell::Kind::Number) == (r.kind == ProductKind::Layer));
      CHECK((ly.kind == MetricCell::Kind::Number) == (r.kind == ProductKind::Prefix));
    }
    for (std::size_t l = 0; l < 5; ++l) {
      const auto& c = rows[l].cells;
      CHECK(c[column(cols, "iterations")].value == 20);
      CHECK(c[column(cols, "status")].text == "fixed_iterations");
      // fp64: truncation errors are the run's own marginal errors, rounding errors are 0
      CHECK(c[column(cols, "trunc_col_err")].value == g.sinkhorn[l]->col_err);
      CHECK(c[column(cols, "round_err_max")].value == 0.0);
      // dist_tropical against a direct computation; row entropy of a DS matrix lies in (0, ln n]
      const Mat& P = extras[l].tropical;
      CHECK(P.sum() == 3.0);
      CHECK(c[column(cols, "dist_tropical")].value == (g.H[l] - P).cwiseAbs().maxCoeff());
      const double h = c[column(cols, "row_entropy")].value;
      CHECK(h > 0.0);
      CHECK(h <= std::log(3.0) + 1e-15);  // max entropy of a probability row; 1e-15 covers the rounding of the sum
    }
    // Lyapunov: the running λ's at depth L sum to log|det(H_L···H_1)|/L (all exponents, n = 3) to 1e-12
    double logdet = 0.0;
    for (const Mat& H : g.H) logdet += std::log(std::fabs(H.determinant()));
    const auto& last = rows[9].cells;
    const double sum = last[column(cols, "lyap_1")].value + last[column(cols, "lyap_2")].value +
                       last[column(cols, "lyap_3")].value;
    MHCLAB_CHECK_NEAR(sum, logdet / 5.0, 1e-12, 1e-12);
    CHECK_THROWS_AS((void)depth_table(g.H, {}, o), InputError);  // Sinkhorn columns need extras
    CHECK(sinkhorn_extras(MethodId::HC, 3, g.thetas, g.sinkhorn).empty());
  }

  TEST_CASE("aggregate_cells: numbers, quantiles, flags, text, log form") {
    std::vector<std::vector<MetricCell>> s;
    for (double v : {1.0, 2.0, 3.0, 4.0, 10.0})
      s.push_back({MetricCell::number(v), MetricCell::boolean(v < 5), MetricCell::label("fixed_iterations"),
                   MetricCell{}});
    std::vector<const std::vector<MetricCell>*> p;
    for (const auto& x : s) p.push_back(&x);
    CHECK(aggregate_cells(p, "mean")[0].value == 4.0);
    CHECK(aggregate_cells(p, "median")[0].value == 3.0);
    // NumPy: np.quantile([1,2,3,4,10], 0.95) = 4 + 0.8·6 = 8.8 (linear interpolation)
    MHCLAB_CHECK_NEAR(aggregate_cells(p, "q95")[0].value, 8.8, 1e-14, 0.0);  // h = 0.95·4 rounds: a few ulps of 8.8
    MHCLAB_CHECK_NEAR(aggregate_cells(p, "q05")[0].value, 1.2, 1e-15, 0.0);
    CHECK_FALSE(aggregate_cells(p, "mean")[1].flag);  // one false → false
    CHECK(aggregate_cells(p, "mean")[2].text == "fixed_iterations");
    CHECK(aggregate_cells(p, "mean")[3].kind == MetricCell::Kind::Empty);
    s[2][2] = MetricCell::label("converged");
    CHECK(aggregate_cells(p, "mean")[2].text == "mixed");
    CHECK_THROWS_AS((void)aggregate_cells(p, "mode"), InputError);

    // Beyond the double range: 10^400 and 10^402 have mean 10^402·(1.01/2) = 5.05e+401, written from the log form
    std::vector<std::vector<MetricCell>> big{{MetricCell::number(HUGE_VAL, 400.0)}, {MetricCell::number(HUGE_VAL, 402.0)}};
    const std::vector<const std::vector<MetricCell>*> pb{&big[0], &big[1]};
    const MetricCell m = aggregate_cells(pb, "mean")[0];
    MHCLAB_CHECK_NEAR(m.log10_abs, 402.0 + std::log10(1.01 / 2.0), 1e-12, 0.0);
    CHECK(m.format().rfind("5.05", 0) == 0);
    CHECK(m.format().find("e+401") != std::string::npos);
    CHECK(aggregate_cells(pb, "max")[0].log10_abs == 402.0);
  }
}
