// `conform` (mixing/conform.hpp): a kernel's outputs against the fp64 reference, and the diagnosis of wrong ones.
// The "kernels" here are mhclab itself (its fp32 / bf16 emulations of the same variant: precision option, accumulate
// fp32), an independent float implementation of the deployed dsv4 Sinkhorn (float_kernel), and deliberately wrong
// outputs (transposed, the other order, a sigmoid, an unrelated batch, perturbed gradients).
//
// Tolerances and figures (n = 4, logits 2·N(0, 1), measured and printed by the MESSAGEs below):
//   fp32 emulation      err_max ≈ 1.2e-7..1.4e-7 against fp64: passes the default 1e-4; checked in [1e-10, 1e-5]
//                       (tests/mixing/test_dsv4.cpp bounds it by 1e-5, Megatron-LM PR 6172 measured ~1e-5).
//   float_kernel fp32   ≈ 1.2e-7 (dividing: the emulation's roundings exactly; multiplying by reciprocals: other
//                       roundings, named precision_fp32 by the size rule at tolerance 1e-9).
//   bf16 emulation      ≈ 4e-3..7e-3 (unit roundoff 2⁻⁸): fails at 1e-4, named precision_bf16 (distance 0 to the
//                       emulation); float_kernel with bf16 tiles ≈ 5e-3, named by the size rule.
//   wrong order         needs logits for which t = 20 has not converged (scale 6: the two orders' results differ by
//                       ≫ 1e-4 while each matches its own order exactly).
//   gradients           the reference VJP itself: error exactly 0; one entry perturbed by 1e-2: error 1e-2 ± 1e-12.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/kinds/result_table.hpp"
#include "mhclab/mixing/conform.hpp"
#include "mhclab/mixing/method.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

namespace {
using namespace mhclab;

Vec flat(const Mat& M) {
  Vec v(M.size());
  for (Index i = 0; i < M.rows(); ++i)
    for (Index j = 0; j < M.cols(); ++j) v[i * M.cols() + j] = M(i, j);
  return v;
}

Mat unflat(const Vec& v, Index n) {
  Mat M(n, n);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < n; ++j) M(i, j) = v[i * n + j];
  return M;
}

std::vector<Mat> random_batch(std::size_t B, Index n, double scale, std::uint64_t seed) {
  std::vector<Mat> out;
  for (std::size_t b = 0; b < B; ++b) {
    RandomStream rng(seed, Purpose::Test, {b});
    Mat L(n, n);
    for (Index k = 0; k < L.size(); ++k) L.data()[k] = scale * rng.normal();
    out.push_back(L);
  }
  return out;
}

MethodOptions method_options(MethodId id, Index n) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  return o;
}

/// The outputs of method `o` on the logits (paper orientation).
std::vector<Mat> outputs_of(const MethodOptions& o, const std::vector<Mat>& logits) {
  const auto m = make_method(o);
  std::vector<Mat> out;
  for (const Mat& L : logits) out.push_back(m->mix(flat(L)).H);
  return out;
}

ConformResult run(const MethodOptions& mo, const std::vector<Mat>& logits, const std::vector<Mat>& outputs,
                  Layout layout = Layout::ToFrom, double tol = 1e-4) {
  ConformOptions o;
  o.method = mo;
  o.layout = layout;
  o.tolerance = tol;
  ConformInputs in;
  in.logits = logits;
  in.outputs = outputs;
  return conform(o, in);
}

double summary_max(const ConformResult& r, const std::string& column) {
  for (const ConformColumnSummary& s : r.summary)
    if (s.column == column) return s.max;
  FAIL("no summary column " << column);
  return 0;
}
}  // namespace

