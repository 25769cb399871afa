#pragma once
// FNV-1a 64 over bytes: the sweep's point ids (with a SplitMix64 finish, sweep/grid.hpp), its .done records and grid
// hashes (sweep/sweep.hpp). Continuable over chunks: fnv1a64(b, fnv1a64(a)) = fnv1a64(a + b).
#include <cstdint>
#include <string_view>

namespace mhclab {

inline constexpr std::uint64_t kFnv1a64Offset = 0xCBF29CE484222325ULL;

[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view bytes, std::uint64_t h = kFnv1a64Offset) noexcept {
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ULL;
  }
  return h;
}

}  // namespace mhclab
