// A production checkpoint's hyper-connection sites as a stack (generators/checkpoint_stack.hpp), on miniature
// DeepSeek-V4-format checkpoints (generators/mini_checkpoint.hpp): static and per-token gates against an independent
// computation written here from the deployed formulas (mixing/dsv4_site.hpp (S1)–(S5)), the depth order, the
// families, and the errors (missing sites by name, shapes, a wrong method).
//
// Tolerances: the gates read back from float32 tensors are compared with the same float32 values (read here with
// the single-file reader), so base-derived quantities agree to 1e-15 (one σ or one product); the per-token mixes
// sum n·C = 32 products: 1e-13.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "mhclab/core/error.hpp"
#include "mhclab/core/random.hpp"
#include "mhclab/generators/checkpoint_stack.hpp"
#include "mhclab/generators/mini_checkpoint.hpp"
#include "mhclab/generators/stack.hpp"
#include "mhclab/io/checkpoint.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors_writer.hpp"
#include "mhclab/mixing/method.hpp"
#include "mhclab/model/propagation.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

namespace {
using namespace mhclab;
using test::TempDir;

double sig(double x) { return 1.0 / (1.0 + std::exp(-x)); }

std::vector<double> tensor(const std::string& dir, const std::string& name) { return Checkpoint(dir).read(name).data; }

std::unique_ptr<Method> dsv4(Index n) {
  MethodOptions o;
  o.method = MethodId::Dsv4;
  o.n = n;
  return make_method(o);
}
}  // namespace

