// Output of the verbs: stdout or an atomically written file.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/core/list.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab::app {

void SelectionCli::add_to(CLI::App* sub) {
  sub->add_option("--kinds", kinds,
                  "Products to compute, comma-separated: layer, prefix (H_l···H_1), suffix (H_L···H_l); rows in "
                  "that order")
      ->capture_default_str();
  sub->add_option("--metrics", metrics,
                  "Columns to compute and write, comma-separated (e.g. fwd_gain,bwd_gain,sigma_max); default: all. "
                  "Only what they need is computed; written in the table's column order");
}

void SelectionCli::apply(DepthTableOptions& table) const {
  table.kinds = parse_enum_list(kinds, "kinds", product_kind_table);
  table.metrics = parse_name_list(metrics, "metrics");
}

void emit(const std::string& path, const std::string& text) {
  if (path.empty()) fmt::print("{}", text);
  else write_file_atomically(path, text);
}

}  // namespace mhclab::app
