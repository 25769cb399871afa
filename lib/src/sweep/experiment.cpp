// Experiment files: see mhclab/sweep/experiment.hpp.
#include "mhclab/sweep/experiment.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cctype>
#include <filesystem>
#include <set>

#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

std::string Experiment::where(long line) const {
  return line > 0 ? file + ":" + std::to_string(line) + ": " : file + ": ";
}

std::vector<std::pair<std::string, long>> Experiment::keys() const {
  std::vector<std::pair<std::string, long>> out;
  auto add = [&](const std::string& k, long line) {
    for (const auto& e : out)
      if (e.first == k) return;
    out.emplace_back(k, line);
  };
  for (const ConfigValue& v : base) add(v.key, v.line);
  for (const SweepAxis& a : axes)
    for (std::size_t k = 0; k < a.keys.size(); ++k) add(a.keys[k], a.values.front()[k].line);
  for (const ExcludeRule& r : excludes)
    for (const auto& m : r.match) add(m.first, r.line);
  return out;
}

namespace {
/// Names that become one path component (the experiment's results directory, a figure's files): letters, digits and
/// . _ + -, not starting with '.', at most 128 characters — so "..", "a/b" or a name with a NUL cannot leave the
/// directory they are meant for. Returns why not, or "".
std::string path_component_problem(const std::string& s) {
  if (s.empty()) return "is empty";
  if (s.size() > 128) return "is longer than 128 characters";
  if (s.front() == '.') return "starts with '.'";
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-'))
      return "holds a character other than letters, digits and . _ + -";
  return {};
}


long line_of(const toml::node& n) { return static_cast<long>(n.source().begin.line); }
long line_of(const toml::key& k) { return static_cast<long>(k.source().begin.line); }

/// Shortest text that round-trips (0.05 → "0.05", 100.0 → "100").
std::string shortest(double x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

/// A table's entries in file order (toml++ iterates in key order).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& t) {
  std::vector<std::pair<const toml::key*, const toml::node*>> v;
  for (const auto& [k, n] : t) v.emplace_back(&k, &n);
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
  });
  return v;
}

class Parser {
 public:
  Parser(Experiment& e) : e_(e) {}

  [[noreturn]] void fail(long line, const std::string& what) const { throw InputError(e_.where(line) + what); }

  /// A scalar (or array of numbers, joined by ',') as option text.
  ConfigValue value(const std::string& key, const toml::node& n, long line) const {
    ConfigValue v;
    v.key = key;
    v.line = line;
    if (const auto* s = n.as_string()) v.text = s->get();
    else if (const auto* i = n.as_integer()) v.text = std::to_string(i->get());
    else if (const auto* f = n.as_floating_point()) {
      if (!std::isfinite(f->get())) fail(line, "key '" + key + "' = " + shortest(f->get()) + "; expected a finite number");
      v.text = shortest(f->get());
    } else if (const auto* b = n.as_boolean()) {
      v.text = b->get() ? "true" : "false";
      v.boolean = true;
    } else if (const auto* a = n.as_array()) {
      if (a->empty()) fail(line, "key '" + key + "' is an empty array; expected a value or a list of numbers");
      for (const toml::node& x : *a) {
        if (!x.is_number())
          fail(line, "key '" + key + "' holds an array with a non-number; a list-valued option takes numbers");
        if (!v.text.empty()) v.text += ',';
        v.text += value(key, x, line).text;
      }
    } else {
      fail(line, "key '" + key + "' has a " + std::string(toml::impl::node_type_friendly_names[static_cast<int>(n.type())]) +
                     "; expected a string, number, boolean or list of numbers");
    }
    return v;
  }

  std::string string_of(const std::string& table, const toml::key& k, const toml::node& n) const {
    const auto* s = n.as_string();
    if (!s) fail(line_of(k), "[" + table + "] " + std::string(k.str()) + " must be a string");
    return s->get();
  }

  bool bool_of(const std::string& table, const toml::key& k, const toml::node& n) const {
    const auto* b = n.as_boolean();
    if (!b) fail(line_of(k), "[" + table + "] " + std::string(k.str()) + " must be true or false");
    return b->get();
  }

