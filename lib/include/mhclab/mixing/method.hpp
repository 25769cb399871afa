#pragma once
// One interface for every mixing method θ → H ∈ R^{n×n} (SPEC §2), in the paper orientation:
// H[i, j] is the weight from stream j into stream i, so a layer computes X_{l+1} = H X_l (+ branch).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"
#include "mhclab/mixing/sinkhorn.hpp"

namespace mhclab {

enum class MethodId {
  ResNet, HC, MHC, MHCLite, KromHC, TBP, RTBP, Tropical, GoMHC, Circulant, Cayley, SHC, IsoHC, Dsv4
};
inline constexpr EnumTable<MethodId, 14> method_table{
    "method",
    {{{MethodId::ResNet, "resnet"},
      {MethodId::HC, "hc"},
      {MethodId::MHC, "mhc"},
      {MethodId::MHCLite, "mhc-lite"},
      {MethodId::KromHC, "kromhc"},
      {MethodId::TBP, "tbp"},
      {MethodId::RTBP, "rtbp"},
      {MethodId::Tropical, "tropical"},
      {MethodId::GoMHC, "go-mhc"},
      {MethodId::Circulant, "circulant"},
      {MethodId::Cayley, "cayley"},
      {MethodId::SHC, "shc"},
      {MethodId::IsoHC, "isohc"},
      {MethodId::Dsv4, "dsv4"}}}};

/// `authors`: what the authors' code does (closed forms in SPEC §2); `identity`: the method's parameters
/// for H₀ = (1−ε)I + εJ/n (ε = init_eps).
enum class InitKind { Authors, Identity };
inline constexpr EnumTable<InitKind, 2> init_table{
    "init", {{{InitKind::Authors, "authors"}, {InitKind::Identity, "identity"}}}};

/// Modifiers composable with any method (SPEC §2), applied in this order:
///   lazy       H ← (1−α)I + αH       (α = lazy; 0 = off)
///   minorised  H ← (1−δ)H + δJ/n     (δ = minorize; 0 = off)
/// Both keep exact double stochasticity.
struct Modifiers {
  double lazy = 0.0;      ///< α ∈ [0, 1]
  double minorize = 0.0;  ///< δ ∈ [0, 1]
  [[nodiscard]] bool active() const { return lazy != 0.0 || minorize != 0.0; }
  void validate() const;
};

/// Everything needed to construct a method.
struct MethodOptions {
  MethodId method = MethodId::MHC;
  Index n = 4;                      ///< number of streams, ≥ 1
  SinkhornOptions sinkhorn;         ///< mhc, dsv4 (with_dsv4_preset), and the τ of the tropical identity init
  /// mhc/tropical identity init: the τ at which its logits are computed, θ = init_tau·log H₀ (SPEC §2 uses the
  /// Sinkhorn τ, which makes the init exact at every τ); 0 = the Sinkhorn τ. A fixed init_tau holds the logits
  /// fixed while τ varies (the temperature experiment).
  double init_tau = 0.0;
  std::vector<Index> factors;       ///< kromhc factor sizes (each 2..8, product n); empty = default from n
  Index go_s = 2;                   ///< go-mhc block size s (Θ is ns×ns; s = 1: orthostochastic), 1..64
  /// circulant: c = (1−γ)e₀ + γ·softmax(z), γ ∈ (0, 1] (1 = plain C-mHC; the leaky schedule is γ = β/(2L))
  double gamma = 1.0;
  double alpha = 0.1;               ///< cayley: H = Cayley((α/2)(Θ − Θᵀ)), α > 0 (JPmHC's α)
  Index cayley_steps = 0;           ///< cayley: 0 = the exact transform, k ≥ 1 = JPmHC's k-step fixed point
  Modifiers modifiers;              ///< applied by the Method that make_method returns
  void validate() const;            ///< throws InputError naming the option
};

/// The result of building one H.
struct [[nodiscard]] MixResult {
  Mat H;                                   ///< n×n (empty only when the Sinkhorn status is numerical_issue)
  std::optional<SinkhornSummary> sinkhorn;  ///< mhc only
};

/// A mixing method: θ → H with its modifiers (MethodOptions::modifiers, applied by mix and differentiated by vjp).
/// Implementations are stateless after construction and thread-safe to call. Callers use the public checked
/// interface (mix, vjp); an implementation overrides the private, unchecked build / build_vjp (without modifiers).
/// Adding a method: one file with a class deriving from Method and a factory, plus one row of the registry
/// (mixing/registry.cpp) with its traits.
class Method {
 public:
  virtual ~Method() = default;
  [[nodiscard]] virtual MethodId id() const = 0;
  [[nodiscard]] virtual Index n() const = 0;
  /// Length p of θ, in the documented order of SPEC §2.
  [[nodiscard]] virtual Index num_params() const = 0;
  /// True when every H(θ) is exactly doubly stochastic with entries ≥ 0 (up to round-off).
  [[nodiscard]] virtual bool exact_ds() const = 0;
  /// True when every H(θ) is orthogonal, HᵀH = I (up to round-off).
  [[nodiscard]] virtual bool orthogonal() const { return false; }
  /// True when every H(θ) preserves the mean on both sides, H1 = 1 and 1ᵀH = 1ᵀ (up to round-off; entries may be
  /// negative). Implied by exact_ds.
  [[nodiscard]] virtual bool mean_preserving() const { return exact_ds(); }
  /// Parameters of the `authors` or `identity` init (eps = ε of H₀ = (1−ε)I + εJ/n).
  [[nodiscard]] virtual Vec init_params(InitKind kind, double eps) const = 0;
  /// The temperature τ that divides the logit matrix of an exp(Z/τ) method (mhc: the Sinkhorn τ; tropical:
  /// the Sinkhorn τ of its options, for which it is the τ → 0 limit); 0 for methods without one.
  [[nodiscard]] virtual double logit_tau() const { return 0.0; }

