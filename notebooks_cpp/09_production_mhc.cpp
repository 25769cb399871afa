//! # 09 — A production mHC model
//!
//! DeepSeek-V4 deploys manifold-constrained hyper-connections: n residual streams, two sites per block (attention,
//! then FFN), each with float32 tensors `hc_{attn,ffn}_{fn,base,scale}`. The block (deepseek-ai/DeepSeek-V4-Flash
//! `inference/model.py`, `Block.hc_pre` / `Block.hc_post`) turns them into pre and post gates and comb logits
//! L[from, to], and mixes X⁺[k] = post_k·F + Σ_j comb[j, k]·X[j], so the paper-orientation H (X⁺ = H X) is combᵀ.
//! The comb comes from the kernel's own Sinkhorn (`inference/kernel.py`, `hc_split_sinkhorn_kernel`): a softmax,
//! then ε = hc_eps added after it and to every denominator, for a fixed number of iterations. mhclab states the
//! site as `mixing/dsv4_site.hpp` (S1)–(S5) and the Sinkhorn as method `dsv4` (docs/SPEC_NOTES.md "Sinkhorn as
//! deployed").
//!
//! The real checkpoint is a large sharded download, so this notebook writes a miniature one in the exact layout
//! (`generators/mini_checkpoint.hpp`: shards with an index, unrelated BF16 tensors, `hc_head_*`, an MTP block),
//! reads its chain of 2L sites, and asks: how does the deployed variant differ from the paper's Sinkhorn and from the
//! converged projection on the same logits; what does ε do to the gains over depth; what do fp32 and bf16 kernels
//! make of it; how much do the combs move per token; and does a kernel's output pass a conformance check.
#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mhclab/analysis/depth_metrics.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/generators/checkpoint_stack.hpp"
#include "mhclab/generators/mini_checkpoint.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/checkpoint.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/mixing/birkhoff_projection.hpp"
#include "mhclab/mixing/conform.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn.hpp"
#include "notebook.hpp"

using mhclab::Index;
using mhclab::Mat;
using mhclab::MethodId;
using mhclab::Vec;

namespace {

/// A uniquely named directory under the system's temporary directory, removed (with its files) on destruction.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path = std::filesystem::temp_directory_path() / fmt::format("mhclab_nb09_{}_{}", ::getpid(), now);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

/// Method dsv4 (the deployed preset: softmax start, ε = hc_eps, t = 20) or mhc (the paper's Sinkhorn: exp start, no
/// ε, t = 20, columns then rows), with the given ε and precision.
std::unique_ptr<mhclab::Method> make(MethodId id, std::optional<double> eps = std::nullopt,
                                     mhclab::Precision p = mhclab::Precision::FP64,
                                     mhclab::Accumulate acc = mhclab::Accumulate::FP32) {
  mhclab::MethodOptions o;
  o.method = id;
  o.n = 4;
  o.sinkhorn.eps = eps;
  o.sinkhorn.precision = p;
  o.sinkhorn.accumulate = acc;
  return mhclab::make_method(o);
}

Vec row_major(const Mat& M) {
  Vec v(M.size());
  for (Index i = 0; i < M.rows(); ++i)
    for (Index j = 0; j < M.cols(); ++j) v[i * M.cols() + j] = M(i, j);
  return v;
}

double max_diff(const Mat& A, const Mat& B) { return (A - B).cwiseAbs().maxCoeff(); }

/// Mean of 1 − (H1)_i over the rows of every matrix: the signed forward deficit per site.
double mean_row_deficit(const std::vector<Mat>& Hs) {
  double s = 0;
  Index k = 0;
  for (const Mat& H : Hs)
    for (Index i = 0; i < H.rows(); ++i, ++k) s += 1.0 - H.row(i).sum();
  return s / static_cast<double>(k);
}

std::vector<mhclab::DepthMetrics> prefix_metrics(const std::vector<Mat>& Hs) {
  mhclab::DepthMetricGroups g;
  g.eigen = g.dist_identity = false;
  return mhclab::depth_metrics(Hs, mhclab::ProductKind::Prefix, g);
}

/// "1 + x" or "1 − |x|".
std::string one_plus(double x) { return fmt::format("1 {} {:.2e}", x < 0 ? "−" : "+", std::fabs(x)); }

std::string file_name(const std::string& p) { return std::filesystem::path(p).filename().string(); }

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + v[k];
  return v.empty() ? "none" : s;
}

}  // namespace