TEST_SUITE("generators_checkpoint_stack") {
  TEST_CASE("static gates of a sharded miniature DeepSeek-V4 checkpoint: 2L sites, attention then FFN") {
    TempDir d;
    MiniCheckpointOptions mo;
    mo.layers = 3;
    const ShardedCheckpointResult w = write_mini_dsv4_checkpoint(d.path.string(), mo);
    CHECK(w.shard_files.size() == 3);
    const CheckpointStack cs = read_checkpoint_stack(d.path.string(), {});
    CHECK(cs.n == 4);
    CHECK(cs.layers == 3);
    REQUIRE(cs.sites.size() == 6);
    CHECK(cs.tokens == 0);
    CHECK(cs.sites[0].site == "attn");
    CHECK(cs.sites[1].site == "ffn");
    CHECK(cs.sites[5].layer == 2);
    CHECK(cs.sites[3].base_tensor == "layers.1.hc_ffn_base");
    for (std::size_t k = 0; k < 6; ++k) {
      const std::vector<double> b = tensor(d.path.string(), cs.sites[k].base_tensor);
      const Dsv4Gates& g = cs.gates[k];
      for (Index i = 0; i < 4; ++i) {
        MHCLAB_CHECK_NEAR(g.pre[i], sig(b[static_cast<std::size_t>(i)]) + 1e-6, 1e-15, 0.0);
        MHCLAB_CHECK_NEAR(g.post[i], 2.0 * sig(b[static_cast<std::size_t>(4 + i)]), 1e-15, 0.0);
      }
      for (Index j = 0; j < 4; ++j)
        for (Index kk = 0; kk < 4; ++kk) CHECK(g.comb_logits(j, kk) == b[static_cast<std::size_t>(8 + 4 * j + kk)]);
    }
    // As a stack through dsv4: H_s = combᵀ of the site's logits.
    const auto m = dsv4(4);
    const GeneratedStack st = stack_from_checkpoint(*m, cs, 0);
    REQUIRE(st.count() == 6);
    CHECK(st.lead_axes == std::vector<std::string>{"layer"});
    Vec theta(16);
    for (Index e = 0; e < 16; ++e) theta[e] = tensor(d.path.string(), "layers.2.hc_ffn_base")[static_cast<std::size_t>(8 + e)];
    CHECK(test::max_abs_diff(st.H[5], m->mix(theta).H) == 0.0);
    // The generator does the same.
    StackOptions so;
    so.kind = GeneratorKind::Checkpoint;
    so.input = w.index_file;
    const std::vector<GeneratedStack> g = generate_stacks(*m, so, 0);
    REQUIRE(g.size() == 1);
    CHECK(test::max_abs_diff(g[0].H[3], st.H[3]) == 0.0);
    // The gates table.
    const std::string csv = checkpoint_gates_csv(cs);
    CHECK(csv.rfind("site,layer,name,pre_0,pre_1,pre_2,pre_3,post_0,post_1,post_2,post_3\n0,0,attn,", 0) == 0);
  }

  TEST_CASE("per-token gates from residual states and from mixes") {
    TempDir d;
    MiniCheckpointOptions mo;
    mo.layers = 2;
    (void)write_mini_dsv4_checkpoint(d.path.string(), mo);
    const std::size_t T = 3, S = 4, n = 4, C = 8, m = 24;
    NpyArray states;
    states.shape = {T, S, n, C};
    RandomStream rs(5);
    for (std::size_t k = 0; k < T * S * n * C; ++k) states.data.push_back(rs.normal());
    const std::string hidden = (d.path / "hidden.npy").string();
    write_npy(hidden, states);
    CheckpointSelection sel;
    sel.hidden = hidden;
    const CheckpointStack cs = read_checkpoint_stack(d.path.string(), sel);
    REQUIRE(cs.tokens == T);
    REQUIRE(cs.gates.size() == T * S);
    NpyArray mixes;
    mixes.shape = {T, S, m};
    const char* names[] = {"layers.0.hc_attn", "layers.0.hc_ffn", "layers.1.hc_attn", "layers.1.hc_ffn"};
    for (std::size_t t = 0; t < T; ++t)
      for (std::size_t s = 0; s < S; ++s) {
        const std::vector<double> fn = tensor(d.path.string(), std::string(names[s]) + "_fn");
        const std::vector<double> base = tensor(d.path.string(), std::string(names[s]) + "_base");
        const std::vector<double> scale = tensor(d.path.string(), std::string(names[s]) + "_scale");
        const double* v = states.data.data() + (t * S + s) * n * C;
        double ms = 0.0;
        for (std::size_t c = 0; c < n * C; ++c) ms += v[c] * v[c];
        const double r = 1.0 / std::sqrt(ms / static_cast<double>(n * C) + 1e-6);
        std::vector<double> mix(m);
        for (std::size_t a = 0; a < m; ++a) {
          double acc = 0.0;
          for (std::size_t c = 0; c < n * C; ++c) acc += fn[a * n * C + c] * v[c];
          mix[a] = r * acc;
          mixes.data.push_back(mix[a]);
        }
        const Dsv4Gates& g = cs.gates[t * S + s];
        for (std::size_t i = 0; i < n; ++i) {
          MHCLAB_CHECK_NEAR(g.pre[static_cast<Index>(i)], sig(scale[0] * mix[i] + base[i]) + 1e-6, 1e-13, 0.0);
          MHCLAB_CHECK_NEAR(g.post[static_cast<Index>(i)], 2.0 * sig(scale[1] * mix[n + i] + base[n + i]), 1e-13, 0.0);
        }
        for (std::size_t j = 0; j < n; ++j)
          for (std::size_t k = 0; k < n; ++k)
            MHCLAB_CHECK_NEAR(g.comb_logits(static_cast<Index>(j), static_cast<Index>(k)),
                              scale[2] * mix[2 * n + n * j + k] + base[2 * n + n * j + k], 1e-13, 0.0);
      }
    // The mixes themselves give the same gates.
    const std::string mixfile = (d.path / "mixes.npy").string();
    write_npy(mixfile, mixes);
    sel.hidden = mixfile;
    const CheckpointStack cm = read_checkpoint_stack(d.path.string(), sel);
    for (std::size_t e = 0; e < T * S; ++e)
      CHECK(test::max_abs_diff(cm.gates[e].comb_logits, cs.gates[e].comb_logits) <= 1e-15);
    const GeneratedStack st = stack_from_checkpoint(*dsv4(4), cs, 0);
    CHECK(st.lead_axes == std::vector<std::string>{"token", "layer"});
    CHECK(st.lead_shape == std::vector<std::size_t>{T, S});
    // A hidden file of the wrong shape is named with what was expected.
    NpyArray bad;
    bad.shape = {T, 3, m};
    bad.data.assign(T * 3 * m, 0.0);
    write_npy(mixfile, bad);
    CHECK_THROWS_WITH_AS((void)read_checkpoint_stack(d.path.string(), sel), doctest::Contains("(tokens, 4, 24) mixes"),
                         InputError);
  }

  TEST_CASE("families: megatron names, a user pattern; missing sites are named") {
    TempDir d;
    std::vector<SafetensorsTensor> t;
    const std::vector<double> base(24, 0.5);
    for (int l = 0; l < 2; ++l)
      for (const char* s : {"self_attention", "mlp"}) {
        const std::string p = "decoder.layers." + std::to_string(l) + "." + s + "_hyper_connection.";
        t.push_back({p + "bias", "F32", {24}, base});
        for (const char* a : {"alpha_pre", "alpha_post", "alpha_res"}) t.push_back({p + a, "F32", {1}, {0.01}});
      }
    write_safetensors((d.path / "model.safetensors").string(), t);
    CheckpointSelection sel;
    sel.family = CheckpointFamily::Megatron;
    const CheckpointStack cs = read_checkpoint_stack(d.path.string(), sel);
    CHECK(cs.sites.size() == 4);
    CHECK(cs.sites[1].site == "mlp");
    CheckpointSelection pat;
    pat.family = CheckpointFamily::Pattern;
    pat.pattern = "decoder.layers.{layer}.{site}_hyper_connection.bias";
    pat.sites = {"self_attention", "mlp"};
    CHECK(read_checkpoint_stack(d.path.string(), pat).sites.size() == 4);
    pat.hidden = "x.npy";
    CHECK_THROWS_WITH_AS(pat.validate(), doctest::Contains("fn and scale"), InputError);
    // deepseek-v4 names are absent: the error lists what the checkpoint holds.
    CHECK_THROWS_WITH_AS((void)read_checkpoint_stack(d.path.string(), {}),
                         doctest::Contains("no tensor matches 'layers.{layer}.hc_{site}_base'"), InputError);
    // A missing site below the last layer is named.
    std::vector<SafetensorsTensor> holes;
    for (const char* name : {"layers.0.hc_attn_base", "layers.0.hc_ffn_base", "layers.2.hc_attn_base", "layers.2.hc_ffn_base",
                             "layers.1.hc_attn_base"})
      holes.push_back({name, "F32", {24}, base});
    TempDir h;
    write_safetensors((h.path / "model.safetensors").string(), holes);
    CHECK_THROWS_WITH_AS((void)read_checkpoint_stack(h.path.string(), {}), doctest::Contains("layers.1.hc_ffn_base"),
                         InputError);
  }

  TEST_CASE("a checkpoint needs method dsv4 with the sites' n") {
    TempDir d;
    MiniCheckpointOptions mo;
    mo.layers = 1;
    mo.n = 2;
    (void)write_mini_dsv4_checkpoint(d.path.string(), mo);
    const CheckpointStack cs = read_checkpoint_stack(d.path.string(), {});
    CHECK(cs.n == 2);
    MethodOptions o;
    o.n = 2;
    CHECK_THROWS_WITH_AS((void)stack_from_checkpoint(*make_method(o), cs, 0), doctest::Contains("use method dsv4"),
                         InputError);
    CHECK_THROWS_WITH_AS((void)stack_from_checkpoint(*dsv4(4), cs, 0), doctest::Contains("n = 2 streams"), InputError);
  }

  TEST_CASE("the layer model runs a checkpoint's sites with their own static gates") {
    TempDir d;
    MiniCheckpointOptions mo;
    mo.layers = 2;
    (void)write_mini_dsv4_checkpoint(d.path.string(), mo);
    const CheckpointStack cs = read_checkpoint_stack(d.path.string(), {});
    const GeneratedStack st = stack_from_checkpoint(*dsv4(4), cs, 0);
    PropagationOptions po;
    po.width = 8;
    for (const Dsv4Gates& g : cs.gates) po.gates.push_back({g.pre, g.post});
    const PropagationSummary s = propagate(st.H, MethodId::Dsv4, po, 3);
    REQUIRE(s.rows.size() == 5);
    for (std::size_t l = 0; l < 4; ++l) {
      CHECK(test::max_abs_diff(s.rows[l].pre, cs.gates[l].pre) == 0.0);
      CHECK(test::max_abs_diff(s.rows[l].post, cs.gates[l].post) == 0.0);
    }
    // Explicit gates equal to the static ones reproduce the default run bit for bit.
    PropagationOptions same;
    same.width = 8;
    for (Index l = 0; l < 4; ++l) same.gates.push_back(static_pre_post(MethodId::Dsv4, 4, l));
    const PropagationSummary a = propagate(st.H, MethodId::Dsv4, same, 3);
    PropagationOptions plain;
    plain.width = 8;
    const PropagationSummary b = propagate(st.H, MethodId::Dsv4, plain, 3);
    for (std::size_t l = 0; l < 5; ++l) CHECK(a.rows[l].energy == b.rows[l].energy);
    CHECK(a.rows[4].energy != s.rows[4].energy);
    po.gates.pop_back();
    CHECK_THROWS_WITH_AS((void)propagate(st.H, MethodId::Dsv4, po, 3), doctest::Contains("3 per-layer gates for 4 layers"),
                         InputError);
  }
}
