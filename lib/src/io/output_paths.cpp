// Outputs that would replace inputs or each other: see mhclab/io/output_paths.hpp.
#include "mhclab/io/output_paths.hpp"

#include <sys/stat.h>

#include <cctype>
#include <filesystem>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {
namespace fs = std::filesystem;

std::string resolved(const std::string& p) {
  std::error_code ec;
  const fs::path r = fs::weakly_canonical(fs::absolute(p, ec), ec);
  return ec ? fs::absolute(p).lexically_normal().string() : r.string();
}

bool same_file(const NamedPath& a, const NamedPath& b) {
  if (resolved(a.path) == resolved(b.path)) return true;
  struct stat sa {}, sb {};
  return ::stat(a.path.c_str(), &sa) == 0 && ::stat(b.path.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

std::string describe(const NamedPath& p) { return p.name + " = '" + p.path + "'"; }
}  // namespace

void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    if (outputs[o].path.empty()) continue;
    for (const NamedPath& in : inputs)
      if (!in.path.empty() && same_file(outputs[o], in))
        throw InputError(describe(outputs[o]) + " is the same file as " + describe(in) +
                         "; refusing to replace an input (write the output elsewhere)");
    for (std::size_t q = 0; q < o; ++q)
      if (!outputs[q].path.empty() && same_file(outputs[o], outputs[q]))
        throw InputError(describe(outputs[o]) + " is the same file as " + describe(outputs[q]) +
                         "; two outputs of one call need two paths");
  }
}

void check_csv_outputs(const std::vector<NamedPath>& outputs) {
  for (const NamedPath& o : outputs) {
    if (o.path.empty()) continue;
    std::string ext = fs::path(o.path).extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext != ".csv") throw InputError(describe(o) + ": writes CSV; expected a path ending in .csv");
  }
}

}  // namespace mhclab
