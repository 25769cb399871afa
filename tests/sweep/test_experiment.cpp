// sweep/experiment.hpp and sweep/grid.hpp: parsing, exact error locations, grid expansion, stable ids and seeds.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "mhclab/core/error.hpp"
#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;

namespace {
const char* kGood = R"(# a sweep
[experiment]
name = "demo"
kind = "depth"
seed = 7

[base]
n = 4
layers = 10
generator = "drift"
steps = [5, 20]
lyapunov = true

[grid]
method = ["hc", "mhc"]
eta = [0.05, 0.1, 0.2]

[[zip]]
iters = [1, 20]
tau = [0.5, 1.0]

[[exclude]]
method = "hc"
iters = 1

[aggregate]
metrics = ["log10_fwd_gain"]

[[plot]]
name = "gain"
x = "depth"
y = "log10_fwd_gain"
group = "method"
facet = ["eta"]
where = { kind = "suffix" }
)";

const std::vector<OptionSchema> kSchema{{"method"}, {"n"},   {"layers"}, {"generator"}, {"steps"}, {"eta"}, {"iters"},
                                        {"tau"},    {"seed"}, {"out"},   {"lyapunov", true}};
const std::vector<std::string> kReserved{"seed", "out"};

std::string parse_error(const std::string& text) {
  return input_error_of([&] {
    const Experiment e = parse_experiment(text, "x.toml");
    check_keys(e, kSchema, kReserved);
    (void)expand_grid(e);
  });
}
}  // namespace

