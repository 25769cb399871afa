// report/depth_table.hpp: the depth-metric table shared by `analyze` and `depth`.
#include "mhclab/report/depth_table.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/analysis/lyapunov.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/statistics.hpp"
#include "mhclab/mixing/hungarian.hpp"
#include "mixing/factories.hpp"

namespace mhclab {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const std::vector<std::string>& sinkhorn_columns() {
  static const std::vector<std::string> c{"iterations",    "status",        "trunc_row_err", "trunc_col_err",
                                          "round_err_max", "round_row_err", "round_col_err", "dist_tropical",
                                          "row_entropy"};
  return c;
}

/// mean_i −Σ_j H_ij ln H_ij, with 0·ln 0 = 0.
double row_entropy(const Mat& H) {
  double total = 0.0;
  for (Index i = 0; i < H.rows(); ++i)
    for (Index j = 0; j < H.cols(); ++j)
      if (H(i, j) > 0.0) total -= H(i, j) * std::log(H(i, j));
  return total / static_cast<double>(H.rows());
}

std::vector<MetricCell> sinkhorn_cells(const Mat& H, const LayerExtras& e) {
  using C = MetricCell;
  const SinkhornSummary& s = *e.sinkhorn;
  return {C::number(s.iterations),    C::label(std::string(sinkhorn_status_table.to_string(s.status))),
          C::number(s.trunc_row_err), C::number(s.trunc_col_err),
          C::number(s.round_err_max), C::number(s.round_row_err),
          C::number(s.round_col_err), C::number((H - e.tropical).cwiseAbs().maxCoeff()),
          C::number(row_entropy(H))};
}

double statistic_of(std::vector<double> v, const std::string& stat, bool log_mean) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return std::isnan(x); }), v.end());
  if (v.empty()) return kNaN;
  if (stat == "mean") {
    if (log_mean) {  // log10 of the mean of 10^{v_k}: log-sum-exp, exact at any magnitude
      const double top = *std::max_element(v.begin(), v.end());
      if (!std::isfinite(top)) return top;
      double s = 0.0;
      for (double x : v) s += std::pow(10.0, x - top);
      return top + std::log10(s / static_cast<double>(v.size()));
    }
    double s = 0.0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  }
  std::sort(v.begin(), v.end());
  if (stat == "min") return v.front();
  if (stat == "max") return v.back();
  if (stat == "median") return quantile_sorted(v, 0.5);
  if (stat == "q05") return quantile_sorted(v, 0.05);
  if (stat == "q95") return quantile_sorted(v, 0.95);
  throw InputError("statistic '" + stat + "'; expected mean, median, q05, q95, min or max");
}

/// True when the cell's double is not its exact value (beyond the double range).
bool needs_log_form(const MetricCell& c) {
  if (!c.has_log_form() || std::isnan(c.value)) return false;
  const double a = std::fabs(c.value);
  const bool exact = (std::isfinite(a) && a >= std::numeric_limits<double>::min()) ||
                     (a == 0.0 && c.log10_abs == -HUGE_VAL) || (std::isinf(a) && c.log10_abs == HUGE_VAL);
  return !exact;
}

}  // namespace

namespace {
/// Every column of the table with these options, ignoring the selection.
std::vector<std::string> all_columns(Index n, const DepthTableOptions& options) {
  std::vector<std::string> cols = depth_metric_columns();
  if (options.sinkhorn_columns) cols.insert(cols.end(), sinkhorn_columns().begin(), sinkhorn_columns().end());
  if (options.lyapunov)
    for (Index k = 1; k <= n; ++k) cols.push_back("lyap_" + std::to_string(k));
  return cols;
}

/// Indices into all_columns of the selected columns (all when none are selected).
std::vector<std::size_t> selected_indices(Index n, const DepthTableOptions& options) {
  const std::vector<std::string> all = all_columns(n, options);
  std::vector<std::size_t> idx;
  for (std::size_t c = 0; c < all.size(); ++c)
    if (options.metrics.empty() ||
        std::find(options.metrics.begin(), options.metrics.end(), all[c]) != options.metrics.end())
      idx.push_back(c);
  return idx;
}
}  // namespace

bool DepthTableOptions::has_kind(ProductKind k) const {
  return std::find(kinds.begin(), kinds.end(), k) != kinds.end();
}

