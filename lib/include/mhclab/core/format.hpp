#pragma once
// Number formatting shared by messages and writers: %.17g round-trips every double exactly.
#include <cstdio>
#include <string>
#include <vector>

namespace mhclab {

/// printf-style formatting of one double; default "%.17g" (shortest form that round-trips is not needed:
/// 17 significant digits always reproduce the value).
[[nodiscard]] inline std::string format_double(double x, const char* format = "%.17g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, x);
  return buf;
}

/// open + names joined by sep + close, e.g. joined({"layer","n"}, ", ", "(", ")") = "(layer, n)".
/// (Appends only: GCC 12 warns falsely on "lit" + std::string&&.)
[[nodiscard]] inline std::string joined(const std::vector<std::string>& names, const char* sep,
                                        const char* open = "", const char* close = "") {
  std::string s = open;
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (k) s += sep;
    s += names[k];
  }
  s += close;
  return s;
}

}  // namespace mhclab
