#pragma once
// NumPy `.npy` files (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
//
// Format: magic "\x93NUMPY", version byte pair, little-endian header length (2 bytes in 1.0, 4 bytes in
// 2.0/3.0), a Python-literal dict {'descr': …, 'fortran_order': …, 'shape': (…)} padded with spaces and
// ending in '\n', then the raw data.
//
// Reading (strict; anything else is an InputError naming the file and saying what was expected):
//   - versions 1.0, 2.0 and 3.0;
//   - dtype '<f8' (float64) or '<f4' (float32, converted exactly to double); '=' / '|' byte orders are
//     not accepted, nor big-endian, integer, complex, structured or object dtypes;
//   - C order only (fortran_order True is rejected: re-save with np.ascontiguousarray);
//   - any rank, including 0-d (one value) and empty arrays (a zero in the shape);
//   - the data size must match the shape exactly (no truncation, no trailing bytes). The shape is checked
//     against the actual file size before anything is allocated, so a malicious header cannot make the
//     reader allocate more than the file holds;
//   - every value must be finite (NaN/Inf → InputError naming the first offending index).
// Writing: float64 '<f8', C order, format 1.0 (2.0 only if the header would exceed 65535 bytes), header
// padded so the data starts at a multiple of 64 bytes (as NumPy ≥ 1.9 does), written atomically. Values
// must be finite (a non-finite value is a failed computation: ComputeError), so every file written here
// reads back.
//
// Data is in C order (last index fastest): element (i₀, …, i_{r−1}) is data[((i₀·s₁ + i₁)·s₂ + …)]. In
// particular element (i, j) of matrix k of a (K, n, n) stack is data[k·n·n + i·n + j]; matrices are in
// paper orientation (H[i, j] = weight from stream j into stream i, SPEC §1) unless the caller says otherwise.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mhclab {

/// An N-dimensional float64 array in C order.
struct NpyArray {
  std::vector<std::size_t> shape;  ///< rank r = shape.size(); r = 0 is a scalar (one value)
  std::vector<double> data;        ///< product(shape) values, C order

  /// product(shape) (1 for a 0-d array); the caller must make sure it does not overflow.
  [[nodiscard]] std::size_t element_count() const;
};

/// "(2, 3)", "(3,)", "()": the shape as NumPy prints it.
[[nodiscard]] std::string shape_string(const std::vector<std::size_t>& shape);

/// Reads a `.npy` file. Throws InputError "<path>: …" for every violation listed in the header comment.
[[nodiscard]] NpyArray read_npy(const std::string& path);

/// Parses the bytes of a `.npy` file; `name` is used in error messages in place of the path.
[[nodiscard]] NpyArray parse_npy(std::string_view bytes, const std::string& name);

/// The bytes of a `.npy` file (format 1.0, '<f8', C order) holding `a`. Throws InputError if
/// a.data.size() ≠ product(a.shape), ComputeError (naming `name`) if a value is NaN or ±Inf.
[[nodiscard]] std::string encode_npy(const NpyArray& a, const std::string& name = "array");

/// Writes `a` to `path` as float64 '<f8', C order, atomically (mhclab/io/atomic_file.hpp).
void write_npy(const std::string& path, const NpyArray& a);

}  // namespace mhclab
