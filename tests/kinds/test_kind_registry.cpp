// kinds/kind_registry.hpp: every experiment kind by name — its options (the runner's seed and threads among them),
// the request's CSV equal to the kind's library function with the same options, and tables that do not depend on
// the thread count.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/kinds/depth.hpp"
#include "mhclab/kinds/fit.hpp"
#include "mhclab/kinds/kind_registry.hpp"
#include "mhclab/kinds/mix.hpp"
#include "mhclab/kinds/propagate.hpp"
#include "mhclab/kinds/train.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;

namespace {
std::string joined(const std::vector<std::string>& chunks) {
  std::string s;
  for (const std::string& c : chunks) s += c;
  return s;
}

/// A small request of each kind, set by name as an experiment file would.
std::unique_ptr<KindRequest> small(const std::string& kind, const std::string& threads) {
  auto r = make_kind_request(kind);
  OptionSet& s = r->options();
  s.set("method", "mhc");
  s.set("n", "3");
  s.set("seeds", "3");
  s.set("seed", "11");
  s.set("threads", threads);
  if (kind == "depth" || kind == "propagate") s.set("layers", "4");
  if (kind == "propagate") s.set("width", "5");
  if (kind == "fit") s.set("fit-steps", "20");
  if (kind == "train") {
    s.set("layers", "2");
    s.set("width", "4");
    s.set("steps", "2");
    s.set("batch", "4");
    s.set("seeds", "2");
  }
  return r;
}
}  // namespace

TEST_SUITE("kinds_registry") {
  TEST_CASE("every kind has the runner's options and validates by name") {
    for (const KindInfo& k : experiment_kinds()) {
      CAPTURE(k.name);
      auto r = make_kind_request(k.name);
      CHECK(r->options().find("seed") != nullptr);
      CHECK(r->options().find("threads") != nullptr);
      CHECK(r->options().find("method") != nullptr);
      for (const std::string& reserved : k.reserved) CHECK(!reserved.empty());
      small(k.name, "1")->validate();
      auto bad = small(k.name, "1");
      bad->options().set("n", "0");
      CHECK(input_error_of([&] { bad->validate(); }).find("n = 0") != std::string::npos);
    }
    CHECK(input_error_of([] { (void)experiment_kind("fitt"); }) == "unknown kind 'fitt'; expected depth|propagate|mix|train|fit");
  }

  TEST_CASE("a request by name gives the bytes of the library function with the same options") {
    PropagateKindOptions p;
    p.method.n = 3;
    p.stack.layers = 4;
    p.propagation.width = 5;
    p.seeds = 3;
    p.first_seed = 11;
    p.threads = 1;
    CHECK(joined(small("propagate", "1")->csv()) == propagate_kind(p).to_csv());

    FitKindOptions f;
    f.method.n = 3;
    f.fit.steps = 20;
    f.seeds = 3;
    f.first_seed = 11;
    CHECK(joined(small("fit", "1")->csv()) == fit_kind(f).to_csv());

    MixKindOptions m;
    m.method.n = 3;
    m.seeds = 3;
    m.first_seed = 11;
    CHECK(joined(small("mix", "1")->csv()) == mix_kind(m).to_csv());

    DepthKindOptions d;
    d.method.n = 3;
    d.stack.layers = 4;
    d.seeds = 3;
    d.first_seed = 11;
    CHECK(joined(small("depth", "1")->csv()) == depth_kind(d).csv());
  }

  TEST_CASE("tables do not depend on the thread count") {
    for (const KindInfo& k : experiment_kinds()) {
      CAPTURE(k.name);
      CHECK(joined(small(k.name, "1")->csv()) == joined(small(k.name, "2")->csv()));
    }
  }

  TEST_CASE("train: one seed's rows are its run's log with the seed prepended") {
    TrainKindOptions o;
    o.train.network.method.n = 3;
    o.train.network.layers = 2;
    o.train.network.width = 4;
    o.train.steps = 2;
    o.train.batch = 4;
    o.train.seed = 5;
    o.threads = 1;
    const ResultTable t = train_kind(o);
    const ResultTable log = train_log_table(train(o.train, 1).log);
    REQUIRE(t.rows() == log.rows());
    REQUIRE(t.columns().size() == log.columns().size() + 1);
    for (std::size_t r = 0; r < t.rows(); ++r) {
      CHECK(t.cell_text(r, 0) == "5");
      for (std::size_t c = 0; c < log.columns().size(); ++c) CHECK(t.cell_text(r, c + 1) == log.cell_text(r, c));
    }
  }
}