  /// A string or an array of strings.
  std::vector<std::string> strings_of(const std::string& table, const toml::key& k, const toml::node& n) const {
    if (const auto* s = n.as_string()) return {s->get()};
    std::vector<std::string> out;
    const auto* a = n.as_array();
    if (!a) fail(line_of(k), "[" + table + "] " + std::string(k.str()) + " must be a string or a list of strings");
    for (const toml::node& x : *a) {
      const auto* s = x.as_string();
      if (!s) fail(line_of(k), "[" + table + "] " + std::string(k.str()) + " must be a list of strings");
      out.push_back(s->get());
    }
    return out;
  }

  const toml::table& table_of(const toml::key& k, const toml::node& n) const {
    const auto* t = n.as_table();
    if (!t) fail(line_of(k), "'" + std::string(k.str()) + "' must be a table ([" + std::string(k.str()) + "])");
    return *t;
  }

  void experiment(const toml::key& tk, const toml::node& n) {
    for (const auto& [kp, vp] : in_file_order(table_of(tk, n))) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      const std::string key(k.str());
      if (key == "name") {
        e_.name = string_of("experiment", k, v);
        if (const std::string why = path_component_problem(e_.name); !why.empty())
          fail(line_of(k), "[experiment] name = '" + e_.name + "' " + why + "; it names the results directory, one "
               "path component");
      }
      else if (key == "kind") e_.kind = string_of("experiment", k, v);
      else if (key == "description") e_.description = string_of("experiment", k, v);
      else if (key == "max-points") {
        const auto* i = v.as_integer();
        if (!i || i->get() < 1) fail(line_of(k), "[experiment] max-points must be an integer ≥ 1");
        e_.max_points = static_cast<long>(i->get());
      }
      else if (key == "seed") {
        const auto* i = v.as_integer();
        if (!i || i->get() < 0) fail(line_of(k), "[experiment] seed must be an integer ≥ 0");
        e_.seed = static_cast<std::uint64_t>(i->get());
      } else if (key == "seed-keys") {
        e_.has_seed_keys = true;
        e_.seed_keys_line = line_of(k);
        const auto* a = v.as_array();
        if (!a) fail(line_of(k), "[experiment] seed-keys must be a list of option names (may be empty)");
        e_.seed_keys = strings_of("experiment", k, v);
      } else {
        fail(line_of(k), "unknown key '" + key + "' in [experiment]; expected name, kind, description, seed, seed-keys, max-points");
      }
    }
  }

  void base(const toml::key& tk, const toml::node& n) {
    for (const auto& [k, v] : in_file_order(table_of(tk, n))) e_.base.push_back(value(std::string(k->str()), *v, line_of(*k)));
  }

  /// A grid key or zip key: a non-empty array of values (strings, numbers, booleans, or arrays of numbers).
  std::vector<ConfigValue> list(const std::string& where, const toml::key& k, const toml::node& v) const {
    const auto* a = v.as_array();
    if (!a || a->empty())
      fail(line_of(k), where + " " + std::string(k.str()) + " must be a non-empty list of values");
    std::vector<ConfigValue> out;
    for (const toml::node& x : *a) out.push_back(value(std::string(k.str()), x, line_of(k)));
    return out;
  }

  void grid(const toml::key& tk, const toml::node& n) {
    for (const auto& [kp, vp] : in_file_order(table_of(tk, n))) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      SweepAxis axis;
      axis.keys = {std::string(k.str())};
      axis.line = line_of(k);
      for (ConfigValue& c : list("[grid]", k, v)) axis.values.push_back({std::move(c)});
      e_.axes.push_back(std::move(axis));
    }
  }

  void zip_one(const toml::node& n, long line) {
    const auto* t = n.as_table();
    if (!t) fail(line, "[[zip]] entries must be tables");
    SweepAxis axis;
    axis.line = line;
    for (const auto& [kp, vp] : in_file_order(*t)) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      std::vector<ConfigValue> vals = list("[[zip]]", k, v);
      if (!axis.keys.empty() && vals.size() != axis.values.size())
        fail(line_of(k), "[[zip]] " + std::string(k.str()) + " has " + std::to_string(vals.size()) +
                             " values but " + axis.keys.front() + " has " + std::to_string(axis.values.size()) +
                             "; zipped lists must have equal lengths");
      if (axis.keys.empty()) axis.values.resize(vals.size());
      axis.keys.push_back(std::string(k.str()));
      for (std::size_t i = 0; i < vals.size(); ++i) axis.values[i].push_back(std::move(vals[i]));
    }
    if (axis.keys.empty()) fail(line, "[[zip]] is empty");
    e_.axes.push_back(std::move(axis));
  }

  void exclude_one(const toml::node& n, long line) {
    const auto* t = n.as_table();
    if (!t || t->empty()) fail(line, "[[exclude]] entries must be non-empty tables of option = value(s)");
    ExcludeRule r;
    r.line = line;
    for (const auto& [kp, vp] : in_file_order(*t)) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      // An array lists alternatives (a point matches if its value is any of them).
      std::vector<std::string> texts;
      if (const auto* a = v.as_array())
        for (const toml::node& x : *a) texts.push_back(value(std::string(k.str()), x, line_of(k)).text);
      else
        texts.push_back(value(std::string(k.str()), v, line_of(k)).text);
      r.match.emplace_back(std::string(k.str()), std::move(texts));
    }
    e_.excludes.push_back(std::move(r));
  }

  void aggregate(const toml::key& tk, const toml::node& n) {
    for (const auto& [kp, vp] : in_file_order(table_of(tk, n))) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      if (k.str() == "metrics") e_.aggregate_metrics = strings_of("aggregate", k, v);
      else fail(line_of(k), "unknown key '" + std::string(k.str()) + "' in [aggregate]; expected metrics");
    }
  }

  void plot_one(const toml::node& n, long line) {
    const auto* t = n.as_table();
    if (!t) fail(line, "[[plot]] entries must be tables");
    PlotEntry p;
    p.line = line;
    for (const auto& [kp, vp] : in_file_order(*t)) {
      const toml::key& k = *kp;
      const toml::node& v = *vp;
      const std::string key(k.str());
      if (key == "name") {
        p.spec.name = string_of("plot", k, v);
        if (const std::string why = path_component_problem(p.spec.name); !why.empty())
          fail(line_of(k), "[[plot]] name = '" + p.spec.name + "' " + why + "; it names the figure's files");
      }
      else if (key == "x") p.spec.x = string_of("plot", k, v);
      else if (key == "y") p.spec.y = strings_of("plot", k, v);
      else if (key == "group") {  // one column, or a list: the first is the group, the others qualify it
        std::vector<std::string> g = strings_of("plot", k, v);
        if (g.empty()) fail(line_of(k), "[[plot]] group is an empty list; expected one or more column names");
        p.spec.group = g.front();
        p.spec.group_with.assign(g.begin() + 1, g.end());
      }
      else if (key == "facet") p.spec.facet = strings_of("plot", k, v);
      else if (key == "band") p.spec.band = string_of("plot", k, v);
      else if (key == "style") p.spec.style = string_of("plot", k, v);
      else if (key == "title") p.spec.title = string_of("plot", k, v);
      else if (key == "xlabel") p.spec.xlabel = string_of("plot", k, v);
      else if (key == "ylabel") p.spec.ylabel = string_of("plot", k, v);
      else if (key == "source") p.source = string_of("plot", k, v);
      else if (key == "formats") p.spec.formats = strings_of("plot", k, v);
      else if (key == "logx") p.spec.logx = bool_of("plot", k, v);
      else if (key == "logy") p.spec.logy = bool_of("plot", k, v);
      else if (key == "where") {
        for (const auto& [wk, wv] : table_of(k, v)) p.spec.where.emplace_back(std::string(wk.str()), value(std::string(wk.str()), wv, line_of(wk)).text);
      } else {
        fail(line_of(k), "unknown key '" + key +
                             "' in [[plot]]; expected name, x, y, group, facet, where, band, style, logx, logy, title, "
                             "xlabel, ylabel, source, formats");
      }
    }
    if (p.spec.name.empty() || p.spec.x.empty() || p.spec.y.empty()) fail(line, "[[plot]] needs name, x and y");
    if (p.source != "aggregates" && p.source != "rows" && p.source != "timings")
      fail(line, "[[plot]] '" + p.spec.name + "': source = '" + p.source + "'; expected aggregates|rows|timings");
    e_.plots.push_back(std::move(p));
  }

  template <class F>
  void array_of_tables(const toml::key& k, const toml::node& n, F&& one) {
    if (const auto* a = n.as_array()) {
      for (const toml::node& x : *a) one(x, line_of(x) > 0 ? line_of(x) : line_of(k));
    } else if (n.is_table()) {
      one(n, line_of(k));
    } else {
      fail(line_of(k), "'" + std::string(k.str()) + "' must be a table or an array of tables ([[" +
                           std::string(k.str()) + "]])");
    }
  }

  void document(const toml::table& doc) {
    for (const auto& [kp, vp] : in_file_order(doc)) {
    const toml::key& k = *kp;
    const toml::node& v = *vp;
      const std::string key(k.str());
      if (key == "experiment") experiment(k, v);
      else if (key == "base") base(k, v);
      else if (key == "grid") grid(k, v);
      else if (key == "zip") array_of_tables(k, v, [&](const toml::node& x, long l) { zip_one(x, l); });
      else if (key == "exclude") array_of_tables(k, v, [&](const toml::node& x, long l) { exclude_one(x, l); });
      else if (key == "aggregate") aggregate(k, v);
      else if (key == "plot") array_of_tables(k, v, [&](const toml::node& x, long l) { plot_one(x, l); });
      else
        fail(line_of(k), "unknown table or key '" + key +
                             "'; expected [experiment], [base], [grid], [[zip]], [[exclude]], [aggregate], [[plot]]");
    }
  }

 private:
  Experiment& e_;
};

}  // namespace

