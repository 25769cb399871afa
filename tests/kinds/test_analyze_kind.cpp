// kinds/analyze.hpp: the analyze kind on a stack file equals the depth table of the same matrices; spectra and the
// top-k report; option refusals by name.
#include <doctest/doctest.h>

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
