//! # 02 — Energy conservation: which marginal conserves what
//!
//! Seeds 000 and 001 derive mHC's constraint from physics: a layer should route signal, not create it. This
//! notebook checks each statement on matrices built by the library. SPEC §1's glossary fixes the names:
//!
//! | condition | algebra | what it keeps | SPEC / mHC paper | seeds 000/001 |
//! |---|---|---|---|---|
//! | column sums 1 | 1ᵀH = 1ᵀ | Σ(Hx) = Σx (stream sum, "mass") | backward gain (1ᵀM) | "mass conservation, forward" |
//! | row sums 1 | H1 = 1 | a constant signal c·1 stays c·1 | forward gain (M1) | "backward / time symmetry" |
//!
//! Same facts, other names: always report both marginals.
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/mixing/method.hpp"
#include "notebook.hpp"

using mhclab::Index;
using mhclab::Mat;
using mhclab::Vec;

namespace {

/// Random N(0,1) vector of length n from the Test stream {k, tag}.
Vec random_vec(Index n, std::uint64_t k, std::uint64_t tag) {
  Vec x(n);
  mhclab::RandomStream rs(2026, mhclab::Purpose::Test, {k, tag});
  rs.fill_normal(x);
  return x;
}

/// exp(Z) with rows (rows = true) or columns normalised: stochastic on one side only.
Mat one_sided(const Mat& Z, bool rows) {
  Mat M = Z.array().exp().matrix();
  if (rows)
    for (Index i = 0; i < M.rows(); ++i) M.row(i) /= M.row(i).sum();
  else
    for (Index j = 0; j < M.cols(); ++j) M.col(j) /= M.col(j).sum();
  return M;
}

}  // namespace

