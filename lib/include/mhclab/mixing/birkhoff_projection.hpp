#pragma once
// Converged projections onto the Birkhoff polytope
//   B_n = {H ∈ ℝ^{n×n} : H ≥ 0, H1 = 1, 1ᵀH = 1ᵀ}          (doubly stochastic; paper orientation: H[i, j] is the
//                                                           weight from stream j into stream i, rows and columns sum to 1)
// Two projections, each solved to round-off (unlike sinkhorn.hpp's fixed-t iteration), and the backward of the first:
//
// 1. Entropic (KL) projection of exp(Z/τ): the t → ∞ limit of sinkhorn(Z, τ) (mHC paper, arXiv 2512.24880, Eq. (9)),
//      H = argmin_{H ∈ B_n} KL(H ‖ exp(Z/τ)),   log H_ij = K_ij/τ + u_i + v_j,   K = Z − max Z          (E1)
//    with dimensionless dual potentials u (rows), v (columns). The rows are solved exactly in closed form,
//    u_i = −LSE_j(K_ij/τ + v_j); what is left is the smooth convex dual in the column potentials
//      f(v) = Σ_i LSE_j(K_ij/τ + v_j) − Σ_j v_j,                                                         (E2)
//      ∇f = c − 1,  c = Hᵀ1 (column sums of the row-normalised H),                                       (E3)
//      ∇²f = diag(c) − HᵀH = Lap(W),  W_jk = Σ_i H_ij H_ik  (j ≠ k),                                      (E4)
//    the Schur complement diag(c) − Hᵀdiag(1/r)H of the marginal Jacobian at r = H1 = 1, i.e. the Laplacian of
//    the column graph W (f is invariant under v + s·1: one gauge degree of freedom, fixed by v_{n−1} = 0).
//    Newton runs on the n−1 free potentials J = {0, …, n−2}, for the log column sums ℓ = log c (same root as (E3)):
//      ((I − S)_JJ + λI)·d = −ℓ_J,   S = QᵀH,  Q = H·diag(1/c),   v_J ← v_J + t·d                          (E5)
//    I − S = diag(1/c)·Lap(W) is the Jacobian of ℓ, so at the solution (c = 1) this is Newton on (E3) with the
//    Hessian (E4) and converges quadratically; far from it, a column holding e^{−50} of mass gets the Sinkhorn-like
//    step −ℓ_j = 50 instead of (1 − c_j)/c_j ≈ e^{50}. λ = regularization·min(1, ‖ℓ_J‖₂)·tr((I − S)_JJ)/(n−1) is a
//    Levenberg–Marquardt damping (it tames the near-null modes of supports split by tiny entries and vanishes at the
//    solution). S is row-stochastic, so (I − S)_JJ + λI is a grounded Markov-chain Laplacian, factored by GTH
//    elimination (Grassmann–Taksar–Heyman: pivots and updates add non-negative numbers only), which keeps full
//    relative accuracy when the weights span hundreds of orders of magnitude (an LDLT of the assembled matrix loses
//    the small eigenvalues to cancellation; measured, it stalled on some large-spread draws and needed more steps).
//    Step length on the merit m = ‖ℓ_J‖₂: t = 1 if m(1) ≤ 0.1·m(0); if t = 1 only reduces m,
//      m(1) ≤ (1 − σ)·m(0),   σ = 1e-4,                                                                        (E6)
//    t is doubled while m keeps decreasing (Newton under-steps in the exponentially flat far field); otherwise t is
//    halved until m(t) ≤ (1 − σ·t)·m(0) (t ≥ 2⁻⁴⁰). When no t passes, three log-domain Sinkhorn sweeps (columns,
//    then rows) are taken instead and Newton resumes.
//    Numerics: the potentials are folded into the log-matrix after every update (L ← L + u1ᵀ, L ← L + 1vᵀ,
//    L = log H), so the entries that carry mass have |L_ij| = O(log 1/H_ij) and the marginals are resolved to
//    O(n·u) even when |K|/τ is 10³ (the unfolded exponent K_ij/τ + u_i + v_j would carry a rounding error of
//    u·|K_ij|/τ ≈ 1e-13 there).
//    Inspiration: yixuan/mHC-proj ("Accelerating Birkhoff Projection for Manifold-Constrained Hyper-Connections",
//    arXiv 2606.07574), which does this for n = 4 on the GPU — src/birkhoff_proj_n4.cu: birkhoff_proj_n4_kernel
//    (Newton on 3 free column potentials with compute_f_gradient / compute_newton_direction, a closed-form 3×3
//    inverse, the step list {1, ½, 0.1, 0.05, 0.01} and sinkhorn_iteration as the fallback) and
//    birkhoff_proj_n4_backward_kernel (implicit differentiation with solve_delta_linear_system); PyTorch entry
//    points mhc_proj.MHCProjectionN4, mhc_proj.torch.birkhoff_proj_n4 / birkhoff_proj_n4_backward. This is an
//    independent general-n implementation (log-marginal Newton, GTH solve, folded log domain, expanding line search).
//
// 2. Backward by implicit differentiation (no unrolling): with Γ = dH ∘ H, the adjoint of (E1) under the
//    constraints H1 = 1, Hᵀ1 = 1 is
//      dZ = (1/τ)·H ∘ (dH − α1ᵀ − 1βᵀ),                                                                  (V1)
//    where α, β make dZ's marginals vanish, (H ∘ (dH − α1ᵀ − 1βᵀ))1 = 0 and 1ᵀ(H ∘ (dH − α1ᵀ − 1βᵀ)) = 0:
//      α + Hβ = Γ1,   Hᵀα + β = Γᵀ1    ⇒   Lap(W)·β = Γᵀ1 − HᵀΓ1,   α = Γ1 − Hβ                          (V2)
//    (eliminating α leaves the Schur complement (E4) at r = c = 1; its right side sums to 0, so the gauge
//    β_{n−1} = 0 solves the J rows exactly). Solved by GTH as in (E5) with λ = 1e-12 (absolute; Lap(W) has
//    diagonal ≤ 1) and two steps of iterative refinement against the unregularised Lap(W): modes far above λ come
//    out exact, modes below round-off (cuts through entries ≪ u, near-permutation H) stay damped — their exact
//    right side is bounded by the cut weight, so they reach dZ only through those tiny entries, whereas undamped
//    they would turn the right side's rounding into β ~ u/eigenvalue and α + β into garbage.
//    Derivation: dH = H ∘ (dZ/τ + du1ᵀ + 1dvᵀ) with dH·1 = 0, dHᵀ1 = 0; pairing ⟨dH_adj, dH⟩ with multipliers
//    α, β for the two linearised constraints and choosing them to cancel the du, dv terms gives (V1)–(V2).
//    The global max shift contributes nothing (H(Z + s·11ᵀ) = H(Z)).
//
// 3. Euclidean (Frobenius) projection P_B(A) = argmin_{H ∈ B_n} ‖H − A‖_F of any real n×n A, by a semismooth
//    Newton method on the dual of this strongly convex QP:
//      H(a, b) = (A − a1ᵀ − 1bᵀ)₊                                          (KKT: H ≥ 0, complementary)   (P1)
//      θ(a, b) = −½‖H(a, b)‖²_F − 1ᵀa − 1ᵀb   (concave, C¹, maximised; primal optimum = H at the maximiser)  (P2)
//      ∇θ = (H1 − 1, Hᵀ1 − 1),   −∂²θ ∋ M_S = [diag(S1) S; Sᵀ diag(Sᵀ1)],  S_ij = [A_ij − a_i − b_j > 0]   (P3)
//    Step: (M_S + μI)·δ = ∇θ on the 2n−1 free multipliers (gauge b_{n−1} fixed, LDLT), μ = min(1, ‖∇θ‖₂) (M_S is
//    singular when the support graph S is disconnected, e.g. at a vertex); then the exact maximiser of θ along δ:
//    θ(x + tδ) is a concave piecewise quadratic whose slope is piecewise linear with breakpoints where entries
//    enter or leave the support, so sweeping the sorted breakpoints finds it (O(n² log n)). If δ is not an ascent
//    direction (∇θᵀδ ≤ 0: a failed factorisation) the gradient is used instead. Once S is the optimal support the
//    map is linear and the residual falls quadratically (μ ~ ‖∇θ‖).
//    Start: the multipliers of the affine projection (no H ≥ 0),
//      P_aff(A) = A − (1/n)(A1 − 1)1ᵀ − (1/n)1(1ᵀA − 1ᵀ) + (σ/n²)·11ᵀ,   σ = 1ᵀA1 − n,                       (P4)
//      i.e. a = (A1 − 1)/n, b = (Aᵀ1 − 1 − (σ/n)1)/n; when P_aff(A) ≥ 0 it is the answer (0 iterations).
//    (Derivation of (P4): H = A − a1ᵀ − 1bᵀ with H1 = 1 gives n·a = A1 − 1 − (1ᵀb)1, Hᵀ1 = 1 gives
//    n·b = Aᵀ1 − 1 − (1ᵀa)1; the gauge 1ᵀb = 0 makes 1ᵀa = σ/n.)
//    H ≥ 0 holds exactly by (P1); row_err, col_err measure the remaining marginal residual.
#include <string>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

