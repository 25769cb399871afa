#pragma once
// Conformance of a kernel's mHC outputs with mhclab's exact fp64 reference (`mhclab conform`).
//
// Inputs, one batch of B matrices (a (B, n, n) array, or (n, n) for B = 1), each as the kernel stores it:
//   logits   the method's θ as its n×n parameter matrix (mixing/method.hpp param_matrix_shape): mhc, hc, tropical,
//            cayley Z[i, j] = θ[i·n + j] in paper orientation [to, from]; dsv4 the comb logits L[from, to] (always,
//            as the method defines them);
//   outputs  the kernel's H in the output layout (`layout`): to_from = paper orientation H[to, from]; from_to = the
//            transpose (e.g. DeepSeek-V4's comb[from, to] = Hᵀ), transposed here before comparing;
//   grad_in  (optional) G = dL/d(output) in the output layout (transposed to paper orientation for from_to);
//   grads    (optional, with grad_in) the kernel's dL/dlogits in the logits' layout.
//
// Per matrix b (paper orientation: T_b = the output, transposed when layout = from_to; H_b = method.mix(θ_b), fp64):
//   err_max        max_ij |T_b − H_b|
//   err_rel        err_max / max_ij |H_b|
//   row_err, col_err          marginal errors of T_b (sinkhorn.hpp row_error / col_error)
//   ref_row_err, ref_col_err  the same of H_b (the reference is not exactly doubly stochastic at a finite t)
//   dist_projection  max_ij |T_b − P_b|, P_b = the converged entropic projection of exp(Z_b/τ) (birkhoff_projection.hpp;
//                  Z_b = θ_b for mhc, L_bᵀ for dsv4; the modifiers applied as by the method); mhc and dsv4 only
//   grad_err_max   max_k |grads_b − method.vjp(θ_b, G_b)|_k          (gradients given only)
//   grad_err_rel   grad_err_max / max_k |method.vjp(θ_b, G_b)|_k
// Summary per column: mean, median, q99 (type-7 quantiles, core/statistics.hpp) and max over the batch.
// pass ⇔ max_b err_max ≤ tolerance and (gradients given) max_b grad_err_max ≤ tolerance.
//
// Diagnosis (only when the check fails): the output is compared with variants of the reference; the variant whose
// median err_max over the batch is smallest wins when it is at least 10× below the reference's (`clear margin`; when
// the reference's median is 0, the batch maxima are compared the same way). Variants (Sinkhorn methods mhc, dsv4
// unless noted; the modifiers applied to each as by the method):
//   transposed      H_bᵀ (every method): the output's layout is the other one (or the logits are transposed);
//   wrong_order     the Sinkhorn with the other normalisation order (col_then_row ↔ row_then_col);
//   sigmoid         σ(Z_b/τ) elementwise, and σ(Z_b/τ) followed by the same Sinkhorn (M⁰ = σ(Z/τ) instead of exp);
//   precision_bf16  mhclab's bf16 emulation of the same variant (precision bf16, accumulate fp32), and H_b rounded
//                   to bf16 (a kernel that computes in fp32 and stores bf16; every method);
//   precision_fp32  mhclab's fp32 emulation (precision fp32, accumulate fp32);
//   other_variant   the plain paper Sinkhorn (start exp, ε = 0) when the reference is a deployed one (dsv4, or mhc
//                   with a softmax start or ε), the deployed preset (with_dsv4_preset: softmax_cols, ε = 1e-6) when it
//                   is plain, and the converged projection P_b (a kernel that iterates to convergence);
// and otherwise: when the output is within tolerance of the bf16 (fp32) emulation → precision_bf16 (precision_fp32);
// when its error is of the size rounding produces — max err_max ≤ 4× the fp32 emulation's own distance to the
// reference (ref_max) → precision_fp32, else, when every output entry is a bf16 number (output_precision), ≤ 2× the
// bf16 emulation's → precision_bf16 (a real kernel rounds in another order than the emulation, so it need not match
// it closely); else unknown, with the medians of every
// variant in the message. When the forward output passes but the gradient
// does not, the gradient is compared with the transposed reference gradient (→ transposed) and else → unknown.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/precision.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

class ResultTable;  // kinds/result_table.hpp

struct ConformOptions {
  /// The variant the kernel implements: any method whose θ is an n×n matrix (mhc, dsv4, hc, tropical, cayley), with
  /// its Sinkhorn options (iters, tau, order, start, eps, eps_placement, …) and modifiers. precision must be fp64
  /// (the reference is exact; the fp32/bf16 emulations are tried by the diagnosis).
  MethodOptions method;
  Layout layout = Layout::ToFrom;  ///< layout of the kernel's OUTPUT matrices (and of grad_in); see the header
  /// Absolute tolerance on max|T − H| (and on the gradient error). 1e-4 sits between the two regimes a kernel
  /// produces: an fp32 kernel reaches ~1e-5 of the fp64 Sinkhorn (Megatron-LM PR 6172 measured ~1e-5 for its fp32
  /// path; mhclab's fp32 emulation stays within 1e-5, tests/mixing/test_dsv4.cpp), a bf16 one ~1e-3 (unit roundoff
  /// 2⁻⁸ ≈ 3.9e-3 on entries ≤ 1). So a correct fp32 kernel passes and a bf16 one fails; set it to what you need.
  double tolerance = 1e-4;
  int threads = 0;  ///< 0 = all cores (the result never depends on it)

