// Stack generators (SPEC §6): init, random, drift (snapshots, shared component), file; determinism and errors.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/generators/params.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/atomic_file.hpp"
#include "mhclab/io/matrix_file.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/mixing/method.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::max_abs_diff;
using mhclab::test::test_size;

namespace {

std::unique_ptr<Method> make_stack_method(MethodId id, Index n, double tau = 1.0) {
  MethodOptions o;
  o.method = id;
  o.n = n;
  o.sinkhorn.tau = tau;
  return make_method(o);
}

StackOptions drift_options(Index layers, std::vector<long> steps, double eta, double rho) {
  StackOptions o;
  o.kind = GeneratorKind::Drift;
  o.layers = layers;
  o.steps = std::move(steps);
  o.eta = eta;
  o.rho = rho;
  return o;
}

bool bitwise_equal(const GeneratedStack& a, const GeneratedStack& b) {
  if (a.step != b.step || a.thetas.size() != b.thetas.size() || a.H.size() != b.H.size()) return false;
  for (std::size_t e = 0; e < a.thetas.size(); ++e)
    if (!(a.thetas[e].array() == b.thetas[e].array()).all()) return false;
  for (std::size_t e = 0; e < a.H.size(); ++e)
    if (!(a.H[e].array() == b.H[e].array()).all()) return false;
  return true;
}

/// Independent re-implementation of the documented drift recipe (header of stack.hpp), straight from
/// RandomStream: θ_l(s) = init + η Σ_k (√ρ ξ_k + √(1−ρ) ξ_{l,k}).
Vec drift_reference(const Vec& init, std::uint64_t seed, std::uint64_t layer, long s, double eta, double rho) {
  const Index p = init.size();
  Vec S = Vec::Zero(p);
  for (long k = 1; k <= s; ++k) {
    RandomStream sh(seed, Purpose::Drift, {std::uint64_t{1} << 63, static_cast<std::uint64_t>(k)});
    RandomStream ly(seed, Purpose::Drift, {layer, static_cast<std::uint64_t>(k)});
    for (Index j = 0; j < p; ++j) S[j] += std::sqrt(rho) * sh.normal() + std::sqrt(1.0 - rho) * ly.normal();
  }
  return init + eta * S;
}

}  // namespace

TEST_SUITE("generators") {
TEST_CASE("stack init/random: layer l equals generate_params(…, l) and H = mix(θ)") {
  const auto m = make_stack_method(MethodId::MHC, 4);
  StackOptions o;
  o.kind = GeneratorKind::Random;
  o.noise = 0.7;
  o.layers = 5;
  const auto stacks = generate_stacks(*m, o, 11);
  REQUIRE(stacks.size() == 1);
  const GeneratedStack& st = stacks[0];
  CHECK(st.step == 0);
  CHECK(st.lead_axes == std::vector<std::string>{"layer"});
  CHECK(st.lead_shape == std::vector<std::size_t>{5});
  REQUIRE(st.count() == 5);
  REQUIRE(st.thetas.size() == 5);
  REQUIRE(st.sinkhorn.size() == 5);
  ParamGeneratorOptions g;
  g.noise = 0.7;
  for (std::size_t l = 0; l < 5; ++l) {
    CHECK(max_abs_diff(st.thetas[l], generate_params(*m, g, 11, l)) == 0.0);
    CHECK(max_abs_diff(st.H[l], mix(*m, st.thetas[l]).H) == 0.0);
    CHECK(st.sinkhorn[l].has_value());
  }
  CHECK(max_abs_diff(st.thetas[0], st.thetas[1]) > 0.0);

  o.kind = GeneratorKind::Init;
  const auto init = generate_stacks(*m, o, 11);
  for (const Vec& t : init[0].thetas) CHECK(max_abs_diff(t, m->init_params(InitKind::Identity, 0.01)) == 0.0);

  // The method's modifiers reach every layer.
  o.kind = GeneratorKind::Random;
  MethodOptions lo;
  lo.method = MethodId::MHC;
  lo.n = 4;
  lo.modifiers.lazy = 0.5;
  const auto lazy = generate_stacks(*make_method(lo), o, 11);
  for (std::size_t l = 0; l < 5; ++l) {
    Mat want = 0.5 * st.H[l];
    want.diagonal().array() += 0.5;
    CHECK(max_abs_diff(lazy[0].H[l], want) < 1e-15);
  }
}

TEST_CASE("drift ρ = 0 at step s has the variance of random with σ = η√s") {
  const auto m = make_stack_method(MethodId::MHC, 4);
  const long s = 6;
  const double eta = 0.05;
  const Index L = test_size(150, 40);
  const Vec init = m->init_params(InitKind::Identity, 0.01);
  double sum2 = 0.0, sum1 = 0.0;
  long N = 0;
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    const auto st = generate_stacks(*m, drift_options(L, {s}, eta, 0.0), seed);
    REQUIRE(st.size() == 1);
    CHECK(st[0].step == s);
    for (const Vec& t : st[0].thetas) {
      const Vec d = t - init;
      sum2 += d.squaredNorm();
      sum1 += d.sum();
      N += d.size();
    }
  }
  const double var = eta * eta * static_cast<double>(s);
  const double v_hat = sum2 / static_cast<double>(N);
  INFO("v_hat = " << v_hat << ", want " << var << ", N = " << N);
  CHECK(std::fabs(v_hat - var) <= 5.0 * var * std::sqrt(2.0 / static_cast<double>(N)));
  CHECK(std::fabs(sum1 / static_cast<double>(N)) <= 5.0 * std::sqrt(var / static_cast<double>(N)));
}

