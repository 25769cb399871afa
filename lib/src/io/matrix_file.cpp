// Command-level matrix files: .npy / .csv dispatch, input kinds, layouts. See mhclab/io/matrix_file.hpp.
#include "mhclab/io/matrix_file.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "mhclab/core/error.hpp"
#include "mhclab/core/format.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/csv.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"

namespace mhclab {

namespace {

enum class FileType { Npy, Csv, Safetensors };

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

[[noreturn]] void unsupported(const std::string& path, const std::string& ext, const char* expected) {
  throw InputError(path + ": " +
                   (ext.empty() ? std::string("no file extension") : "unsupported file type '" + ext + "'") +
                   "; expected " + expected);
}

FileType file_type(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".npy") return FileType::Npy;
  if (ext == ".csv") return FileType::Csv;
  if (ext == ".safetensors") return FileType::Safetensors;
  unsupported(path, ext, "a .npy, .csv or .safetensors file");
}

/// The file type for writing: .npy or .csv (.safetensors is read only here).
FileType write_file_type(const std::string& path) {
  const std::string ext = lower_extension(path);
  if (ext == ".npy") return FileType::Npy;
  if (ext == ".csv") return FileType::Csv;
  if (ext == ".safetensors")
    throw InputError(path + ": cannot write .safetensors files; expected a .npy or .csv output file");
  unsupported(path, ext, "a .npy or .csv file");
}

/// A .safetensors file needs a tensor name; any other file must not have one.
void check_tensor(const std::string& path, FileType type, const std::string& tensor) {
  if (type == FileType::Safetensors && tensor.empty())
    throw InputError(path + ": a .safetensors file holds several tensors; choose one with --tensor NAME (available: " +
                     safetensors_name_list(safetensors_names(path)) + ")");
  if (type != FileType::Safetensors && !tensor.empty())
    throw InputError("--tensor '" + tensor + "' names a tensor inside a .safetensors file, but " + path +
                     " is not one (expected FILE.safetensors, or no --tensor)");
}

/// "(layer, n, n)" / "(token, layer, p)" / "(n, n)"
std::string expected_shape(const std::vector<std::string>& lead, InputKind kind) {
  std::vector<std::string> axes = lead;
  if (kind == InputKind::Matrices) {
    axes.emplace_back("n");
    axes.emplace_back("n");
  } else {
    axes.emplace_back("p");
  }
  return joined(axes, ", ", "(", ")");
}

std::string header_for(const std::vector<std::string>& lead, InputKind kind) {
  std::vector<std::string> cols = lead;
  if (kind == InputKind::Matrices) {
    cols.emplace_back("i");
    cols.emplace_back("j");
  } else {
    cols.emplace_back("k");
  }
  cols.emplace_back("value");
  return joined(cols, ",");
}

/// The file's contents as an array (shape as stored) for the given kind and leading axes.
NpyArray load_array(const std::string& path, const StackReadOptions& o) {
  const FileType type = file_type(path);
  check_tensor(path, type, o.tensor);
  if (type == FileType::Safetensors) return read_safetensors(path, o.tensor);
  if (type == FileType::Npy) return read_npy(path);
  const std::string text = read_file_bytes(path);
  if (csv_has_header(text)) {
    const std::vector<std::string> index_axes =
        o.kind == InputKind::Matrices ? std::vector<std::string>{"i", "j"} : std::vector<std::string>{"k"};
    CsvLongForm lf = parse_csv_long(text, path, index_axes);
    if (!lf.lead_axes.empty() && lf.lead_axes != o.lead_axes)
      throw InputError(path + ": long-form columns (" + joined(lf.lead_axes, ", ") + ") do not match the leading axes (" +
                       joined(o.lead_axes, ", ") + ") expected here; expected the header '" +
                       header_for(o.lead_axes, o.kind) + "'");
    return std::move(lf.array);
  }
  NpyArray t = parse_csv_table(text, path);  // shape (lines, numbers per line)
  if (o.kind == InputKind::Matrices) return t;  // a single matrix (squareness checked by the caller)
  if (t.shape[0] == 1) {
    t.shape = {t.shape[1]};  // one line: a single parameter vector
    return t;
  }
  if (o.lead_axes.size() == 1) return t;  // one parameter vector per line
  throw InputError(path + ": " + std::to_string(t.shape[0]) + " lines of parameters do not fit the leading axes (" +
                   joined(o.lead_axes, ", ") + "); expected a long-form CSV with header '" +
                   header_for(o.lead_axes, o.kind) + "', or a single line of p numbers");
}

}  // namespace

