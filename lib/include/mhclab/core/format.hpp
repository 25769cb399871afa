#pragma once
// Number formatting shared by messages and writers: %.17g round-trips every double exactly.
#include <charconv>
#include <cstdio>
#include <string>
#include <vector>

namespace mhclab {

/// One double with 17 significant digits, exactly printf's "%.17g" (std::to_chars with general format and
/// precision 17 is specified as printf's %.17g in the C locale; it is several times faster). 17 significant
/// digits always reproduce the value (the shortest round-tripping form is not needed).
[[nodiscard]] inline std::string format_double(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 17);
  return std::string(buf, r.ptr);
}

/// Appends format_double(x) to `out` (no temporary string: the table writers' hot path).
inline void append_double(std::string& out, double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x, std::chars_format::general, 17);
  out.append(buf, r.ptr);
}

/// printf-style formatting of one double with an explicit format, e.g. "%g".
[[nodiscard]] inline std::string format_double(double x, const char* format) {
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