void DepthTableOptions::validate(Index n) const {
  validate_kinds(kinds, "kinds");
  for (std::size_t a = 0; a < depths.size(); ++a) {
    if (depths[a] < 1) throw InputError("depths: " + std::to_string(depths[a]) + "; each depth must be ≥ 1");
    if (a > 0 && depths[a] <= depths[a - 1])
      throw InputError("depths: " + std::to_string(depths[a]) + " after " + std::to_string(depths[a - 1]) +
                       "; must be strictly increasing");
  }
  const std::vector<std::string> all = all_columns(n, *this);
  for (std::size_t a = 0; a < metrics.size(); ++a) {
    if (std::find(all.begin(), all.end(), metrics[a]) == all.end())
      throw InputError("metrics: unknown column '" + metrics[a] + "'; expected some of " + joined(all, ", ") +
                       (sinkhorn_columns ? "" : " (the Sinkhorn columns exist for mhc stacks only)") +
                       (lyapunov ? "" : " (lyap_k needs the Lyapunov option)"));
    for (std::size_t b = a + 1; b < metrics.size(); ++b)
      if (metrics[a] == metrics[b]) throw InputError("metrics lists '" + metrics[a] + "' twice");
  }
}

std::vector<std::string> depth_table_columns(Index n, const DepthTableOptions& options) {
  const std::vector<std::string> all = all_columns(n, options);
  std::vector<std::string> cols;
  for (std::size_t c : selected_indices(n, options)) cols.push_back(all[c]);
  return cols;
}

