// mhclab: thin CLI over the library (CLI.md). One setup_x/run_x pair per verb in cmd_<verb>.cpp; exit codes
// mapped here: 0 ok, 2 bad usage/input (InputError, CLI11 parse errors), 1 failed computation.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <new>

#include "mhclab/core/error.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  // A file-size limit (ulimit -f) makes write() fail with EFBIG instead of killing the process: the atomic writers
  // then remove their temporary file and report the error.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"mhclab: depth stability of residual mixing matrices (ResNet, HC, mHC, mHC-lite, KromHC, TBP)"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every verb");
  mhclab::app::Registry verbs;
  mhclab::app::setup_all(app, verbs);
  try {
    try {
      app.parse(argc, argv);  // option values are parsed here by the library's parsers (InputError)
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);
      return rc == 0 ? 0 : 2;
    }
    return verbs.run_selected();
  } catch (const mhclab::InputError& e) {
    std::fprintf(stderr, "mhclab: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mhclab: computation failed: out of memory (the request needs more memory than the machine "
                         "could give; make it smaller)\n");
    return 1;
  } catch (const mhclab::ComputeError& e) {
    std::fprintf(stderr, "mhclab: computation failed: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mhclab: internal error: %s\n", e.what());
    return 1;
  }
}
