#pragma once
// The runtime of the literate C++ notebooks (notebooks_cpp/, format in report/notebook_source.hpp): a notebook is
// a function `void body(Notebook& nb)` plus its own source text; running it records every output the code emits
// into the code cell that is executing (entered by NB_CELL(), see notebook_source.hpp), then writes
// <out>/<name>.md, <out>/<name>.ipynb and the figures in <out>/<name>_files/ (report/notebook_document.hpp), all
// atomically (io/atomic_file.hpp). The written .ipynb is read back and checked (check_ipynb) on every run.
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/types.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/plot/gnuplot.hpp"
#include "mhclab/report/notebook_document.hpp"
#include "mhclab/report/notebook_source.hpp"

namespace mhclab {

/// Output sink of a running notebook. Every output goes to the current cell (the last one entered).
class Notebook {
 public:
  /// `figure_dir`: where figures are rendered; `figure_link`: the same directory relative to the .md.
  Notebook(std::string name, NotebookSource source, bool fast, std::string figure_dir, std::string figure_link);

  /// True in the fast mode (CTest): smaller sizes, depths and seed counts, decided by each notebook.
  [[nodiscard]] bool fast() const { return fast_; }
  /// `full` in the full mode, `fast_value` in the fast mode.
  template <class T>
  [[nodiscard]] T pick(T full, T fast_value) const {
    return fast_ ? fast_value : full;
  }

  /// Stream text (stdout), appended as is (consecutive texts form one stream output).
  void text(std::string_view s);
  /// text(s) followed by '\n'.
  void line(std::string_view s);
  /// A table: Markdown in .md / text/markdown, aligned text as text/plain.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  void table(const Table& t) { table(t.header, t.rows); }
  /// A figure rendered by render_plot (PNG only) from `data`; spec.name must be unique within the notebook. When
  /// gnuplot is not available the figure is skipped with a visible note in the cell's output (never an error).
  void figure(const Table& data, PlotSpec spec, std::string_view caption);

  /// Called by NB_CELL(): execution entered the code cell whose marker is at `line`. Throws ComputeError when
  /// that is not the next marked cell (cells run once, in source order).
  void enter_cell(int line);

  /// The document after the body returned. Throws ComputeError if a marked cell never ran.
  [[nodiscard]] NotebookDocument finish();

  [[nodiscard]] int figures_rendered() const { return figures_rendered_; }
  [[nodiscard]] int figures_skipped() const { return figures_skipped_; }

 private:
  NotebookOutput& last_output(NotebookOutputKind kind);
  std::vector<NotebookOutput>& current();

  std::string name_;
  NotebookSource source_;
  bool fast_;
  std::string figure_dir_, figure_link_;
  std::vector<std::vector<NotebookOutput>> outputs_;  ///< per source cell
  long current_ = -1;                                 ///< index into source_.cells, −1 = none
  std::vector<std::string> figure_names_;
  int figures_rendered_ = 0, figures_skipped_ = 0;
};

/// A compiled notebook: its name, its own source text (embedded at build time) and its body.
struct NotebookEntry {
  const char* name;
  const char* source;
  void (*body)(Notebook&);
};

struct NotebookRunOptions {
  std::string out_dir = "results/notebooks";  ///< created if missing (untracked; docs/notebooks is refreshed by scripts/refresh_docs.sh)
  bool fast = false;
};

struct NotebookRunSummary {
  std::string markdown_path, ipynb_path, figure_dir;
  int markdown_cells = 0, code_cells = 0, outputs = 0, figures_rendered = 0, figures_skipped = 0;
};

/// Splits the entry's source, runs its body, writes the .md, .ipynb and figures, and checks the .ipynb.
/// InputError for a malformed source or an unwritable directory; ComputeError from the body or the check.
[[nodiscard]] NotebookRunSummary run_notebook(const NotebookEntry& entry, const NotebookRunOptions& options);

/// A matrix as aligned text rows, each entry printed with `format` (printf style), e.g. "[ 0.7  0.3]".
[[nodiscard]] std::string matrix_text(const Mat& M, const char* format = "%.6g");
/// A vector as "[a, b, c]" with `format`.
[[nodiscard]] std::string vector_text(const Vec& v, const char* format = "%.6g");

}  // namespace mhclab
