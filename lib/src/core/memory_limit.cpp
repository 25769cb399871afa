// Memory estimates against a limit: see mhclab/core/memory_limit.hpp.
#include "mhclab/core/memory_limit.hpp"

#include <unistd.h>

#include <cstdio>

#include "mhclab/core/error.hpp"

namespace mhclab {

double default_memory_limit_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 4.0 * 1024 * 1024 * 1024;
  return 0.5 * static_cast<double>(pages) * static_cast<double>(page);
}

void check_memory(std::string_view what, double bytes, double limit_gb, std::string_view detail,
                  std::string_view reduce) {
  const double limit = limit_gb > 0 ? limit_gb * 1e9 : default_memory_limit_bytes();
  if (!(bytes > limit)) return;
  char buf[256];
  std::snprintf(buf, sizeof buf, " needs about %.3g GB (%s), more than the limit of %.3g GB", bytes / 1e9,
                std::string(detail).c_str(), limit / 1e9);
  throw InputError(std::string(what) + buf +
                   (limit_gb > 0 ? " (memory-limit)" : " (memory-limit; default: half of the machine's memory)") +
                   ": " + std::string(reduce));
}

}  // namespace mhclab
