#pragma once
// The readers of untrusted bytes, each as one entry point: the libFuzzer targets (fuzz/fuzz_<reader>.cpp) and the
// corpus replay test (tests/fuzz/test_fuzz_replay.cpp) call the same functions. A malformed input must end in
// InputError (caught here); anything else — another exception, a crash, a leak, undefined behaviour, a hang — is a
// finding.
#include <string>
#include <string_view>

#include "mhclab/core/error.hpp"
#include "mhclab/io/checkpoint.hpp"
#include "mhclab/io/csv.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"
#include "mhclab/sweep/train_config.hpp"
#include "mhclab/kinds/train.hpp"

namespace mhclab::fuzz {

template <class F>
inline void expect_input_error_only(F&& f) {
  try {
    f();
  } catch (const InputError&) {
  }
}

/// .npy: header, dtype, shape, payload.
inline void npy(std::string_view bytes) { expect_input_error_only([&] { (void)parse_npy(bytes, "fuzz.npy"); }); }

/// .safetensors: the header and every tensor it names.
inline void safetensors(std::string_view bytes) {
  expect_input_error_only([&] {
    const SafetensorsHeader h = parse_safetensors_header(bytes, bytes.size(), "fuzz.safetensors");
    for (const SafetensorsEntry& e : h.tensors)
      expect_input_error_only([&] { (void)parse_safetensors(bytes, e.name, "fuzz.safetensors"); });
  });
}

/// A sharded checkpoint's model.safetensors.index.json.
inline void checkpoint_index(std::string_view text) {
  expect_input_error_only([&] { (void)parse_checkpoint_index(text, "fuzz.index.json"); });
}

/// CSV: a numeric table, a long-form stack, and the text table of results.
inline void csv(std::string_view text) {
  expect_input_error_only([&] { (void)parse_csv_table(text, "fuzz.csv"); });
  expect_input_error_only([&] { (void)parse_csv_long(text, "fuzz.csv", {"layer"}); });
  expect_input_error_only([&] { (void)parse_table(text, "fuzz.csv"); });
}

/// Experiment files (TOML), parsed and expanded into their grid.
inline void experiment(std::string_view text) {
  expect_input_error_only([&] { (void)expand_grid(parse_experiment(std::string(text), "fuzz.toml")); });
}

/// Training configuration files (TOML) applied to the train kind's options, then validated.
inline void train_config(std::string_view text) {
  expect_input_error_only([&] {
    TrainKindOptions o;
    OptionSet options;
    bind_train_options(options, o);
    apply_train_config(text, "fuzz.toml", options);
    o.validate();
  });
}

}  // namespace mhclab::fuzz