enum class ProjectionStatus { Converged, MaxIterations, NumericalIssue };
inline constexpr EnumTable<ProjectionStatus, 3> projection_status_table{
    "status",
    {{{ProjectionStatus::Converged, "converged"},
      {ProjectionStatus::MaxIterations, "max_iterations"},
      {ProjectionStatus::NumericalIssue, "numerical_issue"}}}};

struct NewtonProjectionOptions {
  double tau = 1.0;              ///< temperature τ > 0 of (E1)
  int max_iters = 100;           ///< ≥ 1: maximum number of Newton iterations (each: one O(n³) solve, a line search
                                 ///< and, when the line search fails, three Sinkhorn sweeps)
  /// Stop when max(row_err, col_err) ≤ tol·n. A marginal is a sum of n entries in [0, 1], so its rounding error is up
  /// to about (n − 1)·u ≈ 1.1e-16·n (plus a few u from exp); 1e-14·n sits ~90× above that worst case, so it is
  /// reachable, and quadratic convergence gets there in one or two steps once within ~1e-7. 0 = never stop early.
  double tol = 1e-14;
  /// κ of the damping λ = κ·min(1, ‖ℓ_J‖₂)·tr((I − S)_JJ)/(n−1) in (E5). It vanishes at the solution, so it never
  /// limits the accuracy; it only shapes the far-field steps. 1e-2 measured best on large-spread logits (entries
  /// U(−50, 50) at τ = 0.1 and N(0, 1) at τ = 0.01, n = 2..64, 40 draws each: all converged within 86 iterations);
  /// κ = 1e-12 left up to 29 of 50 draws unconverged after 100 iterations at n ≥ 16 (round-off in near-null modes
  /// drives huge steps), κ ≥ 0.1 made more line searches fail.
  double regularization = 1e-2;

