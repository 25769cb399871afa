// Conformance of a kernel's outputs with the fp64 reference: see mhclab/mixing/conform.hpp.
#include "mhclab/mixing/conform.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/core/precision.hpp"
#include "mhclab/core/statistics.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
/// A variant explains the output when its median error is this many times below the reference's.
constexpr double kClearMargin = 10.0;

std::string num(double x) { return std::isfinite(x) ? format_double(x, "%.3g") : std::string(x > 0 ? "inf" : "-inf"); }

double max_abs(const Mat& A) { return A.size() == 0 ? 0.0 : A.cwiseAbs().maxCoeff(); }
double max_abs_diff(const Mat& A, const Mat& B) { return A.size() == 0 ? 0.0 : (A - B).cwiseAbs().maxCoeff(); }

Vec row_major(const Mat& M) {
  Vec v(M.size());
  for (Index i = 0; i < M.rows(); ++i)
    for (Index j = 0; j < M.cols(); ++j) v[i * M.cols() + j] = M(i, j);
  return v;
}

bool is_sinkhorn_method(MethodId id) { return id == MethodId::MHC || id == MethodId::Dsv4; }

/// The Sinkhorn options the method runs (dsv4: its preset).
SinkhornOptions effective_sinkhorn(const MethodOptions& o) {
  return o.method == MethodId::Dsv4 ? with_dsv4_preset(o.sinkhorn) : o.sinkhorn;
}

/// The logits in paper orientation Z[to, from] (dsv4: Lᵀ).
Mat paper_logits(const MethodOptions& o, const Mat& theta_matrix) {
  return o.method == MethodId::Dsv4 ? Mat(theta_matrix.transpose()) : theta_matrix;
}

/// Sinkhorn of Z with the modifiers applied; empty on a numerical issue.
Mat sinkhorn_variant(const Mat& Z, const SinkhornOptions& s, const Modifiers& m) {
  SinkhornResult r = sinkhorn(Z, s);
  if (r.H.size() != 0) apply_modifiers(r.H, m);
  return std::move(r.H);
}

/// log σ(x), stable for both signs.
double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

// ---- the per-matrix table: columns declared once -------------------------------------------------------------

struct ColumnDef {
  ColumnSpec spec;
  std::function<std::optional<double>(const ConformRow&)> get;
};

const std::vector<ColumnDef>& column_defs() {
  static const std::vector<ColumnDef> defs = {
      {{"matrix", ColumnType::Integer, "index b of the matrix in the batch (C order of the leading axis)"},
       [](const ConformRow& r) { return std::optional<double>(static_cast<double>(r.matrix)); }},
      {{"err_max", ColumnType::Real, "max_ij |T_b - H_b|: output (paper orientation) against the fp64 reference"},
       [](const ConformRow& r) { return std::optional<double>(r.err_max); }},
      {{"err_rel", ColumnType::Real, "err_max / max_ij |H_b|"},
       [](const ConformRow& r) { return std::optional<double>(r.err_rel); }},
      {{"row_err", ColumnType::Real, "max_i |sum_j T_b[i, j] - 1| of the output"},
       [](const ConformRow& r) { return std::optional<double>(r.row_err); }},
      {{"col_err", ColumnType::Real, "max_j |sum_i T_b[i, j] - 1| of the output"},
       [](const ConformRow& r) { return std::optional<double>(r.col_err); }},
      {{"ref_row_err", ColumnType::Real, "row_err of the reference H_b"},
       [](const ConformRow& r) { return std::optional<double>(r.ref_row_err); }},
      {{"ref_col_err", ColumnType::Real, "col_err of the reference H_b"},
       [](const ConformRow& r) { return std::optional<double>(r.ref_col_err); }},
      {{"dist_projection", ColumnType::Real,
        "max_ij |T_b - P_b|, P_b = the converged entropic projection of the same logits (mhc, dsv4)"},
       [](const ConformRow& r) { return r.dist_projection; }},
      {{"grad_err_max", ColumnType::Real, "max |kernel dL/dlogits - reference VJP| (gradients given)"},
       [](const ConformRow& r) { return r.grad_err_max; }},
      {{"grad_err_rel", ColumnType::Real, "grad_err_max / max |reference VJP|"},
       [](const ConformRow& r) { return r.grad_err_rel; }},
  };
  return defs;
}

