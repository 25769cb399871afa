#pragma once
// Comma-separated lists of names, as options and experiment files write them ("prefix,suffix").
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/error.hpp"

namespace mhclab {

/// "a, b,c" → {"a", "b", "c"} (blanks around items dropped). An empty text gives {}; an empty item ("a,,b",
/// "a,") is an InputError naming `field`.
[[nodiscard]] inline std::vector<std::string> parse_name_list(std::string_view text, std::string_view field) {
  std::vector<std::string> out;
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t start = 0;
  bool all_blank = true;
  for (char c : text) all_blank = all_blank && blank(c);
  if (all_blank) return out;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    while (!item.empty() && blank(item.front())) item.remove_prefix(1);
    while (!item.empty() && blank(item.back())) item.remove_suffix(1);
    if (item.empty())
      throw InputError(std::string(field) + " = '" + std::string(text) +
                       "'; expected a comma-separated list of names without empty items");
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

/// parse_name_list, each name converted by an EnumTable (unknown names: the table's InputError).
template <class Table>
[[nodiscard]] auto parse_enum_list(std::string_view text, std::string_view field, const Table& table) {
  std::vector<decltype(table.from_string(std::string_view{}))> out;
  for (const std::string& s : parse_name_list(text, field)) out.push_back(table.from_string(s));
  return out;
}

}  // namespace mhclab