  /// Throws InputError naming the option, e.g. "entropic_projection: tau = 0; must be > 0 and finite".
  void validate() const;
};

struct EntropicProjectionResult {
  Mat H;                                 ///< n×n, doubly stochastic (empty when status = numerical_issue)
  ProjectionStatus status = ProjectionStatus::Converged;
  int iterations = 0;                    ///< Newton iterations taken
  int sinkhorn_fallback_sweeps = 0;      ///< Sinkhorn sweeps taken after failed line searches
  double row_err = 0.0;                  ///< max_i |Σ_j H_ij − 1| of the returned H
  double col_err = 0.0;                  ///< max_j |Σ_i H_ij − 1|
  std::string issue;                     ///< why, when status = numerical_issue
};

/// Entropic projection (E1) of exp(Z/τ) onto B_n by dual Newton (E2)–(E6). Z: n×n logits, n ≥ 1 (n = 1 gives [1]).
/// Never returns non-finite numbers: a numerical issue (e.g. Z − max Z overflowing to −∞ on a whole row) gives
/// status numerical_issue with an empty H. Throws InputError for invalid options, a non-square or empty Z or a
/// non-finite logit.
[[nodiscard]] EntropicProjectionResult entropic_projection(const Mat& Z, const NewtonProjectionOptions& options);

/// Backward of entropic_projection by implicit differentiation (V1)–(V2): dZ = (∂H/∂Z)ᵀ dH at the converged H
/// (Z, dH: n×n; returns n×n with zero row and column sums). Recomputes the forward; when it stops at max_iterations
/// this is the implicit derivative at the returned (nearly doubly stochastic) H. O(n³), no iteration history kept.
/// Throws ComputeError when the forward has status numerical_issue, InputError for invalid options or shapes or
/// non-finite input.
[[nodiscard]] Mat entropic_projection_vjp(const Mat& Z, const NewtonProjectionOptions& options, const Mat& dH);

struct EuclideanProjectionOptions {
  int max_iters = 10000;         ///< ≥ 1: maximum number of semismooth Newton iterations (measured: ≤ 31 for
                                 ///< A = 1/n + N(0, 1) up to n = 64, ≤ 201 for N(0, 10²))
  /// Stop when max(row_err, col_err) ≤ tol (absolute). The round-off floor is ≈ n·u·max(1, max|A|) (the entries
  /// A_ij − a_i − b_j carry u·|A_ij|), so 1e-12 is reachable for n·max|A| ≲ 10³.
  double tol = 1e-12;

  /// Throws InputError naming the option, e.g. "euclidean_projection: tol = -1; must be ≥ 0 and finite".
  void validate() const;
};

struct EuclideanProjectionResult {
  Mat H;                                 ///< n×n, doubly stochastic, H ≥ 0 exactly (empty when numerical_issue)
  ProjectionStatus status = ProjectionStatus::Converged;
  int iterations = 0;                    ///< semismooth Newton iterations taken (0 when P_aff(A) ≥ 0)
  int gradient_fallback_steps = 0;       ///< iterations that used the gradient instead of the Newton direction
  double row_err = 0.0;                  ///< max_i |Σ_j H_ij − 1|
  double col_err = 0.0;                  ///< max_j |Σ_i H_ij − 1|
  double distance = 0.0;                 ///< ‖H − A‖_F
  std::string issue;                     ///< why, when status = numerical_issue
};

/// Euclidean projection of A (n×n, n ≥ 1, any real entries) onto B_n by semismooth Newton on the dual (P1)–(P4).
/// Never returns non-finite numbers (numerical_issue with an empty H). Throws InputError for invalid options, a
/// non-square or empty A or a non-finite entry.
[[nodiscard]] EuclideanProjectionResult euclidean_projection(const Mat& A, const EuclideanProjectionOptions& options);

/// The affine projection (P4) of A onto {H : H1 = 1, 1ᵀH = 1ᵀ} (no sign constraint): n×n → n×n, exact formula.
/// Throws InputError for a non-square or empty A.
[[nodiscard]] Mat affine_marginal_projection(const Mat& A);

}  // namespace mhclab
