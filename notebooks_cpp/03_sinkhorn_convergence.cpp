//! # 03 — Sinkhorn convergence: iterations, temperature, logit scale, schedule
//!
//! mHC projects exp(Z/τ) towards the doubly stochastic matrices with t Sinkhorn–Knopp iterations (one column
//! and one row normalisation each; SPEC §3). The paper uses t = 20; seeds 000/001 say "mHC typically uses just
//! 3-5 iterations", seed 002 "typically 5-10". With the paper's order (columns, then rows) the rows are exact
//! after every iteration, so the error that remains is the column error col_err = max_j |Σ_i H_ij − 1|: the
//! stream-sum ("mass") error of SPEC §1. Logits are Z = s·G with G ~ N(0, 1) entries, n = 4.
#include <fmt/core.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "mhclab/core/random.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "notebook.hpp"

using mhclab::Mat;

namespace {

Mat logits(int draw, double scale, mhclab::Index n = 4) {
  Mat Z(n, n);
  mhclab::RandomStream(3, mhclab::Purpose::Theta, {static_cast<std::uint64_t>(draw)}).fill_normal(Z, scale);
  return Z;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto k = static_cast<std::size_t>(pos);
  return k + 1 < v.size() ? v[k] + (pos - static_cast<double>(k)) * (v[k + 1] - v[k]) : v[k];
}

std::string g(double x) { return fmt::format("{:.3g}", x); }

}  // namespace

