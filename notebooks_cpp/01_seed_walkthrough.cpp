//! # 01 — The seed's 2-neuron walkthrough, recomputed
//!
//! Seed 002 traces one example through ResNets, Hyper-Connections (HC) and mHC: two streams and the input
//! x = [10, 20]. Every number below is computed here by the library (`mhclab/report/walkthrough.hpp`, the
//! mixing methods and the Sinkhorn projection); where the seed's statement is not exact (SPEC §9 lists those),
//! the seed's number stands next to the computed one.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "mhclab/report/walkthrough.hpp"
#include "notebook.hpp"

using mhclab::Mat;
using mhclab::Vec;

MHCLAB_NOTEBOOK {
  //! ## 1. One neuron, three rules
  //! A plain layer x ← w·x shrinks (w = 0.9) or explodes (w = 1.1); the residual rule x ← x + w·x with
  //! w = 0.9 multiplies by 1.9 per layer. The seed calls the last one "controlled growth" — it is 1.9^L.
  NB_CELL();
  std::vector<std::vector<std::string>> rows;
  double a = 10, b = 10, c = 10;
  for (int l = 1; l <= 3; ++l) {
    a *= 0.9;
    b *= 1.1;
    c += 0.9 * c;
    rows.push_back({std::to_string(l), fmt::format("{:.6g}", a), fmt::format("{:.6g}", b), fmt::format("{:.6g}", c)});
  }
  nb.table(
      {"layer", "0.9·x (seed: 9, 8.1, 7.29)", "1.1·x (seed: 11, 12.1, 13.31)", "x + 0.9·x (seed: 19, 36.1, 68.59)"},
      rows);
  const auto w = mhclab::seed_walkthrough();
  nb.line(fmt::format("x + 0.9x after 20 layers: gain {:.6g} = 1.9^20 (the seed: \"controlled growth\")",
                      w.growth_1_9_per_layer));

  //! ## 2. Two streams: the mixing matrix H
  //! HC mixes the two streams with a learned matrix, X ← H X (paper orientation: H[i, j] is the weight from
  //! stream j into stream i). The seed's H = [[0.7, 0.3], [0.3, 0.7]] is built here as an `hc` matrix from its
  //! parameters θ = vec(H), row-major.
  NB_CELL();
  mhclab::MethodOptions o;
  o.method = mhclab::MethodId::HC;
  o.n = 2;
  const auto hc = mhclab::make_method(o);
  Vec theta(4);
  theta << 0.7, 0.3, 0.3, 0.7;
  const Mat H = mhclab::mix(*hc, theta).H;
  Vec x(2);
  x << 10, 20;
  nb.text("H =\n" + mhclab::matrix_text(H));
  nb.line("H x = " + mhclab::vector_text(H * x, "%.15g") + "   (seed: [13, 17])");
  nb.text("H² (seed: [[0.58, 0.42], [0.42, 0.58]]) =\n" + mhclab::matrix_text(H * H, "%.15g"));
  Eigen::SelfAdjointEigenSolver<Mat> es(H);
  nb.line("eigenvalues of H = " + mhclab::vector_text(es.eigenvalues(), "%.15g") + "   (seed: {0.4, 1})");
  nb.line("row sums " + mhclab::vector_text(H.rowwise().sum()) + ", column sums " +
          mhclab::vector_text(H.colwise().sum().transpose()) + ": doubly stochastic");

  //! ## 3. Depth: H^L x converges to the average, H'^L x explodes
  //! Repeating H averages the streams: the eigenvalue 0.4 dies out and H^L x → [15, 15]. Bumping the diagonal
  //! to 0.8 (H' = [[0.8, 0.3], [0.3, 0.8]], row sums 1.1) gives spectral radius 1.1, and ‖H'^L x‖ grows like 1.1^L.
  NB_CELL();
  Mat Hp(2, 2);
  Hp << 0.8, 0.3, 0.3, 0.8;
  mhclab::Table depth{{"layer", "norm", "matrix"}, {}};
  Vec y = x, z = x;
  const int L = nb.pick(100, 40);
  double norm_ds_L = 0, norm_hp_L = 0;  // ‖H^L x‖, ‖H'^L x‖ (for the caption and the findings)
  for (int l = 0; l <= L; ++l) {
    depth.rows.push_back({std::to_string(l), fmt::format("{:.17g}", y.norm()), "H (doubly stochastic)"});
    depth.rows.push_back({std::to_string(l), fmt::format("{:.17g}", z.norm()), "H' (row sums 1.1)"});
    if (l == L) norm_ds_L = y.norm(), norm_hp_L = z.norm();
    y = H * y;
    z = Hp * z;
  }
  const double avg_norm = (x.mean() * Vec::Ones(2)).norm();  // the stream average's norm, the DS limit
  nb.line("H^20 x   = " + mhclab::vector_text(w.H20x, "%.15g") + "   (exact: [15 − 5·0.4^20, 15 + 5·0.4^20])");
  nb.line(fmt::format("ρ(H')    = {:.15g}   (seed: 1.1)", w.rho_Hp));
  nb.line(fmt::format("‖H'^20 x‖ = {:.12f}   (seed: 15·√2·1.1^20 = {:.12f})", w.norm_Hp20x,
                      15 * std::sqrt(2.0) * std::pow(1.1, 20)));
  nb.line(fmt::format("1.1^100  = {:.10f}   (seed: 13780.6123398224…)", w.pow_1_1_100));
  mhclab::PlotSpec spec;
  spec.name = "norm_vs_depth";
  spec.x = "layer";
  spec.y = {"norm"};
  spec.group = "matrix";
  spec.logy = true;
  spec.title = "‖H^l x‖₂ for the seed's two matrices";
  spec.ylabel = "‖x_l‖₂";
  nb.figure(depth, spec,
            fmt::format("‖H^l x‖ tends to the stream average's norm {:.4g} for the DS matrix ({:.6g} at l = {}) and "
                        "grows like ρ(H')^l for H' ({:.4g} at l = {})",
                        avg_norm, norm_ds_L, L, norm_hp_L, L));

  //! ## 4. mHC: Sinkhorn makes H doubly stochastic
  //! mHC builds H from logits Z by Sinkhorn–Knopp: M = exp(Z/τ), then alternately normalise columns and rows.
  //! The seed's worked case: the positive matrix [[2, 1], [1, 2]] (Z = its log) is doubly stochastic after one
  //! iteration. For the seed's other "projections" it states 0.65 and 0.68; Sinkhorn gives the numbers below
  //! (converged: 200 iterations), with Z = log M ("without exp") or Z = M ("with exp").
  NB_CELL();
  Mat M(2, 2);
  M << 2, 1, 1, 2;
  mhclab::SinkhornOptions one;
  one.iterations = 1;
  const auto s1 = mhclab::sinkhorn(M.array().log().matrix(), one);
  nb.text("Sinkhorn([[2,1],[1,2]]), 1 iteration (seed: [[2/3, 1/3], [1/3, 2/3]]) =\n" +
          mhclab::matrix_text(s1.H, "%.15g"));
  mhclab::SinkhornOptions conv;
  conv.iterations = 200;
  std::vector<std::vector<std::string>> proj;
  struct Projection {
    double claim, noexp, withexp;
  };
  std::vector<Projection> projections;  // for the findings
  const auto project = [&](const Mat& A, const char* claim) {
    const auto noexp = mhclab::sinkhorn(A.array().log().matrix(), conv);
    const auto withexp = mhclab::sinkhorn(A, conv);
    projections.push_back({std::stod(claim), noexp.H(0, 0), withexp.H(0, 0)});
    proj.push_back({fmt::format("[[{}, {}], [{}, {}]]", A(0, 0), A(0, 1), A(1, 0), A(1, 1)), claim,
                    fmt::format("{:.3f}", noexp.H(0, 0)), fmt::format("{:.3f}", withexp.H(0, 0)),
                    fmt::format("{:.1e}", std::max(noexp.summary.row_err, noexp.summary.col_err))});
  };
  Mat A1(2, 2), A2(2, 2);
  A1 << 0.8, 0.4, 0.2, 0.9;
  A2 << 0.75, 0.35, 0.28, 0.72;
  project(A1, "0.65");
  project(A2, "0.68");
  nb.table({"matrix", "seed's H₀₀", "Sinkhorn, Z = log M", "Sinkhorn, Z = M (exp)", "marginal error"}, proj);
  nb.line(fmt::format("library walkthrough agrees: {:.3f} / {:.3f} and {:.3f} / {:.3f}", w.proj1_noexp, w.proj1_exp,
                      w.proj2_noexp, w.proj2_exp));

  //! ## 5. Doubly stochastic = a mixture of permutations
  //! Birkhoff: every DS matrix is a convex combination of permutation matrices. For n = 2, H = (1 − w)·I + w·swap.
  //! The seed says DS eigenvalues are "≤ 1": true in modulus (the swap has −1). And "the Birkhoff polytope is the
  //! only space that conserves these" is not exact: the reflection I − 2vvᵀ with v ⊥ 1 keeps both sums and the
  //! norm, with negative entries (notebook 02 has more).
  NB_CELL();
  nb.line(fmt::format("H = (1 − w)·I + w·swap with w = {:.15g}   (seed: 0.7·I + 0.3·swap)", w.swap_weight));
  Mat swap(2, 2);
  swap << 0, 1, 1, 0;
  Eigen::SelfAdjointEigenSolver<Mat> es_swap(swap);
  nb.line("eigenvalues of swap = " + mhclab::vector_text(es_swap.eigenvalues()) +
          "   (seed: \"≤ 1\"; true in modulus)");
  nb.line(fmt::format("I − 2vvᵀ, v = (1, 1, −2)/√6: min entry {:.3g} (keeps row sums, column sums and ‖x‖₂)",
                      w.reflection_min_entry));
  nb.line("\nAll seed lines (computed | seed | exact per SPEC §9):");
  std::vector<std::vector<std::string>> all;
  for (const auto& l : w.lines) all.push_back({l.label, l.computed, l.claim, l.exact ? "yes" : "no — shown only"});
  nb.table({"quantity", "computed", "seed", "exact"}, all);
  //! ## 6. The seed's "projection": Sinkhorn at t = 20, the KL projection, the Euclidean projection
  //! The seed writes H ← Π_D(H̃ − η∇) and calls it the projection onto the doubly stochastic matrices, computed by
  //! exponentiating (its Step 0: A = exp(H̃)) and Sinkhorn. Three different maps fit that description. For each
  //! of the seed's two matrices H̃ of section 4, with the seed's logits Z = H̃: (a) Sinkhorn at the paper's t = 20
  //! (`sinkhorn`); (b) the converged entropic (KL) projection of exp(H̃), the t → ∞ limit of (a), by dual Newton
  //! (`entropic_projection`); (c) the Euclidean (Frobenius) projection of H̃ itself — not of exp(H̃) — onto the
  //! Birkhoff polytope (`euclidean_projection`). The seed's quoted result is [[H₀₀, 1 − H₀₀], [1 − H₀₀, H₀₀]]
  //! with its H₀₀ of section 4. (Z = log H̃ is section 4's other column.)
  NB_CELL();
  const auto m2 = [](const Mat& X) {
    return fmt::format("[[{:.6f}, {:.6f}], [{:.6f}, {:.6f}]]", X(0, 0), X(0, 1), X(1, 0), X(1, 1));
  };
  const auto maxdiff = [](const Mat& X, const Mat& Y) { return (X - Y).cwiseAbs().maxCoeff(); };
  mhclab::SinkhornOptions t20;
  t20.iterations = 20;
  struct ThreeWay {
    double claim, a, b, c, ab, ac, bc;  // seed's H₀₀; the three H₀₀; pairwise max differences
  };
  std::vector<ThreeWay> three;  // for the findings
  for (const auto& [Ht, claim] : {std::pair{A1, projections[0].claim}, std::pair{A2, projections[1].claim}}) {
    const auto a = mhclab::sinkhorn(Ht, t20);
    const auto b = mhclab::entropic_projection(Ht, mhclab::NewtonProjectionOptions{});
    const auto c = mhclab::euclidean_projection(Ht, mhclab::EuclideanProjectionOptions{});
    Mat seed(2, 2);
    seed << claim, 1 - claim, 1 - claim, claim;
    const auto err = [&](const Mat& X) {
      return std::pair{(X.rowwise().sum().array() - 1).abs().maxCoeff(),
                       (X.colwise().sum().array() - 1).abs().maxCoeff()};
    };
    const auto row = [&](std::string name, const Mat& X, std::string how) {
      const auto [re, ce] = err(X);
      return std::vector<std::string>{std::move(name),
                                      m2(X),
                                      std::move(how),
                                      fmt::format("{:.1e}", re),
                                      fmt::format("{:.1e}", ce),
                                      fmt::format("{:.4f}", maxdiff(X, seed))};
    };
    nb.line("H̃ = " + m2(Ht) + ", logits Z = H̃:");
    nb.table({"", "H", "iterations", "row error", "column error", "max |H − seed|"},
             {row("(a) Sinkhorn, t = 20", a.H, fmt::format("{} (fixed)", a.summary.iterations)),
              row("(b) KL projection of exp(H̃), Newton", b.H,
                  fmt::format("{}, {}", mhclab::projection_status_table.to_string(b.status), b.iterations)),
              row("(c) Euclidean projection of H̃", c.H,
                  fmt::format("{}, {}{} (‖H − H̃‖_F = {:.4f})", mhclab::projection_status_table.to_string(c.status),
                              c.iterations, c.iterations == 0 ? ": the affine projection is ≥ 0" : "", c.distance)),
              row("seed", seed, "—")});
    three.push_back({claim, a.H(0, 0), b.H(0, 0), c.H(0, 0), maxdiff(a.H, b.H), maxdiff(a.H, c.H), maxdiff(b.H, c.H)});
    nb.line(fmt::format("pairwise max |difference|: (a)–(b) {:.1e}, (a)–(c) {:.4f}, (b)–(c) {:.4f}\n", three.back().ab,
                        three.back().ac, three.back().bc));
  }
  //! ## What we learned
  //! Each finding below is formatted from the values computed above (the fast mode iterates fewer layers in
  //! section 3). The seed's statements are compared with the computed values, not copied.
  NB_CELL();
  // The seed's exact statements (SPEC §9) against the computed values: largest relative deviation.
  double dev = 0;
  const auto rel = [&](double computed, double seed) {
    dev = std::max(dev, std::fabs(computed - seed) / std::fabs(seed));
  };
  Vec hx_seed(2);
  hx_seed << 13, 17;
  Mat h2_seed(2, 2), s1_seed(2, 2);
  h2_seed << 0.58, 0.42, 0.42, 0.58;
  s1_seed << 2.0 / 3, 1.0 / 3, 1.0 / 3, 2.0 / 3;
  const Vec Hx = H * x;
  const Mat H2 = H * H;
  for (int i = 0; i < 2; ++i) {
    rel(Hx(i), hx_seed(i));
    for (int j = 0; j < 2; ++j) rel(H2(i, j), h2_seed(i, j)), rel(s1.H(i, j), s1_seed(i, j));
  }
  rel(es.eigenvalues()(0), 0.4);
  rel(es.eigenvalues()(1), 1.0);
  rel(w.rho_Hp, 1.1);
  rel(w.norm_Hp20x, 15 * std::sqrt(2.0) * std::pow(1.1, 20));
  rel(w.pow_1_1_100, 13780.6123398224);
  long exact_lines = 0;
  for (const auto& l : w.lines) exact_lines += l.exact ? 1 : 0;
  finding(nb, fmt::format(
                  "The seed's exact statements {}: Hx = {}, H² = {}, eigenvalues {}, ρ(H') = {:.15g}, "
                  "‖H'^20 x‖ = {:.10g}, 1.1^100 = {:.15g}, one Sinkhorn iteration of [[2,1],[1,2]] = {} "
                  "(largest relative deviation from the seed's values {:.1e}; {} of the {} seed lines "
                  "in the last table are exact, the others are shown next to the computed value).",
                  dev <= 1e-12 ? "all reproduce" : "do NOT all reproduce", mhclab::vector_text(Hx, "%.15g"),
                  fmt::format("[[{:.15g}, {:.15g}], [{:.15g}, {:.15g}]]", H2(0, 0), H2(0, 1), H2(1, 0), H2(1, 1)),
                  mhclab::vector_text(es.eigenvalues(), "%.15g"), w.rho_Hp, w.norm_Hp20x, w.pow_1_1_100,
                  fmt::format("[[{:.6g}, {:.6g}], [{:.6g}, {:.6g}]]", s1.H(0, 0), s1.H(0, 1), s1.H(1, 0), s1.H(1, 1)),
                  dev, exact_lines, w.lines.size()));
  finding(nb,
          fmt::format("\"x + 0.9x is controlled growth\" is not: it multiplies by {:.6g} per layer, {:.4g} after 20 "
                      "layers.",
                      std::pow(w.growth_1_9_per_layer, 1.0 / 20), w.growth_1_9_per_layer));
  finding(nb, fmt::format("A DS H keeps ‖H^l x‖ bounded: it converges to the stream average's norm {:.4g} ({:.6g} "
                          "after {} layers); H' with row sums 1.1 grows geometrically, to {:.4g} after {} layers "
                          "(ρ(H')^{} = {:.4g}) — the whole argument of mHC in two matrices.",
                          avg_norm, norm_ds_L, L, norm_hp_L, L, L, std::pow(w.rho_Hp, L)));
  std::string proj_text;
  double worst_miss = std::numeric_limits<double>::infinity();  // smallest distance of a seed value to Sinkhorn's
  for (const auto& p : projections) {
    proj_text += fmt::format("{}{:g} vs {:.3f} / {:.3f}", proj_text.empty() ? "" : ", ", p.claim, p.noexp, p.withexp);
    worst_miss = std::min({worst_miss, std::fabs(p.claim - p.noexp), std::fabs(p.claim - p.withexp)});
  }
  finding(nb, fmt::format("The seed's \"projection\" results {} Sinkhorn's (seed vs without / with exp: {}; every "
                          "seed value is at least {:.3f} away){}.",
                          worst_miss > 0.005 ? "are not" : "are close to", proj_text, worst_miss,
                          worst_miss > 0.005 ? ": they are illustrative numbers, not computed ones" : ""));
  // Section 6: a seed value "matches" a map when it agrees to the seed's quoted precision (half a unit in its
  // last digit, 2 decimals).
  const double half_unit = 0.005;
  std::string three_text;
  int matches = 0;
  double ab_max = 0;
  for (const auto& t : three) {
    const double da = std::fabs(t.claim - t.a), db = std::fabs(t.claim - t.b), dc = std::fabs(t.claim - t.c);
    const double dmin = std::min({da, db, dc});
    std::string nearest;  // every map within 1e-12 of the smallest distance
    for (const auto& [d, name] : {std::pair{da, "(a)"}, std::pair{db, "(b)"}, std::pair{dc, "(c)"}})
      if (d - dmin <= 1e-12) nearest += (nearest.empty() ? "" : " = ") + std::string(name);
    matches += (da <= half_unit) + (db <= half_unit) + (dc <= half_unit);
    ab_max = std::max(ab_max, t.ab);
    three_text += fmt::format("{}{:g} vs (a) {:.4f}, (b) {:.4f}, (c) {:.4f} (nearest {}, {:.4f} away)",
                              three_text.empty() ? "" : "; ", t.claim, t.a, t.b, t.c, nearest, dmin);
  }
  double bc_min = std::numeric_limits<double>::infinity();
  for (const auto& t : three) bc_min = std::min(bc_min, t.bc);
  finding(nb,
          fmt::format("Seed's H₀₀ against Sinkhorn at t = 20 (a), the converged KL projection (b) and the "
                      "Euclidean projection of H̃ (c): {}. {} ({} of the {} comparisons agree to within {:g}). "
                      "(a) and (b) differ by at most {:.1e}{}; (b) and (c) differ by at least {:.4f}{}.",
                      three_text,
                      matches == 0 ? "The seed's numbers match none of the three" : "Some of the seed's numbers match",
                      matches, 3 * three.size(), half_unit, ab_max,
                      ab_max <= 1e-9 ? ": at t = 20 Sinkhorn has reached the KL projection for these 2×2 matrices"
                                     : ": at t = 20 Sinkhorn has not yet reached the KL projection",
                      bc_min, bc_min > half_unit ? ": the Euclidean projection is a different matrix" : ""));
}
