// kinds/depth.hpp: the depth kind's selections (kinds, metrics) against the full table, the stream engine against
// the dense one, thread independence and the refusals.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/io/table.hpp"
#include "mhclab/kinds/depth.hpp"

using namespace mhclab;

namespace {

DepthKindOptions mhc_options(Index n, Index layers, Index seeds) {
  DepthKindOptions o;
  o.method.method = MethodId::MHC;
  o.method.n = n;
  o.stack.kind = GeneratorKind::Random;
  o.stack.layers = layers;
  o.seeds = seeds;
  o.first_seed = 7;
  o.threads = 1;
  return o;
}

/// The rows of `t` whose kind is in `kinds`, restricted to `columns` (as text).
std::vector<std::vector<std::string>> pick(const Table& t, const std::vector<std::string>& columns,
                                           const std::vector<std::string>& kinds) {
  std::vector<std::vector<std::string>> out;
  const std::size_t kind_col = t.column("kind", "test");
  for (const auto& row : t.rows) {
    bool keep = false;
    for (const auto& k : kinds) keep = keep || row[kind_col] == k;
    if (!keep) continue;
    std::vector<std::string> r;
    for (const auto& c : columns) r.push_back(row[t.column(c, "test")]);
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_SUITE("kinds_depth") {
  TEST_CASE("a selection of kinds and metrics gives exactly those cells of the full table (dense engine)") {
    for (MethodId m : {MethodId::MHC, MethodId::HC, MethodId::TBP}) {
      DepthKindOptions o = mhc_options(3, 12, 2);
      o.method.method = m;
      o.engine = DepthEngine::Dense;
      const Table full = parse_table(depth_kind(o).csv(), "full");
      for (const std::vector<std::string>& metrics :
           std::vector<std::vector<std::string>>{{"sigma_max"},
                                                 {"fwd_gain", "bwd_gain", "log10_sigma_max"},
                                                 {"collapse", "lambda2", "min_entry"},
                                                 {"cond", "effective_rank", "spectral_radius_resolved"}}) {
        DepthKindOptions s = o;
        s.table.kinds = {ProductKind::Suffix, ProductKind::Prefix};  // written in table order all the same
        s.table.metrics = metrics;
        const DepthKindResult r = depth_kind(s);
        CHECK(r.engine == DepthEngine::Dense);
        const Table sel = parse_table(r.csv(), "selected");
        std::vector<std::string> expect_header{"seed", "step", "depth", "kind"};
        std::vector<std::string> ordered;  // the full table's column order
        for (const auto& c : full.header)
          for (const auto& want : metrics)
            if (c == want) ordered.push_back(c);
        expect_header.insert(expect_header.end(), ordered.begin(), ordered.end());
        CHECK(sel.header == expect_header);
        std::vector<std::string> cols{"seed", "step", "depth", "kind"};
        cols.insert(cols.end(), ordered.begin(), ordered.end());
        CHECK(pick(sel, cols, {"prefix", "suffix"}) == pick(full, cols, {"prefix", "suffix"}));
        CHECK(sel.rows.size() == 2 * 2 * 12);
      }
    }
  }

  TEST_CASE("the stream engine agrees with the dense engine to 1e-12 relative (batched n = 4, scalar n = 9)") {
    // Tolerance: the engines differ by last-bit effects only (normals ≤ 4 ulp, Sinkhorn ≤ 1 ulp per entry,
    // product summation order, σ_max by Jacobi vs SVD: ≤ ~1e-14 relative, kinds/depth.hpp); 1e-12 leaves room
    // for the growth of those differences over 24 layers of well-conditioned DS products.
    for (Index n : {Index{4}, Index{9}}) {
      DepthKindOptions o = mhc_options(n, 24, n == 4 ? 21 : 3);  // 21: a full block of 16 and a partial one
      o.table.metrics = {"fwd_gain", "bwd_gain", "sigma_max", "log10_fwd_gain", "log10_bwd_gain", "log10_sigma_max"};
      o.engine = DepthEngine::Dense;
      const Table dense = parse_table(depth_kind(o).csv(), "dense");
      o.engine = DepthEngine::Auto;
      const DepthKindResult sr = depth_kind(o);
      CHECK(sr.engine == DepthEngine::Stream);
      const Table stream = parse_table(sr.csv(), "stream");
      REQUIRE(stream.header == dense.header);
      REQUIRE(stream.rows.size() == dense.rows.size());
      double worst = 0.0;
      for (std::size_t r = 0; r < dense.rows.size(); ++r)
        for (std::size_t c = 0; c < dense.header.size(); ++c) {
          if (c == 3) {
            CHECK(stream.rows[r][c] == dense.rows[r][c]);
            continue;
          }
          const double a = *table_number(dense.rows[r][c]), b = *table_number(stream.rows[r][c]);
          const bool is_log = dense.header[c].rfind("log10_", 0) == 0;
          // log10 columns: absolute 1e-12 (a relative error δ of the value is δ/ln 10 there).
          const double err = is_log ? std::fabs(a - b) : std::fabs(a - b) / std::max(std::fabs(a), 1e-300);
          worst = std::max(worst, err);
        }
      MESSAGE("n = " << n << ": worst stream/dense difference " << worst);
      CHECK(worst <= 1e-12);
    }
  }

  TEST_CASE("the stream engine's text does not depend on the thread count") {
    DepthKindOptions o = mhc_options(4, 10, 40);
    o.table.kinds = {ProductKind::Layer, ProductKind::Suffix};
    o.table.metrics = {"fwd_gain", "sigma_max"};
    o.threads = 1;
    const std::string one = depth_kind(o).csv();
    o.threads = 2;
    CHECK(depth_kind(o).csv() == one);
    o.threads = 3;
    CHECK(depth_kind(o).csv() == one);
  }

  TEST_CASE("write_depth_kind_csv streams exactly the bytes of depth_kind's CSV (both engines, any thread count)") {
    const auto streamed = [](const DepthKindOptions& o) {
      std::string text;
      (void)write_depth_kind_csv(o, [&](std::string_view b) { text.append(b); });
      return text;
    };
    DepthKindOptions o = mhc_options(4, 12, 203);  // 13 blocks of 16 seeds, the last one partial
    o.table.kinds = {ProductKind::Prefix, ProductKind::Suffix};
    o.table.metrics = {"fwd_gain", "bwd_gain", "sigma_max", "log10_sigma_max"};
    const std::string stream = depth_kind(o).csv();
    CHECK(stream.size() > 1000);
    for (const int threads : {1, 2, 3, 4}) {
      o.threads = threads;
      CHECK(streamed(o) == stream);
    }
    o.engine = DepthEngine::Dense;  // one block per seed
    o.seeds = 5;
    o.table.metrics = {"fwd_gain", "effective_rank", "status"};
    o.threads = 1;
    const std::string dense = depth_kind(o).csv();
    o.threads = 2;
    CHECK(streamed(o) == dense);
    o.aggregate = true;
    CHECK(streamed(o) == depth_kind(o).csv());
    // Errors come before any byte.
    o.seeds = 0;
    std::string none;
    CHECK_THROWS_AS((void)write_depth_kind_csv(o, [&](std::string_view b) { none.append(b); }), InputError);
    CHECK(none.empty());
  }

  TEST_CASE("write_depth_kind_csv: a sink that fails stops the run with its error (no hang, both engines)") {
    for (const DepthEngine engine : {DepthEngine::Stream, DepthEngine::Dense}) {
      DepthKindOptions o = mhc_options(4, 8, engine == DepthEngine::Stream ? 400 : 24);
      o.engine = engine;
      o.table.metrics = {"fwd_gain", "sigma_max"};
      o.threads = 4;
      int calls = 0;
      CHECK_THROWS_WITH_AS((void)write_depth_kind_csv(o,
                                                      [&](std::string_view) {
                                                        if (++calls == 3) throw InputError("disk full");
                                                      }),
                           "disk full", InputError);
      CHECK(calls == 3);  // nothing is written after the failure
    }
  }

  TEST_CASE("requests the stream engine cannot take are refused by name, and auto falls back to dense") {
    DepthKindOptions o = mhc_options(4, 5, 2);
    o.table.metrics = {"fwd_gain"};
    CHECK(depth_stream_refusal(o).empty());
    DepthKindOptions hc = o;
    hc.method.method = MethodId::HC;
    CHECK(depth_stream_refusal(hc).find("mhc only") != std::string::npos);
    CHECK(depth_kind(hc).engine == DepthEngine::Dense);
    hc.engine = DepthEngine::Stream;
    CHECK_THROWS_WITH_AS((void)depth_kind(hc), doctest::Contains("engine = stream"), InputError);
    DepthKindOptions col = o;
    col.table.metrics = {"fwd_gain", "collapse"};
    CHECK(depth_stream_refusal(col).find("'collapse'") != std::string::npos);
    DepthKindOptions all = o;
    all.table.metrics = {};
    CHECK(!depth_stream_refusal(all).empty());
    DepthKindOptions lazy = o;
    lazy.method.modifiers.lazy = 0.5;
    CHECK(!depth_stream_refusal(lazy).empty());
  }

  TEST_CASE("bad selections are InputErrors naming the field") {
    DepthKindOptions o = mhc_options(4, 5, 1);
    o.table.metrics = {"fwd_gain", "no_such_metric"};
    CHECK_THROWS_WITH_AS((void)depth_kind(o), doctest::Contains("unknown column 'no_such_metric'"), InputError);
    o.table.metrics = {"fwd_gain", "fwd_gain"};
    CHECK_THROWS_WITH_AS((void)depth_kind(o), doctest::Contains("twice"), InputError);
    o.table.metrics = {};
    o.table.kinds = {};
    CHECK_THROWS_WITH_AS((void)depth_kind(o), doctest::Contains("kinds"), InputError);
    o.table.kinds = {ProductKind::Prefix, ProductKind::Prefix};
    CHECK_THROWS_WITH_AS((void)depth_kind(o), doctest::Contains("twice"), InputError);
    o.table.kinds = {ProductKind::Prefix};
    o.method.method = MethodId::HC;
    o.table.metrics = {"status"};  // a Sinkhorn column: mhc only
    CHECK_THROWS_WITH_AS((void)depth_kind(o), doctest::Contains("unknown column 'status'"), InputError);
  }
}