MHCLAB_NOTEBOOK {
  //! ## 1. A miniature DeepSeek-V4 checkpoint
  //! L = 12 layers, n = 4 streams of width C = 8, three shards with a `model.safetensors.index.json`, written to a
  //! fresh temporary directory (removed at the end). `Checkpoint` opens the index; `read_checkpoint_stack` matches
  //! the family's names `layers.{layer}.hc_{attn,ffn}_base` whole, so `hc_head_*` (the output head's pre-only
  //! reduction) and the MTP block's `mtp.0.hc_*` stay outside the chain.
  NB_CELL();
  const TempDir tmp;
  mhclab::MiniCheckpointOptions mo;
  mo.layers = 12;
  mo.n = 4;
  mo.width = 8;
  mo.shards = 3;
  mo.seed = 9;
  const auto written = mhclab::write_mini_dsv4_checkpoint(tmp.path.string(), mo);
  const mhclab::Checkpoint ck(tmp.path.string());
  struct Shard {
    int tensors = 0;
    std::set<std::string> dtypes;
    std::string first, last;
  };
  std::map<std::string, Shard> shards;
  std::vector<std::string> hc_names;
  for (const auto& name : ck.names()) {
    const auto e = ck.entry(name);
    Shard& s = shards[file_name(e.shard)];
    ++s.tensors;
    s.dtypes.insert(e.tensor.dtype);
    if (s.first.empty()) s.first = name;
    s.last = name;
    if (name.find("hc_") != std::string::npos) hc_names.push_back(name);
  }
  std::vector<std::vector<std::string>> shard_rows;
  for (const auto& path : ck.shard_files()) {
    const Shard& s = shards[file_name(path)];
    shard_rows.push_back({file_name(path), std::to_string(s.tensors),
                          join(std::vector<std::string>(s.dtypes.begin(), s.dtypes.end())),
                          std::to_string(std::filesystem::file_size(path)), s.first + " … " + s.last});
  }
  nb.table({"shard", "tensors", "dtypes", "bytes", "names (sorted)"}, shard_rows);
  const mhclab::CheckpointStack cs = mhclab::read_checkpoint_stack(tmp.path.string(), {});
  const auto S = static_cast<Index>(cs.sites.size());
  std::set<std::string> chain;
  for (const auto& site : cs.sites) {
    const std::string stem = site.base_tensor.substr(0, site.base_tensor.size() - std::string("_base").size());
    for (const char* suffix : {"_base", "_fn", "_scale"}) chain.insert(stem + suffix);
  }
  std::vector<std::string> outside;
  for (const auto& name : hc_names)
    if (!chain.count(name)) outside.push_back(name);
  bool chain_listed = true;
  for (const auto& name : chain) chain_listed = chain_listed && ck.has(name);
  nb.line(fmt::format("{} tensors in {} shards (index {}); {} have 'hc_' in their name. The chain: n = {}, L = {}, {} "
                      "sites in depth order ({}, {}, {}, …), {} tensors, all listed: {}. Outside the chain: {}.",
                      ck.size(), ck.shard_files().size(), file_name(written.index_file), hc_names.size(), cs.n,
                      cs.layers, S, cs.sites[0].base_tensor, cs.sites[1].base_tensor, cs.sites[2].base_tensor,
                      chain.size(), chain_listed ? "yes" : "NO", join(outside)));

  //! ## 2. Static gates, in depth order
  //! Without hidden states the mixes are zero, so each site's gates come from `base` alone: pre_i = σ(base_i) +
  //! hc_eps, post_i = 2σ(base_{n+i}), comb logits L = base's last n² entries, read as L[from, to]. The stack
  //! (`stack_from_checkpoint`, method dsv4) turns every L into H = combᵀ. The first sites:
  NB_CELL();
  const auto dsv4 = make(MethodId::Dsv4);
  const mhclab::SinkhornOptions preset = mhclab::with_dsv4_preset({});
  const mhclab::GeneratedStack st = mhclab::stack_from_checkpoint(*dsv4, cs, 0);
  std::vector<std::vector<std::string>> gate_rows;
  for (Index s = 0; s < std::min<Index>(S, 6); ++s) {
    const auto& g = cs.gates[static_cast<std::size_t>(s)];
    gate_rows.push_back({std::to_string(s), fmt::format("layers.{}.{}", cs.sites[s].layer, cs.sites[s].site),
                         mhclab::vector_text(g.pre, "%.4f"), mhclab::vector_text(g.post, "%.4f"),
                         mhclab::vector_text(st.H[s].diagonal(), "%.4f")});
  }
  nb.table({"depth index", "site", "pre", "post", "diag H"}, gate_rows);
  double pre_lo = 1e300, pre_hi = -1e300, post_lo = 1e300, post_hi = -1e300;
  for (const auto& g : cs.gates) {
    pre_lo = std::min(pre_lo, g.pre.minCoeff());
    pre_hi = std::max(pre_hi, g.pre.maxCoeff());
    post_lo = std::min(post_lo, g.post.minCoeff());
    post_hi = std::max(post_hi, g.post.maxCoeff());
  }
  const std::string gates_csv = mhclab::checkpoint_gates_csv(cs);
  nb.line(fmt::format("Over all {} sites: pre ∈ [{:.4f}, {:.4f}], post ∈ [{:.4f}, {:.4f}]. checkpoint_gates_csv "
                      "header: {}",
                      S, pre_lo, pre_hi, post_lo, post_hi, gates_csv.substr(0, gates_csv.find('\n'))));
  const Mat& L0 = cs.gates[0].comb_logits;
  nb.line("Site 0 (" + cs.sites[0].base_tensor + "): comb logits L[from, to] =");
  nb.line(mhclab::matrix_text(L0, "%8.4f"));
  nb.line(fmt::format("and H = combᵀ (paper orientation H[to, from]; dsv4 preset: t = {}, ε = {:g}, start {}):",
                      preset.iterations, preset.eps_value(), mhclab::sinkhorn_start_table.to_string(preset.start)));
  nb.line(mhclab::matrix_text(st.H[0], "%8.5f"));
  Index bj = 0, bk = 1;  // the largest off-diagonal logit
  for (Index j = 0; j < 4; ++j)
    for (Index k = 0; k < 4; ++k)
      if (j != k && L0(j, k) > L0(bj, bk)) bj = j, bk = k;
  nb.line(fmt::format("max|H_stack − dsv4(vec L)| = {:g}. The largest off-diagonal logit L[{}, {}] = {:.4f} (from "
                      "stream {} to stream {}) gives H[{}, {}] = {:.5f}, against H[{}, {}] = {:.5f} the other way.",
                      max_diff(st.H[0], dsv4->mix(row_major(L0)).H), bj, bk, L0(bj, bk), bj, bk, bk, bj,
                      st.H[0](bk, bj), bj, bk, st.H[0](bj, bk)));

  //! ## 3. Deployed, paper and converged on the same logits
  //! Per site, four maps of the same comb logits, all in the paper orientation (Z = Lᵀ; mhc's θ is the row-major
  //! vec of Z): **dsv4**, the deployed kernel; **dsv4 ε = 0**, the same kernel without hc_eps; **mhc**, the paper's
  //! Sinkhorn (arXiv 2512.24880 Eq. (9): exp start, no ε, the same t and the same order, columns then rows); and
  //! **P**, the converged entropic projection of exp(Z) onto the Birkhoff polytope (`entropic_projection`, dual
  //! Newton: the t → ∞ limit of the Sinkhorn without ε). The last column is the Frobenius distance of the deployed H
  //! to the polytope (`euclidean_projection`). Row error = max_i |Σ_j H_ij − 1|, column error = max_j |Σ_i H_ij − 1|.
  NB_CELL();
  const auto mhc = make(MethodId::MHC);
  const auto dsv4_no_eps = make(MethodId::Dsv4, 0.0);
  // Per site: dsv4 row, col error; mhc row, col error; |dsv4 ε=0 − mhc|, |dsv4 − mhc|, |dsv4 − P|, |mhc − P|; distance.
  std::vector<std::vector<std::string>> cmp_rows;
  std::array<double, 9> worst{};  // the maxima over the sites
  std::vector<Mat> Hm, Hp;
  int newton_max = 0;
  bool all_converged = true;
  for (Index s = 0; s < S; ++s) {
    const Mat& L = cs.gates[static_cast<std::size_t>(s)].comb_logits;
    const Mat& Hd = st.H[static_cast<std::size_t>(s)];
    Hm.push_back(mhc->mix(row_major(L.transpose())).H);
    const auto P = mhclab::entropic_projection(L.transpose(), {});
    all_converged = all_converged && P.status == mhclab::ProjectionStatus::Converged;
    newton_max = std::max(newton_max, P.iterations);
    Hp.push_back(P.H);
    const std::array<double, 9> c = {mhclab::row_error(Hd), mhclab::col_error(Hd), mhclab::row_error(Hm.back()),
                                     mhclab::col_error(Hm.back()), max_diff(dsv4_no_eps->mix(row_major(L)).H, Hm.back()),
                                     max_diff(Hd, Hm.back()), max_diff(Hd, P.H), max_diff(Hm.back(), P.H),
                                     mhclab::euclidean_projection(Hd, {}).distance};
    cmp_rows.push_back({fmt::format("{} {}.{}", s, cs.sites[s].layer, cs.sites[s].site)});
    for (std::size_t k = 0; k < c.size(); ++k) {
      cmp_rows.back().push_back(fmt::format(fmt::runtime(k == 4 ? "{:.1e}" : "{:.2e}"), c[k]));
      worst[k] = std::max(worst[k], c[k]);
    }
  }
  nb.table({"site", "dsv4 row err", "dsv4 col err", "mhc row err", "mhc col err", "max|dsv4 ε=0 − mhc|",
            "max|dsv4 − mhc|", "max|dsv4 − P|", "max|mhc − P|", "‖dsv4 − Π_B(dsv4)‖_F"},
           cmp_rows);
  const double eps = preset.eps_value();
  const double deficit = mean_row_deficit(st.H);
  nb.line(fmt::format("Maxima over the {} sites: dsv4 row/col error {:.3e} / {:.3e}, mhc {:.3e} / {:.3e}; "
                      "max|dsv4 ε=0 − mhc| = {:.1e}, max|dsv4 − mhc| = {:.3e}, max|dsv4 − P| = {:.3e}, "
                      "max|mhc − P| = {:.3e}. The projection converged at every site: {} (≤ {} Newton steps). Mean "
                      "row deficit 1 − (H1)_i of dsv4 = {:.4e} = {:.4f}·ε.",
                      S, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], worst[6], worst[7],
                      all_converged ? "yes" : "NO", newton_max, deficit, deficit / eps));

  //! ## 4. Gains through the 2L sites
  //! Prefix products M_d = H_d···H_1 in depth order (attention, FFN, attention, …), with the mHC paper's gains:
  //! forward gain max_i |Σ_j (M_d)_ij| (row sums: what a constant signal keeps), backward gain max_j |Σ_i (M_d)_ij|
  //! (column sums) — signed sums in absolute value, not the induced norms. The deployed kernel divides the rows last,
  //! by (row sum + ε), so each row of H sums to 1 − O(ε) and the forward gain should decay like (1 − ε)^d. The fit:
  //! least squares of log fwd_gain(d) = d·log(1 − δ) over all depths, δ = the per-site decay.
  NB_CELL();
  const auto md = prefix_metrics(st.H), mm = prefix_metrics(Hm), mp = prefix_metrics(Hp);
  std::vector<Index> depths;
  for (Index d = 1; d < S; d *= 2) depths.push_back(d);
  depths.push_back(S);
  std::vector<std::vector<std::string>> gain_rows;
  for (const Index d : depths) {
    const auto& a = md[static_cast<std::size_t>(d - 1)];
    const auto& b = mm[static_cast<std::size_t>(d - 1)];
    const auto& c = mp[static_cast<std::size_t>(d - 1)];
    gain_rows.push_back({std::to_string(d), fmt::format("{:.12f}", a.fwd_gain), fmt::format("{:.4e}", 1 - a.fwd_gain),
                         fmt::format("{:.4e}", -std::expm1(static_cast<double>(d) * std::log1p(-eps))),
                         fmt::format("{:.6f}", a.bwd_gain), fmt::format("{:.1e}", b.fwd_gain - 1),
                         fmt::format("{:.6f}", b.bwd_gain), fmt::format("{:.1e}", std::max(std::fabs(c.fwd_gain - 1),
                                                                                           std::fabs(c.bwd_gain - 1))),
                         fmt::format("{:.5f}", a.sigma_min), fmt::format("{:.5f}", c.sigma_min)});
  }
  nb.table({"depth d", "dsv4 fwd gain", "dsv4 1 − fwd gain", "1 − (1 − ε)^d", "dsv4 bwd gain", "mhc fwd gain − 1",
            "mhc bwd gain", "P: max|gain − 1|", "dsv4 σ_min(M_d)", "P σ_min(M_d)"},
           gain_rows);
  double sxy = 0, sxx = 0;
  for (Index d = 1; d <= S; ++d) {
    sxy += static_cast<double>(d) * std::log(md[static_cast<std::size_t>(d - 1)].fwd_gain);
    sxx += static_cast<double>(d) * static_cast<double>(d);
  }
  const double delta_fit = -std::expm1(sxy / sxx);
  double fit_resid = 0;
  for (Index d = 1; d <= S; ++d)
    fit_resid = std::max(fit_resid, std::fabs(md[static_cast<std::size_t>(d - 1)].fwd_gain -
                                              std::exp(static_cast<double>(d) * sxy / sxx)));
  const auto& last_d = md.back();
  const auto& last_p = mp.back();
  const double smin_rel = std::fabs(last_d.sigma_min - last_p.sigma_min) / last_p.sigma_min;
  nb.line(fmt::format("Fitted per-site decay δ = {:.6e} = {:.4f}·ε (ε = {:g}); the fit (1 − δ)^d reproduces every "
                      "forward gain to {:.1e}. At depth {}: fwd gain 1 − {:.4e}, bwd gain {:.6f} (mhc {:.6f}); "
                      "σ_min(M) = {:.5f}, within {:.1e} (relative) of the converged projection's {:.5f}.",
                      delta_fit, delta_fit / eps, eps, fit_resid, S, 1 - last_d.fwd_gain, last_d.bwd_gain,
                      mm.back().bwd_gain, last_d.sigma_min, smin_rel, last_p.sigma_min));
  mhclab::Table deficit_plot{{"depth", "series", "deficit"}, {}};
  for (Index d = 1; d <= S; ++d) {
    deficit_plot.rows.push_back({std::to_string(d), "dsv4: 1 - fwd gain",
                                 fmt::format("{:.17g}", 1 - md[static_cast<std::size_t>(d - 1)].fwd_gain)});
    deficit_plot.rows.push_back({std::to_string(d), "1 - (1 - eps)^d",
                                 fmt::format("{:.17g}", -std::expm1(static_cast<double>(d) * std::log1p(-eps)))});
  }
  mhclab::PlotSpec dspec;
  dspec.name = "forward_deficit";
  dspec.x = "depth";
  dspec.y = {"deficit"};
  dspec.group = "series";
  dspec.logy = true;
  dspec.title = "Forward-gain loss of the deployed chain (miniature DeepSeek-V4 checkpoint)";
  dspec.xlabel = "depth d (sites, attention and FFN alternating)";
  dspec.ylabel = "1 - max_i |sum_j (M_d)_ij|";
  nb.figure(deficit_plot, dspec,
            fmt::format("forward gain (signed row sums in absolute value, not ‖M‖_∞) lost over {} sites; the "
                        "fitted per-site decay is {:.4f}·ε",
                        S, delta_fit / eps));

  //! ## 5. The kernel's arithmetic: fp32 and bf16
  //! The deployed kernel runs in fp32. `SinkhornOptions.precision` emulates a format (SPEC §3.2): every elementary
  //! operation rounded once to the accumulate format, every stored matrix to the storage format. Per variant, over
  //! all sites: the distance to the fp64 H, the marginals, the mean row deficit in units of ε, what ε changes at all
  //! (the same format with ε = 0; "sites unchanged" counts bit-identical H), and the chain's gains at full depth.
  NB_CELL();
  struct Variant {
    std::string label;
    mhclab::Precision p;
    mhclab::Accumulate acc;
  };
  const std::vector<Variant> variants = {{"fp64", mhclab::Precision::FP64, mhclab::Accumulate::FP32},
                                         {"fp32, accumulate fp32", mhclab::Precision::FP32, mhclab::Accumulate::FP32},
                                         {"bf16, accumulate fp32", mhclab::Precision::BF16, mhclab::Accumulate::FP32},
                                         {"bf16, accumulate bf16", mhclab::Precision::BF16, mhclab::Accumulate::Same}};
  struct PrecResult {
    double err = 0, row = 0, col = 0, deficit = 0, eps_effect = 0, fwd = 0, bwd = 0;
    int unchanged = 0;
    std::vector<Mat> H;
  };
  std::vector<PrecResult> prec;
  std::vector<std::vector<std::string>> prec_rows;
  for (const auto& v : variants) {
    const auto with_eps = make(MethodId::Dsv4, std::nullopt, v.p, v.acc);
    const auto without = make(MethodId::Dsv4, 0.0, v.p, v.acc);
    PrecResult r;
    for (Index s = 0; s < S; ++s) {
      const Vec th = row_major(cs.gates[static_cast<std::size_t>(s)].comb_logits);
      const Mat H = with_eps->mix(th).H, H0 = without->mix(th).H;
      r.err = std::max(r.err, max_diff(H, st.H[static_cast<std::size_t>(s)]));
      r.row = std::max(r.row, mhclab::row_error(H));
      r.col = std::max(r.col, mhclab::col_error(H));
      r.eps_effect = std::max(r.eps_effect, max_diff(H, H0));
      r.unchanged += H == H0 ? 1 : 0;
      r.H.push_back(H);
    }
    r.deficit = mean_row_deficit(r.H);
    const auto m = prefix_metrics(r.H).back();
    r.fwd = m.fwd_gain;
    r.bwd = m.bwd_gain;
    prec_rows.push_back({v.label, fmt::format("{:.2e}", r.err), fmt::format("{:.2e}", r.row), fmt::format("{:.2e}", r.col),
                         fmt::format("{:+.3e}", -r.deficit), fmt::format("{:.3f}", r.deficit / eps),
                         fmt::format("{:.2e}", r.eps_effect),
                         fmt::format("{}/{}", r.unchanged, S), fmt::format("{:.9f}", r.fwd), fmt::format("{:.6f}", r.bwd)});
    prec.push_back(std::move(r));
  }
  nb.table({"variant", "max|H − H_fp64|", "max row err", "max col err", "mean (H1)_i − 1", "mean deficit / ε", "max|H − H_{ε=0}|",
            "sites unchanged by ε", fmt::format("fwd gain, depth {}", S), fmt::format("bwd gain, depth {}", S)},
           prec_rows);
  const double one_eps_bf16 = mhclab::round_to(1.0 + eps, mhclab::Precision::BF16);
  const double one_eps_fp32 = mhclab::round_to(1.0 + eps, mhclab::Precision::FP32);
  nb.line(fmt::format("1 + ε rounds to 1 + {:.4g} in fp32 and to 1 + {:g} in bf16: half the spacing of bf16 numbers "
                      "just below 1 is {:g} (unit roundoff {:g}), {:.0f}× ε.",
                      one_eps_fp32 - 1, one_eps_bf16 - 1, mhclab::unit_roundoff(mhclab::Precision::BF16) / 2,
                      mhclab::unit_roundoff(mhclab::Precision::BF16),
                      mhclab::unit_roundoff(mhclab::Precision::BF16) / 2 / eps));

  //! ## 6. Per-token combs from residual states
  //! In the model the mixes are not zero: each token's residual state X (n × C) entering a site gives
  //! mix = r·(fn·v) with one RMS r over all n·C entries, and the gates (S3)–(S5) add scale·mix to base. Random states
  //! X ~ N(0, 1) for T tokens at every site (a `(T, 2L, n, C)` .npy, the `hidden` file of `read_checkpoint_stack`)
  //! give per-token gates; `stack_from_checkpoint` makes them a (token, site) stack. The spread across tokens, per
  //! site: how far each token's H is from the static H, the per-entry standard deviation over tokens, and the ranges
  //! of the gates.
  NB_CELL();
  const auto T = static_cast<std::size_t>(nb.pick(256, 32));
  const auto n = static_cast<std::size_t>(cs.n), C = static_cast<std::size_t>(mo.width);
  mhclab::NpyArray states;
  states.shape = {T, static_cast<std::size_t>(S), n, C};
  mhclab::RandomStream rs(9, mhclab::Purpose::State, {0});
  states.data.resize(states.element_count());
  for (double& x : states.data) x = rs.normal();
  const std::string hidden = (tmp.path / "hidden.npy").string();
  mhclab::write_npy(hidden, states);
  mhclab::CheckpointSelection sel;
  sel.hidden = hidden;
  const mhclab::CheckpointStack ct = mhclab::read_checkpoint_stack(tmp.path.string(), sel);
  const mhclab::GeneratedStack tt = mhclab::stack_from_checkpoint(*dsv4, ct, 0);
  const auto at = [&](std::size_t t, Index s) { return t * static_cast<std::size_t>(S) + static_cast<std::size_t>(s); };
  // Per site: max|L_t − L|, mean_t and max_t of max|H_t − H|, the largest per-entry sd of H over tokens, the
  // largest range (max_t − min_t) of a pre and of a post gate.
  std::vector<std::vector<std::string>> spread_rows;
  std::array<double, 6> all{};  // the maxima over the sites
  for (Index s = 0; s < S; ++s) {
    std::array<double, 6> sp{};
    const Index nn = cs.n;
    Mat sum = Mat::Zero(nn, nn), sq = Mat::Zero(nn, nn);
    Vec pre_lo = Vec::Constant(nn, 1e300), pre_hi = -pre_lo, post_lo = pre_lo, post_hi = -pre_lo;
    for (std::size_t t = 0; t < T; ++t) {
      const Mat& H = tt.H[at(t, s)];
      const auto& g = ct.gates[at(t, s)];
      const double dev = max_diff(H, st.H[static_cast<std::size_t>(s)]);
      sp[0] = std::max(sp[0], max_diff(g.comb_logits, cs.gates[static_cast<std::size_t>(s)].comb_logits));
      sp[1] += dev / static_cast<double>(T);
      sp[2] = std::max(sp[2], dev);
      sum += H;
      sq += H.cwiseProduct(H);
      pre_lo = pre_lo.cwiseMin(g.pre), pre_hi = pre_hi.cwiseMax(g.pre);
      post_lo = post_lo.cwiseMin(g.post), post_hi = post_hi.cwiseMax(g.post);
    }
    const Mat mean = sum / static_cast<double>(T);
    const Mat var = sq / static_cast<double>(T) - mean.cwiseProduct(mean);
    sp[3] = std::sqrt(std::max(0.0, var.maxCoeff()));
    sp[4] = (pre_hi - pre_lo).maxCoeff();
    sp[5] = (post_hi - post_lo).maxCoeff();
    for (std::size_t k = 0; k < sp.size(); ++k) all[k] = std::max(all[k], sp[k]);
    if (s < 6) spread_rows.push_back({fmt::format("{} {}.{}", s, cs.sites[s].layer, cs.sites[s].site)});
    if (s == S - 1) spread_rows.push_back({fmt::format("all {} sites (max)", S)});
    for (std::size_t k = 0; k < sp.size() && (s < 6 || s == S - 1); ++k)
      spread_rows.back().push_back(fmt::format(fmt::runtime(k < 4 ? "{:.2e}" : "{:.3f}"), s == S - 1 ? all[k] : sp[k]));
  }
  nb.table({"site", "max|L_t − L_static|", "mean_t max|H_t − H_static|", "max_t max|H_t − H_static|",
            "max entry sd over tokens", "pre range", "post range"},
           spread_rows);
  // Each token's own chain of 2L combs.
  double tok_fwd_lo = 1e300, tok_fwd_hi = -1e300, tok_smin_lo = 1e300, tok_smin_hi = -1e300;
  for (std::size_t t = 0; t < T; ++t) {
    const std::vector<Mat> chain_t(tt.H.begin() + static_cast<std::ptrdiff_t>(at(t, 0)),
                                   tt.H.begin() + static_cast<std::ptrdiff_t>(at(t, 0) + static_cast<std::size_t>(S)));
    const auto m = prefix_metrics(chain_t).back();
    tok_fwd_lo = std::min(tok_fwd_lo, m.fwd_gain);
    tok_fwd_hi = std::max(tok_fwd_hi, m.fwd_gain);
    tok_smin_lo = std::min(tok_smin_lo, m.sigma_min);
    tok_smin_hi = std::max(tok_smin_hi, m.sigma_min);
  }
  nb.line(fmt::format("{} tokens × {} sites ({} combs; lead axes {}). Each token's chain at depth {}: 1 − fwd gain ∈ "
                      "[{:.4e}, {:.4e}] (static {:.4e}); σ_min(M) ∈ [{:.5f}, {:.5f}] (static {:.5f}).",
                      T, S, tt.count(), join(tt.lead_axes), S, 1 - tok_fwd_hi, 1 - tok_fwd_lo, 1 - last_d.fwd_gain,
                      tok_smin_lo, tok_smin_hi, last_d.sigma_min));

  //! ## 7. Checking a kernel's output against the fp64 reference
  //! `mixing/conform.hpp` compares a batch of kernel outputs with method dsv4 in fp64 (max|T − H| within its default
  //! absolute tolerance) and, when the check fails, names the likeliest cause. The batch: every per-token comb of section 6, as
  //! the kernel stores it — comb[from, to] = Hᵀ, layout from_to. Three kernels: the fp32 emulation (the deployed
  //! arithmetic), the same outputs with the layout mixed up (H stored instead of comb), and a bf16 emulation.
  NB_CELL();
  mhclab::ConformOptions co;
  co.method.method = MethodId::Dsv4;
  co.method.n = cs.n;
  co.layout = mhclab::Layout::FromTo;
  co.threads = 1;
  const auto fp32 = make(MethodId::Dsv4, std::nullopt, mhclab::Precision::FP32, mhclab::Accumulate::FP32);
  const auto bf16 = make(MethodId::Dsv4, std::nullopt, mhclab::Precision::BF16, mhclab::Accumulate::FP32);
  mhclab::ConformInputs in_fp32, in_swap, in_bf16;
  for (const auto& g : ct.gates) {
    const Mat H32 = fp32->mix(row_major(g.comb_logits)).H;
    for (auto* in : {&in_fp32, &in_swap, &in_bf16}) in->logits.push_back(g.comb_logits);
    in_fp32.outputs.push_back(H32.transpose());
    in_swap.outputs.push_back(H32);
    in_bf16.outputs.push_back(bf16->mix(row_major(g.comb_logits)).H.transpose());
  }
  struct Case {
    std::string label;
    mhclab::ConformResult r;
  };
  std::vector<Case> cases = {{"fp32 kernel, comb[from, to]", mhclab::conform(co, in_fp32)},
                             {"fp32 kernel, H stored as comb", mhclab::conform(co, in_swap)},
                             {"bf16 kernel, comb[from, to]", mhclab::conform(co, in_bf16)}};
  const auto column = [](const mhclab::ConformResult& r, const std::string& c) {
    for (const auto& s : r.summary)
      if (s.column == c) return s;
    return mhclab::ConformColumnSummary{};
  };
  std::vector<std::vector<std::string>> conform_rows;
  for (const auto& c : cases) {
    const auto e = column(c.r, "err_max");
    conform_rows.push_back({c.label, std::to_string(c.r.batch), c.r.pass ? "pass" : "fail",
                            fmt::format("{:.2e}", e.median), fmt::format("{:.2e}", e.max),
                            std::string(mhclab::precision_table.to_string(c.r.output_precision)),
                            std::string(mhclab::conform_diagnosis_table.to_string(c.r.diagnosis))});
  }
  nb.line(fmt::format("Tolerance {:g} on max|T − H|.", co.tolerance));
  nb.table({"kernel output", "matrices", "check", "median err_max", "max err_max", "stored as", "diagnosis"},
           conform_rows);
  for (const auto& c : cases)
    if (!c.r.pass) nb.line(c.label + ": " + c.r.message);

  //! ## What we learned
  //! Each finding is formatted from the values computed above (the fast mode uses fewer tokens).
  NB_CELL();
  finding(nb, fmt::format("The miniature checkpoint's {} tensors over {} shards hold a chain of {} sites ({} tensors, "
                          "attention then FFN per layer); the other 'hc_' tensors — {} — are outside it.",
                          ck.size(), ck.shard_files().size(), S, chain.size(), join(outside)));
  finding(nb, fmt::format("{}: without it dsv4 equals mhc to {:.1e}; with it they differ by up to {:.2e}, while "
                          "both sit up to {:.2e} / {:.2e} from the converged projection — at t = {} the truncation "
                          "{} than ε.",
                          worst[4] <= 1e-14 ? "ε is the whole difference between the deployed and the paper's Sinkhorn"
                                            : "ε is not the only difference between the deployed and the paper's Sinkhorn",
                          worst[4], worst[5], worst[6], worst[7], preset.iterations,
                          worst[7] > worst[5] ? "matters more" : "matters less"));
  finding(nb, fmt::format("Rows of the deployed H sum to 1 − {:.4f}·ε on average (max row error {:.2e}; mhc's rows "
                          "are exact to {:.1e}), so the forward gain decays geometrically: fitted per-site decay "
                          "{:.4f}·ε, 1 − fwd gain = {:.4e} at depth {} against 1 − (1 − ε)^{} = {:.4e}. The columns "
                          "carry the truncation error (max {:.2e}): backward gain {:.6f} at depth {} (mhc {:.6f}); "
                          "σ_min(M_{}) = {:.5f} against {:.5f} for the converged projection.",
                          deficit / eps, worst[0], worst[2], delta_fit / eps, 1 - last_d.fwd_gain, S, S,
                          -std::expm1(static_cast<double>(S) * std::log1p(-eps)), worst[1], last_d.bwd_gain, S,
                          mm.back().bwd_gain, S, last_d.sigma_min, last_p.sigma_min));
  finding(nb, fmt::format("The fp32 kernel stays within {:.2e} of fp64 and keeps the ε deficit ({:.3f}·ε per row; ε "
                          "changes {} of {} sites). In bf16, ε = {:g} is lost in 1 + ε ({}); ε leaves {} of {} sites "
                          "bit-identical with bf16 accumulation ({} of {} with fp32 accumulation), and rounding takes "
                          "over: entries move by up to {:.2e} / {:.2e} (accumulate fp32 / bf16), the mean row sum is "
                          "{} / {}, and the forward gain at depth {} is {:.6f} / {:.6f} instead of "
                          "1 − {:.2e}.",
                          prec[1].err, prec[1].deficit / eps, S - prec[1].unchanged, S, eps,
                          one_eps_bf16 == 1.0 ? "it rounds to 1" : "it does not round to 1", prec[3].unchanged, S,
                          prec[2].unchanged, S, prec[2].err, prec[3].err, one_plus(-prec[2].deficit), one_plus(-prec[3].deficit), S,
                          prec[2].fwd, prec[3].fwd, 1 - prec[0].fwd));
  const double tok_rel = (tok_fwd_hi - tok_fwd_lo) / (1 - last_d.fwd_gain);
  finding(nb, fmt::format("Per-token combs from random residual states move the comb logits by up to {:.2e} and H by "
                          "{:.2e} (largest per-site mean over tokens; max {:.2e}) from the static comb; each token's "
                          "chain has 1 − fwd gain in [{:.4e}, {:.4e}] at depth {}, a spread of {:.1e} of the loss, so "
                          "the ε decay {} on the token, while σ_min(M_{}) ranges over [{:.4f}, {:.4f}].",
                          all[0], all[1], all[2], 1 - tok_fwd_hi, 1 - tok_fwd_lo, S, tok_rel,
                          tok_rel < 0.01 ? "hardly depends" : "depends", S, tok_smin_lo, tok_smin_hi));
  finding(nb, fmt::format("Conformance over {} per-token combs (tolerance {:g}): the fp32 kernel {} (max err {:.2e}); "
                          "H stored in place of comb {} with diagnosis '{}'; the bf16 kernel {} with diagnosis '{}'.",
                          cases[0].r.batch, co.tolerance, cases[0].r.pass ? "passes" : "FAILS",
                          column(cases[0].r, "err_max").max, cases[1].r.pass ? "passes" : "fails",
                          mhclab::conform_diagnosis_table.to_string(cases[1].r.diagnosis),
                          cases[2].r.pass ? "passes" : "fails",
                          mhclab::conform_diagnosis_table.to_string(cases[2].r.diagnosis)));
}