TEST_CASE("drift ρ = 1 gives every layer the same increment") {
  const auto m = make_stack_method(MethodId::MHCLite, 3);
  const auto st = generate_stacks(*m, drift_options(6, {2, 7}, 0.2, 1.0), 5);
  REQUIRE(st.size() == 2);
  for (const auto& g : st)
    for (std::size_t l = 1; l < g.thetas.size(); ++l) {
      CHECK(max_abs_diff(g.thetas[l], g.thetas[0]) == 0.0);
      CHECK(max_abs_diff(g.H[l], g.H[0]) == 0.0);
    }
  CHECK(max_abs_diff(st[1].thetas[0], m->init_params(InitKind::Identity, 0.01)) > 0.0);
}

TEST_CASE("drift shared component: corr(θ_l − init, θ_m − init) ≈ ρ across layers") {
  const auto m = make_stack_method(MethodId::MHC, 4);
  const Vec init = m->init_params(InitKind::Identity, 0.01);
  const std::uint64_t seeds = static_cast<std::uint64_t>(test_size(250, 60));
  for (const double rho : {0.0, 0.5, 0.9}) {
    // One pair (layer 0, layer 1) per seed and parameter: independent samples of (d_0, d_1).
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    double N = 0;
    for (std::uint64_t seed = 0; seed < seeds; ++seed) {
      const auto st = generate_stacks(*m, drift_options(2, {3}, 0.1, rho), 1000 + seed);
      const Vec x = st[0].thetas[0] - init, y = st[0].thetas[1] - init;
      for (Index j = 0; j < x.size(); ++j) {
        sx += x[j];
        sy += y[j];
        sxx += x[j] * x[j];
        syy += y[j] * y[j];
        sxy += x[j] * y[j];
        N += 1;
      }
    }
    const double cov = sxy / N - (sx / N) * (sy / N);
    const double r = cov / std::sqrt((sxx / N - (sx / N) * (sx / N)) * (syy / N - (sy / N) * (sy / N)));
    // Fisher z: atanh(r) ≈ N(atanh(ρ), 1/(N − 3)).
    INFO("rho = " << rho << ", r = " << r << ", N = " << N);
    CHECK(std::fabs(std::atanh(r) - std::atanh(rho)) <= 5.0 / std::sqrt(N - 3.0));
  }
}

TEST_CASE("drift snapshots: incremental = from scratch = documented recipe") {
  const auto m = make_stack_method(MethodId::MHC, 4);
  const double eta = 0.08, rho = 0.3;
  const std::vector<long> steps = {0, 1, 4, 9};
  const auto st = generate_stacks(*m, drift_options(4, steps, eta, rho), 21);
  REQUIRE(st.size() == steps.size());
  const Vec init = m->init_params(InitKind::Identity, 0.01);
  const StackOptions o = drift_options(4, steps, eta, rho);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    CHECK(st[i].step == steps[i]);
    for (std::uint64_t l = 0; l < 4; ++l) {
      CHECK(max_abs_diff(st[i].thetas[l], stack_theta(*m, o, 21, l, steps[i])) <= 1e-12);
      CHECK(max_abs_diff(st[i].thetas[l], drift_reference(init, 21, l, steps[i], eta, rho)) <= 1e-12);
    }
  }
  for (const Vec& t : st[0].thetas) CHECK(max_abs_diff(t, init) == 0.0);  // step 0 is the init
  // A single-snapshot run gives the same numbers bit for bit.
  const auto last = generate_stacks(*m, drift_options(4, {9}, eta, rho), 21);
  CHECK(bitwise_equal(last[0], st.back()));
}

