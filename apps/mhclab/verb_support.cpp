// What the verbs share: options declared from the library's OptionSet, output to stdout or an atomically written file.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab::app {

namespace {
const char* type_name(OptionType t) {
  switch (t) {
    case OptionType::Flag: return "";
    case OptionType::Boolean: return "BOOL";
    case OptionType::Integer: return "INT";
    case OptionType::Unsigned: return "UINT";
    case OptionType::Real: return "FLOAT";
    case OptionType::Text: return "TEXT";
    case OptionType::Choice: return "NAME";
    case OptionType::List: return "LIST";
  }
  return "TEXT";
}
}  // namespace

void add_option_set(CLI::App* sub, const OptionSet& s) {
  for (const OptionSpec& spec : s.specs()) {
    std::string names = "--" + spec.key;
    for (const std::string& a : spec.aliases) names += ",--" + a;
    const auto set = spec.set;
    if (spec.type == OptionType::Flag) {
      sub->add_flag_callback(names, [set] { set("true"); }, spec.help);
      continue;
    }
    CLI::Option* o = sub->add_option_function<std::string>(names, [set](const std::string& v) { set(v); }, spec.help);
    o->type_name(type_name(spec.type));
    const std::string def = spec.get();
    if (!def.empty()) o->default_str(def);
  }
}

std::string g17(double x) { return format_double(x); }

void emit(const std::string& path, const std::string& text) {
  if (path.empty()) fmt::print("{}", text);
  else write_file_atomically(path, text);
}

}  // namespace mhclab::app
