// mhclab._core: the Python extension. A thin shell over the library: every function sets a kind's or a method's
// options struct by the CLI's option names (kinds/option_set.hpp; Python keywords with '_' for '-') and calls the
// same library function as the command line, so results are the CLI's bit for bit.
//
// Arrays in: float64 C-contiguous arrays are read in place (array_t with c_style | forcecast borrows them); any other
// dtype or layout is converted once by NumPy. Arrays out: fresh arrays that own their memory, filled in place.
// The GIL is released while the library computes. Errors: InputError → ValueError, ComputeError → mhclab.ComputeError
// (a RuntimeError), both with the library's message.
// Tables: the experiment kinds return a typed ResultTable (depth, analyze, propagate, fit, train, mix), handed over
// column by column. Only analyze's spectra and gates still come from the library as CSV text; they are parsed once
// here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mhclab/core/build_info.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/analyze.hpp"
#include "mhclab/kinds/common_options.hpp"
#include "mhclab/kinds/depth.hpp"
#include "mhclab/kinds/fit.hpp"
#include "mhclab/kinds/mix.hpp"
#include "mhclab/kinds/propagate.hpp"
#include "mhclab/kinds/train.hpp"
#include "mhclab/mixing/inverse_chart.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/mixing/sinkhorn_batch.hpp"
#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/sweep.hpp"

namespace py = pybind11;