TEST_CASE("stacks are deterministic and independent of layer order and count") {
  const auto m = make_stack_method(MethodId::KromHC, 4);
  for (const GeneratorKind kind : {GeneratorKind::Random, GeneratorKind::Drift}) {
    StackOptions o = drift_options(7, {3, 5}, 0.1, 0.4);
    if (kind == GeneratorKind::Random) {
      o.kind = GeneratorKind::Random;
      o.steps.clear();
    }
    const auto a = generate_stacks(*m, o, 99), b = generate_stacks(*m, o, 99);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) CHECK(bitwise_equal(a[i], b[i]));
    // Reverse layer order, one layer at a time from scratch.
    for (std::size_t i = 0; i < a.size(); ++i)
      for (std::uint64_t l = 7; l-- > 0;)
        CHECK(max_abs_diff(a[i].thetas[l], stack_theta(*m, o, 99, l, a[i].step)) == 0.0);
    // A shorter stack is a prefix of the longer one.
    o.layers = 3;
    const auto c = generate_stacks(*m, o, 99);
    for (std::size_t i = 0; i < c.size(); ++i)
      for (std::size_t l = 0; l < 3; ++l) CHECK(max_abs_diff(c[i].thetas[l], a[i].thetas[l]) == 0.0);
    // Another seed gives other numbers.
    o.layers = 7;
    CHECK(max_abs_diff(generate_stacks(*m, o, 100)[0].thetas[0], a[0].thetas[0]) > 0.0);
  }
}

TEST_CASE("file stacks: matrices (both layouts, npy and csv), token/layer axes, params for tbp") {
  test::TempDir dir;
  const auto m = make_stack_method(MethodId::MHC, 3);
  StackOptions g;
  g.layers = 4;
  g.noise = 0.5;
  const GeneratedStack src = generate_stacks(*m, g, 3)[0];
  for (const char* ext : {".npy", ".csv"}) {
    const std::string path = dir.file(std::string("stack") + ext);
    write_stack(path, src.H, {"layer"}, {4});
    StackOptions f;
    f.kind = GeneratorKind::File;
    f.input = path;
    const auto got = generate_stacks(*m, f, 0);
    REQUIRE(got.size() == 1);
    REQUIRE(got[0].count() == 4);
    CHECK(got[0].thetas.empty());
    CHECK(got[0].lead_shape == std::vector<std::size_t>{4});
    for (std::size_t l = 0; l < 4; ++l) {
      CHECK(max_abs_diff(got[0].H[l], src.H[l]) == 0.0);
      CHECK_FALSE(got[0].sinkhorn[l].has_value());
    }
    f.layout = Layout::FromTo;
    const auto tr = generate_stacks(*m, f, 0);
    for (std::size_t l = 0; l < 4; ++l) CHECK(max_abs_diff(tr[0].H[l], Mat(src.H[l].transpose())) == 0.0);
    f.layers = 5;
    CHECK_MESSAGE_HAS(test::input_error_of([&] { (void)generate_stacks(*m, f, 0); }), "4 layers", "layers = 5");
  }
  // (token, layer) with lead shape (2, 3): flattened in C order, layer fastest.
  std::vector<Mat> six(src.H.begin(), src.H.end());
  six.push_back(src.H[0]);
  six.push_back(src.H[1]);
  const std::string tl = dir.file("tl.npy");
  write_stack(tl, six, {"token", "layer"}, {2, 3});
  StackOptions f;
  f.kind = GeneratorKind::File;
  f.input = tl;
  f.lead_axes = {"token", "layer"};
  const auto got = generate_stacks(*m, f, 0)[0];
  CHECK(got.lead_axes == std::vector<std::string>{"token", "layer"});
  CHECK(got.lead_shape == std::vector<std::size_t>{2, 3});
  CHECK(got.layers() == 3);
  REQUIRE(got.count() == 6);
  for (std::size_t e = 0; e < 6; ++e) CHECK(max_abs_diff(got.H[e], six[e]) == 0.0);

  // Params for tbp: an (L, p) table → H(θ) per layer.
  const auto tbp = make_stack_method(MethodId::TBP, 3);
  StackOptions r;
  r.layers = 3;
  r.noise = 0.3;
  const GeneratedStack ps = generate_stacks(*tbp, r, 8)[0];
  Mat table(3, tbp->num_params());
  for (Index l = 0; l < 3; ++l) table.row(l) = ps.thetas[static_cast<std::size_t>(l)].transpose();
  for (const char* ext : {".npy", ".csv"}) {
    const std::string pp = dir.file(std::string("params") + ext);
    write_matrix(pp, table);
    StackOptions fp;
    fp.kind = GeneratorKind::File;
    fp.input = pp;
    fp.input_kind = InputKind::Params;
    const auto back = generate_stacks(*tbp, fp, 0)[0];
    REQUIRE(back.count() == 3);
    for (std::size_t l = 0; l < 3; ++l) {
      CHECK(max_abs_diff(back.thetas[l], ps.thetas[l]) == 0.0);
      CHECK(max_abs_diff(back.H[l], ps.H[l]) == 0.0);
    }
  }
}

