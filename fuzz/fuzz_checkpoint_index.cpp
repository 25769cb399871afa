// libFuzzer target: the checkpoint index reader (io/checkpoint.hpp parse_checkpoint_index; tests/fuzz/fuzz_entries.hpp).
// Built by scripts/fuzz.sh (clang, -DMHCLAB_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz/fuzz_entries.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  mhclab::fuzz::checkpoint_index(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
