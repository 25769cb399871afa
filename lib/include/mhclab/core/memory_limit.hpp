#pragma once
// Sizes are checked before work starts: a kind estimates the memory a request needs (its output kept until it is
// written, plus the working set of every thread) and refuses a request above its limit with the estimate and the
// knob to turn, instead of growing until the machine gives out.
#include <cstdint>
#include <string>
#include <string_view>

namespace mhclab {

/// The default limit: half of the machine's physical memory (sysconf), or 4 GiB when it cannot be read.
[[nodiscard]] double default_memory_limit_bytes();

/// Throws InputError "<what> needs about X GB (…), more than the limit of Y GB (memory-limit; default half of the
/// machine's memory): <reduce>" when bytes > limit. `limit_gb` ≤ 0 means the default; `detail` says what the
/// estimate is made of.
void check_memory(std::string_view what, double bytes, double limit_gb, std::string_view detail,
                  std::string_view reduce);

}  // namespace mhclab
