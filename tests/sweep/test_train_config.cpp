// sweep/train_config.hpp: the training configuration file applied to the train kind's options.
#include <doctest/doctest.h>

#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/kinds/train.hpp"
#include "mhclab/sweep/train_config.hpp"

using namespace mhclab;

namespace {
struct Bound {
  TrainKindOptions o;
  OptionSet s;
  Bound() { bind_train_options(s, o); }
};
std::string error_of(const std::string& text) {
  Bound b;
  try {
    apply_train_config(text, "c.toml", b.s);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_SUITE("sweep") {
  TEST_CASE("train config: flat or [train] tables set the options; keep() wins; bad files name the line") {
    Bound flat;
    apply_train_config("method = \"circulant\"\ngamma = 0.25\nlayers = 7\nsnapshot-steps = [0, 5]\n", "c.toml", flat.s);
    CHECK(flat.o.train.network.method.method == MethodId::Circulant);
    CHECK(flat.o.train.network.method.gamma == 0.25);
    CHECK(flat.o.train.network.layers == 7);
    CHECK(flat.o.train.snapshot_steps == std::vector<Index>{0, 5});
    Bound section;
    apply_train_config("[train]\nlayers = 9\nlr = 0.5\n", "c.toml", section.s,
                       [](const std::string& key) { return key == "lr"; });
    CHECK(section.o.train.network.layers == 9);
    CHECK(section.o.train.lr == TrainKindOptions{}.train.lr);  // kept: the command line gave it
    CHECK(error_of("threads = 2\n").find("c.toml:1: unknown key 'threads'") != std::string::npos);
    CHECK(error_of("nosuch = 1\n").find("unknown key 'nosuch'") != std::string::npos);
    CHECK(error_of("layers = 3\n[train]\nn = 4\n").find("keys outside the [train] table") != std::string::npos);
    CHECK(error_of("layers = \"x\"\n").find("c.toml:1: key 'layers'") != std::string::npos);
    CHECK(error_of("snapshot-steps = [1.5]\n").find("non-integer") != std::string::npos);
    CHECK(error_of("layers = [\n").find("c.toml:") == 0);
    std::string deep = "a = ";
    for (int k = 0; k < 100; ++k) deep += "[";
    CHECK(error_of(deep).find("c.toml") != std::string::npos);
  }
}
