#pragma once
// Floating-point formats and their emulation (SPEC §3.2). A value is "rounded to a format" by rounding
// the exact fp64 value once to the nearest representable value of that format (ties to even), with the
// format's exponent range: gradual underflow below the smallest normal, overflow to ±inf.
//   fp64: 53 significant bits (identity);  fp32: 24 bits, exponents −126..127;  bf16: 8 bits, −126..127.
#include <cstdint>

#include "mhclab/core/enum_table.hpp"

namespace mhclab {

enum class Precision { FP64, FP32, BF16 };
inline constexpr EnumTable<Precision, 3> precision_table{
    "precision", {{{Precision::FP64, "fp64"}, {Precision::FP32, "fp32"}, {Precision::BF16, "bf16"}}}};

/// Accumulate format of an emulated run: fp32 (GPU kernels) or the storage format itself.
enum class Accumulate { FP32, Same };
inline constexpr EnumTable<Accumulate, 2> accumulate_table{
    "precision-accumulate", {{{Accumulate::FP32, "fp32"}, {Accumulate::Same, "same"}}}};

/// Rounds x (exact fp64) to fp32 or bf16 (round_to's work for those formats).
[[nodiscard]] double round_to_narrow(double x, Precision p) noexcept;

/// Rounds x (exact fp64) once to `p`. NaN stays NaN; ±inf stays ±inf. Inline so that the fp64 identity costs
/// nothing in the Sinkhorn inner loops (the scalar kernel calls it per entry).
[[nodiscard]] inline double round_to(double x, Precision p) noexcept {
  return p == Precision::FP64 ? x : round_to_narrow(x, p);
}

/// Unit roundoff u = 2^-(significant bits): 2^-53, 2^-24, 2^-8.
[[nodiscard]] double unit_roundoff(Precision p) noexcept;

/// Smallest positive normal number of the format (DBL_MIN, FLT_MIN, FLT_MIN).
[[nodiscard]] double smallest_normal(Precision p) noexcept;

}  // namespace mhclab
