// `mhclab info`: version, git commit, compiler and flags, dependency versions, thread count.
#include <CLI/Version.hpp>
#include <Eigen/Core>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "commands.hpp"
#include "mhclab/core/build_info.hpp"

namespace mhclab::app {

void setup_info(CLI::App& app, Registry& r) {
  CLI::App* sub = app.add_subcommand("info", "Version, git commit, compiler and flags, dependency versions, threads");
  r.add(sub, [] {
    const BuildInfo b = build_info();
    fmt::print("mhclab {}\n", b.version);
    fmt::print("commit: {}\n", b.commit);
    fmt::print("build type: {}\n", b.build_type);
    fmt::print("compiler: {}\n", b.compiler);
    fmt::print("flags: {}\n", b.flags);
    fmt::print("native: {}\n", b.native);
    fmt::print("eigen: {}.{}.{}\n", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);
    fmt::print("fmt: {}.{}.{}\n", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100);
    fmt::print("cli11: {}\n", CLI11_VERSION);
    fmt::print("nlohmann_json: {}.{}.{}\n", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
               NLOHMANN_JSON_VERSION_PATCH);
    fmt::print("threads: {}\n", std::thread::hardware_concurrency());
    return 0;
  });
}

}  // namespace mhclab::app
