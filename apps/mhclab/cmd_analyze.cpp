// `mhclab analyze` (CLI.md): the SPEC §4 metrics of a stack of L matrices (or parameter vectors turned into
// matrices by --method), one CSV row per depth and kind: `depth,kind,` + the columns of report/depth_table.hpp
// (Sinkhorn layer columns for mhc parameter stacks; `lyap_1..lyap_n` with --lyapunov). Written atomically to
// --out, or to stdout.
// Per-token stacks (token, layer, …) take --token-average (SPEC §8):
//   metric     every token's table, then per row and column the statistics mean, q05, median, q95 over tokens
//              (a leading `stat` column; rows ordered by stat, then kind and depth);
//   matrix     the table of the stack H̄_l = mean_t H_{t,l};
//   composite  the table of the mean products mean_t(P_{t,l}) (analysis/token_average.hpp).
// Spectra (SPEC §4 optional outputs; analysis/spectrum.hpp): --eigenvalues FILE (rows depth,kind,index,re,im,
// abs,log10_abs) and --singular-values FILE (rows depth,kind,index,value,log10_value) hold every value of every
// depth and kind (dense, n ≲ 512). With --topk K — automatic, K = 6, for n ≥ 512 — they hold instead the top-K
// values of the end-to-end product M_L = H_L···H_1 (kind prefix, depth L) from Spectra on the matrix-free
// normalised product (analysis/topk.hpp); Spectra's status and iterations are reported on stderr.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/analysis/token_average.hpp"
#include "mhclab/analysis/topk.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/output_paths.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/report/depth_table.hpp"