/// An independent "kernel": DeepSeek-V4's deployed Sinkhorn written in float (fp32 arithmetic, its own operation
/// order: softmax along the rows of L[from, to], sums in float), every stored intermediate rounded to `store`
/// (fp32: nothing more; bf16: as a kernel that keeps its tiles in bf16). `reciprocal`: normalise by multiplying with
/// 1/sum (another rounding than mhclab's emulation, which divides). Returns comb[from, to].
Mat float_kernel(const Mat& L, Precision store, bool reciprocal = false, int iters = 20, float eps = 1e-6f) {
  const Index n = L.rows();
  auto st = [store](float x) { return static_cast<float>(round_to(static_cast<double>(x), store)); };
  std::vector<float> c(static_cast<std::size_t>(n * n));
  auto at = [&](Index j, Index k) -> float& { return c[static_cast<std::size_t>(j * n + k)]; };
  for (Index j = 0; j < n; ++j) {
    float mx = static_cast<float>(L(j, 0));
    for (Index k = 1; k < n; ++k) mx = std::max(mx, static_cast<float>(L(j, k)));
    float sum = 0.0f;
    for (Index k = 0; k < n; ++k) sum += (at(j, k) = st(std::exp(static_cast<float>(L(j, k)) - mx)));
    for (Index k = 0; k < n; ++k) at(j, k) = st(at(j, k) / sum + eps);
  }
  auto cols = [&] {
    for (Index k = 0; k < n; ++k) {
      float sum = 0.0f;
      for (Index j = 0; j < n; ++j) sum += at(j, k);
      const float r = 1.0f / (sum + eps);
      for (Index j = 0; j < n; ++j) at(j, k) = st(reciprocal ? at(j, k) * r : at(j, k) / (sum + eps));
    }
  };
  auto rows = [&] {
    for (Index j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (Index k = 0; k < n; ++k) sum += at(j, k);
      const float r = 1.0f / (sum + eps);
      for (Index k = 0; k < n; ++k) at(j, k) = st(reciprocal ? at(j, k) * r : at(j, k) / (sum + eps));
    }
  };
  cols();
  for (int t = 1; t < iters; ++t) {
    rows();
    cols();
  }
  Mat out(n, n);
  for (Index j = 0; j < n; ++j)
    for (Index k = 0; k < n; ++k) out(j, k) = at(j, k);
  return out;
}

