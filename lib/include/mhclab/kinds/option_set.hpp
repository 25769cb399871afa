#pragma once
// The options of an experiment kind by name (CLI.md spellings: "tau", "init-eps", "jacobian-topk"): one entry per
// option, bound to the field of the kind's options struct that holds its default. The command line declares its
// flags from these entries, experiment files and training configurations set them by key, and a binding for
// another language sets them by keyword — so each option, its default and its parsing exist in one place.
//
//   DepthKindOptions o;                       // every default lives here
//   OptionSet s;
//   bind_depth_options(s, o);                 // kinds/depth.hpp
//   s.set("tau", "0.5");                      // InputError "tau = 'x'; expected a number" on bad text
//   const DepthKindResult r = depth_kind(o);
//
// An OptionSet refers to the fields it was bound to: it must not outlive that options struct.
// Values are text as on the command line: numbers in C syntax (from_chars: no leading '+', no blanks), booleans
// `true|false` (also for flags), enums by their table's names, lists comma-separated.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

/// What an option's text must be.
enum class OptionType {
  Flag,      ///< a switch: present on the command line = true; "true|false" in files
  Boolean,   ///< a value "true|false"
  Integer,   ///< a signed integer
  Unsigned,  ///< an integer in [0, 2^64)
  Real,      ///< a double
  Text,      ///< free text (a path, a tensor name)
  Choice,    ///< one name of an enum table
  List       ///< a comma-separated list (integers or names)
};

struct OptionSpec {
  std::string key;                 ///< CLI spelling without "--", e.g. "init-eps"
  std::vector<std::string> aliases;  ///< other accepted keys (e.g. "classes" for "outputs")
  std::string help;                ///< one line for --help
  OptionType type = OptionType::Text;
  std::function<void(std::string_view)> set;  ///< parses and stores; InputError "key = 'text'; expected …"
  std::function<std::string()> get;           ///< the current value as text (the default, before any set)
};

class OptionSet {
 public:
  /// Adds an entry; InputError (internal) if the key or an alias is taken.
  void add(OptionSpec spec);

  void bind(std::string key, long& field, std::string help);
  void bind(std::string key, int& field, std::string help);
  void bind(std::string key, std::uint64_t& field, std::string help);
  void bind(std::string key, double& field, std::string help);
  /// A number, or "auto" (unset: the default depends on other options, as the help says).
  void bind(std::string key, std::optional<double>& field, std::string help);
  void bind(std::string key, std::string& field, std::string help);
  /// A Boolean option ("true|false"); `flag` makes it a switch (Flag).
  void bind(std::string key, bool& field, std::string help, bool flag = false);
  /// A comma-separated list of integers ("5,20"); empty text = empty list.
  void bind(std::string key, std::vector<long>& field, std::string help);
  template <class E, std::size_t N>
  void bind(std::string key, E& field, const EnumTable<E, N>& table, std::string help) {
    add({std::move(key), {}, std::move(help) + ": " + table.names(), OptionType::Choice,
         [&field, &table](std::string_view t) { field = table.from_string(t); },
         [&field, &table] { return std::string(table.to_string(field)); }});
  }

  [[nodiscard]] const std::vector<OptionSpec>& specs() const { return specs_; }
  /// The entry of `key` (or of one of its aliases); nullptr if none.
  [[nodiscard]] const OptionSpec* find(std::string_view key) const;
  /// Sets `key` from `text`; InputError "unknown option 'key'; expected one of …" for an unknown key.
  void set(std::string_view key, std::string_view text) const;
  /// Removes the entries of `keys` (a kind's caller that sets them itself, e.g. the sweep runner's seed).
  void remove(const std::vector<std::string>& keys);

 private:
  std::vector<OptionSpec> specs_;
};

/// Parsers shared with other readers of option text; each throws InputError "<key> = '<text>'; expected …".
[[nodiscard]] long parse_long_option(std::string_view key, std::string_view text);
[[nodiscard]] std::uint64_t parse_unsigned_option(std::string_view key, std::string_view text);
[[nodiscard]] double parse_real_option(std::string_view key, std::string_view text);
[[nodiscard]] bool parse_bool_option(std::string_view key, std::string_view text);
[[nodiscard]] std::vector<long> parse_long_list_option(std::string_view key, std::string_view text);

}  // namespace mhclab