MHCLAB_NOTEBOOK {
  //! ## 1. Error vs iterations at three logit scales
  //! For each draw and each t, a fresh run of t iterations (exp domain, τ = 1, tol = 0); the median and the 95%
  //! quantile of col_err over the draws.
  NB_CELL();
  const int draws = nb.pick(400, 40);
  const int t_max = nb.pick(100, 40);
  mhclab::Table curve{{"t", "scale", "median_col_err", "q95_col_err"}, {}};
  std::vector<std::vector<std::string>> at;  // the claims' iteration counts
  struct At {
    double scale;
    int t;
    double median, q95, max, below_1e3, below_1e6;  // fractions in %
  };
  std::vector<At> claims;  // the same numbers, for the findings
  for (const double scale : {1.0, 3.0, 10.0}) {
    std::vector<std::vector<double>> err(static_cast<std::size_t>(t_max) + 1);
    for (int d = 0; d < draws; ++d) {
      const Mat Z = logits(d, scale);
      for (int t = 1; t <= t_max; ++t) {
        mhclab::SinkhornOptions o;
        o.iterations = t;
        const auto r = mhclab::sinkhorn(Z, o);
        err[static_cast<std::size_t>(t)].push_back(std::max(r.summary.col_err, r.summary.row_err));
      }
    }
    for (int t = 1; t <= t_max; ++t) {
      const auto& e = err[static_cast<std::size_t>(t)];
      curve.rows.push_back({std::to_string(t), fmt::format("s = {:g}", scale),
                            fmt::format("{:.17g}", std::max(quantile(e, 0.5), 1e-17)),
                            fmt::format("{:.17g}", std::max(quantile(e, 0.95), 1e-17))});
    }
    for (const int t : {3, 5, 10, 20}) {
      const auto& e = err[static_cast<std::size_t>(t)];
      const auto frac = [&](double tol) {
        return 100.0 * static_cast<double>(std::count_if(e.begin(), e.end(), [&](double x) { return x < tol; })) /
               static_cast<double>(e.size());
      };
      claims.push_back({scale, t, quantile(e, 0.5), quantile(e, 0.95), *std::max_element(e.begin(), e.end()),
                        frac(1e-3), frac(1e-6)});
      const auto& c = claims.back();
      at.push_back({fmt::format("{:g}", scale), std::to_string(t), g(c.median), g(c.q95), g(c.max),
                    g(c.below_1e3) + "%", g(c.below_1e6) + "%"});
    }
  }
  nb.table({"scale s", "t", "median col_err", "q95", "max", "col_err < 1e-3", "col_err < 1e-6"}, at);
  mhclab::PlotSpec spec;
  spec.name = "col_err_vs_t";
  spec.x = "t";
  spec.y = {"median_col_err"};
  spec.group = "scale";
  spec.logy = true;
  spec.title = "Sinkhorn: median column error vs iterations (n = 4, τ = 1)";
  spec.ylabel = "median col_err";
  nb.figure(curve, spec, "median column error vs t for logit scales 1, 3, 10 (floored at 1e-17)");

  //! ## 2. Temperature at fixed logits, and the schedule
  //! Dividing by τ is the same as scaling the logits by 1/τ: small τ is a large logit scale and converges
  //! slowly. Log domain (never underflows), t = 20, constant τ vs the geometric schedule τ_k = τ^{k/(t−1)}
  //! (ε-scaling, warm-started). Logit scale 1.
  NB_CELL();
  mhclab::Table temp{{"tau", "schedule", "median_err", "q95_err"}, {}};
  std::vector<std::vector<std::string>> trows;
  std::map<std::pair<double, mhclab::TauSchedule>, double> tmedian;  // median error per (τ, schedule)
  const int tdraws = nb.pick(300, 30);
  for (const double tau : {0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0}) {
    for (const auto sched : {mhclab::TauSchedule::Constant, mhclab::TauSchedule::Geometric}) {
      if (sched == mhclab::TauSchedule::Geometric && tau >= 1) continue;  // the schedule is constant for τ ≥ 1
      std::vector<double> e;
      for (int d = 0; d < tdraws; ++d) {
        mhclab::SinkhornOptions o;
        o.iterations = 20;
        o.tau = tau;
        o.domain = mhclab::SinkhornDomain::Log;
        o.schedule = sched;
        const auto r = mhclab::sinkhorn(logits(d, 1.0), o);
        e.push_back(std::max(r.summary.col_err, r.summary.row_err));
      }
      const std::string sname(mhclab::tau_schedule_table.to_string(sched));
      temp.rows.push_back({fmt::format("{:.17g}", tau), sname,
                           fmt::format("{:.17g}", std::max(quantile(e, 0.5), 1e-17)),
                           fmt::format("{:.17g}", std::max(quantile(e, 0.95), 1e-17))});
      tmedian[{tau, sched}] = quantile(e, 0.5);
      trows.push_back({fmt::format("{:g}", tau), sname, g(quantile(e, 0.5)), g(quantile(e, 0.95)),
                       g(*std::max_element(e.begin(), e.end()))});
    }
  }
  nb.table({"τ", "schedule", "median error", "q95", "max"}, trows);
  mhclab::PlotSpec ts;
  ts.name = "err_vs_tau";
  ts.x = "tau";
  ts.y = {"median_err"};
  ts.group = "schedule";
  ts.logx = true;
  ts.logy = true;
  ts.title = "Sinkhorn error after t = 20 vs temperature (log domain)";
  ts.ylabel = "median marginal error";
  nb.figure(temp, ts, "median marginal error at t = 20 vs τ, constant and geometric schedule");

  //! ## 3. Small τ with a constant schedule: slow, heavy-tailed
  //! SPEC §3: at τ = 1e-3 (n = 4, N(0, 1) logits, constant schedule) the error decays like ≈ 0.7/t and stays
  //! bimodal across draws. Measured: the median and the worst draw at increasing t.
  NB_CELL();
  std::vector<std::vector<std::string>> slow;
  struct Slow {
    int t;
    double median, max;
  };
  std::vector<Slow> slow_v;
  const int sdraws = nb.pick(200, 20);
  for (const int t : {20, 100, 500, 2000}) {
    if (nb.fast() && t > 500) break;
    std::vector<double> e;
    for (int d = 0; d < sdraws; ++d) {
      mhclab::SinkhornOptions o;
      o.iterations = t;
      o.tau = 1e-3;
      o.domain = mhclab::SinkhornDomain::Log;
      const auto r = mhclab::sinkhorn(logits(d, 1.0), o);
      e.push_back(std::max(r.summary.col_err, r.summary.row_err));
    }
    slow_v.push_back({t, quantile(e, 0.5), *std::max_element(e.begin(), e.end())});
    slow.push_back({std::to_string(t), g(quantile(e, 0.5)), g(quantile(e, 0.5) * t), g(quantile(e, 0.9)),
                    g(*std::max_element(e.begin(), e.end()))});
  }
  nb.table({"t", "median error", "median·t", "q90", "max"}, slow);
  //! ## 4. Unrolled versus implicit gradients
  //! Training differentiates what the network computes. With t iterations that is H_t, and `sinkhorn_vjp` runs reverse
  //! mode through the unrolled iterations. The converged projection H_∞ (`entropic_projection`, dual Newton) has an
  //! implicit-differentiation backward (`entropic_projection_vjp`). Both are checked against central differences
  //! (h = 1e-5) of ⟨dH, H(Z)⟩ for their own forward map, for one random dH. Then they are compared as t grows.
  //! Four logit matrices (n = 4, exp domain): a moderate one (N(0, 1), τ = 1) and three hard ones (N(0, 3²), τ = 1;
  //! N(0, 1) at τ = 0.2 and 0.1, i.e. effective logit scales 5 and 10).
  NB_CELL();
  struct Case {
    std::string name;
    double scale, tau;
  };
  const std::vector<Case> cases{{"N(0,1), τ=1", 1, 1}, {"N(0,3²), τ=1", 3, 1}, {"N(0,1), τ=0.2", 1, 0.2},
                                {"N(0,1), τ=0.1", 1, 0.1}};
  const std::vector<int> iters{1, 2, 5, 10, 20, 50, 100, 200};
  const auto fd_error = [](const Mat& Z, const Mat& dH, const Mat& dZ, const auto& forward) {
    const double h = 1e-5;
    double worst = 0;
    for (mhclab::Index k = 0; k < Z.size(); ++k) {
      Mat Zp = Z, Zm = Z;
      Zp(k) += h, Zm(k) -= h;
      const double fd = ((forward(Zp) - forward(Zm)).cwiseProduct(dH)).sum() / (2 * h);
      worst = std::max(worst, std::fabs(dZ(k) - fd));
    }
    return worst / dZ.cwiseAbs().maxCoeff();
  };
  struct Gap {
    double fd_unrolled = 0, fd_implicit = 0;  // worst max|dZ − fd| / max|dZ| (unrolled: over all t)
    double dz_inf = 0;                        // ‖dZ_∞‖_max
    std::map<int, std::array<double, 3>> at;  // t → ‖H_t − H_∞‖_max, ‖dZ_t − dZ_∞‖_max / ‖dZ_∞‖_max, ‖dZ_t‖_max
  };
  std::vector<Gap> gaps;
  mhclab::Table gtab{{"t", "case", "H_gap", "dZ_gap"}, {}};
  std::vector<std::vector<std::string>> grows;
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const Mat Z = logits(1000 + static_cast<int>(c), cases[c].scale);
    Mat dH(4, 4);
    mhclab::RandomStream(3, mhclab::Purpose::Test, {c}).fill_normal(dH);
    mhclab::NewtonProjectionOptions po;
    po.tau = cases[c].tau;
    const auto implicit_fwd = [&](const Mat& X) { return mhclab::entropic_projection(X, po).H; };
    const Mat Hinf = implicit_fwd(Z), dZinf = mhclab::entropic_projection_vjp(Z, po, dH);
    Gap gap;
    gap.dz_inf = dZinf.cwiseAbs().maxCoeff();
    gap.fd_implicit = fd_error(Z, dH, dZinf, implicit_fwd);
    for (const int t : iters) {
      mhclab::SinkhornOptions o;
      o.iterations = t;
      o.tau = cases[c].tau;
      const auto unrolled_fwd = [&](const Mat& X) { return mhclab::sinkhorn(X, o).H; };
      const Mat dZt = mhclab::sinkhorn_vjp(Z, o, dH);
      gap.fd_unrolled = std::max(gap.fd_unrolled, fd_error(Z, dH, dZt, unrolled_fwd));
      const double hg = (unrolled_fwd(Z) - Hinf).cwiseAbs().maxCoeff();
      const double dg = (dZt - dZinf).cwiseAbs().maxCoeff() / gap.dz_inf;
      gap.at[t] = {hg, dg, dZt.cwiseAbs().maxCoeff()};
      gtab.rows.push_back({std::to_string(t), cases[c].name, fmt::format("{:.17g}", std::max(hg, 1e-17)),
                           fmt::format("{:.17g}", std::max(dg, 1e-17))});
      grows.push_back({cases[c].name, std::to_string(t), g(hg), g(gap.at[t][2]), g(dg), g(dg / std::max(hg, 1e-300))});
    }
    nb.line(fmt::format("{}: max|dZ − fd| / max|dZ| = {} unrolled (worst over t), {} implicit; ‖dZ_∞‖_max = {}",
                        cases[c].name, g(gap.fd_unrolled), g(gap.fd_implicit), g(gap.dz_inf)));
    gaps.push_back(gap);
  }
  nb.table({"logits", "t", "‖H_t − H_∞‖_max", "‖dZ_t‖_max", "‖dZ_t − dZ_∞‖_max / ‖dZ_∞‖_max", "dZ gap / H gap"},
           grows);
  mhclab::PlotSpec gs;
  gs.name = "unrolled_vs_implicit";
  gs.x = "t";
  gs.y = {"H_gap", "dZ_gap"};
  gs.facet = {"case"};
  gs.logx = gs.logy = true;
  gs.title = "Finite-t Sinkhorn vs the converged projection: forward and gradient gap";
  gs.ylabel = "max-norm gap (dZ relative)";
  nb.figure(gtab, gs, "‖H_t − H_∞‖_max and ‖dZ_t − dZ_∞‖_max/‖dZ_∞‖_max vs t (floored at 1e-17)");
  //! ## What we learned
  //! Each finding below is formatted from the values computed above (the fast mode uses fewer draws, so its numbers
  //! differ; the comparisons are re-decided from them).
  NB_CELL();
  const auto claim = [&](double scale, int t) -> const At& {
    for (const auto& c : claims)
      if (c.scale == scale && c.t == t) return c;
    throw std::logic_error("no such (scale, t)");
  };
  const auto& s1t3 = claim(1, 3);
  const auto& s1t5 = claim(1, 5);
  const double s3_best = std::max(claim(3, 3).below_1e3, claim(3, 5).below_1e3);
  finding(nb, fmt::format(
                  "\"3-5 iterations\" {}: at scale 1 the median column error is {} after 3 iterations and {} "
                  "after 5 ({}% and {}% of {} draws below 1e-3); at scale 3 the best of t = 3 and 5 brings "
                  "{}% of draws below 1e-3.",
                  s1t5.below_1e3 >= 95 ? "holds for mild logits only" : "holds only loosely, and only for mild logits",
                  g(s1t3.median), g(s1t5.median), g(s1t3.below_1e3), g(s1t5.below_1e3), draws, g(s3_best)));
  const auto& s1t20 = claim(1, 20);
  const auto& s10t20 = claim(10, 20);
  finding(nb, fmt::format("The paper's 20 iterations {} at scale 1 (median {}, {}% of draws below 1e-6) and {} at "
                          "scale 10 (median {}, q95 {}): truncation, not round-off, is what finite t leaves.",
                          s1t20.median < 1e-6 ? "converge" : "do not converge", g(s1t20.median), g(s1t20.below_1e6),
                          s10t20.median < 1e-6 ? "also converge" : "do not converge", g(s10t20.median), g(s10t20.q95)));
  // Temperature: the constant schedule at τ ≤ 0.1, then geometric vs constant at every τ < 1.
  double cmin = std::numeric_limits<double>::infinity(), cmax = 0;
  for (const auto& [key, med] : tmedian)
    if (key.second == mhclab::TauSchedule::Constant && key.first <= 0.1)
      cmin = std::min(cmin, med), cmax = std::max(cmax, med);
  std::string better, worse, same;
  for (const auto& [key, med] : tmedian) {
    if (key.second != mhclab::TauSchedule::Geometric) continue;
    const double geo = med, con = tmedian.at({key.first, mhclab::TauSchedule::Constant});
    std::string& list = geo < con ? better : geo > con ? worse : same;
    list += fmt::format("{}τ = {:g} ({} vs {})", list.empty() ? "" : ", ", key.first, g(geo), g(con));
  }
  std::string sched = "The geometric schedule (geometric vs constant median) is ";
  sched += better.empty() ? "never better" : "better at " + better;
  if (!worse.empty()) sched += "; worse at " + worse + ": its early iterations run at a larger τ";
  if (!same.empty()) sched += "; equal at " + same;
  finding(nb, fmt::format("Temperature acts as a logit scale: with a constant schedule τ ≤ 0.1 leaves median errors "
                          "of {}–{} at t = 20. {}.",
                          g(cmin), g(cmax), sched));
  double mt_min = std::numeric_limits<double>::infinity(), mt_max = 0;
  std::string t_list;
  for (const auto& r : slow_v) {
    mt_min = std::min(mt_min, r.median * r.t), mt_max = std::max(mt_max, r.median * r.t);
    t_list += fmt::format("{}{}", t_list.empty() ? "" : ", ", r.t);
  }
  const bool spec_ok = mt_min >= 0.7 / 1.5 && mt_max <= 0.7 * 1.5;
  finding(nb,
          fmt::format("At τ = 1e-3 with a constant schedule the median error is c/t with c {} at t = {} ({} "
                      "SPEC's ≈ 0.7/t), and the worst draw still has error {} after {} iterations.",
                      g(mt_min) == g(mt_max) ? "= " + g(mt_min) : "between " + g(mt_min) + " and " + g(mt_max), t_list,
                      spec_ok ? "as in" : "not within a factor 1.5 of", g(slow_v.back().max), slow_v.back().t));
  // Unrolled vs implicit gradients (section 4): the FD checks, the gaps at the paper's t = 20, the hardest case.
  double fdu = 0, fdi = 0, rmin = std::numeric_limits<double>::infinity(), rmax = 0;
  std::string at20, at_roundoff, below;
  std::size_t hard = 0;
  for (std::size_t c = 0; c < gaps.size(); ++c) {
    fdu = std::max(fdu, gaps[c].fd_unrolled), fdi = std::max(fdi, gaps[c].fd_implicit);
    const auto [hg, dg, dzt] = gaps[c].at.at(20);
    if (dg > gaps[hard].at.at(20)[1]) hard = c;
    std::string& list = hg < 1e-12 ? at_roundoff : at20;
    list += fmt::format("{}{}: {} and {}{}", list.empty() ? "" : "; ", cases[c].name, g(hg), g(dg),
                        hg < 1e-12 ? "" : " (×" + g(dg / hg) + ")");
    if (hg >= 1e-12) rmin = std::min(rmin, dg / hg), rmax = std::max(rmax, dg / hg);
    const auto first = std::find_if(iters.begin(), iters.end(), [&](int t) { return gaps[c].at.at(t)[1] < 1e-2; });
    below += fmt::format("{}{} for {}", below.empty() ? "" : "; ",
                         first == iters.end() ? fmt::format("not by t = {}", iters.back()) : fmt::format("t = {}", *first),
                         cases[c].name);
  }
  finding(nb, fmt::format("Both backward passes are exact derivatives of their own maps: against central differences "
                          "the worst max|dZ − fd| / max|dZ| over the {} logit matrices is {} for the unrolled one (all "
                          "t) and {} for the implicit one.",
                          gaps.size(), g(fdu), g(fdi)));
  const std::string rel = rmax <= 3 && rmin >= 1.0 / 3 ? "about as large as"
                          : rmin > 1                 ? "larger, by a factor " + g(rmin) + "–" + g(rmax) + ", than"
                                                     : "between " + g(rmin) + " and " + g(rmax) + " times";
  finding(nb, fmt::format("At the paper's t = 20 the unrolled gradient (the gradient of the map the network computes) "
                          "differs from the implicit one by a relative max-norm gap {} the forward gap "
                          "‖H_20 − H_∞‖_max (forward and gradient gap: {}){}. The relative gradient gap first falls "
                          "below 1e-2 at {}.",
                          rel, at20, at_roundoff.empty() ? "" : "; both are at round-off for " + at_roundoff, below));
  const auto& hg20 = gaps[hard].at.at(20);
  finding(nb, fmt::format("On the hardest logits ({}) the gap at t = 20 is {}: max|dZ_20| = {} against max|dZ_∞| = {} "
                          "(relative gap {}) while H_20 is within {} of H_∞; after {} iterations the relative gradient "
                          "gap is still {}.",
                          cases[hard].name, hg20[1] > 0.1 ? "large" : "small", g(hg20[2]), g(gaps[hard].dz_inf),
                          g(hg20[1]), g(hg20[0]), iters.back(), g(gaps[hard].at.at(iters.back())[1])));
}