  /// InputError naming the option: tolerance ≥ 0 and finite, threads ≥ 0, method options valid and of a method whose
  /// θ is an n×n matrix, precision fp64.
  void validate() const;
};

/// A batch as the kernel stores it (see the header comment). grad_in and grads are both empty or both of size B.
struct ConformInputs {
  std::vector<Mat> logits;   ///< B θ matrices n×n (the method's parameter layout)
  std::vector<Mat> outputs;  ///< B outputs n×n (output layout)
  std::vector<Mat> grad_in;  ///< B upstream gradients dL/d(output), output layout (optional)
  std::vector<Mat> grads;    ///< B kernel gradients dL/dlogits, logits' layout (optional)
};

/// The paths of a conform run; grad_in and grad are both empty or both given.
struct ConformFiles {
  std::string logits, output, grad_in, grad;
};

/// Reads the four arrays (.npy, .csv, .safetensors with `tensor` empty: the command-level readers of
/// io/matrix_file.hpp), each (B, n, n) or (n, n), as stored (no transposition: conform applies the layout). n = 0:
/// taken from the logits; else every array must be n×n. InputError naming the file, the shape found and the shape
/// expected, e.g. "T.npy: shape (2, 3, 3) does not match the logits (L.npy: 2 matrices 4×4): expected (2, 4, 4)".
[[nodiscard]] ConformInputs read_conform_inputs(const ConformFiles& files, Index n = 0);

enum class ConformDiagnosis { Ok, Transposed, WrongOrder, Sigmoid, PrecisionBf16, PrecisionFp32, OtherVariant, Unknown };
inline constexpr EnumTable<ConformDiagnosis, 8> conform_diagnosis_table{
    "diagnosis",
    {{{ConformDiagnosis::Ok, "ok"},
      {ConformDiagnosis::Transposed, "transposed"},
      {ConformDiagnosis::WrongOrder, "wrong_order"},
      {ConformDiagnosis::Sigmoid, "sigmoid"},
      {ConformDiagnosis::PrecisionBf16, "precision_bf16"},
      {ConformDiagnosis::PrecisionFp32, "precision_fp32"},
      {ConformDiagnosis::OtherVariant, "other_variant"},
      {ConformDiagnosis::Unknown, "unknown"}}}};

/// One matrix of the batch (columns: see the header comment and conform_table).
struct ConformRow {
  Index matrix = 0;
  double err_max = 0, err_rel = 0;
  double row_err = 0, col_err = 0;
  double ref_row_err = 0, ref_col_err = 0;
  std::optional<double> dist_projection;  ///< mhc and dsv4 (empty when the projection has a numerical issue)
  std::optional<double> grad_err_max;     ///< gradients given
  std::optional<double> grad_err_rel;
};

/// Summary of one column over the batch (present cells only).
struct ConformColumnSummary {
  std::string column;
  double mean = 0, median = 0, q99 = 0, max = 0;
};

/// One variant the diagnosis tried: the output's error against it over the batch.
struct ConformVariant {
  ConformDiagnosis diagnosis = ConformDiagnosis::Unknown;
  std::string name;  ///< e.g. "transposed reference", "bf16 emulation"
  double median = 0, max = 0;  ///< of max_ij |T_b − V_b| over b
  double ref_max = 0;          ///< max_b max_ij |V_b − H_b|: how far the variant itself is from the reference
};

struct ConformResult {
  Index n = 0, batch = 0;
  std::vector<ConformRow> rows;               ///< B rows
  std::vector<ConformColumnSummary> summary;  ///< one per Real column of conform_table with at least one cell
  bool pass = false;
  bool gradients = false;                     ///< grad_in/grads were given
  /// The narrowest format holding every output entry exactly (bf16 ⊂ fp32 ⊂ fp64): how the kernel stored them.
  Precision output_precision = Precision::FP64;
  ConformDiagnosis diagnosis = ConformDiagnosis::Ok;
  std::string message;                        ///< "" when pass
  std::vector<ConformVariant> variants;       ///< what the diagnosis tried (empty when pass)
};

/// The check (see the header comment). InputError for invalid options or inputs (B ≥ 1, every matrix n×n with
/// n = options.method.n, grad_in and grads both empty or both of size B, finite values); ComputeError naming the
/// matrix when the reference has a numerical issue.
[[nodiscard]] ConformResult conform(const ConformOptions& options, const ConformInputs& inputs);

/// The per-matrix table: matrix,err_max,err_rel,row_err,col_err,ref_row_err,ref_col_err,dist_projection,
/// grad_err_max,grad_err_rel (empty cells where a column does not apply). Columns declared once, with conform's
/// summary.
[[nodiscard]] ResultTable conform_table(const ConformResult& result);

}  // namespace mhclab