void check_toml_depth(std::string_view text, const std::string& file, int max_depth) {
  int depth = 0, dots = 0;
  long line = 1;
  bool after_eq = false, header = false, line_start = true;  // per line: past a key's '=', a [table] header
  auto too_deep = [&] {
    throw InputError(file + ":" + std::to_string(line) + ": nested more than " + std::to_string(max_depth) +
                     " levels deep (arrays, inline tables or dotted keys); refusing to parse it");
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c != '\n' && c != ' ' && c != '\t' && line_start) {
      header = c == '[' && depth == 0;
      line_start = false;
    }
    if (c == '\n') {
      ++line;
      dots = 0;
      after_eq = header = false;
      line_start = true;
    } else if (c == '=' && depth == 0) {
      after_eq = true;
    } else if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "'''");
      const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
      std::size_t j = i + close.size();
      while (j < text.size() && text.substr(j, close.size()) != close) {
        if (c == '"' && text[j] == '\\') ++j;  // basic strings: skip the escaped character
        if (j < text.size() && text[j] == '\n') ++line;
        ++j;
      }
      i = std::min(text.size(), j + close.size()) - 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) too_deep();
    } else if (c == ']' || c == '}') {
      depth = std::max(0, depth - 1);
    } else if (c == '.' && !after_eq && (depth == 0 || header)) {
      if (++dots > max_depth) too_deep();  // a dotted key (before '=') or a dotted [table] header
    }
  }
}