std::vector<DepthRow> depth_table(const std::vector<Mat>& H, const std::vector<LayerExtras>& extras,
                                  const DepthTableOptions& options,
                                  const std::vector<std::vector<DepthMetrics>>& precomputed) {
  if (H.empty()) throw InputError("depth table: the stack holds no matrices");
  if (options.sinkhorn_columns && extras.size() != H.size())
    throw InputError("depth table: Sinkhorn columns need one entry of extras per layer");
  if (!precomputed.empty() && precomputed.size() != product_kind_table.entries.size())
    throw InputError("depth table: precomputed metrics need one list per kind");
  const Index n = H.front().rows();
  options.validate(n);
  if (!options.depths.empty() && options.depths.back() > static_cast<Index>(H.size()))
    throw InputError("depths: " + std::to_string(options.depths.back()) + " > L = " + std::to_string(H.size()) +
                     " (the stack's layers)");
  const std::vector<std::size_t> keep = selected_indices(n, options);
  const bool all = keep.size() == all_columns(n, options).size();
  const std::vector<std::string> cols = all ? std::vector<std::string>{} : depth_table_columns(n, options);
  const DepthMetricGroups groups = all ? DepthMetricGroups{} : DepthMetricGroups::for_columns(cols);
  const bool lyap_wanted = options.lyapunov && options.has_kind(ProductKind::Prefix) &&
                           (all || std::any_of(cols.begin(), cols.end(),
                                               [](const std::string& c) { return c.rfind("lyap_", 0) == 0; }));
  std::vector<Vec> lyap;
  if (lyap_wanted) lyap = lyapunov_exponents(H).running;
  std::vector<DepthRow> rows;
  rows.reserve(options.kinds.size() * H.size());
  std::size_t kind_index = 0;
  for (const auto& [kind, name] : product_kind_table.entries) {
    const std::size_t this_kind = kind_index++;
    if (!options.has_kind(kind)) continue;
    const std::vector<DepthMetrics> metrics =
        precomputed.empty() ? depth_metrics(H, kind, groups) : precomputed[this_kind];
    for (std::size_t l = 0; l < metrics.size(); ++l) {
      if (!options.depths.empty() &&
          !std::binary_search(options.depths.begin(), options.depths.end(), static_cast<Index>(l + 1)))
        continue;
      DepthRow row{static_cast<Index>(l + 1), kind, depth_metric_cells(metrics[l])};
      if (options.sinkhorn_columns) {
        if (kind == ProductKind::Layer && extras[l].sinkhorn) {
          const auto s = sinkhorn_cells(H[l], extras[l]);
          row.cells.insert(row.cells.end(), s.begin(), s.end());
        } else {
          row.cells.resize(row.cells.size() + sinkhorn_columns().size());
        }
      }
      if (options.lyapunov)
        for (Index k = 0; k < n; ++k)
          row.cells.push_back(kind == ProductKind::Prefix && lyap_wanted ? MetricCell::number(lyap[l][k])
                                                                         : MetricCell{});
      if (!all) {
        std::vector<MetricCell> picked;
        picked.reserve(keep.size());
        for (std::size_t c : keep) picked.push_back(std::move(row.cells[c]));
        row.cells = std::move(picked);
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string depth_csv_header(const std::vector<std::string>& lead, const std::vector<std::string>& columns) {
  std::vector<std::string> all = lead;
  all.push_back("depth");
  all.push_back("kind");
  all.insert(all.end(), columns.begin(), columns.end());
  return joined(all, ",") + "\n";
}

void append_depth_rows(std::string& out, std::string_view lead_cells, const std::vector<DepthRow>& rows) {
  for (const DepthRow& r : rows) {
    out += lead_cells;
    out += std::to_string(r.depth);
    out += ',';
    out += product_kind_table.to_string(r.kind);
    for (const MetricCell& c : r.cells) {
      out += ',';
      out += c.format();
    }
    out += '\n';
  }
}

std::vector<LayerExtras> sinkhorn_extras(MethodId method, Index n, const std::vector<Vec>& thetas,
                                         const std::vector<std::optional<SinkhornSummary>>& summaries) {
  if (method != MethodId::MHC || thetas.empty() || thetas.size() != summaries.size()) return {};
  std::vector<LayerExtras> out(thetas.size());
  for (std::size_t l = 0; l < thetas.size(); ++l) {
    if (!summaries[l]) return {};
    out[l].sinkhorn = summaries[l];
    out[l].tropical = permutation_matrix(max_weight_assignment(detail::logits_matrix(thetas[l], n)).sigma);
  }
  return out;
}

const std::vector<std::string>& token_statistics() {
  static const std::vector<std::string> s{"mean", "q05", "median", "q95"};
  return s;
}

std::vector<MetricCell> aggregate_cells(const std::vector<const std::vector<MetricCell>*>& samples,
                                        const std::string& statistic) {
  if (samples.empty()) throw InputError("aggregate: no samples");
  const std::size_t width = samples.front()->size();
  for (const auto* s : samples)
    if (s->size() != width) throw InputError("aggregate: samples of different widths");
  std::vector<MetricCell> out(width);
  for (std::size_t c = 0; c < width; ++c) {
    const MetricCell& first = (*samples.front())[c];
    switch (first.kind) {
      case MetricCell::Kind::Empty: break;
      case MetricCell::Kind::Flag: {
        bool all = true;
        for (const auto* s : samples) all = all && (*s)[c].flag;
        out[c] = MetricCell::boolean(all);
        break;
      }
      case MetricCell::Kind::Text: {
        std::string common = first.text;
        for (const auto* s : samples)
          if ((*s)[c].text != common) common = "mixed";
        out[c] = MetricCell::label(common);
        break;
      }
      case MetricCell::Kind::Number: {
        bool log_form = false, same_sign = true;
        for (const auto* s : samples) {
          log_form = log_form || needs_log_form((*s)[c]);
          same_sign = same_sign && std::signbit((*s)[c].value) == std::signbit(first.value);
        }
        if (log_form && same_sign) {
          std::vector<double> logs;
          for (const auto* s : samples) logs.push_back((*s)[c].log10_abs);
          const double r = statistic_of(logs, statistic, true);
          const double sign = std::signbit(first.value) ? -1.0 : 1.0;
          out[c] = MetricCell::number(sign * std::pow(10.0, r), r);
        } else {
          std::vector<double> v;
          for (const auto* s : samples) v.push_back((*s)[c].value);
          const double r = statistic_of(v, statistic, false);
          out[c] = first.has_log_form() ? MetricCell::number(r, std::log10(std::fabs(r))) : MetricCell::number(r);
        }
        break;
      }
    }
  }
  return out;
}

/// One line per depth-table column (M is the product of the row's kind at its depth; SPEC §4,
/// analysis/depth_metrics.hpp). The gains are the mHC paper's: signed row/column sums taken in absolute value, which
/// differ from the norms ‖M‖_∞, ‖M‖_1 (the _abs columns) when M has negative entries (HC).
const std::string& depth_column_meaning(const std::string& name) {
  static const std::vector<std::pair<std::string, std::string>> meanings{
      {"fwd_gain", "max_i |Σ_j M_ij|: the largest signed row sum in absolute value (mHC paper's forward gain)"},
      {"bwd_gain", "max_j |Σ_i M_ij|: the largest signed column sum in absolute value (mHC paper's backward gain)"},
      {"fwd_gain_min", "min_i Σ_j M_ij (signed)"},
      {"bwd_gain_min", "min_j Σ_i M_ij (signed)"},
      {"fwd_gain_abs", "‖M‖_∞ = max_i Σ_j |M_ij|"},
      {"bwd_gain_abs", "‖M‖_1 = max_j Σ_i |M_ij|"},
      {"row_err", "max_i |(M1)_i − 1|"},
      {"col_err", "max_j |(1ᵀM)_j − 1|"},
      {"min_entry", "min_ij M_ij (signed)"},
      {"sigma_max", "σ_1(M) = ‖M‖_2"},
      {"sigma_min", "σ_n(M), or the resolution floor when sigma_min_resolved is false"},
      {"cond", "σ_max/σ_min (the floor value when cond_resolved is false; +inf iff M = 0)"},
      {"collapse", "σ_max(M − J/n) (the centred product when collapse_centred)"},
      {"spectral_radius", "max |λ_i(M)|, or the floor value when unresolved"},
      {"lambda2", "the second largest |λ_i(M)|, or the floor value when unresolved"},
      {"dist_identity", "‖M − I‖_F"},
      {"effective_rank", "exp(−Σ p_i ln p_i), p_i = σ_i/Σ_k σ_k"},
      {"sigma_ratio", "σ_2/σ_1 (→ 0 as the streams collapse onto one direction)"},
      {"collapse_rate", "collapse^(1/k) for a product of k factors"},
      {"sigma_min_resolved", "σ_min is above the floor n·ε·σ_max"},
      {"cond_resolved", "cond is resolved (= sigma_min_resolved)"},
      {"lambda2_resolved", "|λ_2| is above the floor n·ε·σ_max"},
      {"spectral_radius_resolved", "|λ_1| is above the floor n·ε·σ_max"},
      {"collapse_centred", "collapse computed as σ_max(Π_l (H_l − J/n)) (unit-margin stack, exact at any depth)"},
      {"sigma_ratio_resolved", "σ_2 is above the floor n·ε·σ_max"},
      {"iterations", "Sinkhorn iterations run for this layer's H"},
      {"status", "Sinkhorn status of the layer (mixing/sinkhorn.hpp)"},
      {"trunc_row_err", "the fp64 Sinkhorn's row-sum error (truncation)"},
      {"trunc_col_err", "the fp64 Sinkhorn's column-sum error (truncation)"},
      {"round_err_max", "max |H − H_fp64| under the precision emulation (SPEC §3.2)"},
      {"round_row_err", "row-sum error added by the precision emulation"},
      {"round_col_err", "column-sum error added by the precision emulation"},
      {"dist_tropical", "‖H − P_trop‖_max, the distance to the tropical limit's permutation"},
      {"row_entropy", "mean_i −Σ_j H_ij ln H_ij"}};
  static const std::string fallback = "SPEC §4 depth metric (report/depth_table.hpp)";
  static const std::string lyap = "Lyapunov exponent k (natural log, per layer; QR/Benettin)";
  static const std::string log10 = "log10 of the column without the prefix (from the product's log scale: finite at any depth)";
  for (const auto& [n, m] : meanings)
    if (n == name) return m;
  if (name.rfind("lyap_", 0) == 0) return lyap;
  if (name.rfind("log10_", 0) == 0) return log10;
  return fallback;
}

ColumnSpec depth_column_spec(const std::string& name) {
  const bool flag = name == "collapse_centred" ||
                    (name.size() > 9 && name.compare(name.size() - 9, 9, "_resolved") == 0);
  const std::string& meaning = depth_column_meaning(name);
  if (flag) return {name, ColumnType::Boolean, meaning, false};
  if (name == "status") return {name, ColumnType::Text, meaning, false};
  // `iterations` stays Real: token statistics (analyze --token-average) average it.
  return {name, ColumnType::Real, meaning, true};
}

ResultTable depth_result_table(const std::vector<ColumnSpec>& lead, const std::vector<std::string>& columns,
                               const std::vector<DepthRowGroup>& groups) {
  std::vector<ColumnSpec> specs = lead;
  specs.push_back({"depth", ColumnType::Integer, "depth l = 1..L", false});
  specs.push_back({"kind", ColumnType::Text, "product kind: layer H_l, prefix H_l···H_1, suffix H_L···H_l", false});
  for (const std::string& c : columns) specs.push_back(depth_column_spec(c));
  ResultTable t(std::move(specs));
  const std::size_t first = lead.size();
  for (const DepthRowGroup& g : groups) {
    if (g.lead_cells.size() != lead.size())
      throw InputError("internal: depth_result_table: " + std::to_string(g.lead_cells.size()) + " lead cells for " +
                       std::to_string(lead.size()) + " lead columns");
    for (const DepthRow& r : g.rows) {
      t.add_row();
      for (std::size_t l = 0; l < lead.size(); ++l) {
        switch (lead[l].type) {
          case ColumnType::Integer: t.set_integer(l, std::stoll(g.lead_cells[l])); break;
          case ColumnType::Unsigned: t.set_unsigned(l, std::stoull(g.lead_cells[l])); break;
          default: t.set_text(l, g.lead_cells[l]); break;
        }
      }
      t.set_integer(first, r.depth);
      t.set_text(first + 1, std::string(product_kind_table.to_string(r.kind)));
      for (std::size_t c = 0; c < columns.size(); ++c) {
        const MetricCell& cell = r.cells.at(c);
        const std::size_t col = first + 2 + c;
        switch (cell.kind) {
          case MetricCell::Kind::Empty: break;
          case MetricCell::Kind::Number: t.set_real(col, cell.value, cell.log10_abs); break;
          case MetricCell::Kind::Flag: t.set_boolean(col, cell.flag); break;
          case MetricCell::Kind::Text: t.set_text(col, cell.text); break;
        }
      }
    }
  }
  return t;
}

}  // namespace mhclab
