// model/train_network.hpp stream_diagnostics: the collapse diagnostics of the training network's residual streams.
#include <doctest/doctest.h>

#include <cmath>

#include "mhclab/core/error.hpp"
#include "mhclab/model/propagation.hpp"
#include "mhclab/model/train_network.hpp"
#include "support/check.hpp"

using namespace mhclab;

namespace {
NetworkOptions network(MethodId method, Mapping mapping, double gain) {
  NetworkOptions o;
  o.method.method = method;
  o.method.n = 4;
  o.layers = 5;
  o.width = 6;
  o.outputs = 3;
  o.mapping = mapping;
  o.gain = gain;
  return o;
}
}  // namespace

TEST_SUITE("model_train") {
  TEST_CASE("stream diagnostics: identical streams with the branch off; pre/post at init; bounds") {
    // The input puts the token into every stream; with gain 0 the layer is X ← H X, and a matrix with unit row sums
    // maps identical rows to identical rows: share exactly balanced (1/n) and correlation 1, to round-off (1e-12: a
    // few O(1) sums of n·C terms).
    for (const MethodId m : {MethodId::MHCLite, MethodId::IsoHC, MethodId::Circulant}) {
      CAPTURE(std::string(method_table.to_string(m)));
      const TrainNetwork net = make_network(network(m, Mapping::Static, 0.0), 3);
      const Vec p = initial_parameters(net);
      const TrainBatch batch = make_batch(net, 0, 8, true);
      const StreamDiagnostics d = stream_diagnostics(net, p, batch);
      MHCLAB_CHECK_NEAR(d.dominant_share, 0.25, 1e-12, 0.0);
      MHCLAB_CHECK_NEAR(d.stream_correlation, 1.0, 1e-12, 0.0);
      // At init the static pre/post are those of the layer model (mHC Eq. 8), so their layer means are too.
      Vec pre = Vec::Zero(4), post = Vec::Zero(4);
      for (Index l = 0; l < 5; ++l) {
        const PrePost pp = static_pre_post(m, 4, l);
        pre += pp.pre / 5.0;
        post += pp.post / 5.0;
      }
      REQUIRE(d.pre.size() == 4);
      for (Index i = 0; i < 4; ++i) {
        MHCLAB_CHECK_NEAR(d.pre[i], pre[i], 1e-15, 0.0);
        MHCLAB_CHECK_NEAR(d.post[i], post[i], 1e-14, 0.0);
      }
    }
    // With the branch on and dynamic mappings: the share lies in [1/n, 1], the correlation in [−1, 1].
    for (const Mapping mp : {Mapping::Static, Mapping::Dynamic}) {
      const TrainNetwork net = make_network(network(MethodId::HC, mp, 1.0), 4);
      const StreamDiagnostics d = stream_diagnostics(net, initial_parameters(net), make_batch(net, 0, 8, true));
      CHECK(d.dominant_share >= 0.25 - 1e-15);
      CHECK(d.dominant_share <= 1.0);
      CHECK(std::fabs(d.stream_correlation) <= 1.0 + 1e-12);
    }
    const TrainNetwork net = make_network(network(MethodId::HC, Mapping::Static, 1.0), 4);
    CHECK_THROWS_AS((void)stream_diagnostics(net, Vec::Zero(3), make_batch(net, 0, 8, true)), InputError);
  }
}
