// The experiment kinds by name: see mhclab/kinds/kind_registry.hpp.
#include "mhclab/kinds/kind_registry.hpp"

#include "mhclab/core/error.hpp"
#include "mhclab/kinds/depth.hpp"
#include "mhclab/kinds/fit.hpp"
#include "mhclab/kinds/mix.hpp"
#include "mhclab/kinds/propagate.hpp"
#include "mhclab/kinds/train.hpp"

namespace mhclab {

namespace {
/// A request over an options struct `O`, bound by `bind`, checked by `check` (what `run` needs) and run by `run`
/// (the kind's library function).
template <class O, void (*Bind)(OptionSet&, O&), void (*Check)(const O&), void (*Run)(const O&, const ByteSink&)>
class Request final : public KindRequest {
 public:
  Request() { Bind(options_, o_); }
  void validate() const override { Check(o_); }
  void write_csv(const ByteSink& sink) const override { Run(o_, sink); }

 private:
  O o_;
};

template <class O>
void check(const O& o) {
  o.validate();
}
/// depth streams its rows: its memory check counts the blocks in flight.
void check_depth(const DepthKindOptions& o) { o.validate_streamed(); }
void run_depth(const DepthKindOptions& o, const ByteSink& sink) { (void)write_depth_kind_csv(o, sink); }
void run_propagate(const PropagateKindOptions& o, const ByteSink& sink) { propagate_kind(o).write_csv(sink, o.threads); }
void run_mix(const MixKindOptions& o, const ByteSink& sink) { mix_kind(o).write_csv(sink, o.threads); }
void run_train(const TrainKindOptions& o, const ByteSink& sink) { train_kind(o).write_csv(sink, o.threads); }
void run_fit(const FitKindOptions& o, const ByteSink& sink) { fit_kind(o).write_csv(sink, o.threads); }
}  // namespace

std::vector<std::string> KindRequest::csv() const {
  std::vector<std::string> out;
  write_csv([&](std::string_view b) { out.emplace_back(b); });
  return out;
}

const std::vector<KindInfo>& experiment_kinds() {
  static const std::vector<KindInfo> k{
      {"depth", {"step", "depth", "kind"}, {"seed", "threads", "out", "save-matrices", "aggregate"}},
      {"propagate", {"step", "layer"}, {"seed", "threads", "out"}},
      {"mix", {}, {"seed", "threads", "out", "logits"}},
      {"train", {"step"}, {"seed", "threads", "out", "force"}},
      {"fit", {}, {"seed", "threads", "out"}},
  };
  return k;
}

const KindInfo& experiment_kind(std::string_view name) {
  std::string names;
  for (const KindInfo& k : experiment_kinds()) {
    if (k.name == name) return k;
    names += (names.empty() ? "" : "|") + k.name;
  }
  throw InputError("unknown kind '" + std::string(name) + "'; expected " + names);
}

std::unique_ptr<KindRequest> make_kind_request(std::string_view name) {
  const std::string& k = experiment_kind(name).name;
  if (k == "depth") return std::make_unique<Request<DepthKindOptions, bind_depth_options, check_depth, run_depth>>();
  if (k == "propagate")
    return std::make_unique<
        Request<PropagateKindOptions, bind_propagate_options, check<PropagateKindOptions>, run_propagate>>();
  if (k == "mix") return std::make_unique<Request<MixKindOptions, bind_mix_options, check<MixKindOptions>, run_mix>>();
  if (k == "train")
    return std::make_unique<Request<TrainKindOptions, bind_train_options, check<TrainKindOptions>, run_train>>();
  return std::make_unique<Request<FitKindOptions, bind_fit_options, check<FitKindOptions>, run_fit>>();
}

}  // namespace mhclab