std::size_t Stack::count() const {
  std::size_t c = 1;
  for (const std::size_t s : lead_shape) c *= s;
  return c;
}

Stack read_stack(const std::string& path, const StackReadOptions& o) {
  if (o.expected_n < -1 || o.expected_params < -1)
    throw InputError("read_stack: expected_n and expected_params must be ≥ 0, or -1 for any");
  const NpyArray a = load_array(path, o);
  const std::size_t trailing = o.kind == InputKind::Matrices ? 2 : 1;
  const std::size_t L = o.lead_axes.size();
  const std::size_t r = a.shape.size();
  const std::string kind_name(input_kind_table.to_string(o.kind));
  const std::string single = o.kind == InputKind::Matrices ? "a single matrix (n, n)" : "a single vector (p,)";
  std::string misfit = path + ": shape " + shape_string(a.shape) + " does not fit input-kind " + kind_name;
  if (L > 0) misfit += " with leading axes " + joined(o.lead_axes, ", ", "(", ")");
  misfit += ": expected " + expected_shape(o.lead_axes, o.kind);
  if (L > 0) misfit += " or " + single;

  Stack s;
  s.lead_axes = o.lead_axes;
  if (r == L + trailing) {
    s.lead_shape.assign(a.shape.begin(), a.shape.begin() + static_cast<std::ptrdiff_t>(L));
  } else if (r == trailing) {
    s.lead_shape.assign(L, 1);
  } else {
    throw InputError(misfit);
  }
  const std::size_t count = s.count();  // ≤ element count of a unless the trailing size is 0 (rejected below)

  if (o.kind == InputKind::Matrices) {
    const std::size_t n = a.shape[r - 1];
    if (a.shape[r - 2] != n) throw InputError(misfit + " (the last two axes must be equal)");
    if (n == 0) throw InputError(path + ": matrices are 0 × 0; expected n ≥ 1");
    if (o.expected_n >= 0 && n != static_cast<std::size_t>(o.expected_n))
      throw InputError(path + ": matrices are " + std::to_string(n) + " × " + std::to_string(n) + "; expected n = " +
                       std::to_string(o.expected_n));
    const auto nn = static_cast<Index>(n);
    s.matrices.reserve(count);
    for (std::size_t k = 0; k < count; ++k) {
      const double* block = a.data.data() + k * n * n;
      if (o.layout == Layout::ToFrom)  // C-order block = row-major H
        s.matrices.emplace_back(Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(block, nn, nn));
      else  // the same bytes read column-major are the transpose: H = Aᵀ
        s.matrices.emplace_back(Eigen::Map<const Mat>(block, nn, nn));
    }
  } else {
    const std::size_t p = a.shape[r - 1];
    if (p == 0) throw InputError(path + ": parameter vectors are empty (p = 0); expected p ≥ 1");
    if (o.expected_params >= 0 && p != static_cast<std::size_t>(o.expected_params))
      throw InputError(path + ": parameter vectors have length " + std::to_string(p) + "; expected p = " +
                       std::to_string(o.expected_params) + " parameters");
    s.params.reserve(count);
    for (std::size_t k = 0; k < count; ++k)
      s.params.emplace_back(Eigen::Map<const Vec>(a.data.data() + k * p, static_cast<Index>(p)));
  }
  return s;
}

Vec read_vector(const std::string& path, const std::string& tensor) {
  const FileType type = file_type(path);
  check_tensor(path, type, tensor);
  if (type == FileType::Csv) return read_csv_vector(path);
  const NpyArray a = type == FileType::Safetensors ? read_safetensors(path, tensor) : read_npy(path);
  if (a.shape.size() != 1)
    throw InputError(path + ": shape " + shape_string(a.shape) + " is not a vector; expected shape (p,)");
  return Eigen::Map<const Vec>(a.data.data(), static_cast<Index>(a.data.size()));
}