TEST_CASE("bad stack options: each its own InputError naming the option") {
  const auto m = make_stack_method(MethodId::MHC, 3);
  auto err = [&](const StackOptions& o) { return test::input_error_of([&] { (void)generate_stacks(*m, o, 0); }); };
  StackOptions base;
  base.layers = 2;
  {
    StackOptions o = base;
    o.layers = 0;
    CHECK_MESSAGE_HAS(err(o), "layers = 0", "≥ 1");
  }
  {
    StackOptions o = drift_options(2, {1}, -0.1, 0.0);
    CHECK_MESSAGE_HAS(err(o), "eta = -0.1");
  }
  {
    StackOptions o = drift_options(2, {1}, 0.1, 1.5);
    CHECK_MESSAGE_HAS(err(o), "rho = 1.5", "[0, 1]");
    o.rho = -0.2;
    CHECK_MESSAGE_HAS(err(o), "rho = -0.2");
    o.rho = std::nan("");
    CHECK_MESSAGE_HAS(err(o), "rho = ");
  }
  {
    StackOptions o = drift_options(2, {-1, 3}, 0.1, 0.0);
    CHECK_MESSAGE_HAS(err(o), "steps", "-1 is negative");
  }
  {
    StackOptions o = drift_options(2, {5, 3}, 0.1, 0.0);
    CHECK_MESSAGE_HAS(err(o), "strictly increasing", "3 after 5");
    o.steps = {3, 3};
    CHECK_MESSAGE_HAS(err(o), "strictly increasing", "3 after 3");
  }
  {
    StackOptions o = drift_options(2, {}, 0.1, 0.0);
    CHECK_MESSAGE_HAS(err(o), "'drift' needs steps");
  }
  {
    StackOptions o = base;
    o.steps = {1};
    CHECK_MESSAGE_HAS(err(o), "steps is only for generators 'drift' and 'trained'");
  }
  {
    StackOptions o = base;
    o.kind = GeneratorKind::File;
    CHECK_MESSAGE_HAS(err(o), "'file' needs input");
    o.input = "x.npy";
    o.lead_axes = {"layer", "token"};
    CHECK_MESSAGE_HAS(err(o), "lead axes (layer, token)");
  }
  {
    StackOptions o = base;
    o.input = "x.npy";
    CHECK_MESSAGE_HAS(err(o), "input is only for generators 'file' and 'trained'");
  }
  {
    StackOptions o = base;
    o.noise = -1.0;
    CHECK_MESSAGE_HAS(err(o), "noise = -1");
  }
  {
    StackOptions o = base;
    o.kind = GeneratorKind::Trained;
    CHECK_MESSAGE_HAS(err(o), "needs input");
  }
  {
    StackOptions o = base;
    o.init_eps = 2.0;
    CHECK_MESSAGE_HAS(err(o), "init-eps = 2");
  }
  {
    test::TempDir dir;
    StackOptions o = base;
    o.kind = GeneratorKind::File;
    o.layers = 0;
    o.input = dir.file("missing.npy");
    CHECK_MESSAGE_HAS(err(o), "missing.npy");
  }
}

