#pragma once
// Number formatting shared by messages and writers: %.17g round-trips every double exactly.
#include <cstdio>
#include <string>

namespace mhclab {

/// printf-style formatting of one double; default "%.17g" (shortest form that round-trips is not needed:
/// 17 significant digits always reproduce the value).
[[nodiscard]] inline std::string format_double(double x, const char* format = "%.17g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

}  // namespace mhclab