TEST_SUITE("mixing_conform") {
  TEST_CASE("the fp64 reference itself conforms exactly; dsv4's comb[from, to] conforms with layout from_to") {
    const auto L = random_batch(6, 4, 2.0, 1);
    const MethodOptions mo = method_options(MethodId::Dsv4, 4);
    const auto H = outputs_of(mo, L);
    const ConformResult r = run(mo, L, H);
    CHECK(r.pass);
    CHECK(r.diagnosis == ConformDiagnosis::Ok);
    CHECK(r.batch == 6);
    CHECK(summary_max(r, "err_max") == 0.0);
    CHECK(summary_max(r, "dist_projection") > 0.0);  // t = 20 with ε: not the converged projection
    std::vector<Mat> comb;
    for (const Mat& h : H) comb.push_back(h.transpose());
    CHECK(run(mo, L, comb, Layout::FromTo).pass);
  }

  TEST_CASE("fp32 emulation passes at the default tolerance 1e-4; bf16 emulation fails and is named precision_bf16") {
    for (const MethodId id : {MethodId::Dsv4, MethodId::MHC}) {
      CAPTURE(method_table.to_string(id));
      const auto L = random_batch(16, 4, 2.0, 2);
      const MethodOptions mo = method_options(id, 4);
      MethodOptions f32 = mo, b16 = mo;
      f32.sinkhorn.precision = Precision::FP32;
      b16.sinkhorn.precision = Precision::BF16;
      const ConformResult r32 = run(mo, L, outputs_of(f32, L));
      MESSAGE(method_table.to_string(id), " fp32 emulation: err_max max = ", summary_max(r32, "err_max"));
      CHECK(r32.pass);
      CHECK(summary_max(r32, "err_max") > 1e-10);
      CHECK(summary_max(r32, "err_max") < 1e-5);
      const ConformResult r16 = run(mo, L, outputs_of(b16, L));
      MESSAGE(method_table.to_string(id), " bf16 emulation: err_max max = ", summary_max(r16, "err_max"));
      CHECK_FALSE(r16.pass);
      CHECK(summary_max(r16, "err_max") > 1e-4);
      CHECK(r16.diagnosis == ConformDiagnosis::PrecisionBf16);
      CHECK(r16.message.find("bf16") != std::string::npos);
      // At a tolerance below fp32 rounding, the fp32 emulation's output is named precision_fp32.
      const ConformResult tight = run(mo, L, outputs_of(f32, L), Layout::ToFrom, 1e-12);
      CHECK_FALSE(tight.pass);
      CHECK(tight.diagnosis == ConformDiagnosis::PrecisionFp32);
    }
  }

  TEST_CASE("an independent fp32 kernel passes; at a tolerance below fp32 rounding it is named precision_fp32") {
    const auto L = random_batch(32, 4, 2.0, 13);
    const MethodOptions mo = method_options(MethodId::Dsv4, 4);
    std::vector<Mat> comb32, comb16;
    for (const Mat& l : L) {
      comb32.push_back(float_kernel(l, Precision::FP32));
      comb16.push_back(float_kernel(l, Precision::BF16));
    }
    const ConformResult r = run(mo, L, comb32, Layout::FromTo);
    MESSAGE("independent fp32 kernel: err_max max = ", summary_max(r, "err_max"));
    CHECK(r.pass);
    CHECK(r.output_precision == Precision::FP32);
    CHECK(summary_max(r, "err_max") < 1e-5);
    const ConformResult tight = run(mo, L, comb32, Layout::FromTo, 1e-9);
    CHECK_FALSE(tight.pass);
    CHECK(tight.diagnosis == ConformDiagnosis::PrecisionFp32);  // the same roundings as the emulation: distance 0
    // Multiplying by reciprocals rounds differently from the emulation: named by the size of the error.
    std::vector<Mat> recip;
    for (const Mat& l : L) recip.push_back(float_kernel(l, Precision::FP32, true));
    const ConformResult rr = run(mo, L, recip, Layout::FromTo, 1e-9);
    MESSAGE("fp32 kernel with reciprocals: err_max max = ", summary_max(rr, "err_max"), "; ", rr.message);
    CHECK(run(mo, L, recip, Layout::FromTo).pass);
    CHECK_FALSE(rr.pass);
    CHECK(rr.diagnosis == ConformDiagnosis::PrecisionFp32);
    // A kernel that keeps its intermediates in bf16 (another rounding order than the emulation): precision_bf16.
    const ConformResult r16 = run(mo, L, comb16, Layout::FromTo);
    MESSAGE("independent bf16 kernel: err_max max = ", summary_max(r16, "err_max"), "; ", r16.message);
    CHECK_FALSE(r16.pass);
    CHECK(r16.output_precision == Precision::BF16);
    CHECK(r16.diagnosis == ConformDiagnosis::PrecisionBf16);
  }

  TEST_CASE("the fp64 reference rounded to bf16 (an fp32 kernel storing bf16) is named precision_bf16") {
    const auto L = random_batch(16, 4, 2.0, 3);
    const MethodOptions mo = method_options(MethodId::Dsv4, 4);
    auto H = outputs_of(mo, L);
    for (Mat& h : H) h = h.unaryExpr([](double x) { return round_to(x, Precision::BF16); });
    const ConformResult r = run(mo, L, H);
    CHECK_FALSE(r.pass);
    CHECK(r.diagnosis == ConformDiagnosis::PrecisionBf16);
  }

  TEST_CASE("a transposed output is caught and named, in both layouts") {
    const auto L = random_batch(8, 4, 2.0, 4);
    for (const MethodId id : {MethodId::Dsv4, MethodId::MHC}) {
      const MethodOptions mo = method_options(id, 4);
      const auto H = outputs_of(mo, L);
      std::vector<Mat> Ht;
      for (const Mat& h : H) Ht.push_back(h.transpose());
      const ConformResult r = run(mo, L, Ht);  // comb[from, to] read as to_from
      CHECK_FALSE(r.pass);
      CHECK(r.diagnosis == ConformDiagnosis::Transposed);
      CHECK(r.message.find("--layout from_to") != std::string::npos);
      const ConformResult r2 = run(mo, L, H, Layout::FromTo);  // paper orientation declared from_to
      CHECK(r2.diagnosis == ConformDiagnosis::Transposed);
      CHECK(r2.message.find("--layout to_from") != std::string::npos);
    }
  }

  TEST_CASE("the other normalisation order is caught and named wrong_order") {
    const auto L = random_batch(8, 4, 6.0, 5);  // large logits: t = 20 far from converged, the orders differ
    for (const MethodId id : {MethodId::MHC, MethodId::Dsv4}) {
      CAPTURE(method_table.to_string(id));
      const MethodOptions mo = method_options(id, 4);
      MethodOptions other = mo;
      other.sinkhorn.order = SinkhornOrder::RowThenCol;
      const ConformResult r = run(mo, L, outputs_of(other, L));
      CHECK_FALSE(r.pass);
      CHECK(r.diagnosis == ConformDiagnosis::WrongOrder);
      CHECK(r.message.find("row_then_col") != std::string::npos);
    }
  }

  TEST_CASE("a sigmoid instead of the softmax/Sinkhorn is caught and named sigmoid") {
    const auto L = random_batch(8, 4, 2.0, 6);
    const MethodOptions mo = method_options(MethodId::MHC, 4);
    std::vector<Mat> S;
    for (const Mat& z : L) S.push_back(z.unaryExpr([](double x) { return 1.0 / (1.0 + std::exp(-x)); }));
    const ConformResult r = run(mo, L, S);
    CHECK_FALSE(r.pass);
    CHECK(r.diagnosis == ConformDiagnosis::Sigmoid);
    CHECK(r.message.find("elementwise") != std::string::npos);
  }

  TEST_CASE("an output unrelated to the logits is unknown, with every variant's figure in the message") {
    const auto L = random_batch(8, 4, 2.0, 7);
    const MethodOptions mo = method_options(MethodId::MHC, 4);
    const auto H = outputs_of(mo, random_batch(8, 4, 2.0, 8));
    const ConformResult r = run(mo, L, H);
    CHECK_FALSE(r.pass);
    CHECK(r.diagnosis == ConformDiagnosis::Unknown);
    CHECK(r.message.find("transposed reference") != std::string::npos);
    CHECK(r.variants.size() >= 6);
  }

  TEST_CASE("gradient check: the reference VJP passes, a perturbed or transposed gradient fails") {
    const std::size_t B = 6;
    const Index n = 4;
    const auto L = random_batch(B, n, 2.0, 9);
    const auto G = random_batch(B, n, 1.0, 10);
    for (const MethodId id : {MethodId::Dsv4, MethodId::MHC}) {
      CAPTURE(method_table.to_string(id));
      const MethodOptions mo = method_options(id, n);
      const auto m = make_method(mo);
      ConformInputs in;
      in.logits = L;
      in.outputs = outputs_of(mo, L);
      in.grad_in = G;
      for (std::size_t b = 0; b < B; ++b) in.grads.push_back(unflat(m->vjp(flat(L[b]), G[b]), n));
      ConformOptions o;
      o.method = mo;
      const ConformResult ok = conform(o, in);
      CHECK(ok.pass);
      CHECK(ok.gradients);
      CHECK(summary_max(ok, "grad_err_max") == 0.0);

      ConformInputs bad = in;
      bad.grads[3](1, 2) += 1e-2;
      const ConformResult r = conform(o, bad);
      CHECK_FALSE(r.pass);
      CHECK(r.diagnosis == ConformDiagnosis::Unknown);
      CHECK(r.message.find("gradient does not") != std::string::npos);
      MHCLAB_CHECK_NEAR(summary_max(r, "grad_err_max"), 1e-2, 1e-12, 0.0);
      CHECK(r.rows[3].grad_err_max.value() > 1e-3);
      CHECK(r.rows[2].grad_err_max.value() == 0.0);

      ConformInputs tr = in;
      for (Mat& g : tr.grads) g.transposeInPlace();
      const ConformResult rt = conform(o, tr);
      CHECK_FALSE(rt.pass);
      CHECK(rt.diagnosis == ConformDiagnosis::Transposed);

      // Layout from_to: the output and grad-in transposed, the gradient in the logits' layout unchanged.
      ConformInputs ft = in;
      for (Mat& h : ft.outputs) h.transposeInPlace();
      for (Mat& g : ft.grad_in) g.transposeInPlace();
      o.layout = Layout::FromTo;
      CHECK(conform(o, ft).pass);
    }
  }

  TEST_CASE("per-matrix table: declared columns, one row per matrix, empty cells where a column does not apply") {
    const auto L = random_batch(3, 4, 2.0, 11);
    const MethodOptions mo = method_options(MethodId::MHC, 4);
    const ConformResult r = run(mo, L, outputs_of(mo, L));
    const ResultTable t = conform_table(r);
    CHECK(t.rows() == 3);
    const std::string csv = t.to_csv();
    CHECK(csv.rfind("matrix,err_max,err_rel,row_err,col_err,ref_row_err,ref_col_err,dist_projection,grad_err_max,"
                    "grad_err_rel\n",
                    0) == 0);
    CHECK(csv.find("\n2,0,0,") != std::string::npos);
    CHECK(csv.find(",,\n") != std::string::npos);  // no gradients: the last two cells are empty
    // hc: no projection column.
    const MethodOptions hc = method_options(MethodId::HC, 4);
    const ConformResult rh = run(hc, L, outputs_of(hc, L));
    CHECK(rh.pass);
    CHECK_FALSE(rh.rows[0].dist_projection.has_value());
  }

  TEST_CASE("options and inputs are checked with clear messages") {
    const auto L = random_batch(2, 4, 1.0, 12);
    MethodOptions mo = method_options(MethodId::MHC, 4);
    ConformOptions o;
    o.method = mo;
    o.tolerance = -1;
    CHECK(test::input_error_of([&] { o.validate(); }).find("tolerance") != std::string::npos);
    o.tolerance = 1e-4;
    o.method.method = MethodId::KromHC;
    CHECK(test::input_error_of([&] { o.validate(); }).find("n×n logit matrix") != std::string::npos);
    o.method = mo;
    o.method.sinkhorn.precision = Precision::BF16;
    CHECK(test::input_error_of([&] { o.validate(); }).find("fp64") != std::string::npos);
    o.method = mo;
    ConformInputs in;
    in.logits = L;
    in.outputs = {L[0]};
    CHECK(test::input_error_of([&] { (void)conform(o, in); }).find("output has 1 matrix; expected 2") !=
          std::string::npos);

    // Files: n inferred from the logits; a mismatching output names the file and the expected shape.
    test::TempDir dir;
    auto save = [&](const std::string& name, std::vector<std::size_t> shape, double fill) {
      NpyArray a;
      a.shape = std::move(shape);
      a.data.assign(a.element_count(), fill);
      write_npy(dir.file(name), a);
      return dir.file(name);
    };
    ConformFiles f;
    f.logits = save("L.npy", {2, 4, 4}, 0.0);
    f.output = save("T.npy", {2, 4, 4}, 0.25);
    const ConformInputs ok = read_conform_inputs(f);
    CHECK(ok.logits.size() == 2);
    CHECK(ok.outputs[1](3, 3) == 0.25);
    o.method.n = 4;
    CHECK(conform(o, ok).pass);  // zero logits: H = J/n exactly
    f.output = save("T3.npy", {2, 3, 3}, 0.25);
    const std::string e = test::input_error_of([&] { (void)read_conform_inputs(f); });
    CHECK(e.find("T3.npy") != std::string::npos);
    CHECK(e.find("(2, 4, 4)") != std::string::npos);
    f.output = dir.file("T.npy");
    CHECK(test::input_error_of([&] { (void)read_conform_inputs(f, 3); }).find("expected n = 3") != std::string::npos);
    f.grad_in = dir.file("T.npy");
    CHECK(test::input_error_of([&] { (void)read_conform_inputs(f); }).find("go together") != std::string::npos);
  }
}
