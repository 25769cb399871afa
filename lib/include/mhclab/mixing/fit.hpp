#pragma once
// Fitting a method's parameters to a target matrix by gradient descent (the `expressivity` experiment,
// `mhclab fit`): minimise
//     L(θ) = ½‖mix(θ) − T‖_F²,          ∇L = (∂H/∂θ)ᵀ (H − T) = method.vjp(θ, H − T)
// (mixing/method.hpp; the backward of mix including the modifiers) with Adam (Kingma & Ba 2015):
//     m ← β1·m + (1−β1)·g,  v ← β2·v + (1−β2)·g²,  θ ← θ − lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + ε),  t = 1, 2, …
// with a constant learning rate and no other schedule, so the budget (steps, lr) is the whole story. The
// residuals are those of the θ after the last step (not the best seen), so a run that oscillates says so.
// For methods whose map is exact in θ (hc: H = θ) the problem is a convex quadratic.
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/method.hpp"

namespace mhclab {

struct FitOptions {
  Index steps = 2000;    ///< Adam steps, ≥ 0
  double lr = 0.05;      ///< learning rate, > 0 finite
  double beta1 = 0.9;    ///< Adam β1 ∈ [0, 1)
  double beta2 = 0.999;  ///< Adam β2 ∈ [0, 1)
  double eps = 1e-8;     ///< Adam ε > 0
  /// Stop early once ‖mix(θ) − T‖_F ≤ tol (0 = always run all steps).
  double tol = 0.0;
  void validate() const;  ///< InputError naming the option (fit-steps, fit-lr, …)
};

struct FitSummary {
  double residual_fro = 0.0;          ///< ‖mix(θ) − T‖_F at the final θ
  double residual_max = 0.0;          ///< max_ij |mix(θ) − T| at the final θ
  Index steps = 0;                    ///< Adam steps taken (< options.steps only with tol > 0)
  double initial_residual_fro = 0.0;  ///< ‖mix(θ₀) − T‖_F
  Vec theta;                          ///< the final θ
};

/// Minimises ½‖mix(θ) − T‖_F² from θ₀ (see the header comment). T must be n×n and finite, θ₀ of length
/// num_params() (InputError otherwise). ComputeError when a Sinkhorn projection reports a numerical issue or
/// the gradient is not finite (with the step number), or when the method has no backward.
[[nodiscard]] FitSummary fit_target(const Method& method, Vec theta0, const Mat& T,
                                    const FitOptions& options);

}  // namespace mhclab