Experiment parse_experiment(const std::string& text, const std::string& file) {
  Experiment e;
  e.file = file;
  check_toml_depth(text, file);
  toml::table doc;
  try {
    doc = toml::parse(text, file);
  } catch (const toml::parse_error& err) {
    throw InputError(e.where(static_cast<long>(err.source().begin.line)) + "TOML syntax: " +
                     std::string(err.description()));
  }
  Parser(e).document(doc);
  if (e.name.empty()) {
    e.name = std::filesystem::path(file).stem().string();
    if (const std::string why = path_component_problem(e.name); !why.empty())
      throw InputError(e.where(0) + "the file's stem '" + e.name + "' " + why + "; set [experiment] name (it names the "
                       "results directory)");
  }
  if (e.kind.empty()) throw InputError(e.where(0) + "[experiment] kind is missing; expected depth|propagate|mix|train|fit");
  // A key may be set in one place only: [base], one grid key or one zip.
  std::set<std::string> seen;
  auto once = [&](const std::string& k, long line) {
    if (!seen.insert(k).second) throw InputError(e.where(line) + "key '" + k + "' is set twice ([base], [grid], [[zip]])");
  };
  for (const ConfigValue& v : e.base) once(v.key, v.line);
  for (const SweepAxis& a : e.axes)
    for (std::size_t k = 0; k < a.keys.size(); ++k) once(a.keys[k], a.values.front()[k].line);
  for (const std::string& k : e.seed_keys)
    if (!seen.count(k))
      throw InputError(e.where(e.seed_keys_line) + "seed-keys names '" + k + "', which is not an option of this experiment");
  return e;
}

Experiment read_experiment(const std::string& path) { return parse_experiment(read_file_bytes(path), path); }

}  // namespace mhclab
