// Output of the verbs: stdout or an atomically written file.
#include <fmt/core.h>

#include "commands.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab::app {

void emit(const std::string& path, const std::string& text) {
  if (path.empty()) fmt::print("{}", text);
  else write_file_atomically(path, text);
}

}  // namespace mhclab::app
