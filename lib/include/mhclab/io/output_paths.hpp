#pragma once
// Outputs that would replace inputs or each other: a call that reads `--input s.npy` and writes `--out s.npy`, or
// writes two outputs to one path, is refused before anything is computed (the second write would silently replace
// the first; the first would replace what is being read).
#include <string>
#include <vector>

namespace mhclab {

/// A path with the name of the option or field it came from ("out", "input", "save-matrices").
struct NamedPath {
  std::string name;
  std::string path;  ///< empty = not given (skipped)
};

/// Throws InputError "out = 'x' is the same file as input = 'y'; …" when an output names an input or another
/// output. Paths are compared after resolving "." / ".." and symbolic links (std::filesystem::weakly_canonical), and
/// existing files also by device and inode (hard links).
void check_output_paths(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);

/// Throws InputError "out = 'x.txt': writes CSV; expected a path ending in .csv" for each non-empty path whose
/// extension (case-insensitive) is not `.csv`: a table is not written under a name that promises another format.
void check_csv_outputs(const std::vector<NamedPath>& outputs);

}  // namespace mhclab
