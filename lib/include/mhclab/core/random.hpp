#pragma once
// Counter-based, reproducible randomness (SPEC §1). No global state: every stream is a pure function
// of (seed, purpose, indices...), so results do not depend on thread count or evaluation order.
//
// The exact recipe (so a NumPy script can regenerate the same inputs; all arithmetic is uint64 mod 2^64):
//   mix(z)    = z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^ (z >> 31)
//   key       = mix(seed ^ 0x6A09E667F3BCC909); then for c in (purpose, i0, i1, ...):
//               key = mix(key ^ (c + 0x9E3779B97F4A7C15))
//   stream    : state = key; next() = { state += 0x9E3779B97F4A7C15; return mix(state); }   (SplitMix64)
//   uniform() = (next() >> 11) · 2^-53                          ∈ [0, 1), 53 random bits
//   normals   : Box–Muller on pairs u1 = 1 − uniform(), u2 = uniform():
//               r = sqrt(−2 ln u1); z0 = r·cos(2π u2), z1 = r·sin(2π u2); yielded z0 then z1.
// bench/sinkhorn_numpy.py implements the same recipe (last-bit differences in log/cos/sin between libm
// and NumPy are possible; they do not matter for comparisons at 1e-12).
#include <cmath>
#include <cstdint>
#include <initializer_list>

#include <Eigen/Core>

namespace mhclab {

/// Purposes keep the streams of different consumers apart (part of the key).
enum class Purpose : std::uint64_t {
  Theta = 1,    ///< method parameters (generators: random θ, comparison tables)
  Drift = 2,    ///< drift generator steps
  State = 3,    ///< initial state X_0 of the layer model
  Weights = 4,  ///< branch weights W_l
  Readout = 5,  ///< the fixed random R of the loss ⟨R, X_L⟩
  Bench = 6,    ///< benchmark inputs
  Test = 7,     ///< tests
  Target = 8,   ///< fit targets (mixing/birkhoff.hpp birkhoff_target; `mhclab fit`)
  Krylov = 9    ///< start blocks of iterative solvers (analysis/subspace_svd.hpp)
};

[[nodiscard]] constexpr std::uint64_t splitmix64_mix(std::uint64_t z) noexcept {
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ULL;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// key = hash(seed, purpose, indices...) as documented above.
[[nodiscard]] constexpr std::uint64_t stream_key(std::uint64_t seed, Purpose purpose,
                                                 std::initializer_list<std::uint64_t> indices = {}) noexcept {
  std::uint64_t k = splitmix64_mix(seed ^ 0x6A09E667F3BCC909ULL);
  k = splitmix64_mix(k ^ (static_cast<std::uint64_t>(purpose) + 0x9E3779B97F4A7C15ULL));
  for (std::uint64_t c : indices) k = splitmix64_mix(k ^ (c + 0x9E3779B97F4A7C15ULL));
  return k;
}

/// SplitMix64 stream with uniform and Box–Muller normal draws.
class RandomStream {
 public:
  explicit constexpr RandomStream(std::uint64_t key) noexcept : state_(key) {}
  RandomStream(std::uint64_t seed, Purpose purpose, std::initializer_list<std::uint64_t> indices = {}) noexcept
      : state_(stream_key(seed, purpose, indices)) {}

  constexpr std::uint64_t next() noexcept {
    state_ += 0x9E3779B97F4A7C15ULL;
    return splitmix64_mix(state_);
  }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Standard normal (Box–Muller, pairs).
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = 1.0 - uniform();  // (0, 1]
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 2.0 * 3.14159265358979323846 * u2;
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }
  /// Fills `out` (any Eigen dense object, in storage order) with normals · scale.
  template <class Derived>
  void fill_normal(Derived&& out, double scale = 1.0) {
    for (Eigen::Index k = 0; k < out.size(); ++k) out.data()[k] = scale * normal();
  }

 private:
  std::uint64_t state_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace mhclab