ConformColumnSummary summarize_column(const std::string& name, std::vector<double> v) {
  ConformColumnSummary s;
  s.column = name;
  std::sort(v.begin(), v.end());
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  s.median = quantile_sorted(v, 0.5);
  s.q99 = quantile_sorted(v, 0.99);
  s.max = v.back();
  return s;
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return quantile_sorted(v, 0.5);
}

// ---- inputs ----------------------------------------------------------------------------------------------------

void check_batch(const std::vector<Mat>& mats, std::size_t B, Index n, const char* what) {
  if (mats.size() != B)
    throw InputError(std::string("conform: ") + what + " has " + std::to_string(mats.size()) +
                     (mats.size() == 1 ? " matrix" : " matrices") + "; expected " +
                     std::to_string(B) + " (one per logit matrix)");
  for (std::size_t b = 0; b < B; ++b) {
    if (mats[b].rows() != n || mats[b].cols() != n)
      throw InputError(std::string("conform: ") + what + " matrix " + std::to_string(b) + " is " +
                       std::to_string(mats[b].rows()) + " × " + std::to_string(mats[b].cols()) + "; expected " +
                       std::to_string(n) + " × " + std::to_string(n));
    if (!mats[b].allFinite())
      throw InputError(std::string("conform: ") + what + " matrix " + std::to_string(b) + " has a non-finite value");
  }
}

std::string stack_shape(std::size_t count, Index n) {
  return "(" + std::to_string(count) + ", " + std::to_string(n) + ", " + std::to_string(n) + ")";
}

/// "3 matrices 4 × 4", "1 matrix 4 × 4"
std::string matrices(std::size_t count, Index n) {
  return std::to_string(count) + (count == 1 ? " matrix " : " matrices ") + std::to_string(n) + " × " +
         std::to_string(n);
}

Stack read_batch(const std::string& path) {
  StackReadOptions o;
  o.kind = InputKind::Matrices;
  o.layout = Layout::ToFrom;  // as stored: conform applies the layout
  o.lead_axes = {"batch"};
  Stack s = read_stack(path, o);
  if (s.matrices.empty()) throw InputError(path + ": holds no matrices (batch extent 0); expected (B, n, n), B ≥ 1");
  return s;
}

// ---- diagnosis -------------------------------------------------------------------------------------------------

/// A variant of the reference: V_b (paper orientation; empty = not available for b).
struct VariantDef {
  ConformDiagnosis diagnosis;
  std::string name;
  std::string message;
  std::function<Mat(std::size_t b)> make;
};

}  // namespace

