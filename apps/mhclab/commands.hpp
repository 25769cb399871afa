#pragma once
// The verbs of the CLI: each cmd_<verb>.cpp has a setup_<verb> that declares its options (one options
// struct per verb) and registers the run function.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/generators/stack.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/report/depth_table.hpp"

namespace mhclab::app {

class Registry {
 public:
  void add(CLI::App* sub, std::function<int()> run) { verbs_.emplace_back(sub, std::move(run)); }
  int run_selected() const {
    for (const auto& [sub, run] : verbs_)
      if (sub->parsed()) return run();
    return 2;
  }

 private:
  std::vector<std::pair<CLI::App*, std::function<int()>>> verbs_;
};

/// The common method options of CLI.md, as strings/numbers parsed through the enum tables by `resolve`.
struct MethodCli {
  std::string method = "mhc";
  long n = 4;
  std::string init = "identity";
  double init_eps = 0.01;
  double lazy = 0.0;
  double minorize = 0.0;
  int iters = 20;
  double tau = 1.0;
  double init_tau = 0.0;
  std::string order = "col_then_row";
  std::string domain = "exp";
  double tol = 0.0;
  std::string tau_schedule = "constant";
  std::string precision = "fp64";
  std::string precision_accumulate = "fp32";
  std::string factors;  ///< "2,2"; empty = default from n

  void add_to(CLI::App* sub);
  /// Parses the strings (InputError on unknown names) and validates.
  [[nodiscard]] MethodOptions resolve() const;
  [[nodiscard]] InitKind init_kind() const;
};

/// The generator and file options of CLI.md ("Generators", "Files") for verbs that build stacks.
struct GeneratorCli {
  std::string generator = "random";
  double noise = 1.0;
  double eta = 0.01;
  double rho = 0.0;
  std::string steps;  ///< drift snapshot steps: "K" or "K1,K2,..." (strictly increasing)
  std::string input;
  std::string input_kind = "matrices";
  std::string layout = "to_from";
  std::string tensor;  ///< `--tensor NAME` of a .safetensors input
  long seeds = 1;
  std::uint64_t seed = 0;

  void add_to(CLI::App* sub);
  /// StackOptions for `layers` layers (≥ 1; file: 0 = as in the file, and exactly one seed) with the method's
  /// init (the modifiers live in the method); validated (InputError naming the option).
  [[nodiscard]] StackOptions resolve(const MethodCli& method, long layers) const;
};

/// `--kinds` and `--metrics` of the depth-table verbs (`depth`, `analyze`): which products and columns.
struct SelectionCli {
  std::string kinds = "layer,prefix,suffix";
  std::string metrics;  ///< empty = every column
  void add_to(CLI::App* sub);
  /// Parses both lists into the table options (InputError naming kinds or metrics).
  void apply(DepthTableOptions& table) const;
};

/// A verb that can also be an experiment kind (`mhclab run`): declare_<verb>(sub) adds the verb's options to
/// `sub` (bound to a fresh options struct) and returns what to do after parsing.
struct VerbFunctions {
  std::function<void()> check;        ///< validation only (resolve options, no computation); throws InputError
  std::function<std::string()> csv;   ///< the CSV text of the result (tidy rows)
  std::function<int()> run;           ///< the verb on the command line (output to --out or stdout)
};
VerbFunctions declare_depth(CLI::App* sub);
VerbFunctions declare_propagate(CLI::App* sub);
VerbFunctions declare_mix(CLI::App* sub);
VerbFunctions declare_train(CLI::App* sub);
VerbFunctions declare_fit(CLI::App* sub);

/// Writes `text` atomically to `path`, or to stdout when `path` is empty.
void emit(const std::string& path, const std::string& text);

/// Writes "key=value" pairs etc. with full precision (%.17g).
std::string g17(double x);

void setup_info(CLI::App& app, Registry& r);
void setup_mix(CLI::App& app, Registry& r);
void setup_bench(CLI::App& app, Registry& r);
void setup_tour(CLI::App& app, Registry& r);
void setup_analyze(CLI::App& app, Registry& r);
void setup_depth(CLI::App& app, Registry& r);
void setup_propagate(CLI::App& app, Registry& r);
void setup_run(CLI::App& app, Registry& r);
void setup_fit(CLI::App& app, Registry& r);
void setup_plot(CLI::App& app, Registry& r);
void setup_notebook(CLI::App& app, Registry& r);
void setup_train(CLI::App& app, Registry& r);

inline void setup_all(CLI::App& app, Registry& r) {
  setup_mix(app, r);
  setup_analyze(app, r);
  setup_depth(app, r);
  setup_propagate(app, r);
  setup_train(app, r);
  setup_fit(app, r);
  setup_run(app, r);
  setup_plot(app, r);
  setup_notebook(app, r);
  setup_bench(app, r);
  setup_tour(app, r);
  setup_info(app, r);
}

}  // namespace mhclab::app
