// The analyze kind: see mhclab/kinds/analyze.hpp.
#include "mhclab/kinds/analyze.hpp"

#include <algorithm>

#include "mhclab/analysis/spectrum.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/kinds/common_options.hpp"

namespace mhclab {

namespace {
constexpr Index kAutoTopkN = 512;  ///< n from which eigenvalues/singular values use the top-k solver
constexpr Index kAutoTopkK = 6;

/// The file as one GeneratedStack (lead axes (layer) or (token, layer)). Matrices are taken at their own n (method
/// and n only matter for parameter stacks).
GeneratedStack load(const AnalyzeKindOptions& o, std::optional<Stack> in_memory, AnalyzeKindResult& out) {
  const bool per_token = o.token_average.has_value();
  if (in_memory) {
    if (in_memory->count() == 0) throw InputError("stack: the stack holds no matrices");
    if (!in_memory->params.empty()) return stack_from_contents(*make_method(o.method), std::move(*in_memory), "stack");
    // Matrices are taken at their own n, as from a file (the method only supplies its modifiers).
    GeneratedStack g;
    g.lead_axes = in_memory->lead_axes;
    g.lead_shape = in_memory->lead_shape;
    g.H = std::move(in_memory->matrices);
    const Index n = g.H.front().rows();
    for (std::size_t e = 0; e < g.H.size(); ++e) {
      if (g.H[e].rows() != n || g.H[e].cols() != n)
        throw InputError("stack: matrix " + std::to_string(e) + " is " + std::to_string(g.H[e].rows()) + "×" +
                         std::to_string(g.H[e].cols()) + "; expected " + std::to_string(n) + "×" + std::to_string(n));
      if (!g.H[e].allFinite()) throw InputError("stack: matrix " + std::to_string(e) + " has a non-finite entry");
      apply_modifiers(g.H[e], o.method.modifiers);
    }
    return g;
  }
  if (!o.checkpoint.empty()) {
    const CheckpointStack cs = read_checkpoint_stack(o.checkpoint, o.selection);
    out.gates_csv = checkpoint_gates_csv(cs);
    const SinkhornOptions used = with_dsv4_preset(o.method.sinkhorn);
    out.checkpoint_summary = std::to_string(cs.layers) + " layers × " +
                             std::to_string(cs.sites.size() / static_cast<std::size_t>(cs.layers)) + " sites, n = " +
                             std::to_string(cs.n) + (cs.tokens > 0 ? ", " + std::to_string(cs.tokens) + " tokens" : "") +
                             "; Sinkhorn iters = " + std::to_string(used.iterations) +
                             ", eps = " + format_double(used.eps_value(), "%g");
    if (!cs.config_file.empty()) {
      out.checkpoint_summary += "; " + cs.config_file + ": hc_sinkhorn_iters = " +
                                (cs.config_iters ? std::to_string(*cs.config_iters) : std::string("absent")) +
                                ", hc_eps = " + (cs.config_eps ? format_double(*cs.config_eps, "%g") : std::string("absent"));
      if ((cs.config_iters && *cs.config_iters != used.iterations) ||
          (cs.config_eps && *cs.config_eps != used.eps_value()))
        out.checkpoint_summary += " — WARNING: the analysis differs from the model's config (set --iters/--eps)";
    }
    return stack_from_checkpoint(*make_method(o.method), cs, 0);
  }
  if (o.input_kind == InputKind::Matrices) {
    StackReadOptions r;
    r.layout = o.layout;
    r.tensor = o.tensor;
    if (per_token) r.lead_axes = {"token", "layer"};
    Stack st = read_stack(o.input, r);
    if (st.count() == 0) throw InputError(o.input + ": the stack holds no matrices");
    GeneratedStack g;
    g.lead_axes = st.lead_axes;
    g.lead_shape = st.lead_shape;
    g.H = std::move(st.matrices);
    for (Mat& H : g.H) apply_modifiers(H, o.method.modifiers);
    return g;
  }
  const auto method = make_method(o.method);
  StackOptions s;
  s.kind = GeneratorKind::File;
  s.input = o.input;
  s.input_kind = o.input_kind;
  s.layout = o.layout;
  s.tensor = o.tensor;
  if (per_token) s.lead_axes = {"token", "layer"};
  GeneratedStack g = generate_stacks(*method, s, 0).front();
  if (g.count() == 0) throw InputError(o.input + ": the stack holds no matrices");
  return g;
}

void spectra(const AnalyzeKindOptions& o, const std::vector<Mat>& stack, AnalyzeKindResult& out) {
  const Index n = stack.front().rows();
  const bool want = o.eigenvalues || o.singular_values;
  const Index k = o.topk > 0 ? o.topk : (n >= kAutoTopkN && want ? std::min<Index>(kAutoTopkK, n) : 0);
  if (k > 0) {
    TopkOptions t;
    t.k = k;
    out.topk = topk_spectrum(stack, t);
    const std::vector<SpectrumTable> tables{{ProductKind::Prefix, {out.topk->spectrum}}};
    if (o.eigenvalues) out.eigenvalue_csv = eigenvalue_csv(tables);
    if (o.singular_values) out.singular_value_csv = singular_value_csv(tables);
    return;
  }
  if (!want) return;
  SpectrumOptions so;
  so.eigenvalues = o.eigenvalues;
  so.singular_values = o.singular_values;
  std::vector<SpectrumTable> tables;
  for (const auto& [kind, name] : product_kind_table.entries) tables.push_back({kind, depth_spectra(stack, kind, so)});
  if (so.eigenvalues) out.eigenvalue_csv = eigenvalue_csv(tables);
  if (so.singular_values) out.singular_value_csv = singular_value_csv(tables);
}
}  // namespace

void AnalyzeKindOptions::validate(bool stack_given) const {
  method.validate();
  if (stack_given) {
    if (!input.empty() || !checkpoint.empty())
      throw InputError("a stack in memory is analysed: input and checkpoint must be empty");
  } else if (checkpoint.empty() && input.empty()) {
    throw InputError("input is required (the stack file), or checkpoint");
  }
  if (!checkpoint.empty()) {
    if (!input.empty()) throw InputError("input and checkpoint are exclusive: give one stack");
    if (method.method != MethodId::Dsv4)
      throw InputError("checkpoint: the sites hold DeepSeek-V4-style [from, to] comb logits; use method dsv4 (got " +
                       std::string(method_table.to_string(method.method)) + ")");
    selection.validate();
    if (selection.hidden.empty() == token_average.has_value())
      throw InputError(selection.hidden.empty()
                           ? "token-average needs per-token gates: give hidden (states or mixes per token and site)"
                           : "hidden gives per-token combs (token, site): choose token-average metric, matrix or "
                             "composite");
  }
  if (topk < 0) throw InputError("topk = " + std::to_string(topk) + "; must be ≥ 1 (0 = automatic)");
  if (token_average && (eigenvalues || singular_values || topk != 0))
    throw InputError("eigenvalues, singular-values and topk take a (layer, …) stack; with token-average write the "
                     "averaged stack first (e.g. mhclab depth --save-matrices)");
  if (token_average == TokenAverage::Composite && table.lyapunov)
    // Lyapunov exponents of a mean of products are not defined by a stack: refuse rather than guess.
    throw InputError("lyapunov needs a stack of factors; with token-average composite there is none (use matrix or "
                     "metric)");
}

void bind_analyze_options(OptionSet& s, AnalyzeKindOptions& o) {
  bind_method_options(s, o.method, o.init, o.init_eps);
  bind_selection_options(s, o.table);
  s.bind("input", o.input, "Stack file (.npy (L,n,n) / (L,p), long-form .csv, or .safetensors with tensor)");
  s.bind("tensor", o.tensor, "The tensor to read from a .safetensors input (e.g. a checkpoint's H_res)");
  s.bind("checkpoint", o.checkpoint,
         "A production checkpoint (index .json, directory or .safetensors): its hyper-connection sites, method dsv4");
  bind_checkpoint_options(s, o.selection);
  s.bind("input-kind", o.input_kind, input_kind_table, "What the trailing axes hold");
  s.bind("layout", o.layout, layout_table, "to_from (paper orientation) or from_to (transpose on read)");
  s.add({"token-average", {},
         "Per-token stack (token, layer, ...): " + token_average_table.names() +
             " (metric = statistics of per-token metrics); empty = a (layer, ...) stack",
         OptionType::Choice,
         [&o](std::string_view t) {
           if (t.empty()) o.token_average.reset();
           else o.token_average = token_average_table.from_string(t);
         },
         [&o] { return o.token_average ? std::string(token_average_table.to_string(*o.token_average)) : std::string(); }});
  s.bind("topk", o.topk,
         "Top-K eigen/singular values of the end-to-end product, matrix-free (0 = automatic: K = 6 for n >= 512)");
}

namespace {
AnalyzeKindResult analyze(const AnalyzeKindOptions& o, std::optional<Stack> in_memory) {
  o.validate(in_memory.has_value());
  const MethodOptions& mo = o.method;
  AnalyzeKindResult out;
  const GeneratedStack g = load(o, std::move(in_memory), out);
  const Index n = g.H.front().rows();
  out.matrices = g.count();
  out.n = n;
  DepthTableOptions table = o.table;
  std::vector<DepthRowGroup> groups;
  std::vector<std::string> lead;
  if (!o.token_average) {
    const std::vector<LayerExtras> extras = sinkhorn_extras(mo.method, n, g.thetas, g.sinkhorn);
    table.sinkhorn_columns = !extras.empty();
    groups.push_back({{}, depth_table(g.H, extras, table)});
    spectra(o, g.H, out);
  } else {
    if (g.lead_shape.size() != 2)
      throw InputError("token-average: the stack must be (token, layer, …); got " + std::to_string(g.lead_shape.size()) +
                       " leading axes");
    const std::size_t T = g.lead_shape.front(), L = g.lead_shape.back();
    std::vector<std::vector<Mat>> tokens(T);
    for (std::size_t t = 0; t < T; ++t)
      tokens[t].assign(g.H.begin() + static_cast<long>(t * L), g.H.begin() + static_cast<long>((t + 1) * L));
    if (*o.token_average == TokenAverage::Matrix) {
      groups.push_back({{}, depth_table(mean_stack(tokens), {}, table)});
    } else if (*o.token_average == TokenAverage::Composite) {
      std::vector<std::vector<DepthMetrics>> metrics;
      for (const auto& [kind, name] : product_kind_table.entries) metrics.push_back(composite_metrics(tokens, kind));
      groups.push_back({{}, depth_table(mean_stack(tokens), {}, table, metrics)});
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
      lead = {"stat"};
      for (const std::string& stat : token_statistics()) {
        std::vector<DepthRow> rows = per.front();
        for (std::size_t r = 0; r < rows.size(); ++r) {
          std::vector<const std::vector<MetricCell>*> samples;
          for (const auto& p : per) samples.push_back(&p[r].cells);
          rows[r].cells = aggregate_cells(samples, stat);
        }
        groups.push_back({{stat}, std::move(rows)});
      }
    }
  }
  std::vector<ColumnSpec> lead_specs;
  for (const std::string& l : lead) lead_specs.push_back({l, ColumnType::Text, "token statistic over the tokens", false});
  out.table = depth_result_table(lead_specs, depth_table_columns(n, table), groups);
  out.csv = out.table.to_csv();
  return out;
}
}  // namespace

AnalyzeKindResult analyze_kind(const AnalyzeKindOptions& o) { return analyze(o, std::nullopt); }

AnalyzeKindResult analyze_kind(const AnalyzeKindOptions& o, Stack stack) { return analyze(o, std::move(stack)); }

}  // namespace mhclab
