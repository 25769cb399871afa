// kinds/analyze.hpp: the analyze kind on a stack file equals the depth table of the same matrices; spectra and the
// top-k report; option refusals by name.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "mhclab/core/random.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/kinds/analyze.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::TempDir;

TEST_SUITE("kinds_analyze") {
  TEST_CASE("a stack file gives the depth table of its matrices; spectra and top-k on request") {
    TempDir dir;
    std::vector<Mat> H;
    RandomStream rng(3, Purpose::Test, {});
    for (int l = 0; l < 5; ++l) {
      Mat M(3, 3);
      rng.fill_normal(M);
      H.push_back(M);
    }
    write_stack(dir.file("s.npy"), H, {"layer"}, {H.size()});
    AnalyzeKindOptions o;
    o.input = dir.file("s.npy");
    OptionSet s;
    bind_analyze_options(s, o);
    s.set("kinds", "prefix,suffix");
    s.set("metrics", "fwd_gain,sigma_max");
    const AnalyzeKindResult r = analyze_kind(o);
    CHECK(r.matrices == 5);
    CHECK(r.n == 3);
    std::string want = depth_csv_header({}, depth_table_columns(3, o.table));
    append_depth_rows(want, "", depth_table(H, {}, o.table));
    CHECK(r.csv == want);
    CHECK(r.eigenvalue_csv.empty());
    CHECK_FALSE(r.topk);

    o.singular_values = true;
    o.topk = 2;
    const AnalyzeKindResult t = analyze_kind(o);
    REQUIRE(t.topk);
    CHECK(t.topk->depth == 5);
    CHECK(t.singular_value_csv.find("prefix") != std::string::npos);
  }

  TEST_CASE("a stack in memory gives the file's bytes; the typed table is the CSV's numbers") {
    TempDir dir;
    std::vector<Mat> H;
    RandomStream rng(4, Purpose::Test, {});
    for (int l = 0; l < 6; ++l) {
      Mat M(4, 4);
      rng.fill_normal(M);
      H.push_back(M.array().exp().matrix() * 2.0);  // positive entries, gains that grow with depth
    }
    // Per-token (2 tokens × 3 layers) and plain stacks, every column group (Lyapunov: Real; status: none here).
    write_stack(dir.file("s.npy"), H, {"layer"}, {H.size()});
    for (const bool per_token : {false, true}) {
      AnalyzeKindOptions o;
      o.table.lyapunov = !per_token;
      if (per_token) o.token_average = TokenAverage::Metric;
      Stack st;
      st.lead_axes = per_token ? std::vector<std::string>{"token", "layer"} : std::vector<std::string>{"layer"};
      st.lead_shape = per_token ? std::vector<std::size_t>{2, 3} : std::vector<std::size_t>{6};
      st.matrices = H;
      const AnalyzeKindResult mem = analyze_kind(o, st);
      if (!per_token) {
        AnalyzeKindOptions f = o;
        f.input = dir.file("s.npy");
        CHECK(analyze_kind(f).csv == mem.csv);
      }
      CHECK(mem.table.to_csv() == mem.csv);
      const long fwd = mem.table.find("fwd_gain");
      REQUIRE(fwd >= 0);
      const ColumnData& c = mem.table.columns()[static_cast<std::size_t>(fwd)];
      CHECK(c.spec.type == ColumnType::Real);
      CHECK(c.spec.scaled);
      CHECK(mem.table.columns()[static_cast<std::size_t>(mem.table.find("kind"))].spec.type == ColumnType::Text);
      CHECK(mem.table.columns().front().spec.name == (per_token ? "stat" : "depth"));
    }
    // Parameters through the method; refusals name the stack.
    AnalyzeKindOptions p;
    p.method.method = MethodId::MHC;
    p.method.n = 4;
    Stack params;
    params.lead_shape = {2};
    params.params = {Vec::Zero(16), Vec::Ones(16)};
    const AnalyzeKindResult r = analyze_kind(p, params);
    CHECK(r.matrices == 2);
    CHECK(r.table.find("status") >= 0);  // Sinkhorn layer columns for an mhc parameter stack
    params.params.front()[3] = std::nan("");
    params.lead_axes = {"layer"};
    CHECK(input_error_of([&] { (void)analyze_kind(p, params); }).find("stack: seed 0, layer 1 (index 0)") == 0);
    AnalyzeKindOptions both;
    both.input = "x.npy";
    CHECK(input_error_of([&] { (void)analyze_kind(both, Stack{}); }) ==
          "a stack in memory is analysed: input and checkpoint must be empty");
  }

  TEST_CASE("refusals name the option") {
    AnalyzeKindOptions o;
    CHECK(input_error_of([&] { (void)analyze_kind(o); }) == "input is required (the stack file), or checkpoint");
    o.input = "x.npy";
    o.token_average = TokenAverage::Metric;
    o.eigenvalues = true;
    CHECK(input_error_of([&] { (void)analyze_kind(o); }).find("eigenvalues, singular-values and topk take a (layer") == 0);
    OptionSet s;
    bind_analyze_options(s, o);
    CHECK(input_error_of([&] { s.set("token-average", "tokens"); }).find("unknown token-average 'tokens'") == 0);
    s.set("token-average", "");
    CHECK_FALSE(o.token_average);
  }
}