TEST_CASE("a Sinkhorn numerical issue in a stack is a ComputeError naming seed, layer and step") {
  const auto m = make_stack_method(MethodId::MHC, 4, 1e-3);  // exp domain: (−8 − 0)/1e-3 < −708
  StackOptions o;
  o.kind = GeneratorKind::Init;
  o.init = InitKind::Authors;
  o.layers = 3;
  CHECK_THROWS_WITH_AS((void)generate_stacks(*m, o, 42),
                       doctest::Contains("seed 42, layer 1 (index 0), step 0: Sinkhorn numerical_issue"),
                       ComputeError);
  StackOptions d = drift_options(3, {2}, 0.01, 0.5);
  d.init = InitKind::Authors;
  CHECK_THROWS_WITH_AS((void)generate_stacks(*m, d, 7), doctest::Contains("step 2"), ComputeError);
}
}

TEST_CASE("trained: the snapshots of a training run's directory, one stack per step, static and per token") {
  test::TempDir dir;
  const Index n = 3, L = 4;
  // A run directory as `mhclab train --out DIR` writes it: manifest.json (snapshot_steps) and h_res.npy.
  write_file_atomically(dir.file("manifest.json"), R"({"snapshot_steps": [0, 10, 25], "h_res_shape": [3, 4, 3, 3]})");
  NpyArray a;
  a.shape = {3, static_cast<std::size_t>(L), static_cast<std::size_t>(n), static_cast<std::size_t>(n)};
  for (std::size_t k = 0; k < 3 * L * n * n; ++k) a.data.push_back(0.001 * static_cast<double>(k));
  write_npy(dir.file("h_res.npy"), a);
  MethodOptions mo;
  mo.method = MethodId::HC;
  mo.n = n;
  mo.modifiers.lazy = 0.5;  // not applied again: the snapshots are the network's H_res as trained
  const auto m = make_method(mo);
  StackOptions o;
  o.kind = GeneratorKind::Trained;
  o.input = dir.path.string();
  const auto all = generate_stacks(*m, o, 0);
  REQUIRE(all.size() == 3);
  CHECK(all[1].step == 10);
  CHECK(all[1].lead_shape == std::vector<std::size_t>{static_cast<std::size_t>(L)});
  CHECK(all[2].H[3](2, 1) == 0.001 * static_cast<double>(2 * L * n * n + 3 * n * n + 2 * n + 1));  // C order
  CHECK(all[0].thetas.empty());
  o.steps = {25};
  const auto one = generate_stacks(*m, o, 0);
  REQUIRE(one.size() == 1);
  CHECK(one[0].step == 25);
  CHECK(max_abs_diff(one[0].H[0], all[2].H[0]) == 0.0);
  o.steps = {5};
  CHECK_THROWS_WITH_AS((void)generate_stacks(*m, o, 0), doctest::Contains("no snapshot at step 5"), InputError);
  o.steps = {};
  o.layers = 5;
  CHECK_THROWS_WITH_AS((void)generate_stacks(*m, o, 0), doctest::Contains("the run has 4 layers"), InputError);
  o.layers = 0;
  MethodOptions m4 = mo;
  m4.n = 4;
  CHECK_THROWS_WITH_AS((void)generate_stacks(*make_method(m4), o, 0), doctest::Contains("n = 4"), InputError);
  // Per token (dynamic mapping): (snapshots, tokens, L, n, n) → lead axes (token, layer).
  a.shape = {3, 2, static_cast<std::size_t>(L), static_cast<std::size_t>(n), static_cast<std::size_t>(n)};
  a.data.resize(3 * 2 * L * n * n, 0.25);
  write_npy(dir.file("h_res.npy"), a);
  const auto tok = generate_stacks(*m, o, 0);
  REQUIRE(tok.size() == 3);
  CHECK(tok[0].lead_axes == std::vector<std::string>{"token", "layer"});
  CHECK(tok[0].count() == static_cast<std::size_t>(2 * L));
  // Not a run directory.
  write_file_atomically(dir.file("manifest.json"), "{}");
  CHECK_THROWS_WITH_AS((void)generate_stacks(*m, o, 0), doctest::Contains("not the manifest"), InputError);
}
