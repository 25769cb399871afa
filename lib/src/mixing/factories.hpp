#pragma once
// Internal: one factory per method, listed in the single registry (registry.cpp).
#include <memory>

#include "mhclab/mixing/method.hpp"

namespace mhclab::detail {
std::unique_ptr<Method> make_resnet(const MethodOptions& o);
std::unique_ptr<Method> make_hc(const MethodOptions& o);
std::unique_ptr<Method> make_mhc(const MethodOptions& o);
std::unique_ptr<Method> make_tropical(const MethodOptions& o);
// Exact doubly stochastic charts: declared here, defined in their own files.
std::unique_ptr<Method> make_mhc_lite(const MethodOptions& o);
std::unique_ptr<Method> make_kromhc(const MethodOptions& o);
std::unique_ptr<Method> make_tbp(const MethodOptions& o);
std::unique_ptr<Method> make_rtbp(const MethodOptions& o);
// The 2026 zoo (SPEC §12): declared here, defined in their own files.
std::unique_ptr<Method> make_go_mhc(const MethodOptions& o);
std::unique_ptr<Method> make_circulant(const MethodOptions& o);
std::unique_ptr<Method> make_cayley(const MethodOptions& o);
std::unique_ptr<Method> make_shc(const MethodOptions& o);
std::unique_ptr<Method> make_isohc(const MethodOptions& o);
// Production models: DeepSeek-V4's deployed mHC (dsv4.cpp).
std::unique_ptr<Method> make_dsv4(const MethodOptions& o);

/// H₀ = (1−ε)I + εJ/n, the identity-init target of SPEC §2.
Mat identity_target(Index n, double eps);
/// Throws InputError unless 0 ≤ eps ≤ 1 ("init-eps = …; must be in [0, 1]"). Some inits need eps > 0.
void check_init_eps(double eps, bool strictly_positive);
/// Z[i, j] = θ[i·n + j] (row-major n×n logits of mhc, hc and tropical).
Mat logits_matrix(const Vec& theta, Index n);
/// θ[i·cols + j] = M(i, j): the row-major vec of a matrix (the inverse of logits_matrix for square M).
Vec row_major_vec(const Mat& M);
/// mhc's inits: authors Z = 0 on the diagonal, −8 off it; identity Z = τ·log H₀ (needs ε > 0).
Vec sinkhorn_init_params(Index n, InitKind kind, double eps, double tau);

/// Inverse charts of doubly stochastic methods (Method::build_inverse): throws InputError unless the target T whose
/// unmodified form is H has row and column sums within 1e-9·n of 1; returns whether H > 0 (the charts' domain).
bool check_ds_target(const Method& method, const Mat& H);
/// Margin tolerance handed to the BvN decomposition and the transport inverses. T's margins are checked to 1e-9·n
/// first; undoing the modifiers scales the error by 1/(α(1 − δ)) and mhc-lite's H' by 1/(1 − s) ≤ 2, so this only
/// has to be loose enough not to refuse a target that passed that check (α ≥ 1e-3 at n ≤ 1000).
inline constexpr double kInverseInnerTol = 1e-6;
}  // namespace mhclab::detail