  /// The modifiers this method applies (those of the MethodOptions it was made from).
  [[nodiscard]] const Modifiers& modifiers() const { return modifiers_; }
  /// H(θ) with the modifiers applied. Throws InputError when θ does not have num_params() entries or has a
  /// non-finite one. (mhc: H is empty when the Sinkhorn status is numerical_issue; the summary's row_err/col_err
  /// are those of the returned H, modifiers included, its trunc_/round_ errors those of the projection.)
  [[nodiscard]] MixResult mix(const Vec& theta) const;
  /// Backward (vector–Jacobian product) of mix: dθ_k = Σ_ij dH_ij ∂H_ij/∂θ_k, i.e. dθ = (∂H/∂θ)ᵀ vec(dH) with
  /// the row-major vec of §2. The modifiers are affine in H: the inner dH is (1−δ)·α'·dH (α' = α when lazy is
  /// on, else 1). Exact derivative of the computed map (mhc: of the unrolled Sinkhorn iterations actually run,
  /// in exact arithmetic — precision emulation is not differentiated); tropical: 0 (piecewise constant).
  /// Throws InputError like mix, and for a dH that is not n×n.
  [[nodiscard]] Vec vjp(const Vec& theta, const Mat& dH) const;

 private:
  friend std::unique_ptr<Method> make_method(const MethodOptions& options);
  /// H(θ) without modifiers; θ already checked.
  [[nodiscard]] virtual MixResult build(const Vec& theta) const = 0;
  /// Backward of build (without modifiers); θ and dH already checked.
  [[nodiscard]] virtual Vec build_vjp(const Vec& theta, const Mat& dH) const = 0;
  /// The inverse chart (mixing/inverse_chart.hpp) on an unmodified, finite n×n target H: θ with build(θ) = H, or
  /// nullopt when H is outside the chart's domain. Only methods with the registry trait `inverse_chart` override
  /// it; they check the target's constraints themselves (InputError naming what is off).
  [[nodiscard]] virtual std::optional<Vec> build_inverse(const Mat& H) const;
  friend std::optional<Vec> inverse_chart(const MethodOptions& options, const Mat& T);
  Modifiers modifiers_;
};

/// The shape of θ as a row-major matrix, for methods whose parameters are one (hc, mhc, tropical, cayley: the n×n
/// matrix Z[i, j] = θ[i·n + j]; dsv4: the n×n comb logits L[from, to] = θ[from·n + to]; tbp: the (n−1)×(n−1) chart matrix, SPEC §2.1; isohc: the (n−1)×(n−1) Θ; go-mhc:
/// the ns×ns Θ); {0, 0} for the others. A registry trait: readers accept such an array (as PyTorch exports it) as
/// well as the flat (p,) vector.
struct ParamMatrixShape {
  Index rows = 0, cols = 0;
  [[nodiscard]] bool is_matrix() const { return rows > 0; }
};
[[nodiscard]] ParamMatrixShape param_matrix_shape(const MethodOptions& options);

/// How the layer model (SPEC §5) gates a method's pre/post maps: `linear` (resnet, hc: raw values, HC's static
/// init pre = e_k, post = 1) or `sigmoid` (every mHC-family method: pre = σ(b), post = 2σ(b), mHC Eq. 8).
enum class GateStyle { Linear, Sigmoid };

/// Static traits of a method, held by the one registry (mixing/registry.cpp).
struct MethodTraits {
  GateStyle gates = GateStyle::Sigmoid;
  bool inverse_chart = false;  ///< has an inverse chart (mixing/inverse_chart.hpp)
};
[[nodiscard]] MethodTraits method_traits(MethodId method);

/// Constructs the method named in `options` (validates them first). The one registry: mixing/registry.cpp.
[[nodiscard]] std::unique_ptr<Method> make_method(const MethodOptions& options);

/// method.mix(θ) (the free form used by generic code).
[[nodiscard]] inline MixResult mix(const Method& method, const Vec& theta) { return method.mix(theta); }

/// Applies lazy and minorised modifiers to H in place (matrices that do not come from a method, e.g. read from a
/// file as matrices).
void apply_modifiers(Mat& H, const Modifiers& modifiers);

/// method.vjp(θ, dH).
[[nodiscard]] inline Vec mix_vjp(const Method& method, const Vec& theta, const Mat& dH) { return method.vjp(theta, dH); }

/// Dense Jacobian J = ∂vec(H)/∂θ of `mix` (modifiers included; n²×p, row i·n + j, column k), from n²
/// vector–Jacobian products.
[[nodiscard]] Mat mix_jacobian(const Method& method, const Vec& theta);

}  // namespace mhclab