namespace mhclab::python {
namespace {

using namespace pybind11::literals;  // NOLINT: "name"_a keyword arguments
using InArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// ---- options by keyword ---------------------------------------------------------------------------------------

/// A keyword's value as option text (kinds/option_set.hpp): bool → true|false, numbers in their shortest round-trip
/// form (Python's repr), lists and tuples comma-joined, text as is.
std::string option_text(const std::string& key, const py::handle& v) {
  if (py::isinstance<py::bool_>(v)) return v.cast<bool>() ? "true" : "false";
  if (py::isinstance<py::str>(v)) return v.cast<std::string>();
  if (py::isinstance<py::float_>(v)) return py::repr(v).cast<std::string>();
  if (py::isinstance<py::int_>(v)) return py::str(v).cast<std::string>();
  if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    std::string out;
    for (const py::handle& e : v) out += (out.empty() ? "" : ",") + option_text(key, e);
    return out;
  }
  if (py::hasattr(v, "__index__")) return py::str(py::int_(py::reinterpret_borrow<py::object>(v))).cast<std::string>();
  if (py::hasattr(v, "__float__"))
    return py::repr(py::float_(py::reinterpret_borrow<py::object>(v))).cast<std::string>();
  throw InputError(key + ": expected a number, text, bool or a list of them; got " +
                   py::str(py::type::of(v).attr("__name__")).cast<std::string>());
}

/// Sets every keyword (None = keep the default) through `s`; the keys in `reserved` are the function's own arguments.
void apply_options(const OptionSet& s, const py::kwargs& kwargs, const std::vector<std::string>& reserved = {}) {
  for (const auto& item : kwargs) {
    std::string key = item.first.cast<std::string>();
    std::replace(key.begin(), key.end(), '_', '-');
    if (std::find(reserved.begin(), reserved.end(), key) != reserved.end())
      throw InputError("'" + item.first.cast<std::string>() + "' is an argument of this function, not an option");
    if (item.second.is_none()) continue;
    s.set(key, option_text(key, item.second));
  }
}

// ---- arrays ---------------------------------------------------------------------------------------------------

std::string shape_text(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

/// An n×n matrix (paper orientation) from a C-order (n, n) block.
Mat matrix_at(const double* p, Index n) { return Eigen::Map<const RowMajor>(p, n, n); }

void store_matrix(const Mat& H, double* out) { Eigen::Map<RowMajor>(out, H.rows(), H.cols()) = H; }

// ---- methods --------------------------------------------------------------------------------------------------

/// A method built from keyword options (the CLI's method options), with what the bindings need to know about it.
struct MethodHandle {
  MethodOptions options;
  InitKind init = InitKind::Identity;
  double init_eps = 0.01;
  std::shared_ptr<const Method> method;
  ParamMatrixShape shape;

  [[nodiscard]] Index p() const { return method->num_params(); }
  [[nodiscard]] Index n() const { return method->n(); }
  [[nodiscard]] std::string what() const {
    return "method " + std::string(method_table.to_string(options.method)) + " at n = " + std::to_string(n());
  }
  /// Trailing axes of θ as the caller gave them: 1 for (…, p), 2 for (…, rows, cols) of a matrix-parameter method.
  [[nodiscard]] int theta_axes(const py::array& a, int lead, const char* name) const {
    const auto nd = static_cast<int>(a.ndim()) - lead;
    if (nd == 1 && a.shape(lead) == p()) return 1;
    if (nd == 2 && shape.is_matrix() && a.shape(lead) == shape.rows && a.shape(lead + 1) == shape.cols) return 2;
    std::string expected = "(" + std::string(lead ? "B, " : "") + std::to_string(p()) + ",)";
    if (shape.is_matrix())
      expected += " or (" + std::string(lead ? "B, " : "") + std::to_string(shape.rows) + ", " +
                  std::to_string(shape.cols) + ")";
    throw InputError(std::string(name) + ": shape " + shape_text(a) + "; expected " + expected + " for " + what());
  }
};

MethodHandle make_handle(const std::string& method, Index n, const py::kwargs& kwargs) {
  MethodHandle h;
  OptionSet s;
  bind_method_options(s, h.options, h.init, h.init_eps);
  s.set("method", method);
  s.set("n", std::to_string(n));
  apply_options(s, kwargs, {"method", "n", "threads"});
  h.method = make_method(h.options);
  h.shape = param_matrix_shape(h.options);
  return h;
}

Vec theta_vector(const MethodHandle& h, const InArray& theta) {
  (void)h.theta_axes(theta, 0, "theta");
  return Eigen::Map<const Vec>(theta.data(), h.p());
}

py::array_t<double> mix_one(const MethodHandle& h, const InArray& theta) {
  const Vec t = theta_vector(h, theta);
  py::array_t<double> out({h.n(), h.n()});
  double* o = out.mutable_data();
  {
    const py::gil_scoped_release release;
    const MixResult r = h.method->mix(t);
    if (r.H.size() == 0) {
      const std::string why = r.sinkhorn ? r.sinkhorn->issue : std::string("no matrix");
      throw ComputeError("theta: Sinkhorn numerical_issue: " + why);
    }
    store_matrix(r.H, o);
  }
  return out;
}

py::array_t<double> vjp_one(const MethodHandle& h, const InArray& theta, const InArray& dH) {
  const Vec t = theta_vector(h, theta);
  if (dH.ndim() != 2 || dH.shape(0) != h.n() || dH.shape(1) != h.n())
    throw InputError("dH: shape " + shape_text(dH) + "; expected (" + std::to_string(h.n()) + ", " +
                     std::to_string(h.n()) + ")");
  std::vector<py::ssize_t> shape(theta.shape(), theta.shape() + theta.ndim());
  py::array_t<double> out(shape);
  double* o = out.mutable_data();
  const double* g = dH.data();
  {
    const py::gil_scoped_release release;
    const Vec d = h.method->vjp(t, matrix_at(g, h.n()));
    std::copy(d.data(), d.data() + d.size(), o);
  }
  return out;
}

/// True when mix_batch can use the batched SIMD Sinkhorn (mixing/sinkhorn_batch.hpp) for this method: mhc with the
/// plain exp-domain, fp64, constant-τ, fixed-iteration projection and no modifiers, n ≤ 8. Its H agrees with mix()
/// to ≤ 1 ulp per entry (the kernel's documented difference), not bit for bit.
bool batch_kernel_fits(const MethodHandle& h) {
  return h.options.method == MethodId::MHC && h.n() <= kSinkhornBatchMaxN &&
         sinkhorn_batch_supports(h.options.sinkhorn) && !h.options.modifiers.active();
}

py::array_t<double> mix_many(const MethodHandle& h, const InArray& thetas, int threads, bool exact) {
  if (thetas.ndim() < 2) throw InputError("thetas: shape " + shape_text(thetas) + "; expected a batch (B, …)");
  (void)h.theta_axes(thetas, 1, "thetas");
  if (threads < 0) throw InputError("threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
  const Index B = thetas.shape(0), n = h.n(), p = h.p();
  py::array_t<double> out({B, n, n});
  double* o = out.mutable_data();
  const double* in = thetas.data();
  {
    const py::gil_scoped_release release;
    // The same check as Method::mix on every θ (the kernel would report a non-finite logit as a numerical issue).
    for (Index k = 0; k < B * p; ++k)
      if (!std::isfinite(in[k]))
        throw InputError("thetas[" + std::to_string(k / p) + "]: parameter " + std::to_string(k % p) +
                         " is not finite (" + std::to_string(in[k]) + ")");
    if (!exact && batch_kernel_fits(h)) {
      SinkhornBatchOptions b;
      b.n = static_cast<int>(n);
      b.iterations = h.options.sinkhorn.iterations;
      b.tau = h.options.sinkhorn.tau;
      b.order = h.options.sinkhorn.order;
      b.threads = threads;
      const auto size = static_cast<std::size_t>(B * n * n);
      const SinkhornBatchSummary s = sinkhorn_batch({in, size}, {o, size}, {}, b);
      if (s.numerical_issues > 0)
        throw ComputeError("thetas[" + std::to_string(s.first_issue) + "]: Sinkhorn numerical_issue (" +
                           std::to_string(s.numerical_issues) + " of " + std::to_string(B) +
                           " matrices: logits spread beyond exp's range at this tau)");
    } else {
      parallel_for(B, threads, [&](Index b) {
        const MixResult r = h.method->mix(Eigen::Map<const Vec>(in + b * p, p));
        if (r.H.size() == 0)
          throw ComputeError("thetas[" + std::to_string(b) + "]: Sinkhorn numerical_issue: " +
                             (r.sinkhorn ? r.sinkhorn->issue : std::string("no matrix")));
        store_matrix(r.H, o + b * n * n);
      });
    }
  }
  return out;
}

py::array_t<double> vjp_many(const MethodHandle& h, const InArray& thetas, const InArray& dHs, int threads) {
  if (thetas.ndim() < 2) throw InputError("thetas: shape " + shape_text(thetas) + "; expected a batch (B, …)");
  (void)h.theta_axes(thetas, 1, "thetas");
  const Index B = thetas.shape(0), n = h.n(), p = h.p();
  if (dHs.ndim() != 3 || dHs.shape(0) != B || dHs.shape(1) != n || dHs.shape(2) != n)
    throw InputError("dHs: shape " + shape_text(dHs) + "; expected (" + std::to_string(B) + ", " + std::to_string(n) +
                     ", " + std::to_string(n) + ")");
  if (threads < 0) throw InputError("threads = " + std::to_string(threads) + "; must be ≥ 0 (0 = all cores)");
  std::vector<py::ssize_t> shape(thetas.shape(), thetas.shape() + thetas.ndim());
  py::array_t<double> out(shape);
  double* o = out.mutable_data();
  const double* in = thetas.data();
  const double* g = dHs.data();
  {
    const py::gil_scoped_release release;
    parallel_for(B, threads, [&](Index b) {
      const Vec d = h.method->vjp(Eigen::Map<const Vec>(in + b * p, p), matrix_at(g + b * n * n, n));
      std::copy(d.data(), d.data() + p, o + b * p);
    });
  }
  return out;
}

// ---- tables ---------------------------------------------------------------------------------------------------

/// A typed result table as the Python-side Table: (columns dict, meanings dict, log10 dict). Integer/Unsigned columns
/// with an empty cell become float64 with NaN; Boolean columns with an empty cell become object arrays with None;
/// Text columns hold str (empty cells ""). Scaled Real columns also return log10|x| per cell (NaN where the double is
/// exact) so a value beyond the double range is not lost.
py::tuple table_to_python(const ResultTable& t) {
  py::dict columns, meanings, log10;
  const auto rows = static_cast<py::ssize_t>(t.rows());
  for (const ColumnData& c : t.columns()) {
    const bool complete = std::all_of(c.present.begin(), c.present.end(), [](std::uint8_t x) { return x != 0; });
    py::object col;
    switch (c.spec.type) {
      case ColumnType::Integer:
      case ColumnType::Unsigned: {
        if (complete && c.spec.type == ColumnType::Integer) {
          py::array_t<std::int64_t> a(rows);
          std::copy(c.integer.begin(), c.integer.end(), a.mutable_data());
          col = a;
        } else if (complete) {
          py::array_t<std::uint64_t> a(rows);
          std::copy(c.unsigned_.begin(), c.unsigned_.end(), a.mutable_data());
          col = a;
        } else {
          py::array_t<double> a(rows);
          double* d = a.mutable_data();
          for (py::ssize_t r = 0; r < rows; ++r)
            d[r] = !c.present[static_cast<std::size_t>(r)] ? std::numeric_limits<double>::quiet_NaN()
                   : c.spec.type == ColumnType::Integer    ? static_cast<double>(c.integer[static_cast<std::size_t>(r)])
                                                           : static_cast<double>(c.unsigned_[static_cast<std::size_t>(r)]);
          col = a;
        }
        break;
      }
      case ColumnType::Real: {
        py::array_t<double> a(rows);
        double* d = a.mutable_data();
        for (py::ssize_t r = 0; r < rows; ++r)
          d[r] = c.present[static_cast<std::size_t>(r)] ? c.real[static_cast<std::size_t>(r)]
                                                         : std::numeric_limits<double>::quiet_NaN();
        col = a;
        if (c.spec.scaled) {
          py::array_t<double> l(rows);
          double* e = l.mutable_data();
          for (py::ssize_t r = 0; r < rows; ++r)
            e[r] = c.present[static_cast<std::size_t>(r)] ? c.log10_abs[static_cast<std::size_t>(r)]
                                                          : std::numeric_limits<double>::quiet_NaN();
          log10[py::str(c.spec.name)] = l;
        }
        break;
      }
      case ColumnType::Boolean: {
        if (complete) {
          py::array_t<bool> a(rows);
          bool* d = a.mutable_data();
          for (py::ssize_t r = 0; r < rows; ++r) d[r] = c.integer[static_cast<std::size_t>(r)] != 0;
          col = a;
        } else {
          py::list l;
          for (py::ssize_t r = 0; r < rows; ++r)
            l.append(c.present[static_cast<std::size_t>(r)] ? py::object(py::bool_(c.integer[static_cast<std::size_t>(r)] != 0))
                                                            : py::object(py::none()));
          col = py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
        }
        break;
      }
      case ColumnType::Text: {
        py::list l;
        for (py::ssize_t r = 0; r < rows; ++r) l.append(py::str(c.text[static_cast<std::size_t>(r)]));
        col = py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
        break;
      }
    }
    columns[py::str(c.spec.name)] = col;
    meanings[py::str(c.spec.name)] = c.spec.meaning;
  }
  return py::make_tuple(columns, meanings, log10);
}

/// A CSV table the library wrote (analyze's spectra and gates) as columns: a column whose cells are all integers
/// (or empty) → int64 (float64 with NaN when a cell is empty); all numbers → float64, where a value written from its
/// log form beyond the double range ("1.2e+4139") is ±inf and its log10 goes into the log10 dict; true/false →
/// bool; anything else → str.
py::tuple text_table_to_python(const Table& t) {
  py::dict columns, meanings, log10;
  const auto rows = static_cast<py::ssize_t>(t.rows.size());
  for (std::size_t c = 0; c < t.header.size(); ++c) {
    bool all_int = true, all_num = true, all_bool = true, any_empty = false, any_huge = false;
    for (const auto& row : t.rows) {
      const std::string& cell = row[c];
      if (cell.empty()) { any_empty = true; continue; }
      all_bool = all_bool && (cell == "true" || cell == "false");
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      const bool number = end == cell.c_str() + cell.size() && !std::isnan(v);
      all_num = all_num && number;
      any_huge = any_huge || (number && !std::isfinite(v));
      all_int = all_int && number && cell.find_first_of(".eEin") == std::string::npos;
    }
    py::object col;
    if (all_bool && !any_empty && rows > 0) {
      py::array_t<bool> a(rows);
      for (py::ssize_t r = 0; r < rows; ++r) a.mutable_data()[r] = t.rows[static_cast<std::size_t>(r)][c] == "true";
      col = a;
    } else if (all_int && !any_empty && rows > 0) {
      py::array_t<std::int64_t> a(rows);
      for (py::ssize_t r = 0; r < rows; ++r)
        a.mutable_data()[r] = std::strtoll(t.rows[static_cast<std::size_t>(r)][c].c_str(), nullptr, 10);
      col = a;
    } else if (all_num) {
      py::array_t<double> a(rows), l(rows);
      for (py::ssize_t r = 0; r < rows; ++r) {
        const std::string& cell = t.rows[static_cast<std::size_t>(r)][c];
        const double v = cell.empty() ? std::numeric_limits<double>::quiet_NaN() : std::strtod(cell.c_str(), nullptr);
        a.mutable_data()[r] = v;
        double lg = std::numeric_limits<double>::quiet_NaN();
        if (!cell.empty() && !std::isfinite(v)) {  // "m.mmme+E": log10 = E + log10(m)
          const auto e = cell.find_first_of("eE");
          lg = std::stod(cell.substr(e + 1)) + std::log10(std::fabs(std::stod(cell.substr(0, e))));
        }
        l.mutable_data()[r] = lg;
      }
      col = a;
      if (any_huge) log10[py::str(t.header[c])] = l;
    } else {
      py::list l;
      for (const auto& row : t.rows) l.append(py::str(row[c]));
      col = py::module_::import("numpy").attr("array")(l, "dtype"_a = "object");
    }
    columns[py::str(t.header[c])] = col;
    meanings[py::str(t.header[c])] = "";
  }
  return py::make_tuple(columns, meanings, log10);
}

// ---- stacks ---------------------------------------------------------------------------------------------------

/// A (lead…, n, n) matrices or (lead…, p) / (lead…, r, c) parameters array as a Stack with the given lead axes.
Stack stack_from_array(const InArray& a, const AnalyzeKindOptions& o) {
  const std::vector<std::string> lead = o.token_average ? std::vector<std::string>{"token", "layer"}
                                                        : std::vector<std::string>{"layer"};
  const auto nlead = static_cast<py::ssize_t>(lead.size());
  Stack st;
  st.lead_axes = lead;
  const double* d = a.data();
  if (o.input_kind == InputKind::Matrices) {
    if (a.ndim() != nlead + 2 || a.shape(a.ndim() - 1) != a.shape(a.ndim() - 2))
      throw InputError("stack: shape " + shape_text(a) + "; expected (" + (nlead == 2 ? "token, " : "") +
                       "layer, n, n) matrices");
    const Index n = a.shape(a.ndim() - 1);
    for (py::ssize_t k = 0; k < nlead; ++k) st.lead_shape.push_back(static_cast<std::size_t>(a.shape(k)));
    const std::size_t count = st.count();
    for (std::size_t e = 0; e < count; ++e) {
      Mat H = matrix_at(d + static_cast<Index>(e) * n * n, n);
      if (o.layout == Layout::FromTo) H.transposeInPlace();
      st.matrices.push_back(std::move(H));
    }
    return st;
  }
  const MethodHandle h{o.method, o.init, o.init_eps, make_method(o.method), param_matrix_shape(o.method)};
  const int axes = h.theta_axes(a, static_cast<int>(a.ndim()) - (a.ndim() == nlead + 2 ? 2 : 1), "stack");
  if (a.ndim() != nlead + axes)
    throw InputError("stack: shape " + shape_text(a) + "; expected (" + (nlead == 2 ? "token, " : "") + "layer, " +
                     std::to_string(h.p()) + ") parameters for " + h.what());
  for (py::ssize_t k = 0; k < nlead; ++k) st.lead_shape.push_back(static_cast<std::size_t>(a.shape(k)));
  for (std::size_t e = 0; e < st.count(); ++e) st.params.emplace_back(Eigen::Map<const Vec>(d + static_cast<Index>(e) * h.p(), h.p()));
  return st;
}

py::array_t<double> array_from_stack(const Stack& st) {
  std::vector<py::ssize_t> shape(st.lead_shape.begin(), st.lead_shape.end());
  if (!st.matrices.empty()) {
    const Index n = st.matrices.front().rows();
    shape.push_back(n);
    shape.push_back(n);
    py::array_t<double> out(shape);
    for (std::size_t e = 0; e < st.matrices.size(); ++e) store_matrix(st.matrices[e], out.mutable_data() + static_cast<Index>(e) * n * n);
    return out;
  }
  const Index p = st.params.empty() ? 0 : st.params.front().size();
  shape.push_back(p);
  py::array_t<double> out(shape);
  for (std::size_t e = 0; e < st.params.size(); ++e)
    std::copy(st.params[e].data(), st.params[e].data() + p, out.mutable_data() + static_cast<Index>(e) * p);
  return out;
}

// ---- kinds ----------------------------------------------------------------------------------------------------

template <class Options, class Bind, class Run>
py::tuple run_table_kind(const py::kwargs& kwargs, Bind bind, Run run) {
  Options o;
  OptionSet s;
  bind(s, o);
  apply_options(s, kwargs);
  ResultTable t;
  {
    const py::gil_scoped_release release;
    t = run(o);
  }
  return table_to_python(t);
}

}  // namespace
}  // namespace mhclab::python

PYBIND11_MODULE(_core, m) {
  using namespace mhclab;          // NOLINT: the binding's translation unit only
  using namespace mhclab::python;  // NOLINT
  using namespace pybind11::literals;  // NOLINT
  m.doc() = "mhclab's C++ core (see the mhclab package for the documented API)";

  static py::exception<ComputeError> compute_error(m, "ComputeError", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ComputeError& e) {
      compute_error(e.what());
    } catch (const InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("build_info", [] {
    const BuildInfo b = mhclab::build_info();
    return py::dict("version"_a = b.version, "commit"_a = b.commit, "build_type"_a = b.build_type,
                    "compiler"_a = b.compiler, "flags"_a = b.flags, "native"_a = b.native,
                    "python"_a = MHCLAB_PYTHON_EXECUTABLE);
  });
  m.def("methods", [] {
    std::vector<std::string> out;
    for (const auto& [id, name] : method_table.entries) out.emplace_back(name);
    return out;
  });

  py::class_<MethodHandle>(m, "Method")
      .def(py::init([](const std::string& method, Index n, const py::kwargs& kw) { return make_handle(method, n, kw); }),
           "method"_a, "n"_a)
      .def_property_readonly("name", [](const MethodHandle& h) { return std::string(method_table.to_string(h.options.method)); })
      .def_property_readonly("n", &MethodHandle::n)
      .def_property_readonly("num_params", &MethodHandle::p)
      .def_property_readonly("param_shape", [](const MethodHandle& h) -> py::object {
        if (!h.shape.is_matrix()) return py::none();
        return py::make_tuple(h.shape.rows, h.shape.cols);
      })
      .def_property_readonly("exact_ds", [](const MethodHandle& h) { return h.method->exact_ds(); })
      .def_property_readonly("has_inverse", [](const MethodHandle& h) { return has_inverse_chart(h.options.method); })
      .def("init", [](const MethodHandle& h, const std::optional<std::string>& kind, std::optional<double> eps) {
            const InitKind k = kind ? init_table.from_string(*kind) : h.init;
            const Vec t = h.method->init_params(k, eps.value_or(h.init_eps));
            py::array_t<double> out(t.size());
            std::copy(t.data(), t.data() + t.size(), out.mutable_data());
            return out;
          }, "kind"_a = py::none(), "eps"_a = py::none())
      .def("mix", &mix_one, "theta"_a)
      .def("vjp", &vjp_one, "theta"_a, "dH"_a)
      .def("mix_batch", [](const MethodHandle& h, const InArray& t, int threads, bool exact) {
            return mix_many(h, t, threads, exact);
          }, "thetas"_a, "threads"_a = 0, "exact"_a = false)
      .def("vjp_batch", &vjp_many, "thetas"_a, "dHs"_a, "threads"_a = 0)
      .def("inverse", [](const MethodHandle& h, const InArray& H) -> py::object {
            if (H.ndim() != 2 || H.shape(0) != h.n() || H.shape(1) != h.n())
              throw InputError("H: shape " + shape_text(H) + "; expected (" + std::to_string(h.n()) + ", " +
                               std::to_string(h.n()) + ")");
            const Mat T = matrix_at(H.data(), h.n());
            std::optional<Vec> t;
            {
              const py::gil_scoped_release release;
              t = inverse_chart(h.options, T);
            }
            if (!t) return py::none();
            py::array_t<double> out(t->size());
            std::copy(t->data(), t->data() + t->size(), out.mutable_data());
            return out;
          }, "H"_a);

  m.def("analyze", [](const py::object& stack, bool eigenvalues, bool singular_values, const py::kwargs& kw) {
    AnalyzeKindOptions o;
    OptionSet s;
    bind_analyze_options(s, o);
    apply_options(s, kw);
    o.eigenvalues = eigenvalues;  // the CLI's --eigenvalues FILE / --singular-values FILE, as switches
    o.singular_values = singular_values;
    if (!o.checkpoint.empty() && !kw.contains("method")) o.method.method = MethodId::Dsv4;  // as the CLI
    std::optional<Stack> st;
    if (!stack.is_none()) st = stack_from_array(stack.cast<InArray>(), o);
    AnalyzeKindResult r;
    {
      const py::gil_scoped_release release;
      r = st ? analyze_kind(o, std::move(*st)) : analyze_kind(o);
    }
    py::dict extra;
    if (!r.eigenvalue_csv.empty()) extra["eigenvalues"] = text_table_to_python(parse_table(r.eigenvalue_csv, "eigenvalues"));
    if (!r.singular_value_csv.empty())
      extra["singular_values"] = text_table_to_python(parse_table(r.singular_value_csv, "singular values"));
    if (!r.gates_csv.empty()) extra["gates"] = text_table_to_python(parse_table(r.gates_csv, "gates"));
    if (!r.checkpoint_summary.empty()) extra["checkpoint_summary"] = r.checkpoint_summary;
    return py::make_tuple(table_to_python(r.table), extra);
  }, "stack"_a = py::none(), "eigenvalues"_a = false, "singular_values"_a = false);

  m.def("depth", [](const py::kwargs& kw) {
    DepthKindOptions o;
    OptionSet s;
    bind_depth_options(s, o);
    apply_options(s, kw);
    DepthKindResult r;
    {
      const py::gil_scoped_release release;
      r = depth_kind(o);
    }
    return py::make_tuple(table_to_python(r.table), std::string(depth_engine_table.to_string(r.engine)));
  });
  m.def("propagate", [](const py::kwargs& kw) {
    return run_table_kind<PropagateKindOptions>(kw, bind_propagate_options, propagate_kind);
  });
  m.def("fit", [](const py::kwargs& kw) { return run_table_kind<FitKindOptions>(kw, bind_fit_options, fit_kind); });
  m.def("train", [](const py::kwargs& kw) { return run_table_kind<TrainKindOptions>(kw, bind_train_options, train_kind); });
  m.def("mix_stats", [](const py::kwargs& kw) { return run_table_kind<MixKindOptions>(kw, bind_mix_options, mix_kind); });

  m.def("options", [](const std::string& kind) {
    // The keywords a function takes, with their defaults and help (the CLI's --help of the same verb).
    py::list out;
    const auto add = [&out](const OptionSet& s) {
      for (const OptionSpec& spec : s.specs()) {
        std::string key = spec.key;
        std::replace(key.begin(), key.end(), '-', '_');
        out.append(py::make_tuple(key, spec.get(), spec.help));
      }
    };
    const auto kind_specs = [&add](auto options, auto bind) {
      OptionSet s;
      bind(s, options);
      add(s);
    };
    if (kind == "method") {
      MethodOptions o;
      InitKind i{};
      double e = 0;
      OptionSet s;
      bind_method_options(s, o, i, e);
      add(s);
    } else if (kind == "analyze") {
      kind_specs(AnalyzeKindOptions{}, bind_analyze_options);
    } else if (kind == "depth") {
      kind_specs(DepthKindOptions{}, bind_depth_options);
    } else if (kind == "propagate") {
      kind_specs(PropagateKindOptions{}, bind_propagate_options);
    } else if (kind == "fit") {
      kind_specs(FitKindOptions{}, bind_fit_options);
    } else if (kind == "train") {
      kind_specs(TrainKindOptions{}, bind_train_options);
    } else if (kind == "mix_stats") {
      kind_specs(MixKindOptions{}, bind_mix_options);
    } else {
      throw InputError("options: unknown function '" + kind +
                       "'; expected method|analyze|depth|propagate|fit|train|mix_stats");
    }
    return out;
  }, "kind"_a);

  m.def("read_stack", [](const std::string& path, const std::string& tensor, const std::string& layout,
                         const std::string& input_kind, const std::vector<std::string>& lead_axes) {
    StackReadOptions r;
    r.tensor = tensor;
    r.layout = layout_table.from_string(layout);
    r.kind = input_kind_table.from_string(input_kind);
    r.lead_axes = lead_axes;
    Stack st;
    {
      const py::gil_scoped_release release;
      st = read_stack(path, r);
    }
    return array_from_stack(st);
  }, "path"_a, "tensor"_a = "", "layout"_a = "to_from", "input_kind"_a = "matrices",
        "lead_axes"_a = std::vector<std::string>{"layer"});

  m.def("run", [](const std::string& experiment, const std::string& out, int threads, bool resume, bool force) {
    SweepSummary s;
    {
      const py::gil_scoped_release release;
      const Experiment e = read_experiment(experiment);
      const std::vector<SweepPoint> points = resolve_sweep(e);
      SweepOptions o;
      o.out_dir = out;
      o.threads = threads;
      o.resume = resume;
      o.force = force;
      o.command_line = "mhclab.run('" + experiment + "', out='" + out + "')";
      s = run_sweep(e, points, o);
    }
    return py::dict("points"_a = s.points, "ran"_a = s.ran, "reused"_a = s.reused, "rows"_a = s.rows,
                    "aggregate_rows"_a = s.aggregate_rows, "figures"_a = s.figures, "plot_message"_a = s.plot_message,
                    "wall_seconds"_a = s.wall_seconds);
  }, "experiment"_a, "out"_a, "threads"_a = 0, "resume"_a = false, "force"_a = false);
}
