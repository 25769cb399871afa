#pragma once
// One enum↔string table per enum, shared by the CLI, TOML files and CSV output (Ceres' XToString).
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "mhclab/core/error.hpp"

namespace mhclab {

template <class E, std::size_t N>
struct EnumTable {
  std::string_view what;                                     ///< e.g. "method", used in error messages
  std::array<std::pair<E, std::string_view>, N> entries;

  [[nodiscard]] std::string_view to_string(E e) const {
    for (const auto& [v, s] : entries)
      if (v == e) return s;
    throw InputError(std::string("internal: unnamed ") + std::string(what) + " value");
  }
  /// Parses `s`; throws InputError "unknown <what> 'x'; expected one of a|b|c".
  [[nodiscard]] E from_string(std::string_view s) const {
    for (const auto& [v, name] : entries)
      if (name == s) return v;
    throw InputError("unknown " + std::string(what) + " '" + std::string(s) + "'; expected one of " + names());
  }
  [[nodiscard]] bool contains(std::string_view s) const {
    for (const auto& e : entries)
      if (e.second == s) return true;
    return false;
  }
  /// "a|b|c"
  [[nodiscard]] std::string names() const {
    std::string out;
    for (const auto& e : entries) {
      if (!out.empty()) out += '|';
      out += e.second;
    }
    return out;
  }
};

}  // namespace mhclab
