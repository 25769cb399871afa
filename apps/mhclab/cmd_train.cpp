// `mhclab train [CONFIG.toml] [--option value ...] [--out DIR] [--threads T] [--force]` (CLI.md, SPEC §7): the training
// harness of model/train.hpp through the train experiment kind (kinds/train.hpp: its options by name, its tables).
//
// CONFIG.toml holds the same keys as the command-line options (kebab-case, without the dashes), either as a flat
// top-level table or inside a [train] table (not both); lists (snapshot-steps) may be TOML arrays or "0,50,100".
// Options given on the command line override the file. Unknown keys and bad values are input errors naming the
// key and file:line.
//
// Without --out the per-step CSV goes to stdout and nothing else is written. With --out DIR (created if needed;
// a non-empty DIR is refused unless --force, which overwrites the files below) every file is written atomically:
//   steps.csv      one row per logged step: step,loss,accuracy,grad_norm,fwd_amax_max,log10_fwd_amax_max,
//                  fwd_amax_min,log10_fwd_amax_min,bwd_amax_max,log10_bwd_amax_max,bwd_amax_min,log10_bwd_amax_min,
//                  jac_smax_min,jac_smax_max (rows up to the last finite step)
//   h_res.npy      H_res snapshots: static (steps, L, n, n); dynamic (steps, tokens, L, n, n) on the probe batch
//   h_res_bias.npy dynamic only: (steps, L, n, n) of H(b_res)
//   config.toml    the resolved configuration (every key, a flat table; re-runs the same training)
//   manifest.json  version, commit, build, command line, resolved config, seed, threads, status, diverged_step,
//                  steps_done, snapshot_steps, shapes, parameter count, wall time
// A diverged run (status = diverged) is a normal result: exit 0.
#include <fmt/core.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands.hpp"
#include "mhclab/core/run_manifest.hpp"
#include "mhclab/core/error.hpp"
#include "mhclab/core/parallel.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/sweep/train_config.hpp"
#include "mhclab/kinds/train.hpp"

