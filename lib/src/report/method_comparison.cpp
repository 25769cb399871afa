#include "mhclab/report/method_comparison.hpp"

#include <cstdio>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"

namespace mhclab {

namespace {
MatrixStats stats_of(const Method& m, const Vec& theta) {
  const MixResult r = mix(m, theta);
  if (r.H.size() == 0) throw ComputeError("numerical issue: " + (r.sinkhorn ? r.sinkhorn->issue : std::string()));
  return matrix_stats(r.H);
}
}  // namespace

std::vector<MethodComparisonRow> compare_methods(const MethodComparisonOptions& o) {
  std::vector<MethodComparisonRow> rows;
  for (const auto& [id, name] : method_table.entries) {
    MethodComparisonRow row;
    row.method = id;
    MethodOptions mo;
    mo.method = id;
    mo.n = o.n;
    mo.sinkhorn = o.sinkhorn;
    try {
      const auto m = make_method(mo);
      row.num_params = m->num_params();
      row.exact_ds = m->exact_ds();
      row.authors = stats_of(*m, m->init_params(InitKind::Authors, o.init_eps));
      row.identity = stats_of(*m, m->init_params(InitKind::Identity, o.init_eps));
      MatrixStats acc;
      for (int d = 0; d < o.random_draws; ++d) {
        RandomStream s(static_cast<std::uint64_t>(d), Purpose::Theta, {0, 0});
        Vec theta(m->num_params());
        s.fill_normal(theta);
        const MatrixStats st = stats_of(*m, theta);
        acc.row_err += st.row_err / o.random_draws;
        acc.col_err += st.col_err / o.random_draws;
        acc.min_entry += st.min_entry / o.random_draws;
        acc.spectral_norm += st.spectral_norm / o.random_draws;
        acc.dist_identity += st.dist_identity / o.random_draws;
        acc.dist_tropical += st.dist_tropical / o.random_draws;
      }
      row.random_mean = acc;
      row.status = "ok";
    } catch (const std::exception& e) {
      row.status = e.what();
    }
    rows.push_back(row);
  }
  return rows;
}

std::string format_comparison(const std::vector<MethodComparisonRow>& rows, Index n) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "Methods at n = %ld: row/col = max marginal error, |H|2 = spectral norm, |H-I|F = distance to I\n",
                static_cast<long>(n));
  out += buf;
  std::snprintf(buf, sizeof buf, "%-9s %6s %3s | %-29s | %-29s | %-29s\n", "method", "params", "DS",
                "authors init: row col |H|2 |H-I|F", "identity init: row col |H|2 |H-I|F",
                "random θ~N(0,1) (mean of draws)");
  out += buf;
  out += std::string(118, '-') + "\n";
  auto cell = [](const MatrixStats& s) {
    char c[64];
    std::snprintf(c, sizeof c, "%7.1e %7.1e %5.3f %6.3f", s.row_err, s.col_err, s.spectral_norm, s.dist_identity);
    return std::string(c);
  };
  for (const auto& r : rows) {
    const std::string name(method_table.to_string(r.method));
    if (r.status != "ok") {
      std::snprintf(buf, sizeof buf, "%-9s  (not available: %s)\n", name.c_str(), r.status.c_str());
    } else {
      std::snprintf(buf, sizeof buf, "%-9s %6ld %3s | %s | %s | %s\n", name.c_str(), static_cast<long>(r.num_params),
                    r.exact_ds ? "yes" : "no", cell(r.authors).c_str(), cell(r.identity).c_str(),
                    cell(r.random_mean).c_str());
    }
    out += buf;
  }
  return out;
}

}  // namespace mhclab
