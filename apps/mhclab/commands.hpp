#pragma once
// The verbs of the CLI: each cmd_<verb>.cpp has a setup_<verb> that declares its options (one options
// struct per verb) and registers the run function.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/mixing/method.hpp"

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

/// Writes "key=value" pairs etc. with full precision (%.17g).
std::string g17(double x);

void setup_info(CLI::App& app, Registry& r);
void setup_mix(CLI::App& app, Registry& r);
void setup_bench(CLI::App& app, Registry& r);
void setup_tour(CLI::App& app, Registry& r);
void setup_analyze(CLI::App& app, Registry& r);

inline void setup_all(CLI::App& app, Registry& r) {
  setup_mix(app, r);
  setup_analyze(app, r);
  setup_bench(app, r);
  setup_tour(app, r);
  setup_info(app, r);
}

}  // namespace mhclab::app