namespace mhclab::app {

namespace {
namespace fs = std::filesystem;

struct TrainCli {
  std::string config;
  TrainKindOptions o;  ///< every training option (the library's defaults)
  OptionSet options;
  std::string out;
  bool force = false;
};

/// Keys that are not part of the training configuration (not written to config.toml).
bool is_run_key(const std::string& k) { return k == "threads"; }

/// Applies CONFIG.toml to the options that were not given on the command line.
void apply_config(const TrainCli& c, CLI::App* sub) {
  apply_train_config(read_file_bytes(c.config), c.config, c.options,
                     [sub](const std::string& key) { return sub->count("--" + key) > 0; });
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  (void)std::strtod(s.c_str(), &end);
  return *end == '\0';
}

/// The resolved configuration: every training option (not threads) with its value, in declaration order.
std::vector<std::pair<std::string, std::string>> resolved_config(const OptionSet& options) {
  std::vector<std::pair<std::string, std::string>> kv;
  for (const OptionSpec& o : options.specs())
    if (!is_run_key(o.key)) kv.emplace_back(o.key, o.get());
  return kv;
}

std::string config_toml(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string s = "# mhclab train: resolved configuration (mhclab train config.toml re-runs it)\n";
  for (const auto& [k, v] : kv) {
    const bool bare = is_number(v) || v == "true" || v == "false";
    s += k + " = " + (bare ? v : nlohmann::json(v).dump()) + "\n";
  }
  return s;
}


int run_train(const TrainCli& c, CLI::App* sub) {
  if (!c.config.empty()) apply_config(c, sub);
  c.o.validate();
  const TrainOptions& o = c.o.train;
  if (!c.out.empty()) {
    const fs::path dir(c.out);
    if (fs::exists(dir) && !fs::is_directory(dir))
      throw InputError("--out " + c.out + ": exists and is not a directory");
    if (fs::exists(dir) && !fs::is_empty(dir) && !c.force)
      throw InputError("--out " + c.out + ": directory is not empty; use --force to overwrite its results");
    fs::create_directories(dir);
  }
  if (c.o.seeds > 1) {
    if (!c.out.empty())
      throw InputError("--seeds " + std::to_string(c.o.seeds) + " with --out: a results directory holds one run; "
                       "drop --out (CSV of every seed to stdout) or sweep seeds with `mhclab run`");
    fmt::print("{}", train_kind(c.o).to_csv());
    return 0;
  }
  const std::string started = utc_now();
  const TrainSummary s = train(o, c.o.threads);
  const std::string csv = train_log_table(s.log).to_csv();
  if (c.out.empty()) {
    fmt::print("{}", csv);
  } else {
    const fs::path dir(c.out);
    write_file_atomically((dir / "steps.csv").string(), csv);
    write_npy((dir / "h_res.npy").string(), NpyArray{s.snapshot_shape, s.snapshots});
    if (!s.snapshot_bias_shape.empty())
      write_npy((dir / "h_res_bias.npy").string(), NpyArray{s.snapshot_bias_shape, s.snapshots_bias});
    const auto kv = resolved_config(c.options);
    write_file_atomically((dir / "config.toml").string(), config_toml(kv));
    std::string cmd = "mhclab train";
    if (!c.config.empty()) cmd += " " + c.config;
    for (const CLI::Option* op : sub->get_options())
      if (!op->get_lnames().empty() && op->count() > 0 && op->get_lnames().front() != "help") {
        if (op->get_expected_max() == 0) cmd += " --" + op->get_lnames().front();  // a switch: no value
        else
          for (const std::string& r : op->results()) cmd += " --" + op->get_lnames().front() + " " + r;
      }
    using J = nlohmann::ordered_json;
    J cfg = J::object();
    for (const auto& [k, v] : kv) cfg[k] = v;
    std::vector<std::pair<std::string, std::string>> fields{
        {"command", J(cmd).dump()},
        {"config", cfg.dump()},
        {"seed", J(o.seed).dump()},
        {"threads", J(resolve_threads(c.o.threads)).dump()},
        {"status", J(s.status).dump()},
    };
    if (s.diverged_step >= 0) fields.emplace_back("diverged_step", J(s.diverged_step).dump());
    fields.emplace_back("steps_done", J(s.steps_done).dump());
    fields.emplace_back("logged_rows", J(s.log.size()).dump());
    fields.emplace_back("parameters", J(s.parameters).dump());
    fields.emplace_back("snapshot_steps", J(s.snapshot_steps).dump());
    fields.emplace_back("h_res_shape", J(s.snapshot_shape).dump());
    if (!s.snapshot_bias_shape.empty()) fields.emplace_back("h_res_bias_shape", J(s.snapshot_bias_shape).dump());
    fields.emplace_back("files", J(s.snapshot_bias_shape.empty()
                                       ? std::vector<std::string>{"steps.csv", "h_res.npy", "config.toml", "manifest.json"}
                                       : std::vector<std::string>{"steps.csv", "h_res.npy", "h_res_bias.npy",
                                                                  "config.toml", "manifest.json"})
                                     .dump());
    fields.emplace_back("started", J(started).dump());
    fields.emplace_back("finished", J(utc_now()).dump());
    fields.emplace_back("wall_seconds", J(s.wall_seconds).dump());
    write_file_atomically((dir / "manifest.json").string(), manifest_json(fields));
  }
  const TrainStep* last = s.log.empty() ? nullptr : &s.log.back();
  fmt::print(stderr, "mhclab train: {} {} n = {} L = {} C = {}: status {}{}, {} step(s), loss {} -> {}, {:.2f} s{}\n",
             method_table.to_string(o.network.method.method), mapping_table.to_string(o.network.mapping),
             o.network.method.n, o.network.layers, o.network.width, s.status,
             s.diverged_step >= 0 ? fmt::format(" at step {}", s.diverged_step) : std::string(), s.steps_done,
             s.log.empty() ? std::string("-") : g17(s.log.front().loss), last ? g17(last->loss) : std::string("-"),
             s.wall_seconds, c.out.empty() ? std::string() : ", wrote " + c.out);
  return 0;
}
}  // namespace

void setup_train(CLI::App& app, Registry& r) {
  CLI::App* sub =
      app.add_subcommand("train", "Training harness (SPEC §7): train the §5 network, log gains, snapshot H_res");
  auto c = std::make_shared<TrainCli>();
  sub->add_option("config", c->config, "Configuration file (TOML: the option names as keys, flat or in [train])");
  bind_train_options(c->options, c->o);
  add_option_set(sub, c->options);
  sub->add_option("--out", c->out, "Results directory (default: the CSV to stdout, no files)");
  sub->add_flag("--force", c->force, "Write into a non-empty --out directory (overwrites the result files)");
  r.add(sub, [c, sub] { return run_train(*c, sub); });
}

}  // namespace mhclab::app
