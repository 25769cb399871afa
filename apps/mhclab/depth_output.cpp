// CSV output of depth tables (report/depth_table.hpp), shared by `analyze` and `depth`.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab::app {

std::string depth_csv_header(const std::vector<std::string>& lead, const std::vector<std::string>& columns) {
  std::vector<std::string> all = lead;
  all.push_back("depth");
  all.push_back("kind");
  all.insert(all.end(), columns.begin(), columns.end());
  return joined(all, ",") + "\n";
}

void append_depth_rows(std::string& out, const std::string& lead_cells, const std::vector<DepthRow>& rows) {
  for (const DepthRow& r : rows) {
    out += lead_cells;
    out += std::to_string(r.depth);
    out += ',';
    out += product_kind_table.to_string(r.kind);
    for (const MetricCell& c : r.cells) {
      out += ',';
      out += c.format();
    }
    out += '\n';
  }
}

void emit(const std::string& path, const std::string& text) {
  if (path.empty()) fmt::print("{}", text);
  else write_file_atomically(path, text);
}

}  // namespace mhclab::app
