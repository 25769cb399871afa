// sweep/shard.hpp: shard specs, the cost estimate's worked number, and the LPT split (a disjoint cover, deterministic,
// within the list-scheduling bound).
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <string>

#include "mhclab/sweep/experiment.hpp"
#include "mhclab/sweep/grid.hpp"
#include "mhclab/sweep/shard.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;

TEST_SUITE("sweep_shard") {
  TEST_CASE("k/N parses; anything else names the option") {
    const ShardSpec s = ShardSpec::parse("2/5");
    CHECK(s.index == 2);
    CHECK(s.count == 5);
    CHECK(s.text() == "2/5");
    for (const char* bad : {"5/5", "1", "-1/3", "0/0", "a/b", "1/3/", " 1/3"})
      CHECK(input_error_of([&] { (void)ShardSpec::parse(bad); }) ==
            "--shard = '" + std::string(bad) + "'; expected k/N with 0 ≤ k < N, e.g. 0/4");
  }

  TEST_CASE("cost estimate and a balanced, deterministic disjoint cover") {
    const Experiment e = parse_experiment(R"([experiment]
name = "s"
kind = "depth"
[base]
n = 4
seeds = 16
[grid]
method = ["hc", "mhc"]
layers = [10, 60, 200, 7, 33]
iters = [20, 5]
)", "s.toml");
    const std::vector<SweepPoint> points = expand_grid(e);
    REQUIRE(points.size() == 20);
    // mhc, L = 60, t = 20: 16 · 60 · (4³ + 20·4²) = 368640; hc has no Sinkhorn term: 16 · 60 · 64.
    for (const SweepPoint& p : points) {
      if (p.find("layers")->text != "60" || p.find("iters")->text != "20") continue;
      CHECK(point_cost(e, p) == (p.find("method")->text == "mhc" ? 368640.0 : 61440.0));
    }
    for (const std::size_t N : {1u, 2u, 3u, 7u, 25u}) {
      const auto shards = assign_shards(e, points, N);
      REQUIRE(shards.size() == N);
      CHECK(shards == assign_shards(e, points, N));
      std::vector<std::size_t> all;
      double total = 0, biggest = 0, makespan = 0;
      for (const auto& s : shards) {
        CHECK(std::is_sorted(s.begin(), s.end()));
        double load = 0;
        for (const std::size_t i : s) load += point_cost(e, points[i]);
        makespan = std::max(makespan, load);
        all.insert(all.end(), s.begin(), s.end());
      }
      for (const SweepPoint& p : points) total += point_cost(e, p), biggest = std::max(biggest, point_cost(e, p));
      std::sort(all.begin(), all.end());
      std::vector<std::size_t> want(points.size());
      std::iota(want.begin(), want.end(), std::size_t{0});
      CHECK(all == want);
      // Greedy list scheduling: makespan ≤ total/N + (1 − 1/N)·max cost (LPT is within 4/3 of the optimum).
      CHECK(makespan <= total / static_cast<double>(N) + (1.0 - 1.0 / static_cast<double>(N)) * biggest + 1e-9 * total);
    }
  }
}
