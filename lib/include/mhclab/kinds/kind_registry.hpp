#pragma once
// The experiment kinds by name (`kind = "…"` in experiment files): depth, propagate, mix, train, fit. One row per
// kind with what the sweep runner needs to know about it; a KindRequest is one kind's options struct (every default)
// with its OptionSet, so a caller that holds options as text — the sweep runner, a training configuration, another
// language's keywords — sets them by name and runs the kind's library function, with no command line in between.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/io/atomic_file.hpp"
#include "mhclab/kinds/option_set.hpp"

namespace mhclab {

/// One kind's options and its run. Not copyable: the OptionSet refers to the options it owns.
class KindRequest {
 public:
  KindRequest() = default;
  KindRequest(const KindRequest&) = delete;
  KindRequest& operator=(const KindRequest&) = delete;
  virtual ~KindRequest() = default;

  /// The kind's options by name (set them, then validate or run).
  [[nodiscard]] OptionSet& options() { return options_; }
  [[nodiscard]] const OptionSet& options() const { return options_; }
  /// Throws InputError naming the field, as the run would (nothing is computed).
  virtual void validate() const = 0;
  /// Runs the kind and hands its result's CSV text (the bytes `mhclab <kind> --out` writes) to `sink` in order, as it
  /// is produced where the kind streams its rows (depth: kinds/depth.hpp write_depth_kind_csv), so a large result
  /// never exists whole. `sink` is called one piece at a time, possibly from the kind's worker threads.
  virtual void write_csv(const ByteSink& sink) const = 0;
  /// The same text in consecutive pieces.
  [[nodiscard]] std::vector<std::string> csv() const;

 protected:
  OptionSet options_;
};

struct KindInfo {
  std::string name;
  std::vector<std::string> row_keys;  ///< columns naming a row within a seed's rows (besides `seed`)
  /// Options a sweep may not set: seed and threads (the runner's), and the command line's file options.
  std::vector<std::string> reserved;
};

/// Every kind, in the order of CLI.md.
[[nodiscard]] const std::vector<KindInfo>& experiment_kinds();
/// The row of `name`; InputError "unknown kind 'x'; expected depth|propagate|mix|train|fit".
[[nodiscard]] const KindInfo& experiment_kind(std::string_view name);
/// A fresh request of kind `name` with the library's defaults.
[[nodiscard]] std::unique_ptr<KindRequest> make_kind_request(std::string_view name);

}  // namespace mhclab
