// core/precision.hpp: rounding to emulated formats (SPEC §3.2).
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "mhclab/core/precision.hpp"
#include "mhclab/core/random.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
/// Reference bf16 RNE from an fp32 value (exactly representable input), via the bit pattern.
double bf16_from_float_bits(float f) {
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  const std::uint32_t lsb = (b >> 16) & 1u;
  b += 0x7FFFu + lsb;
  b &= 0xFFFF0000u;
  float r;
  std::memcpy(&r, &b, 4);
  return r;
}
}  // namespace

TEST_SUITE("core") {
TEST_CASE("fp32 rounding equals the hardware conversion, subnormals and overflow included") {
  RandomStream rng(1, Purpose::Test, {1});
  for (int k = 0; k < 20000; ++k) {
    const double mant = rng.normal();
    const int e = static_cast<int>(rng.uniform() * 320.0) - 170;  // covers subnormal and overflow ranges
    const double x = std::ldexp(mant, e);
    const double want = static_cast<double>(static_cast<float>(x));
    const double got = round_to(x, Precision::FP32);
    INFO("x = " << x);
    CHECK((got == want || (std::isnan(got) && std::isnan(want))));
  }
  CHECK(round_to(3.5e38, Precision::FP32) == INFINITY);
  CHECK(round_to(-3.5e38, Precision::FP32) == -INFINITY);
  CHECK(round_to(1e-50, Precision::FP32) == 0.0);
}

TEST_CASE("bf16 rounding: 8 significant bits, ties to even, fp32 exponent range") {
  CHECK(round_to(1.0, Precision::BF16) == 1.0);
  CHECK(round_to(1.0 + 0x1.0p-8, Precision::BF16) == 1.0);              // tie → even (1.0)
  CHECK(round_to(1.0 + 3 * 0x1.0p-8, Precision::BF16) == 1.0 + 0x1.0p-6);  // tie → even (…10)
  CHECK(round_to(1.0 + 0x1.0p-8 + 0x1.0p-30, Precision::BF16) == 1.0 + 0x1.0p-7);
  CHECK(round_to(0x1.0p-133, Precision::BF16) == 0x1.0p-133);  // smallest bf16 subnormal
  CHECK(round_to(0x1.0p-135, Precision::BF16) == 0.0);
  CHECK(round_to(0x1.FFp127, Precision::BF16) == INFINITY);
  RandomStream rng(1, Purpose::Test, {2});
  for (int k = 0; k < 20000; ++k) {
    const float f = static_cast<float>(std::ldexp(rng.normal(), static_cast<int>(rng.uniform() * 250.0) - 125));
    INFO("f = " << f);
    CHECK(round_to(f, Precision::BF16) == bf16_from_float_bits(f));
  }
  CHECK(unit_roundoff(Precision::BF16) == 0x1.0p-8);
  CHECK(unit_roundoff(Precision::FP32) == 0x1.0p-24);
  CHECK(unit_roundoff(Precision::FP64) == 0x1.0p-53);
}
}