TEST_SUITE("sweep_experiment") {
  TEST_CASE("a full file parses into base, axes, exclusions, aggregation and plots") {
    const Experiment e = parse_experiment(kGood, "demo.toml");
    CHECK(e.name == "demo");
    CHECK(e.kind == "depth");
    CHECK(e.seed == 7);
    REQUIRE(e.base.size() == 5);
    CHECK(e.base[3].key == "steps");
    CHECK(e.base[3].text == "5,20");
    CHECK(e.base[3].line == 11);
    CHECK(e.base[4].boolean);
    REQUIRE(e.axes.size() == 3);
    CHECK(e.axes[1].values[0][0].text == "0.05");  // shortest round-trip text
    CHECK(e.axes[2].keys == std::vector<std::string>{"iters", "tau"});
    CHECK(e.axes[2].values[1][1].text == "1");
    REQUIRE(e.plots.size() == 1);
    CHECK(e.plots[0].spec.where.front() == std::pair<std::string, std::string>{"kind", "suffix"});
    check_keys(e, kSchema, kReserved);

    const std::vector<SweepPoint> pts = expand_grid(e);
    CHECK(pts.size() == 2 * 3 * 2 - 3);  // hc with iters = 1 excluded
    std::set<std::string> ids;
    for (const SweepPoint& p : pts) {
      CHECK(p.id.size() == 16);
      CHECK(p.seed < (std::uint64_t{1} << 48));
      ids.insert(p.id);
    }
    CHECK(ids.size() == pts.size());
    // Grid order: last axis fastest.
    CHECK(pts[0].describe({"method", "eta", "iters"}) == "method=hc, eta=0.05, iters=20");
    CHECK(pts[3].describe({"method", "eta", "iters"}) == "method=mhc, eta=0.05, iters=1");
    REQUIRE(pts[0].find("lyapunov") != nullptr);
    CHECK(pts[0].find("lyapunov")->text == "true");
  }

  TEST_CASE("ids and seeds do not depend on the order of keys in the file, only on the configuration") {
    const std::string a = "[experiment]\nkind='depth'\n[base]\nn=4\nlayers=3\n[grid]\nmethod=['hc','mhc']\n";
    const std::string b = "[experiment]\nkind='depth'\n[grid]\nmethod=['mhc','hc']\n[base]\nlayers=3\nn=4\n";
    const auto pa = expand_grid(parse_experiment(a, "a.toml"));
    const auto pb = expand_grid(parse_experiment(b, "b.toml"));
    CHECK(pa[0].id == pb[1].id);
    CHECK(pa[0].seed == pb[1].seed);
    CHECK(pa[0].seed != pa[1].seed);
    // seed-keys = []: every point shares one seed (common random numbers); a different experiment seed differs.
    const auto pc = expand_grid(parse_experiment("[experiment]\nkind='depth'\nseed-keys=[]\n" + a.substr(a.find("[base]")), "c"));
    CHECK(pc[0].seed == pc[1].seed);
    const auto pd = expand_grid(parse_experiment("[experiment]\nkind='depth'\nseed=1\nseed-keys=[]\n" + a.substr(a.find("[base]")), "d"));
    CHECK(pd[0].seed != pc[0].seed);
    CHECK(pd[0].id == pc[0].id);
  }

  TEST_CASE("TOML nested too deep is refused before parsing; ordinary files pass") {
    const auto nest = [](int k) { return "a = " + std::string(static_cast<std::size_t>(k), '[') + "1" + std::string(static_cast<std::size_t>(k), ']') + "\n"; };
    CHECK_NOTHROW(check_toml_depth(nest(64), "x.toml"));
    CHECK(input_error_of([&] { check_toml_depth("# c\n" + nest(65), "x.toml"); }) ==
          "x.toml:2: nested more than 64 levels deep (arrays, inline tables or dotted keys); refusing to parse it");
    CHECK(input_error_of([&] { check_toml_depth("x = " + std::string(50000, '{'), "x.toml"); }).find("x.toml:1:") == 0);
    std::string dotted = "k";
    for (int i = 0; i < 100; ++i) dotted += ".k";
    CHECK(input_error_of([&] { check_toml_depth(dotted + " = 1\n", "x.toml"); }).find("nested more than") != std::string::npos);
    CHECK(input_error_of([&] { check_toml_depth("[" + dotted + "]\n", "x.toml"); }).find("nested more than") != std::string::npos);
    // Values, strings and comments do not count: 300 floats, brackets in strings, a long multi-line string.
    std::string floats = "[grid]\ntau = [";
    for (int i = 0; i < 300; ++i) floats += "0." + std::to_string(i + 1) + ", ";
    floats += "1.5]\n";
    CHECK_NOTHROW(check_toml_depth(floats, "x.toml"));
    CHECK_NOTHROW(check_toml_depth("s = \"" + std::string(500, '[') + "\\\"\"\nt = '" + std::string(500, '{') + "'\n", "x.toml"));
    CHECK_NOTHROW(check_toml_depth("d = \"\"\"\n" + std::string(500, '[') + "\n\"\"\"\n# " + std::string(500, '{') + "\n", "x.toml"));
    CHECK(input_error_of([] { (void)parse_experiment("[experiment]\nkind = 'depth'\n[base]\nx = " + std::string(1000, '['), "d.toml"); })
              .find("d.toml:4: nested more than 64 levels") == 0);
  }

  TEST_CASE("a grid larger than max-points is refused before it is expanded") {
    std::string big = "[experiment]\nkind = 'depth'\n[grid]\n";
    std::string list = "[";
    for (int i = 0; i < 1000; ++i) list += std::to_string(i) + (i + 1 < 1000 ? "," : "]");
    big += "a = " + list + "\nb = " + list + "\nc = " + list + "\n";
    CHECK(input_error_of([&] { (void)expand_grid(parse_experiment(big, "g.toml")); }) ==
          "g.toml: the grid has 1000000000 points (1000 × 1000 × 1000), more than max-points = 1000000; set "
          "[experiment] max-points to raise the limit");
    const std::string small = "[experiment]\nkind = 'depth'\nmax-points = 2\n[grid]\nn = [2, 3, 4]\n";
    CHECK(input_error_of([&] { (void)expand_grid(parse_experiment(small, "s.toml")); }).find("more than max-points = 2") !=
          std::string::npos);
    CHECK(expand_grid(parse_experiment("[experiment]\nkind = 'depth'\nmax-points = 3\n[grid]\nn = [2, 3, 4]\n", "s")).size() == 3);
    CHECK(input_error_of([] { (void)parse_experiment("[experiment]\nkind = 'depth'\nmax-points = 0\n", "m.toml"); })
              .find("m.toml:3: [experiment] max-points must be an integer ≥ 1") == 0);
  }

  TEST_CASE("names that become paths are single safe components") {
    for (const char* bad : {"..", ".", "../x", "a/b", "results/..", ".hidden", "a b", ""}) {
      CAPTURE(bad);
      const std::string msg = input_error_of([&] {
        (void)parse_experiment(std::string("[experiment]\nkind = 'depth'\nname = '") + bad + "'\n", "x.toml");
      });
      CHECK(msg.find("x.toml:3: [experiment] name = '") == 0);
      CHECK(msg.find("one path component") != std::string::npos);
    }
    CHECK(parse_experiment("[experiment]\nkind = 'depth'\nname = 'amax_depth-v2.1'\n", "x.toml").name == "amax_depth-v2.1");
    CHECK(input_error_of([] {
            (void)parse_experiment("[experiment]\nkind = 'depth'\n[[plot]]\nname = '../p'\nx = 'depth'\ny = 'g'\n", "x.toml");
          }).find("x.toml:4: [[plot]] name = '../p' starts with '.'") == 0);
    CHECK(input_error_of([] { (void)parse_experiment("[experiment]\nkind = 'depth'\n", "dir/my exp.toml"); })
              .find("the file's stem 'my exp' holds a character") != std::string::npos);
  }

  TEST_CASE("errors name the file, the line and the key") {
    const std::string head = "[experiment]\nkind = 'depth'\n";
    CHECK(parse_error(head + "[base]\nn = 4\nbogus = 1\n") ==
          "x.toml:5: unknown key 'bogus' for kind 'depth'; expected one of method, n, layers, generator, steps, eta, "
          "iters, tau, lyapunov");
    CHECK(parse_error(head + "[base]\nlyapunov = 3\n").find("x.toml:4: key 'lyapunov' is a flag") == 0);
    CHECK(parse_error(head + "[base]\nn = true\n").find("x.toml:4: key 'n' takes a value") == 0);
    CHECK(parse_error(head + "[base]\nseed = 3\n").find("x.toml:4: key 'seed' is set by `mhclab run`") == 0);
    CHECK(parse_error(head + "[base]\nn = 4\n[grid]\nn = [2, 3]\n").find("x.toml:6: key 'n' is set twice") == 0);
    CHECK(parse_error(head + "[[zip]]\nn = [2, 3]\niters = [1]\n").find("x.toml:5: [[zip]] iters has 1 values but n has 2") == 0);
    CHECK(parse_error(head + "[grid]\nn = []\n").find("x.toml:4: [grid] n must be a non-empty list") == 0);
    CHECK(parse_error(head + "[grid]\nn = 4\n").find("x.toml:4: [grid] n must be a non-empty list") == 0);
    CHECK(parse_error(head + "[base]\nn = { a = 1 }\n").find("x.toml:4: key 'n' has a table") == 0);
    CHECK(parse_error(head + "[bases]\nn = 4\n").find("x.toml:3: unknown table or key 'bases'") == 0);
    CHECK(parse_error(head + "[experiment.x]\n").find("x.toml:") == 0);
    CHECK(parse_error("[experiment]\nkind = 'depth\n").find("x.toml:2: TOML syntax") == 0);
    CHECK(parse_error("[base]\nn = 4\n").find("x.toml: [experiment] kind is missing") == 0);
    CHECK(parse_error(head + "[[exclude]]\nmethod = ['hc']\n[grid]\nmethod = ['hc']\n").find("every grid point is excluded") !=
          std::string::npos);
    CHECK(parse_error(head + "seed-keys = ['eta']\n[base]\nn = 4\n").find("x.toml:3: seed-keys names 'eta'") == 0);
    CHECK(parse_error(head + "[[plot]]\nname = 'a'\nx = 'depth'\n").find("x.toml:3: [[plot]] needs name, x and y") == 0);
    CHECK(parse_error(head + "[[plot]]\nname='a'\nx='d'\ny='e'\nsource='nope'\n").find("source = 'nope'") != std::string::npos);
    CHECK(parse_error(head + "[[plot]]\nname='a'\nx='d'\ny='e'\ncolour='red'\n").find("x.toml:7: unknown key 'colour' in [[plot]]") == 0);
  }
}
