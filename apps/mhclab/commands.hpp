#pragma once
// The verbs of the CLI: each cmd_<verb>.cpp has a setup_<verb> that declares its options (the library kind's
// OptionSet, kinds/option_set.hpp, plus the verb's file options) and registers the run function.
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mhclab/kinds/option_set.hpp"

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

/// Declares every option of `s` on `sub` as --key (aliases as --alias; switches as flags). CLI11 hands each value's
/// text to the option's own parser (kinds/option_set.hpp), so the command line, experiment files and training
/// configurations accept the same names and values and get the same messages; --help shows the library's defaults.
void add_option_set(CLI::App* sub, const OptionSet& s);

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
void setup_merge(CLI::App& app, Registry& r);
void setup_fit(CLI::App& app, Registry& r);
void setup_plot(CLI::App& app, Registry& r);
void setup_notebook(CLI::App& app, Registry& r);
void setup_train(CLI::App& app, Registry& r);
void setup_conform(CLI::App& app, Registry& r);

inline void setup_all(CLI::App& app, Registry& r) {
  setup_mix(app, r);
  setup_analyze(app, r);
  setup_depth(app, r);
  setup_propagate(app, r);
  setup_train(app, r);
  setup_fit(app, r);
  setup_conform(app, r);
  setup_run(app, r);
  setup_merge(app, r);
  setup_plot(app, r);
  setup_notebook(app, r);
  setup_bench(app, r);
  setup_tour(app, r);
  setup_info(app, r);
}

}  // namespace mhclab::app