void ConformOptions::validate() const {
  if (!(tolerance >= 0.0) || !std::isfinite(tolerance))
    throw InputError("tolerance = " + format_double(tolerance) + "; must be ≥ 0 and finite");
  if (threads < 0) throw InputError("threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
  method.validate();
  const ParamMatrixShape shape = param_matrix_shape(method);
  if (shape.rows != method.n || shape.cols != method.n)
    throw InputError("conform: method " + std::string(method_table.to_string(method.method)) +
                     " does not take an n×n logit matrix; expected one of mhc, dsv4, hc, tropical, cayley");
  if (method.sinkhorn.precision != Precision::FP64)
    throw InputError("conform: precision = " + std::string(precision_table.to_string(method.sinkhorn.precision)) +
                     "; the reference is fp64 (the fp32 and bf16 emulations are tried by the diagnosis)");
}

ConformInputs read_conform_inputs(const ConformFiles& files, Index n) {
  if (n < 0) throw InputError("conform: n = " + std::to_string(n) + "; must be ≥ 1 (0 = from the logits)");
  if (files.grad_in.empty() != files.grad.empty())
    throw InputError("conform: --grad-in (dL/d output) and --grad (the kernel's dL/d logits) go together; got only " +
                     std::string(files.grad_in.empty() ? "--grad" : "--grad-in"));
  ConformInputs in;
  Stack logits = read_batch(files.logits);
  const Index nl = logits.matrices.front().rows();
  if (n > 0 && nl != n)
    throw InputError(files.logits + ": matrices are " + std::to_string(nl) + " × " + std::to_string(nl) +
                     "; expected n = " + std::to_string(n) + " (--n): shape (B, " + std::to_string(n) + ", " +
                     std::to_string(n) + ") or (" + std::to_string(n) + ", " + std::to_string(n) + ")");
  const std::size_t B = logits.matrices.size();
  auto read_like = [&](const std::string& path, const char* what) {
    Stack s = read_batch(path);
    const Index m = s.matrices.front().rows();
    if (s.matrices.size() != B || m != nl)
      throw InputError(path + ": " + what + " holds " + matrices(s.matrices.size(), m) + ", shape " +
                       stack_shape(s.matrices.size(), m) + "; expected " + matrices(B, nl) + " like the logits (" + files.logits +
                       "): shape " + stack_shape(B, nl) +
                       (B == 1 ? " or (" + std::to_string(nl) + ", " + std::to_string(nl) + ")" : std::string()));
    return std::move(s.matrices);
  };
  in.outputs = read_like(files.output, "the output");
  if (!files.grad_in.empty()) {
    in.grad_in = read_like(files.grad_in, "the upstream gradient (grad-in)");
    in.grads = read_like(files.grad, "the kernel's gradient (grad)");
  }
  in.logits = std::move(logits.matrices);
  return in;
}

ConformResult conform(const ConformOptions& options, const ConformInputs& in) {
  options.validate();
  const MethodOptions& mo = options.method;
  const Index n = mo.n;
  const std::size_t B = in.logits.size();
  if (B == 0) throw InputError("conform: no logit matrices; expected a batch of B ≥ 1");
  check_batch(in.logits, B, n, "logits");
  check_batch(in.outputs, B, n, "output");
  if (in.grad_in.empty() != in.grads.empty())
    throw InputError("conform: grad_in and grads go together (both empty or both of size B)");
  const bool gradients = !in.grad_in.empty();
  if (gradients) {
    check_batch(in.grad_in, B, n, "grad_in");
    check_batch(in.grads, B, n, "grads");
  }

  const auto method = make_method(mo);
  const bool sinkhorn_family = is_sinkhorn_method(mo.method);
  const SinkhornOptions s = effective_sinkhorn(mo);
  const bool from_to = options.layout == Layout::FromTo;
  const auto Bi = static_cast<Index>(B);

  ConformResult res;
  res.n = n;
  res.batch = Bi;
  res.gradients = gradients;
  res.rows.resize(B);
  std::vector<Mat> T(B), H(B), P(B), Z(B);
  std::vector<Mat> ref_grad(B);  // reference dL/dlogits in the logits' layout
  parallel_for(Bi, options.threads, [&](Index bi) {
    const auto b = static_cast<std::size_t>(bi);
    const Vec theta = row_major(in.logits[b]);
    MixResult r = method->mix(theta);
    if (r.H.size() == 0)
      throw ComputeError("conform: matrix " + std::to_string(b) + ": the reference has a numerical issue" +
                         (r.sinkhorn ? ": " + r.sinkhorn->issue : std::string()));
    H[b] = std::move(r.H);
    T[b] = from_to ? Mat(in.outputs[b].transpose()) : in.outputs[b];
    Z[b] = paper_logits(mo, in.logits[b]);
    ConformRow& row = res.rows[b];
    row.matrix = bi;
    row.err_max = max_abs_diff(T[b], H[b]);
    const double h = max_abs(H[b]);
    row.err_rel = h > 0 ? row.err_max / h : row.err_max;
    row.row_err = row_error(T[b]);
    row.col_err = col_error(T[b]);
    row.ref_row_err = row_error(H[b]);
    row.ref_col_err = col_error(H[b]);
    if (sinkhorn_family) {
      NewtonProjectionOptions po;
      po.tau = s.tau;
      EntropicProjectionResult pr = entropic_projection(Z[b], po);
      if (pr.H.size() != 0) {
        apply_modifiers(pr.H, mo.modifiers);
        row.dist_projection = max_abs_diff(T[b], pr.H);
        P[b] = std::move(pr.H);
      }
    }
    if (gradients) {
      const Mat G = from_to ? Mat(in.grad_in[b].transpose()) : in.grad_in[b];
      const Vec g = method->vjp(theta, G);
      Mat gm(n, n);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < n; ++j) gm(i, j) = g[i * n + j];
      row.grad_err_max = max_abs_diff(in.grads[b], gm);
      const double gmax = max_abs(gm);
      row.grad_err_rel = gmax > 0 ? *row.grad_err_max / gmax : *row.grad_err_max;
      ref_grad[b] = std::move(gm);
    }
  });

  auto representable = [&](Precision p) {
    for (const Mat& t : in.outputs)
      for (Index k = 0; k < t.size(); ++k)
        if (round_to(t.data()[k], p) != t.data()[k]) return false;
    return true;
  };
  res.output_precision = representable(Precision::BF16)   ? Precision::BF16
                         : representable(Precision::FP32) ? Precision::FP32
                                                          : Precision::FP64;

  for (const ColumnDef& d : column_defs()) {
    if (d.spec.type != ColumnType::Real) continue;
    std::vector<double> v;
    for (const ConformRow& r : res.rows)
      if (const auto x = d.get(r)) v.push_back(*x);
    if (!v.empty()) res.summary.push_back(summarize_column(d.spec.name, std::move(v)));
  }

  double err_max = 0.0, grad_max = 0.0;
  std::vector<double> errs;
  for (const ConformRow& r : res.rows) {
    err_max = std::max(err_max, r.err_max);
    errs.push_back(r.err_max);
    if (r.grad_err_max) grad_max = std::max(grad_max, *r.grad_err_max);
  }
  const bool forward_ok = err_max <= options.tolerance;
  const bool grad_ok = !gradients || grad_max <= options.tolerance;
  res.pass = forward_ok && grad_ok;
  if (res.pass) return res;

  // ---- diagnosis ----
  const double ref_median = median_of(errs);
  auto choose = [&](const std::vector<ConformVariant>& variants, double ref_med, double ref_max) -> long {
    long best = -1;
    for (std::size_t k = 0; k < variants.size(); ++k)
      if (best < 0 || variants[k].median < variants[static_cast<std::size_t>(best)].median ||
          (variants[k].median == variants[static_cast<std::size_t>(best)].median &&
           variants[k].max < variants[static_cast<std::size_t>(best)].max))
        best = static_cast<long>(k);
    if (best < 0) return -1;
    const ConformVariant& v = variants[static_cast<std::size_t>(best)];
    if (ref_med > 0) return v.median * kClearMargin <= ref_med ? best : -1;
    return v.max * kClearMargin <= ref_max ? best : -1;
  };

  if (!forward_ok) {
    const Modifiers& mods = mo.modifiers;
    std::vector<VariantDef> defs;
    const std::string layout_hint =
        from_to ? "the output is transposed: the kernel's matrix is [to, from] (paper orientation); use --layout to_from"
                : "the output is transposed: the kernel's matrix is [from, to] (e.g. DeepSeek-V4's comb); use --layout "
                  "from_to";
    defs.push_back({ConformDiagnosis::Transposed, "transposed reference",
                    layout_hint + (mo.method == MethodId::Dsv4 ? std::string()
                                                               : std::string(" (or the logits are transposed)")),
                    [&](std::size_t b) { return Mat(H[b].transpose()); }});
    if (sinkhorn_family) {
      SinkhornOptions so = s;
      so.order = s.order == SinkhornOrder::ColThenRow ? SinkhornOrder::RowThenCol : SinkhornOrder::ColThenRow;
      const std::string other(sinkhorn_order_table.to_string(so.order));
      defs.push_back({ConformDiagnosis::WrongOrder, "order " + other,
                      "the output matches the other normalisation order (" + other +
                          "); the reference runs order = " + std::string(sinkhorn_order_table.to_string(s.order)) +
                          " (use --order " + other + " if the kernel is meant to)",
                      [&, so](std::size_t b) { return sinkhorn_variant(Z[b], so, mods); }});
      defs.push_back({ConformDiagnosis::Sigmoid, "sigmoid elementwise",
                      "the output matches σ(logits) elementwise: a sigmoid where the softmax/Sinkhorn belongs",
                      [&](std::size_t b) {
                        Mat V = Z[b] / s.tau;
                        for (Index k = 0; k < V.size(); ++k) V.data()[k] = 1.0 / (1.0 + std::exp(-V.data()[k]));
                        return V;
                      }});
      SinkhornOptions ss = s;
      ss.start = SinkhornStart::Exp;
      defs.push_back({ConformDiagnosis::Sigmoid, "sigmoid then Sinkhorn",
                      "the output matches σ(logits) followed by the Sinkhorn normalisations: a sigmoid where exp/softmax "
                      "belongs",
                      [&, ss](std::size_t b) {
                        Mat L = Z[b] / s.tau;
                        for (Index k = 0; k < L.size(); ++k) L.data()[k] = s.tau * log_sigmoid(L.data()[k]);
                        return sinkhorn_variant(L, ss, mods);
                      }});
    }
    const bool emulable = sinkhorn_family && s.schedule == TauSchedule::Constant;
    if (emulable) {
      SinkhornOptions sb = s;
      sb.domain = SinkhornDomain::Exp;
      sb.precision = Precision::BF16;
      sb.accumulate = Accumulate::FP32;
      defs.push_back({ConformDiagnosis::PrecisionBf16, "bf16 emulation",
                      "matches bf16 arithmetic (mhclab's bf16 emulation of the same variant): the error is bf16 "
                      "rounding, not a wrong formula; a bf16 kernel reaches ~1e-3, so compute in fp32 or raise "
                      "--tolerance",
                      [&, sb](std::size_t b) { return sinkhorn_variant(Z[b], sb, mods); }});
    }
    defs.push_back({ConformDiagnosis::PrecisionBf16, "reference rounded to bf16",
                    "matches bf16 arithmetic (the fp64 reference rounded to bf16: a kernel that stores its result in "
                    "bf16): the error is bf16 rounding, not a wrong formula; compare the fp32 result or raise "
                    "--tolerance",
                    [&](std::size_t b) { return Mat(H[b].unaryExpr([](double x) { return round_to(x, Precision::BF16); })); }});
    if (emulable) {
      SinkhornOptions sf = s;
      sf.domain = SinkhornDomain::Exp;
      sf.precision = Precision::FP32;
      sf.accumulate = Accumulate::FP32;
      defs.push_back({ConformDiagnosis::PrecisionFp32, "fp32 emulation",
                      "matches fp32 arithmetic (mhclab's fp32 emulation of the same variant): the error is fp32 "
                      "rounding, not a wrong formula; fp32 kernels reach ~1e-5, raise --tolerance",
                      [&, sf](std::size_t b) { return sinkhorn_variant(Z[b], sf, mods); }});
    }
    if (sinkhorn_family) {
      if (s.plain()) {
        const SinkhornOptions sd = with_dsv4_preset(s);
        defs.push_back({ConformDiagnosis::OtherVariant, "deployed (dsv4 preset)",
                        "the output matches the deployed Sinkhorn (softmax_cols start, ε = 1e-6, as DeepSeek-V4); the "
                        "reference is the plain paper iteration: use --method dsv4 (or --start softmax_cols --eps 1e-6)",
                        [&, sd](std::size_t b) { return sinkhorn_variant(Z[b], sd, mods); }});
      } else {
        SinkhornOptions sp = s;
        sp.start = SinkhornStart::Exp;
        sp.eps = 0.0;
        defs.push_back({ConformDiagnosis::OtherVariant, "paper mhc (exp start, ε = 0)",
                        "the output matches the plain paper Sinkhorn (exp start, no ε); the reference is a deployed "
                        "variant: use --method mhc with --start exp --eps 0 (dsv4 logits are [from, to]: transpose them)",
                        [&, sp](std::size_t b) { return sinkhorn_variant(Z[b], sp, mods); }});
      }
      defs.push_back({ConformDiagnosis::OtherVariant, "converged projection",
                      "the output matches the converged projection (t → ∞): the kernel iterates more than iters = " +
                          std::to_string(s.iterations) + " (or to convergence); set --iters to the kernel's",
                      [&](std::size_t b) { return P[b]; }});
    }

    std::vector<ConformVariant> variants;
    for (const VariantDef& d : defs) {
      std::vector<double> e(B), eh(B);
      parallel_for(Bi, options.threads, [&](Index bi) {
        const auto b = static_cast<std::size_t>(bi);
        const Mat V = d.make(b);
        e[b] = V.size() == 0 ? kInf : max_abs_diff(T[b], V);
        eh[b] = V.size() == 0 ? kInf : max_abs_diff(H[b], V);
      });
      ConformVariant v;
      v.diagnosis = d.diagnosis;
      v.name = d.name;
      v.ref_max = *std::max_element(eh.begin(), eh.end());
      v.max = *std::max_element(e.begin(), e.end());
      v.median = median_of(std::move(e));
      variants.push_back(std::move(v));
    }
    res.variants = variants;
    const std::string figures = "median err_max " + num(ref_median) + " against the reference";
    const long best = choose(variants, ref_median, err_max);
    if (best >= 0) {
      const auto k = static_cast<std::size_t>(best);
      res.diagnosis = variants[k].diagnosis;
      res.message = defs[k].message + " (median err_max " + num(variants[k].median) + " against the " + variants[k].name +
                    ", " + num(ref_median) + " against the reference)";
      return res;
    }
    // Within tolerance of an emulation, without a clear margin.
    for (std::size_t k = 0; k < variants.size(); ++k) {
      if (variants[k].max <= options.tolerance &&
          (variants[k].diagnosis == ConformDiagnosis::PrecisionBf16 ||
           variants[k].diagnosis == ConformDiagnosis::PrecisionFp32)) {
        res.diagnosis = variants[k].diagnosis;
        res.message = defs[k].message + " (max err_max " + num(variants[k].max) + " against the " + variants[k].name +
                      ", " + num(err_max) + " against the reference)";
        return res;
      }
    }
    // Errors of the size that rounding produces (a real kernel rounds in another order than the emulation).
    for (const auto& [diagnosis, factor] : {std::pair{ConformDiagnosis::PrecisionFp32, 4.0},
                                            std::pair{ConformDiagnosis::PrecisionBf16, 2.0}}) {
      for (const ConformVariant& v : variants) {
        if (v.diagnosis != diagnosis || v.name.find("emulation") == std::string::npos) continue;
        if (diagnosis == ConformDiagnosis::PrecisionBf16 && res.output_precision != Precision::BF16) continue;
        if (err_max <= factor * v.ref_max) {
          const char* fmt = diagnosis == ConformDiagnosis::PrecisionFp32 ? "fp32" : "bf16";
          res.diagnosis = diagnosis;
          res.message = std::string("the error has the size of ") + fmt + " rounding: max err_max " + num(err_max) +
                        " ≤ " + num(factor) + "× the distance of mhclab's " + fmt + " emulation to the reference (" +
                        num(v.ref_max) + ")" +
                        (diagnosis == ConformDiagnosis::PrecisionBf16 ? ", and the output entries are bf16 numbers"
                                                                       : "") +
                        "; not a wrong formula" +
                        (diagnosis == ConformDiagnosis::PrecisionFp32
                             ? "; fp32 kernels reach ~1e-5, raise --tolerance"
                             : "; a bf16 kernel reaches ~1e-3, so compute in fp32 or raise --tolerance");
          return res;
        }
      }
    }
    res.diagnosis = ConformDiagnosis::Unknown;
    std::string list;
    for (const ConformVariant& v : variants) list += "; " + v.name + " " + num(v.median);
    res.message = "no tested variant explains the output (max err_max " + num(err_max) + " > tolerance " +
                  num(options.tolerance) + "; " + figures + list + ")";
    return res;
  }

  // The forward output conforms; the gradient does not.
  std::vector<double> gerrs, gerrs_t;
  double gt_max = 0.0;
  for (std::size_t b = 0; b < B; ++b) {
    gerrs.push_back(*res.rows[b].grad_err_max);
    const double e = max_abs_diff(Mat(in.grads[b].transpose()), ref_grad[b]);
    gerrs_t.push_back(e);
    gt_max = std::max(gt_max, e);
  }
  ConformVariant vt;
  vt.diagnosis = ConformDiagnosis::Transposed;
  vt.name = "transposed reference gradient";
  vt.max = gt_max;
  vt.median = median_of(gerrs_t);
  res.variants = {vt};
  const double g_median = median_of(gerrs);
  if (choose(res.variants, g_median, grad_max) == 0) {
    res.diagnosis = ConformDiagnosis::Transposed;
    res.message = "the output conforms but the gradient is transposed: the kernel's dL/dlogits is in the other layout "
                  "than the logits (median grad_err_max " + num(vt.median) + " against the transposed reference "
                  "gradient, " + num(g_median) + " against the reference)";
    return res;
  }
  res.diagnosis = ConformDiagnosis::Unknown;
  res.message = "the output conforms (max err_max " + num(err_max) + "); the gradient does not (max grad_err_max " +
                num(grad_max) + " > tolerance " + num(options.tolerance) + ", median " + num(g_median) + ")";
  return res;
}

ResultTable conform_table(const ConformResult& result) {
  std::vector<ColumnSpec> specs;
  for (const ColumnDef& d : column_defs()) specs.push_back(d.spec);
  ResultTable t(specs);
  for (const ConformRow& r : result.rows) {
    t.add_row();
    for (std::size_t c = 0; c < column_defs().size(); ++c) {
      const ColumnDef& d = column_defs()[c];
      const std::optional<double> v = d.get(r);
      if (!v) continue;
      if (d.spec.type == ColumnType::Integer) t.set_integer(c, static_cast<std::int64_t>(*v));
      else t.set_real(c, *v);
    }
  }
  return t;
}

}  // namespace mhclab