MHCLAB_NOTEBOOK {
  //! ## 1. The bounds on many doubly stochastic matrices
  //! For an exactly doubly stochastic H (nonnegative, both marginals 1) and every x, SPEC §9 states
  //! ‖Hx‖₂ ≤ (1 + 4nu)‖x‖₂ and |Σ(Hx) − Σx| ≤ (col_err(H) + 4nu)‖x‖₁ (u = 2⁻⁵³). Also ‖Hx‖_∞ ≤ ‖x‖_∞ and
  //! ‖Hx‖₁ ≤ ‖x‖₁. Below: random θ ~ N(0, 1) for every exact chart, and mhc (20 Sinkhorn iterations, not exact)
  //! for contrast, one random x per matrix.
  NB_CELL();
  const int draws = nb.pick(4000, 300);
  const double u = std::ldexp(1.0, -53);
  std::vector<std::vector<std::string>> rows;
  // For the findings: the exact charts pooled, and mhc per n.
  struct Pooled {
    long matrices = 0, l2_viol = 0, mass_viol = 0;
    double max_l2 = 0, max_mass = 0, max_inf = 0, max_l1 = 0;
  } exact;
  std::vector<std::pair<Index, Pooled>> mhc_by_n;
  int lite8 = 0;  // mHC-lite matrices at n = 8 (0 = skipped)
  for (const Index n : {Index{4}, Index{8}}) {
    for (const auto id : {mhclab::MethodId::MHCLite, mhclab::MethodId::KromHC, mhclab::MethodId::TBP,
                          mhclab::MethodId::RTBP, mhclab::MethodId::MHC}) {
      if (id == mhclab::MethodId::MHCLite && n == 8 && nb.fast()) continue;  // 8! = 40320 parameters
      mhclab::MethodOptions o;
      o.method = id;
      o.n = n;
      const auto m = mhclab::make_method(o);
      double max_l2 = 0, max_mass = 0, max_inf = 0, max_l1 = 0;
      long l2_viol = 0, mass_viol = 0;
      const int count = id == mhclab::MethodId::MHCLite && n == 8 ? draws / 20 : draws;
      for (int k = 0; k < count; ++k) {
        Vec th(m->num_params());
        mhclab::RandomStream(7, mhclab::Purpose::Theta, {static_cast<std::uint64_t>(k)}).fill_normal(th);
        const auto r = mhclab::mix(*m, th);
        const Vec x = random_vec(n, static_cast<std::uint64_t>(k), 1);
        const Vec y = r.H * x;
        const double l2 = y.norm() / x.norm();
        const double mass = std::fabs(y.sum() - x.sum()) / x.lpNorm<1>();
        const double col_err = mhclab::col_error(r.H);
        max_l2 = std::max(max_l2, l2);
        max_mass = std::max(max_mass, mass);
        max_inf = std::max(max_inf, y.lpNorm<Eigen::Infinity>() / x.lpNorm<Eigen::Infinity>());
        max_l1 = std::max(max_l1, y.lpNorm<1>() / x.lpNorm<1>());
        if (l2 > 1 + 4 * n * u) ++l2_viol;
        if (mass > col_err + 4 * n * u) ++mass_viol;
      }
      Pooled& p = id == mhclab::MethodId::MHC ? mhc_by_n.emplace_back(n, Pooled{}).second : exact;
      p.matrices += count;
      p.l2_viol += l2_viol;
      p.mass_viol += mass_viol;
      p.max_l2 = std::max(p.max_l2, max_l2);
      p.max_mass = std::max(p.max_mass, max_mass);
      p.max_inf = std::max(p.max_inf, max_inf);
      p.max_l1 = std::max(p.max_l1, max_l1);
      if (id == mhclab::MethodId::MHCLite && n == 8) lite8 = count;
      rows.push_back({std::string(mhclab::method_table.to_string(id)), std::to_string(n), std::to_string(count),
                      fmt::format("{:.17g}", max_l2), std::to_string(l2_viol), fmt::format("{:.2e}", max_mass),
                      std::to_string(mass_viol), fmt::format("{:.17g}", max_inf), fmt::format("{:.17g}", max_l1)});
    }
  }
  nb.table({"method", "n", "matrices", "max ‖Hx‖₂/‖x‖₂", "> 1+4nu", "max |ΣHx−Σx|/‖x‖₁", "> col_err+4nu",
            "max ‖Hx‖∞/‖x‖∞", "max ‖Hx‖₁/‖x‖₁"},
           rows);

  //! ## 2. Only one marginal: counterexamples
  //! Row-stochastic H (H1 = 1, columns free) keeps constant signals but not the stream sum; column-stochastic H
  //! (1ᵀH = 1ᵀ) keeps the sum but not constants. Neither bounds the 2-norm: the smallest examples are n = 2.
  NB_CELL();
  Mat R(2, 2), C(2, 2);
  R << 1, 0, 1, 0;  // rows sum to 1; column sums 2, 0
  C << 1, 1, 0, 0;  // columns sum to 1; row sums 2, 0
  Vec e0(2), half(2), ones(2);
  e0 << 1, 0;
  half << std::sqrt(0.5), std::sqrt(0.5);
  ones << 1, 1;
  std::vector<std::vector<std::string>> ce;
  std::vector<std::pair<Vec, Vec>> ce_xy;  // (x, Hx) of each row, for the findings
  const auto row = [&](const char* name, const Mat& H, const Vec& x) {
    const Vec y = H * x;
    ce_xy.emplace_back(x, y);
    ce.push_back({name, mhclab::vector_text(x, "%.4g"), mhclab::vector_text(y, "%.4g"),
                  fmt::format("{:.4g} → {:.4g}", x.sum(), y.sum()), fmt::format("{:.4g} → {:.4g}", x.norm(), y.norm()),
                  mhclab::vector_text(H * ones, "%.4g")});
  };
  row("row-stochastic [[1,0],[1,0]]", R, e0);
  row("column-stochastic [[1,1],[0,0]]", C, half);
  row("column-stochastic [[1,1],[0,0]]", C, ones);
  nb.table({"H", "x", "Hx", "Σx → ΣHx", "‖x‖₂ → ‖Hx‖₂", "H·1"}, ce);

  //! Over depth the missing marginal can compound. Products of random one-sided matrices exp(Z) (Z ~ N(0, 1),
  //! n = 4) normalised on rows only or columns only, against exactly DS TBP matrices: the backward gain (max
  //! |column sum| of the prefix product, SPEC §1) of row-stochastic stacks and the forward gain (max |row sum|) of
  //! column-stochastic stacks are free; the DS stack has both constrained.
  NB_CELL();
  const Index n = 4;
  const int L = nb.pick(200, 50);
  std::vector<Mat> rows_only, cols_only, ds;
  mhclab::MethodOptions to;
  to.method = mhclab::MethodId::TBP;
  to.n = n;
  const auto tbp = mhclab::make_method(to);
  for (int l = 0; l < L; ++l) {
    Mat Z(n, n);
    mhclab::RandomStream(11, mhclab::Purpose::Theta, {static_cast<std::uint64_t>(l)}).fill_normal(Z);
    rows_only.push_back(one_sided(Z, true));
    cols_only.push_back(one_sided(Z, false));
    Vec th(tbp->num_params());
    mhclab::RandomStream(12, mhclab::Purpose::Theta, {static_cast<std::uint64_t>(l)}).fill_normal(th);
    ds.push_back(mhclab::mix(*tbp, th).H);
  }
  mhclab::Table gains{{"depth", "stack", "log10_fwd_gain", "log10_bwd_gain"}, {}};
  // log10 |gain − 1|, exact zeros at the floor 1e-17: separates the curves that all sit at log10 gain = 0.
  const double dev_floor = 1e-17;
  mhclab::Table dev{{"depth", "stack", "log10_fwd_dev", "log10_bwd_dev"}, {}};
  const auto log10_dev = [&](double gain) { return std::log10(std::max(std::fabs(gain - 1), dev_floor)); };
  std::vector<std::vector<std::string>> last;
  std::vector<mhclab::DepthMetrics> final_metrics;  // per stack, at depth L
  double max_dev_ds = 0, gain_vs_norm = 0;          // DS: max |gain − 1| over depths; max |gain − induced norm|
  const std::vector<std::pair<std::string, const std::vector<Mat>*>> stacks = {
      {"row-stochastic", &rows_only}, {"column-stochastic", &cols_only}, {"doubly stochastic (tbp)", &ds}};
  for (const auto& [name, stack] : stacks) {
    const auto metrics = mhclab::depth_metrics(*stack, mhclab::ProductKind::Prefix);
    for (std::size_t l = 0; l < metrics.size(); ++l) {
      const auto& ml = metrics[l];
      gains.rows.push_back({std::to_string(l + 1), name, fmt::format("{:.17g}", ml.log10_fwd_gain),
                            fmt::format("{:.17g}", ml.log10_bwd_gain)});
      dev.rows.push_back({std::to_string(l + 1), name, fmt::format("{:.17g}", log10_dev(ml.fwd_gain)),
                          fmt::format("{:.17g}", log10_dev(ml.bwd_gain))});
      if (stack == &ds) max_dev_ds = std::max({max_dev_ds, std::fabs(ml.fwd_gain - 1), std::fabs(ml.bwd_gain - 1)});
      gain_vs_norm = std::max({gain_vs_norm, std::fabs(ml.fwd_gain - ml.fwd_gain_abs) / ml.fwd_gain_abs,
                               std::fabs(ml.bwd_gain - ml.bwd_gain_abs) / ml.bwd_gain_abs});
    }
    const auto& m = metrics.back();
    final_metrics.push_back(m);
    last.push_back({name, fmt::format("{:.6g}", m.fwd_gain), fmt::format("{:.6g}", m.fwd_gain_min),
                    fmt::format("{:.6g}", m.bwd_gain), fmt::format("{:.6g}", m.bwd_gain_min),
                    fmt::format("{:.3g}", m.sigma_max)});
  }
  nb.line(fmt::format("prefix product H_{}···H_1:", L));
  nb.table({"stack", "fwd_gain (max row sum)", "fwd_gain_min", "bwd_gain (max col sum)", "bwd_gain_min", "σ_max"},
           last);
  nb.line(fmt::format(
      "Gains as in the mHC paper: fwd_gain = max_i |Σ_j M_ij|, bwd_gain = max_j |Σ_i M_ij| (signed row/column sums, "
      "then the absolute value; _min = the smallest signed sum). These products are nonnegative, so the gains equal "
      "the induced norms ‖M‖∞ and ‖M‖₁ here (largest relative difference over all depths {:.1e}); for matrices "
      "with negative entries (HC, notebooks 04 and 08) they do not.",
      gain_vs_norm));
  mhclab::PlotSpec spec;
  spec.name = "one_sided_gains";
  spec.x = "depth";
  spec.y = {"log10_bwd_gain", "log10_fwd_gain"};
  spec.group = "stack";
  spec.title = "Gains of prefix products: one marginal is not enough";
  spec.ylabel = "log10 gain";
  nb.figure(gains, spec,
            "log10 forward/backward gain (max |row sum|, max |column sum|) of prefix products vs depth; the DS "
            "stack and the constrained marginal of each one-sided stack overlap at 0 (next figure)");
  spec.name = "one_sided_gain_dev";
  spec.y = {"log10_bwd_dev", "log10_fwd_dev"};
  spec.title = "Distance of the gains from 1: log10 |gain − 1|";
  spec.ylabel = "log10 |gain − 1| (floor 1e-17)";
  nb.figure(dev, spec,
            "log10 |gain − 1| of the same prefix products, exact zeros drawn at the floor log10 1e-17 = −17: the "
            "curves that overlap at log10 gain = 0 above sit at round-off level here, the free marginals far above");

  //! ## 3. Both sums and the norm, with negative entries
  //! The seeds argue that conserving mass (both sums) and energy (the 2-norm) forces the Birkhoff polytope. Not
  //! without nonnegativity: the Householder reflection Q = I − 2vvᵀ with v ⊥ 1 is orthogonal (‖Qx‖₂ = ‖x‖₂
  //! exactly), and Q1 = 1, 1ᵀQ = 1ᵀ, yet it has negative entries — and with them ‖Qx‖_∞ > ‖x‖_∞ is possible.
  NB_CELL();
  Vec v(3);
  v << 1, 1, -2;
  v /= v.norm();
  const Mat Q = Mat::Identity(3, 3) - 2 * v * v.transpose();
  nb.text("Q =\n" + mhclab::matrix_text(Q, "%.6f"));
  nb.line(fmt::format("row sums {}, column sums {}", mhclab::vector_text(Q.rowwise().sum(), "%.3g"),
                      mhclab::vector_text(Q.colwise().sum().transpose(), "%.3g")));
  nb.line(fmt::format("‖QᵀQ − I‖_max = {:.2e}, min entry {:.6f}",
                      (Q.transpose() * Q - Mat::Identity(3, 3)).cwiseAbs().maxCoeff(), Q.minCoeff()));
  Vec x(3);
  x << 1, 1, -1;
  const Vec y = Q * x;
  nb.line("x = " + mhclab::vector_text(x) + " → Qx = " + mhclab::vector_text(y, "%.6f") +
          fmt::format(": ‖x‖₂ = {:.6f} = ‖Qx‖₂ = {:.6f}, Σ {:.6g} = {:.6g}, but ‖Qx‖∞ = {:.6f} > ‖x‖∞ = 1", x.norm(),
                      y.norm(), x.sum(), y.sum(), y.lpNorm<Eigen::Infinity>()));
  // Products of such matrices never decay: every power of Q is I or Q (Q² = I).
  const Mat Q2 = Q * Q;
  const double q2_dev = (Q2 - Mat::Identity(3, 3)).cwiseAbs().maxCoeff();
  nb.line(
      fmt::format("‖Q² − I‖_max = {:.2e}: orthogonal mixing never averages streams (no collapse, no decay)", q2_dev));
  //! ## What we learned
  //! Each finding below is formatted from the values computed above (the fast mode uses fewer draws and layers).
  NB_CELL();
  const auto ratio = [](double r) {  // the ratio, or "1 + excess" when above 1
    return r <= 1 ? fmt::format("{:.4g}", r) : fmt::format("1 + {:.1e}", r - 1);
  };
  finding(nb,
          fmt::format(
              "On {} random matrices per exact chart and n ({}; {} in all), ‖Hx‖₂/‖x‖₂ {} 1 + 4nu (the largest "
              "ratio was {:.4g}) and the stream sum {} col_err + 4nu (it moved by at most {:.2g}·‖x‖₁); the "
              "largest ‖Hx‖∞/‖x‖∞ was {} and the largest ‖Hx‖₁/‖x‖₁ {}.",
              draws, lite8 > 0 ? fmt::format("{} for mHC-lite at n = 8", lite8) : std::string("mHC-lite at n = 4 only"),
              exact.matrices,
              exact.l2_viol == 0 ? std::string("never exceeded") : fmt::format("exceeded in {} cases", exact.l2_viol),
              exact.max_l2,
              exact.mass_viol == 0 ? std::string("never moved by more than")
                                   : fmt::format("moved in {} cases by more than", exact.mass_viol),
              exact.max_mass, ratio(exact.max_inf), ratio(exact.max_l1)));
  std::string mhc_text;
  long mhc_viol = 0;
  double mhc_mass = 0;
  for (const auto& [n_mhc, p] : mhc_by_n) {
    mhc_text += fmt::format("{}{:.2g}·‖x‖₁ at n = {}", mhc_text.empty() ? "" : ", ", p.max_mass, n_mhc);
    mhc_viol += p.mass_viol;
    mhc_mass = std::max(mhc_mass, p.max_mass);
  }
  finding(nb, fmt::format("mhc at 20 iterations is {}: its stream sum moved by up to {} — {}, as SPEC §9's bound "
                          "says.",
                          mhc_mass > 1e-12 ? "not exactly DS" : "DS to round-off here", mhc_text,
                          mhc_viol == 0 ? std::string("still within its own column error in every draw")
                                        : fmt::format("beyond col_err + 4nu in {} draws", mhc_viol)));
  const double sums_dev =
      std::max((Q.rowwise().sum().array() - 1).abs().maxCoeff(), (Q.colwise().sum().array() - 1).abs().maxCoeff());
  const auto& [x_r, y_r] = ce_xy[0];
  const auto& [x_c, y_c] = ce_xy[1];
  const auto& row_st = final_metrics[0];
  const auto& col_st = final_metrics[1];
  finding(nb, fmt::format(
                  "One marginal is not enough: the row-stochastic [[1,0],[1,0]] takes the stream sum from {:.4g} to "
                  "{:.4g}, the column-stochastic [[1,1],[0,0]] keeps it ({:.4g} → {:.4g}) but takes the 2-norm from "
                  "{:.4g} to {:.4g} (×{:.4g}). After {} random layers the free marginal's gain is {:.3g} (column sums "
                  "of row-stochastic products) and {:.3g} (row sums of column-stochastic ones); the constrained "
                  "marginals stay within {:.1e} of 1 and both gains of the DS stack within {:.1e} at every depth.",
                  x_r.sum(), y_r.sum(), x_c.sum(), y_c.sum(), x_c.norm(), y_c.norm(), y_c.norm() / x_c.norm(), L,
                  row_st.bwd_gain, col_st.fwd_gain,
                  std::max(std::fabs(row_st.fwd_gain - 1), std::fabs(col_st.bwd_gain - 1)), max_dev_ds));
  finding(nb, fmt::format(
                  "Both sums and the 2-norm are kept by the reflection I − 2vvᵀ (v ⊥ 1; ‖QᵀQ − I‖_max = {:.1e}, row "
                  "and column sums {}), whose entries go down to {:.4g}: the seeds' \"only the "
                  "Birkhoff polytope\" needs nonnegativity as an extra assumption. Nonnegativity is what gives "
                  "‖Hx‖∞ ≤ ‖x‖∞ (Q reaches ‖Qx‖∞ = {:.4g} for ‖x‖∞ = {:g}) and the averaging that orthogonal mixing "
                  "never does (‖Q² − I‖_max = {:.1e}).",
                  (Q.transpose() * Q - Mat::Identity(3, 3)).cwiseAbs().maxCoeff(),
                  sums_dev == 0 ? std::string("exactly 1") : fmt::format("within {:.1e} of 1", sums_dev), Q.minCoeff(),
                  y.lpNorm<Eigen::Infinity>(), x.lpNorm<Eigen::Infinity>(), q2_dev));
}
