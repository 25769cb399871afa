#pragma once
// Matrices, vectors and long-form stacks in CSV files.
//
// Format (reading):
//   - fields separated by ',', with optional spaces/tabs around them; '\r\n' line ends and a UTF-8 byte
//     order mark are accepted; blank lines and comment lines (first non-blank character '#') are skipped;
//   - a number is anything std::from_chars reads as a double (optionally with a leading '+'), occupying
//     the whole field; NaN, ±Inf and values outside the double range are rejected;
//   - table: every data line holds the same count of numbers (a single matrix is n lines of n numbers; a
//     vector is one line of p numbers or p lines of one number);
//   - long form: a header line naming the columns, `<lead axes…>,<index axes…>,value`, e.g.
//     `layer,i,j,value` or `token,layer,i,j,value` / `step,layer,i,j,value`, then one line per entry, in any
//     order. Indices are non-negative integers, dense from 0 in every column, and every index tuple must
//     appear exactly once: the extents are (max index + 1) per column, so all matrices share one n.
// Orientation: a matrix is stored as it is printed, row i = H[i, :] (paper orientation, SPEC §1); layout
// conversions (from_to) are the caller's business (mhclab/io/matrix_file.hpp).
// Errors: InputError "<file>:<line>: <what was found>; expected <what>" (or "<file>: …" when no single line
// is at fault), e.g. "h.csv:3: expected 4 numbers, got 3".
// Writing: numbers as %.17g (round-trips every double exactly), '\n' line ends, atomically
// (mhclab/io/atomic_file.hpp); a non-finite value is refused with ComputeError.
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/io/npy.hpp"

namespace mhclab {

/// A long-form CSV stack: the header's column names and the values as a dense C-order array of shape
/// (extent of each lead axis…, extent of each index axis…).
struct CsvLongForm {
  std::vector<std::string> lead_axes;   ///< leading index columns, e.g. {"token", "layer"}; may be empty
  std::vector<std::string> index_axes;  ///< trailing index columns, e.g. {"i", "j"}
  NpyArray array;                       ///< shape = lead extents + index extents; C order
};

/// True if the first data line of `text` is a header (its first field starts with a letter, '_' or a
/// quote and is not a number such as "nan"/"inf"), i.e. the file is in long form.
[[nodiscard]] bool csv_has_header(std::string_view text);

/// A numeric table: shape (rows, columns), row-major. Throws InputError for a ragged or non-numeric line.
[[nodiscard]] NpyArray parse_csv_table(std::string_view text, const std::string& name);
[[nodiscard]] NpyArray read_csv_table(const std::string& path);

/// A long-form stack whose header ends in `index_axes…,value`; all other header columns are lead axes.
[[nodiscard]] CsvLongForm parse_csv_long(std::string_view text, const std::string& name,
                                         const std::vector<std::string>& index_axes);
[[nodiscard]] CsvLongForm read_csv_long(const std::string& path,
                                        const std::vector<std::string>& index_axes = {"i", "j"});

/// A single square matrix, n lines of n numbers (n ≥ 1), in the orientation written in the file.
[[nodiscard]] Mat read_csv_matrix(const std::string& path);

/// A vector: numbers in one line, or one number per line.
[[nodiscard]] Vec read_csv_vector(const std::string& path);

/// Writes A (any shape) as A.rows() lines of A.cols() numbers, %.17g, atomically.
void write_csv_matrix(const std::string& path, const Mat& A);

/// Writes a long-form stack: header `lead…,index…,value`, then one line per entry in C order, atomically.
/// Throws InputError if the rank of `s.array` is not lead_axes.size() + index_axes.size().
void write_csv_long(const std::string& path, const CsvLongForm& s);

}  // namespace mhclab
