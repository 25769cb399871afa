#pragma once
// Command-level matrix files (SPEC §8, CLI.md "Files"): stacks of matrices or parameter vectors in `.npy`,
// `.csv` or (read only) one named tensor of a `.safetensors` checkpoint, chosen by the file extension
// (case-insensitive; anything else is an InputError naming the file and listing the three). This is the one
// place command-level files are loaded.
//
// What the trailing axes mean is given by the caller (`--input-kind`), never guessed from the shape:
//   matrices → trailing axes (n, n), n ≥ 1;   params → trailing axis (p), p ≥ 1.
// The leading axes are named by the command (`lead_axes`, e.g. {"layer"}, {"token", "layer"},
// {"step", "layer"}) and flattened in C order (last leading axis fastest). A file must have exactly
// lead_axes.size() leading axes, except that a single matrix (n, n) / single vector (p) is accepted for any
// lead_axes, with every leading extent 1. Leading extents of 0 (an empty stack) are accepted from .npy.
//
// Encodings:
//   .npy  float64/float32, little-endian, C order (mhclab/io/npy.hpp); shape lead + (n, n) or lead + (p).
//   .safetensors  the tensor named by `tensor` (`--tensor NAME`, required for these files and refused for any
//         other), F64/F32/F16/BF16 (mhclab/io/safetensors.hpp); shapes exactly as for .npy. A missing or absent
//         tensor name is an InputError listing the tensors the file holds.
//   .csv  matrices: a single matrix as n lines of n numbers, or long form with header
//         `<lead axes…>,i,j,value` (e.g. `layer,i,j,value`, `token,layer,i,j,value`, `step,layer,i,j,value`,
//         or `i,j,value` for one matrix) whose lead columns must be exactly the requested lead axes;
//         params: one parameter vector per line (a table of shape (L, p), for one leading axis; a single line
//         is a single vector for any leading axes), or long form `<lead axes…>,k,value`.
//         See mhclab/io/csv.hpp for the CSV syntax.
// Orientation: every matrix in memory and in every file written is in paper orientation, H[i, j] = weight
// from stream j into stream i (SPEC §1). Layout::FromTo reads files that store A[from, to] = Hᵀ (common in
// PyTorch code) and transposes each matrix on read; it has no effect on params.
// Errors: InputError naming the file and what was expected, e.g.
//   "stack.npy: shape (3, 4) does not fit input-kind matrices with leading axes (layer): expected (layer, n, n)
//    or a single matrix (n, n)".
// Writing is atomic (mhclab/io/atomic_file.hpp); non-finite values are refused with ComputeError.
#include <cstddef>
#include <string>
#include <vector>

#include "mhclab/core/enum_table.hpp"
#include "mhclab/core/types.hpp"

namespace mhclab {

/// What the trailing axes of an input file are (`--input-kind`).
enum class InputKind { Matrices, Params };
inline constexpr EnumTable<InputKind, 2> input_kind_table{
    "input-kind", {{{InputKind::Matrices, "matrices"}, {InputKind::Params, "params"}}}};

/// How a file stores a matrix (`--layout`): to_from = paper orientation H[to, from] (default); from_to =
/// the transpose A[from, to] = H[to, from], transposed on read.
enum class Layout { ToFrom, FromTo };
inline constexpr EnumTable<Layout, 2> layout_table{"layout", {{{Layout::ToFrom, "to_from"}, {Layout::FromTo, "from_to"}}}};

/// A stack read from a file: either matrices or parameter vectors (by StackReadOptions::kind), the leading
/// axes flattened in C order: entry k has multi-index unravel(k, lead_shape).
struct Stack {
  std::vector<std::string> lead_axes;  ///< names given by the caller, e.g. {"token", "layer"}
  std::vector<std::size_t> lead_shape; ///< extent of each leading axis (all 1 for a single matrix/vector)
  std::vector<Mat> matrices;           ///< kind = matrices: product(lead_shape) matrices n × n, paper orientation
  std::vector<Vec> params;             ///< kind = params: product(lead_shape) vectors of length p

  /// product(lead_shape) (= matrices.size() or params.size()).
  [[nodiscard]] std::size_t count() const;
};

struct StackReadOptions {
  InputKind kind = InputKind::Matrices;            ///< meaning of the trailing axes
  Layout layout = Layout::ToFrom;                  ///< from_to: transpose each matrix on read
  std::vector<std::string> lead_axes = {"layer"};  ///< names of the leading axes, outermost first
  Index expected_n = -1;                           ///< ≥ 0: matrices must be expected_n × expected_n
  Index expected_params = -1;                      ///< ≥ 0: parameter vectors must have this length
  std::string tensor;  ///< `--tensor`: the tensor to read from a .safetensors file (required there, else empty)
};

/// Reads a stack of matrices or parameter vectors from a .npy or .csv file (see the header comment).
[[nodiscard]] Stack read_stack(const std::string& path, const StackReadOptions& options);

/// Reads one vector (e.g. `--logits`): a .npy of rank 1 (or the rank-1 tensor `tensor` of a .safetensors
/// file), or a CSV vector (one line, or one number per line).
[[nodiscard]] Vec read_vector(const std::string& path, const std::string& tensor = "");

/// Reads one parameter set θ of length p: a vector as read_vector, or — when `rows` > 0 (a method whose θ is a
/// row-major matrix, mixing/method.hpp param_matrix_shape) — also a rows×cols array (.npy/.safetensors of shape
/// (rows, cols) in C order, or a CSV matrix of rows lines), flattened row-major: θ[i·cols + j] = A[i, j].
/// InputError naming the file, the shape found and the shapes expected.
[[nodiscard]] Vec read_params(const std::string& path, Index p, Index rows, Index cols, const std::string& tensor = "");

/// Reads one square matrix: a .npy of shape (n, n), or a CSV matrix (n lines of n numbers, or long form
/// with header `i,j,value`), or the (n, n) tensor `tensor` of a .safetensors file; transposed if layout = from_to.
[[nodiscard]] Mat read_matrix(const std::string& path, Layout layout = Layout::ToFrom, const std::string& tensor = "");

/// Writes A as it is (paper orientation; .safetensors is refused: read only): .npy of shape (rows, cols), or CSV with
/// rows lines of cols numbers.
void write_matrix(const std::string& path, const Mat& A);

/// Writes a stack of n × n matrices (paper orientation) with leading axes `lead_axes` of extents
/// `lead_shape` (matrices in C order of the leading axes): .npy of shape lead_shape + (n, n), or long-form CSV
/// with header `<lead_axes…>,i,j,value`. Throws InputError if the sizes disagree, the matrices are not all
/// the same square n ≥ 1, or the stack is empty.
void write_stack(const std::string& path, const std::vector<Mat>& mats, const std::vector<std::string>& lead_axes,
                 const std::vector<std::size_t>& lead_shape);

}  // namespace mhclab