namespace mhclab::app {

namespace {
struct AnalyzeCli {
  MethodOptions method;       ///< parameter stacks: the method that turns θ into H; its modifiers apply to matrices too
  InitKind init = InitKind::Identity;  ///< (accepted with the other method options; unused by analyze)
  double init_eps = 0.01;
  DepthTableOptions table;    ///< kinds, metrics, lyapunov
  OptionSet options;
  std::string input;
  std::string input_kind = "matrices";
  std::string layout = "to_from";
  std::string tensor;
  std::string token_average;
  std::string out;
  std::string eigenvalues;
  std::string singular_values;
  long topk = 0;
};

constexpr Index kAutoTopkN = 512;  ///< n from which --eigenvalues/--singular-values use the top-k solver
constexpr Index kAutoTopkK = 6;

/// Writes the --eigenvalues / --singular-values files (and the top-k report) for one stack.
void write_spectra(const AnalyzeCli& c, const std::vector<Mat>& stack) {
  const Index n = stack.front().rows();
  const bool want = !c.eigenvalues.empty() || !c.singular_values.empty();
  if (c.topk < 0) throw InputError("topk = " + std::to_string(c.topk) + "; must be ≥ 1 (--topk)");
  const Index k = c.topk > 0 ? c.topk : (n >= kAutoTopkN && want ? std::min<Index>(kAutoTopkK, n) : 0);
  if (k > 0) {
    TopkOptions o;
    o.k = k;
    const TopkResult r = topk_spectrum(stack, o);
    const std::vector<SpectrumTable> t{{ProductKind::Prefix, {r.spectrum}}};
    if (!c.eigenvalues.empty()) emit(c.eigenvalues, eigenvalue_csv(t));
    if (!c.singular_values.empty()) emit(c.singular_values, singular_value_csv(t));
    fmt::print(stderr, "mhclab analyze: top-{} of the end-to-end product (L = {}): eigenvalues {} ({} iterations), "
               "singular values {} ({} iterations)\n", k, stack.size(), topk_status_table.to_string(r.eigen.status),
               r.eigen.iterations, topk_status_table.to_string(r.singular.status), r.singular.iterations);
    if (!want)
      for (Index i = 0; i < r.singular.converged; ++i)
        fmt::print(stderr, "  sigma_{} = {} (log10 {})   |lambda_{}| = {}\n", i + 1,
                   g17(r.spectrum.singular_value(i)), g17(r.spectrum.log10_singular_value(i)), i + 1,
                   i < r.eigen.converged ? g17(std::abs(r.spectrum.eigenvalue(i))) : std::string("-"));
    return;
  }
  if (!want) return;
  SpectrumOptions so;
  so.eigenvalues = !c.eigenvalues.empty();
  so.singular_values = !c.singular_values.empty();
  std::vector<SpectrumTable> tables;
  for (const auto& [kind, name] : product_kind_table.entries) tables.push_back({kind, depth_spectra(stack, kind, so)});
  if (so.eigenvalues) emit(c.eigenvalues, eigenvalue_csv(tables));
  if (so.singular_values) emit(c.singular_values, singular_value_csv(tables));
}

/// The file as one GeneratedStack (lead axes (layer) or (token, layer)).
/// Matrices are taken at their own n (--method and --n only matter for parameter stacks).
GeneratedStack load(const AnalyzeCli& c, const MethodOptions& mo, bool per_token) {
  if (input_kind_table.from_string(c.input_kind) == InputKind::Matrices) {
    StackReadOptions o;
    o.layout = layout_table.from_string(c.layout);
    o.tensor = c.tensor;
    if (per_token) o.lead_axes = {"token", "layer"};
    Stack st = read_stack(c.input, o);
    if (st.count() == 0) throw InputError(c.input + ": the stack holds no matrices");
    GeneratedStack g;
    g.lead_axes = st.lead_axes;
    g.lead_shape = st.lead_shape;
    g.H = std::move(st.matrices);
    for (Mat& H : g.H) apply_modifiers(H, mo.modifiers);
    return g;
  }
  const auto method = make_method(mo);
  StackOptions s;
  s.kind = GeneratorKind::File;
  s.input = c.input;
  s.input_kind = input_kind_table.from_string(c.input_kind);
  s.layout = layout_table.from_string(c.layout);
  s.tensor = c.tensor;
  if (per_token) s.lead_axes = {"token", "layer"};
  GeneratedStack g = generate_stacks(*method, s, 0).front();
  if (g.count() == 0) throw InputError(c.input + ": the stack holds no matrices");
  return g;
}

int run_analyze(const AnalyzeCli& c) {
  const MethodOptions& mo = c.method;
  mo.validate();
  check_output_paths({{"input", c.input}},
                     {{"out", c.out}, {"eigenvalues", c.eigenvalues}, {"singular-values", c.singular_values}});
  const bool per_token = !c.token_average.empty();
  const GeneratedStack g = load(c, mo, per_token);
  const Index n = g.H.front().rows();
  DepthTableOptions table = c.table;
  std::string csv;
  if (!per_token) {
    const std::vector<LayerExtras> extras = sinkhorn_extras(mo.method, n, g.thetas, g.sinkhorn);
    table.sinkhorn_columns = !extras.empty();
    csv = depth_csv_header({}, depth_table_columns(n, table));
    append_depth_rows(csv, "", depth_table(g.H, extras, table));
    write_spectra(c, g.H);
  } else {
    if (!c.eigenvalues.empty() || !c.singular_values.empty() || c.topk != 0)
      throw InputError("--eigenvalues, --singular-values and --topk take a (layer, …) stack; with --token-average "
                       "write the averaged stack first (e.g. mhclab depth --save-matrices)");
    const TokenAverage mode = token_average_table.from_string(c.token_average);
    const std::size_t T = g.lead_shape.front(), L = g.lead_shape.back();
    std::vector<std::vector<Mat>> tokens(T);
    for (std::size_t t = 0; t < T; ++t) tokens[t].assign(g.H.begin() + static_cast<long>(t * L),
                                                          g.H.begin() + static_cast<long>((t + 1) * L));
    if (mode == TokenAverage::Matrix) {
      csv = depth_csv_header({}, depth_table_columns(n, table));
      append_depth_rows(csv, "", depth_table(mean_stack(tokens), {}, table));
    } else if (mode == TokenAverage::Composite) {
      std::vector<std::vector<DepthMetrics>> metrics;
      for (const auto& [kind, name] : product_kind_table.entries) metrics.push_back(composite_metrics(tokens, kind));
      // Lyapunov exponents of a mean of products are not defined by a stack: refuse rather than guess.
      if (table.lyapunov) throw InputError("--lyapunov needs a stack of factors; with --token-average composite there is none "
                                       "(use matrix or metric)");
      csv = depth_csv_header({}, depth_table_columns(n, table));
      append_depth_rows(csv, "", depth_table(mean_stack(tokens), {}, table, metrics));
    } else {
      std::vector<std::vector<DepthRow>> per(T);
      for (std::size_t t = 0; t < T; ++t) {
        std::vector<Vec> th;
        std::vector<std::optional<SinkhornSummary>> sk;
        if (!g.thetas.empty()) {
          th.assign(g.thetas.begin() + static_cast<long>(t * L), g.thetas.begin() + static_cast<long>((t + 1) * L));
          sk.assign(g.sinkhorn.begin() + static_cast<long>(t * L), g.sinkhorn.begin() + static_cast<long>((t + 1) * L));
        }
        const std::vector<LayerExtras> extras = sinkhorn_extras(mo.method, n, th, sk);
        DepthTableOptions t_opts = table;
        t_opts.sinkhorn_columns = !extras.empty();
        table.sinkhorn_columns = t_opts.sinkhorn_columns;
        per[t] = depth_table(tokens[t], extras, t_opts);
      }
      csv = depth_csv_header({"stat"}, depth_table_columns(n, table));
      for (const std::string& stat : token_statistics()) {
        std::vector<DepthRow> rows = per.front();
        for (std::size_t r = 0; r < rows.size(); ++r) {
          std::vector<const std::vector<MetricCell>*> samples;
          for (const auto& p : per) samples.push_back(&p[r].cells);
          rows[r].cells = aggregate_cells(samples, stat);
        }
        append_depth_rows(csv, stat + ",", rows);
      }
    }
  }
  emit(c.out, csv);
  if (!c.out.empty())
    fmt::print(stderr, "mhclab analyze: {} matrices, n = {}, wrote {}\n", g.count(), n, c.out);
  return 0;
}
}  // namespace

void setup_analyze(CLI::App& app, Registry& r) {
  auto c = std::make_shared<AnalyzeCli>();
  CLI::App* sub = app.add_subcommand("analyze", "SPEC §4 metrics of a stack of matrices (layer, prefix, suffix)");
  bind_method_options(c->options, c->method, c->init, c->init_eps);
  bind_selection_options(c->options, c->table);
  add_option_set(sub, c->options);
  sub->add_option("--input", c->input,
                  "Stack file (.npy (L,n,n) / (L,p), long-form .csv, or .safetensors with --tensor)")
      ->required();
  sub->add_option("--tensor", c->tensor, "The tensor to read from a .safetensors --input (e.g. a checkpoint's H_res)");
  sub->add_option("--input-kind", c->input_kind, "What the trailing axes hold: " + input_kind_table.names())
      ->capture_default_str();
  sub->add_option("--layout", c->layout, "to_from (paper orientation) or from_to (transpose on read)")
      ->capture_default_str();
  sub->add_option("--token-average", c->token_average,
                  "Per-token stack (token, layer, ...): " + token_average_table.names() +
                      " (metric = statistics of per-token metrics)");
  sub->add_option("--out", c->out, "Write the CSV here (atomically) instead of stdout");
  sub->add_option("--eigenvalues", c->eigenvalues, "Write all eigenvalues per depth and kind (CSV)");
  sub->add_option("--singular-values", c->singular_values, "Write all singular values per depth and kind (CSV)");
  sub->add_option("--topk", c->topk,
                  "Top-K eigen/singular values of the end-to-end product via Spectra (automatic, K = 6, for n >= 512)");
  r.add(sub, [c] { return run_analyze(*c); });
}

}  // namespace mhclab::app
