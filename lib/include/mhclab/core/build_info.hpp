#pragma once
// What this binary was built from and with (filled in by CMake, cmake/build_info.cpp.in).
#include <string>

namespace mhclab {

struct BuildInfo {
  std::string version;     ///< project version, e.g. "0.1.0"
  std::string commit;      ///< `git rev-parse --short=12 HEAD` at configure time, or "unknown"
  std::string build_type;  ///< CMake build type
  std::string compiler;    ///< compiler id and version
  std::string flags;       ///< optimisation/architecture/sanitizer flags the library was compiled with
  std::string native;      ///< "ON" when built with -march=native
};

[[nodiscard]] BuildInfo build_info();

}  // namespace mhclab