Vec read_params(const std::string& path, Index p, Index rows, Index cols, const std::string& tensor) {
  const std::string expected = "expected shape (" + std::to_string(p) + ",)" +
                               (rows > 0 ? " or (" + std::to_string(rows) + ", " + std::to_string(cols) + ")" : "");
  const FileType type = file_type(path);
  check_tensor(path, type, tensor);
  Vec theta;
  if (type == FileType::Csv) {
    const std::string text = read_file_bytes(path);
    std::size_t lines = 0, commas = 0;
    for (char ch : text) lines += ch == '\n' ? 1 : 0, commas += ch == ',' ? 1 : 0;
    const bool matrix_like = rows > 0 && lines > 1 && commas > 0;  // several lines of several numbers
    if (matrix_like) {
      const Mat A = read_matrix(path, Layout::ToFrom, tensor);
      if (A.rows() != rows || A.cols() != cols)
        throw InputError(path + ": a " + std::to_string(A.rows()) + "×" + std::to_string(A.cols()) + " matrix; " +
                         expected);
      theta.resize(p);
      for (Index i = 0; i < rows; ++i)
        for (Index j = 0; j < cols; ++j) theta[i * cols + j] = A(i, j);
      return theta;
    }
    theta = read_csv_vector(path);
  } else {
    const NpyArray a = type == FileType::Safetensors ? read_safetensors(path, tensor) : read_npy(path);
    const bool as_matrix = rows > 0 && a.shape.size() == 2 && a.shape[0] == static_cast<std::size_t>(rows) &&
                           a.shape[1] == static_cast<std::size_t>(cols);
    if (a.shape.size() != 1 && !as_matrix)
      throw InputError(path + ": shape " + shape_string(a.shape) + "; " + expected);
    theta = Eigen::Map<const Vec>(a.data.data(), static_cast<Index>(a.data.size()));  // C order = row-major
  }
  if (theta.size() != p)
    throw InputError(path + ": takes " + std::to_string(p) + " parameters; the file holds " +
                     std::to_string(theta.size()) + " (" + expected + ")");
  return theta;
}

Mat read_matrix(const std::string& path, Layout layout, const std::string& tensor) {
  StackReadOptions o;
  o.tensor = tensor;
  o.kind = InputKind::Matrices;
  o.layout = layout;
  o.lead_axes = {};
  Stack s = read_stack(path, o);
  return std::move(s.matrices.front());
}

void write_matrix(const std::string& path, const Mat& A) {
  if (write_file_type(path) == FileType::Csv) return write_csv_matrix(path, A);
  NpyArray a;
  a.shape = {static_cast<std::size_t>(A.rows()), static_cast<std::size_t>(A.cols())};
  a.data.resize(static_cast<std::size_t>(A.size()));
  Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data(), A.rows(), A.cols()) = A;
  write_npy(path, a);
}

void write_stack(const std::string& path, const std::vector<Mat>& mats, const std::vector<std::string>& lead_axes,
                 const std::vector<std::size_t>& lead_shape) {
  const FileType type = write_file_type(path);
  if (lead_axes.size() != lead_shape.size())
    throw InputError(path + ": " + std::to_string(lead_axes.size()) + " leading axis names for " +
                     std::to_string(lead_shape.size()) + " leading extents");
  std::size_t count = 1;
  for (const std::size_t e : lead_shape) count *= e;
  if (count != mats.size())
    throw InputError(path + ": leading shape " + shape_string(lead_shape) + " holds " + std::to_string(count) +
                     " matrices, but " + std::to_string(mats.size()) + " were given");
  if (mats.empty()) throw InputError(path + ": nothing to write: the stack is empty");
  const Index n = mats.front().rows();
  for (std::size_t k = 0; k < mats.size(); ++k)
    if (mats[k].rows() != n || mats[k].cols() != n || n == 0)
      throw InputError(path + ": matrix " + std::to_string(k) + " is " + std::to_string(mats[k].rows()) + " × " +
                       std::to_string(mats[k].cols()) + "; expected all matrices " + std::to_string(n) + " × " +
                       std::to_string(n) + " with n ≥ 1");

  NpyArray a;
  a.shape = lead_shape;
  a.shape.push_back(static_cast<std::size_t>(n));
  a.shape.push_back(static_cast<std::size_t>(n));
  const auto block = static_cast<std::size_t>(n * n);
  a.data.resize(mats.size() * block);
  for (std::size_t k = 0; k < mats.size(); ++k)
    Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(a.data.data() + k * block, n, n) =
        mats[k];

  if (type == FileType::Npy) return write_npy(path, a);
  CsvLongForm lf;
  lf.lead_axes = lead_axes;
  lf.index_axes = {"i", "j"};
  lf.array = std::move(a);
  write_csv_long(path, lf);
}

}  // namespace mhclab
