// Options by name: see mhclab/kinds/option_set.hpp.
#include "mhclab/kinds/option_set.hpp"

#include <charconv>
#include <limits>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"

namespace mhclab {

namespace {
std::string quote(std::string_view key, std::string_view text) {
  return std::string(key) + " = '" + std::string(text) + "'";
}

/// `text` without one leading '+' before a digit or '.' (what a person may type; from_chars does not take it).
std::string_view unsigned_text(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-' && text[1] != '+') text.remove_prefix(1);
  return text;
}

template <class T>
bool parse_integer(std::string_view text, T& out) {
  text = unsigned_text(text);
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && p == end && !text.empty();
}
}  // namespace

long parse_long_option(std::string_view key, std::string_view text) {
  long v = 0;
  if (!parse_integer(text, v)) throw InputError(quote(key, text) + "; expected an integer");
  return v;
}

std::uint64_t parse_unsigned_option(std::string_view key, std::string_view text) {
  std::uint64_t v = 0;
  if (text.empty() || text.front() == '-' || !parse_integer(text, v))
    throw InputError(quote(key, text) + "; expected an integer in [0, 2^64 - 1]");
  return v;
}

double parse_real_option(std::string_view key, std::string_view text) {
  const std::string_view t = unsigned_text(text);
  double v = 0;
  const char* end = t.data() + t.size();
  const auto [p, ec] = std::from_chars(t.data(), end, v);
  if (t.empty() || p != end) throw InputError(quote(key, text) + "; expected a number");
  if (ec == std::errc::result_out_of_range) throw InputError(quote(key, text) + "; outside the double range");
  if (ec != std::errc()) throw InputError(quote(key, text) + "; expected a number");
  return v;
}

bool parse_bool_option(std::string_view key, std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  throw InputError(quote(key, text) + "; expected true or false");
}

std::vector<long> parse_long_list_option(std::string_view key, std::string_view text) {
  std::vector<long> out;
  if (text.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    long v = 0;
    if (!parse_integer(item, v))
      throw InputError(quote(key, text) + "; expected an integer or a comma-separated list of integers, e.g. 5,20");
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return out;
}

void OptionSet::add(OptionSpec spec) {
  if (find(spec.key) != nullptr) throw InputError("internal: option '" + spec.key + "' declared twice");
  for (const std::string& a : spec.aliases)
    if (find(a) != nullptr) throw InputError("internal: option '" + a + "' declared twice");
  specs_.push_back(std::move(spec));
}

void OptionSet::bind(std::string key, long& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::Integer,
       [&field, k](std::string_view t) { field = parse_long_option(k, t); }, [&field] { return std::to_string(field); }});
}

void OptionSet::bind(std::string key, int& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::Integer,
       [&field, k](std::string_view t) {
         const long v = parse_long_option(k, t);
         if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
           throw InputError(quote(k, t) + "; outside the range of a 32-bit integer");
         field = static_cast<int>(v);
       },
       [&field] { return std::to_string(field); }});
}

void OptionSet::bind(std::string key, std::uint64_t& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::Unsigned,
       [&field, k](std::string_view t) { field = parse_unsigned_option(k, t); },
       [&field] { return std::to_string(field); }});
}

void OptionSet::bind(std::string key, double& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::Real,
       [&field, k](std::string_view t) { field = parse_real_option(k, t); },
       [&field] { return format_double(field); }});
}

void OptionSet::bind(std::string key, std::optional<double>& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::Real,
       [&field, k](std::string_view t) {
         if (t == "auto")
           field.reset();
         else
           field = parse_real_option(k, t);
       },
       [&field] { return field ? format_double(*field) : std::string("auto"); }});
}

void OptionSet::bind(std::string key, std::string& field, std::string help) {
  add({std::move(key), {}, std::move(help), OptionType::Text, [&field](std::string_view t) { field = std::string(t); },
       [&field] { return field; }});
}

void OptionSet::bind(std::string key, bool& field, std::string help, bool flag) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), flag ? OptionType::Flag : OptionType::Boolean,
       [&field, k](std::string_view t) { field = parse_bool_option(k, t); },
       [&field] { return std::string(field ? "true" : "false"); }});
}

void OptionSet::bind(std::string key, std::vector<long>& field, std::string help) {
  const std::string k = key;
  add({std::move(key), {}, std::move(help), OptionType::List,
       [&field, k](std::string_view t) { field = parse_long_list_option(k, t); },
       [&field] {
         std::string s;
         for (std::size_t i = 0; i < field.size(); ++i) s += (i ? "," : "") + std::to_string(field[i]);
         return s;
       }});
}

const OptionSpec* OptionSet::find(std::string_view key) const {
  for (const OptionSpec& s : specs_) {
    if (s.key == key) return &s;
    for (const std::string& a : s.aliases)
      if (a == key) return &s;
  }
  return nullptr;
}

void OptionSet::set(std::string_view key, std::string_view text) const {
  const OptionSpec* s = find(key);
  if (s == nullptr) {
    std::string keys;
    for (const OptionSpec& o : specs_) keys += (keys.empty() ? "" : ", ") + o.key;
    throw InputError("unknown option '" + std::string(key) + "'; expected one of " + keys);
  }
  s->set(text);
}

void OptionSet::remove(const std::vector<std::string>& keys) {
  std::erase_if(specs_, [&](const OptionSpec& s) {
    for (const std::string& k : keys)
      if (s.key == k) return true;
    return false;
  });
}

}  // namespace mhclab
