// io/checkpoint.hpp: sharded and single-file checkpoints written by io/safetensors_writer.hpp and read back through
// Checkpoint and the single-file reader; every refused index, directory and shard with its own message; lazy
// loading of shards (a truncated shard does not stop the others); moves and concurrent reads.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "mhclab/core/error.hpp"
#include "mhclab/core/precision.hpp"
#include "mhclab/io/checkpoint.hpp"
#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"
#include "mhclab/io/safetensors_writer.hpp"
#include "support/files.hpp"

using namespace mhclab;
using mhclab::test::input_error_of;
using mhclab::test::read_bytes;
using mhclab::test::TempDir;
using mhclab::test::write_bytes;
namespace fs = std::filesystem;

namespace {

std::vector<double> ramp(std::size_t n, double scale, double shift) {
  std::vector<double> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = scale * static_cast<double>(k) + shift;
  return v;
}

/// Unrelated tensors of every dtype, values not all representable (so the rounding shows).
std::vector<SafetensorsTensor> model_tensors() {
  return {{"embed.weight", "BF16", {4, 3}, ramp(12, 0.1, -0.6)},
          {"layers.0.attn.q", "F32", {3, 3}, ramp(9, 1.0 / 3.0, 0.0)},
          {"layers.0.mhc.H_res", "F64", {2, 4, 4}, ramp(32, 0.01, 0.5)},
          {"layers.1.mlp.up", "F16", {5}, {1.0 + 0x1p-11, 0x1p-24, -3 * 0x1p-26, 65504.0, 0.1}},
          {"norm.scale", "F32", {}, {1.5}},
          {"zero.rows", "F64", {0, 7}, {}}};
}

/// The value the checkpoint should give back for tensor `t` (rounded once to its dtype).
std::vector<double> stored(const SafetensorsTensor& t) {
  std::vector<double> out;
  for (const double x : t.values) {
    if (t.dtype == "F32")
      out.push_back(round_to(x, Precision::FP32));
    else if (t.dtype == "BF16")
      out.push_back(round_to(x, Precision::BF16));
    else
      out.push_back(x);
  }
  return out;
}

/// A file with a literal header and `data` (for dtypes the writer does not produce).
std::string raw_file(std::string header, const std::string& data) {
  while (header.size() % 8 != 0) header += ' ';
  std::string len(8, '\0');
  for (std::size_t b = 0; b < 8; ++b) len[b] = static_cast<char>((header.size() >> (8 * b)) & 0xffU);
  return len + header + data;
}

/// A two-shard checkpoint in `root`: a, b in shard 1; c in shard 2.
ShardedCheckpointResult two_shards(const std::string& root) {
  ShardedCheckpointOptions o;
  o.shard_of = {0, 0, 1};
  return write_sharded_checkpoint(
      root, {{"a", "F32", {2}, {1.0, 2.0}}, {"b", "F64", {1}, {3.0}}, {"c", "F16", {2}, {4, 5}}}, o);
}

}  // namespace

TEST_SUITE("io_checkpoint") {
  TEST_CASE("a sharded checkpoint reads back through Checkpoint and the single-file reader") {
    TempDir dir;
    const std::vector<SafetensorsTensor> tensors = model_tensors();
    ShardedCheckpointOptions o;
    o.max_tensors_per_shard = 2;
    o.index_metadata = {{"note", "test"}};
    const ShardedCheckpointResult w = write_sharded_checkpoint(dir.file("m"), tensors, o);
    REQUIRE(w.shard_files.size() == 3);

    for (const std::string& path : {dir.file("m"), w.index_file}) {  // the directory, or the index itself
      INFO(path);
      const Checkpoint ck(path);
      CHECK(ck.source() == path);
      CHECK(ck.index_file() == w.index_file);
      CHECK(ck.shard_files() == w.shard_files);
      CHECK(ck.size() == tensors.size());
      CHECK(ck.names() == std::vector<std::string>{"embed.weight", "layers.0.attn.q", "layers.0.mhc.H_res",
                                                   "layers.1.mlp.up", "norm.scale", "zero.rows"});
      CHECK(ck.has("layers.0.mhc.H_res"));
      CHECK_FALSE(ck.has("layers.0.mhc"));
      const nlohmann::json meta = nlohmann::json::parse(ck.index_metadata_json());
      CHECK(meta["total_size"] == w.total_size);
      CHECK(meta["note"] == "test");
      for (std::size_t k = 0; k < tensors.size(); ++k) {
        const SafetensorsTensor& t = tensors[k];
        INFO(t.name);
        CHECK(ck.shard_of(t.name) == w.shard_files[w.shard_of[k]]);
        const CheckpointEntry e = ck.entry(t.name);
        CHECK(e.shard == w.shard_files[w.shard_of[k]]);
        CHECK(e.tensor.name == t.name);
        CHECK(e.tensor.dtype == t.dtype);
        CHECK(e.tensor.shape == t.shape);
        CHECK(e.file_offset == read_safetensors_header(e.shard).data_start + e.tensor.begin);
        const NpyArray a = ck.read(t.name);
        CHECK(a.shape == t.shape);
        const NpyArray single = read_safetensors(e.shard, t.name);  // the existing reader agrees
        CHECK(single.data == a.data);
        if (t.dtype != "F16") CHECK(a.data == stored(t));
      }
    }
    // F16 rounding, subnormals included: 1 + 2^-11 is a tie (to 1), −3·2^-26 rounds to −2^-24.
    const NpyArray h = Checkpoint(dir.file("m")).read("layers.1.mlp.up");
    CHECK(h.data[0] == 1.0);
    CHECK(h.data[1] == 0x1p-24);
    CHECK(h.data[2] == -0x1p-24);
    CHECK(h.data[3] == 65504.0);
    CHECK(h.data[4] == 0.0999755859375);  // the binary16 nearest to 0.1
    // bf16: 1 + 2^-9 rounds to 1.
    write_safetensors(dir.file("r.safetensors"), {{"x", "BF16", {2}, {1.0 + 0x1p-9, 1.0 + 0x1p-7}}});
    CHECK(open_checkpoint(dir.file("r.safetensors")).read("x").data == std::vector<double>{1.0, 1.0 + 0x1p-7});
  }

  TEST_CASE("a single file, a directory with one file, and a directory of files without an index") {
    TempDir dir;
    write_safetensors(dir.file("one.safetensors"), {{"w", "F64", {2}, {1.0, 2.0}}, {"v", "F32", {1}, {3.0}}});
    const Checkpoint file(dir.file("one.safetensors"));
    CHECK(file.index_file().empty());
    CHECK(file.index_metadata_json() == "{}");
    CHECK(file.names() == std::vector<std::string>{"v", "w"});
    CHECK(file.read("w").data == std::vector<double>{1.0, 2.0});
    CHECK(file.shard_files() == std::vector<std::string>{dir.file("one.safetensors")});

    const Checkpoint in_dir(dir.path.string());
    CHECK(in_dir.names() == std::vector<std::string>{"v", "w"});
    CHECK(in_dir.read("v").data == std::vector<double>{3.0});

    // Several files, no index: the map comes from the headers.
    fs::create_directories(dir.path / "multi");
    write_safetensors(dir.file("multi/part-a.safetensors"), {{"x", "F64", {1}, {1.0}}, {"y", "F64", {1}, {2.0}}});
    write_safetensors(dir.file("multi/part-b.safetensors"), {{"z", "F16", {1}, {0.5}}});
    write_bytes(dir.file("multi/README.md"), "not a tensor file");
    const Checkpoint multi(dir.file("multi"));
    CHECK(multi.index_file().empty());
    CHECK(multi.names() == std::vector<std::string>{"x", "y", "z"});
    CHECK(multi.shard_of("z") == dir.file("multi/part-b.safetensors"));
    CHECK(multi.read("z").data == std::vector<double>{0.5});
    CHECK(multi.read("y").data == std::vector<double>{2.0});

    // A name in two files is refused, naming both.
    write_safetensors(dir.file("multi/part-c.safetensors"), {{"y", "F32", {1}, {9.0}}});
    const std::string multi_dir = dir.file("multi");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(multi_dir); }), multi_dir, "tensor 'y' is in both",
                      "part-a.safetensors", "part-c.safetensors");

    // Symbolic links are followed (the Hugging Face cache's snapshots link to blobs).
    fs::create_directories(dir.path / "blobs");
    fs::create_directories(dir.path / "snapshot");
    const ShardedCheckpointResult w = two_shards(dir.file("blobs"));
    for (const std::string& f : w.shard_files) fs::create_symlink(f, dir.path / "snapshot" / fs::path(f).filename());
    fs::create_symlink(w.index_file, dir.path / "snapshot" / "model.safetensors.index.json");
    CHECK(Checkpoint(dir.file("snapshot")).read("c").data == std::vector<double>{4.0, 5.0});
  }

  TEST_CASE("shards are loaded lazily: a truncated shard fails only when one of its tensors is read") {
    TempDir dir;
    const ShardedCheckpointResult w = two_shards(dir.file("m"));
    // Cut the second shard inside its data buffer: its header promises bytes the file no longer has.
    fs::resize_file(w.shard_files[1], fs::file_size(w.shard_files[1]) - 1);
    const Checkpoint ck(dir.file("m"));
    CHECK(ck.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(ck.read("a").data == std::vector<double>{1.0, 2.0});
    CHECK(ck.has("c"));
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)ck.read("c"); }), w.shard_files[1], "tensor 'c'", "data_offsets",
                      "out of range");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)ck.entry("c"); }), w.shard_files[1]);
    // Cut inside the header, and to nothing.
    fs::resize_file(w.shard_files[1], 12);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(dir.file("m")).read("c"); }), w.shard_files[1],
                      "header length");
    fs::resize_file(w.shard_files[1], 0);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(dir.file("m")).read("c"); }), w.shard_files[1],
                      "too short");
    // A single truncated file is refused when opened (its header gives the names).
    write_safetensors(dir.file("s.safetensors"), {{"x", "F64", {4}, {1, 2, 3, 4}}});
    fs::resize_file(dir.file("s.safetensors"), fs::file_size(dir.file("s.safetensors")) - 8);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(dir.file("s.safetensors")); }), "s.safetensors",
                      "out of range");
  }

  TEST_CASE("missing tensors, shards and dtypes") {
    TempDir dir;
    const ShardedCheckpointResult w = two_shards(dir.file("m"));
    const Checkpoint ck(w.index_file);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)ck.read("nope"); }), w.index_file, "no tensor 'nope'",
                      "3 tensor(s): a, b, c");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)ck.shard_of("nope"); }), "no tensor 'nope'");

    // The index maps a tensor to a shard that does not hold it.
    const std::string with_ghost = R"({"weight_map": {"a": "model-00001-of-00002.safetensors",
        "ghost": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors"}})";
    write_bytes(dir.file("m/ghost.json"), with_ghost);
    const Checkpoint g(dir.file("m/ghost.json"));
    CHECK(g.has("ghost"));
    CHECK(g.read("a").data == std::vector<double>{1.0, 2.0});
    const std::string maps_it = "(the index " + dir.file("m/ghost.json") + " maps it here)";
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)g.read("ghost"); }), w.shard_files[0], "no tensor 'ghost'", maps_it,
                      "2 tensor(s): a, b");

    // A shard that does not exist: refused when opened, naming the shard and a tensor that needs it.
    fs::remove(w.shard_files[1]);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(dir.file("m")); }), w.index_file,
                      "shard 'model-00002-of-00002.safetensors'", "needed by tensor 'c'", "does not exist");
    fs::remove(w.shard_files[0]);
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(w.index_file); }),
                      "shard 'model-00001-of-00002.safetensors'", "needed by tensor 'a' and 1 more");
    fs::create_directories(w.shard_files[0]);  // a directory in the shard's place
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(w.index_file); }), "is not a regular file");

    // Integer tensors are refused by the decoder.
    write_bytes(dir.file("int.safetensors"),
                raw_file(R"({"i":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"f":{"dtype":"F32","shape":[],)"
                         R"("data_offsets":[8,12]}})",
                         std::string(8, '\0') + std::string("\0\0\x80\x3f", 4)));
    const Checkpoint ints(dir.file("int.safetensors"));
    CHECK(ints.read("f").data == std::vector<double>{1.0});
    CHECK(ints.entry("i").tensor.dtype == "I32");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)ints.read("i"); }), "dtype I32 is not a floating-point type");
  }

  TEST_CASE("every malformed index has its own message") {
    TempDir dir;
    const ShardedCheckpointResult w = two_shards(dir.file("m"));
    const std::string idx = dir.file("m/bad.index.json");
    const auto refused = [&](const std::string& text) {
      write_bytes(idx, text);
      return input_error_of([&] { (void)Checkpoint(idx); });
    };
    const std::string shard = "\"model-00001-of-00002.safetensors\"";
    CHECK_MESSAGE_HAS(refused("{\"weight_map\": {"), idx, "not valid JSON");
    CHECK_MESSAGE_HAS(refused(""), idx, "not valid JSON");
    CHECK_MESSAGE_HAS(refused("[1, 2]"), idx, "is a JSON array", "expected {\"metadata\"");
    CHECK_MESSAGE_HAS(refused(R"({"metadata": {}})"), idx, "no \"weight_map\"");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": ["a"]})"), idx, "\"weight_map\" is a JSON array", "expected an object");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {}})"), "is empty");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"a": 1}})"), "weight_map['a'] is 1", "expected a shard file name");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"a": null}})"), "weight_map['a'] is null");
    CHECK_MESSAGE_HAS(refused(R"({"metadata": [], "weight_map": {"a": )" + shard + "}}"),
                      "\"metadata\" is a JSON array");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"a": )" + shard + ", \"a\": " + shard + "}}"),
                      "the tensor 'a' in weight_map twice");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"a": )" + shard + "}, \"weight_map\": {}}"),
                      "the key 'weight_map' twice");
    CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"__metadata__": )" + shard + "}}"), "reserved");
    // Paths that would leave the index's directory (or name it) are refused before anything is opened.
    for (const std::string bad : {"../m/model-00001-of-00002.safetensors", "/etc/passwd", "sub/x.safetensors", "..",
                                  ".", "", "..\\\\x.safetensors"}) {
      INFO(bad);
      CHECK_MESSAGE_HAS(refused(R"({"weight_map": {"a": ")" + bad + "\"}}"), idx, "weight_map['a']",
                        "not a plain file name", "expected a shard file in the index's directory");
    }
    // Accepted: metadata and other keys that are not checked.
    write_bytes(idx, R"({"metadata": {"total_size": 8}, "extra": 1, "weight_map": {"a": )" + shard + "}}");
    CHECK(Checkpoint(idx).read("a").data == std::vector<double>{1.0, 2.0});
    CHECK(Checkpoint(idx).names() == std::vector<std::string>{"a"});
  }

  TEST_CASE("refused paths and directories") {
    TempDir dir;
    const std::string none = dir.file("none"), empty = dir.file("empty");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(none); }), none, "does not exist");
    fs::create_directories(dir.path / "empty");
    write_bytes(dir.file("empty/notes.txt"), "x");
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(empty); }), empty,
                      "no model.safetensors.index.json and no *.safetensors file");
    // Two indexes and none canonical: refused; with model.safetensors.index.json present, that one is used.
    const ShardedCheckpointResult w = two_shards(dir.file("m"));
    fs::rename(w.index_file, dir.file("m/a.safetensors.index.json"));
    fs::copy_file(dir.file("m/a.safetensors.index.json"), dir.file("m/b.safetensors.index.json"));
    CHECK_MESSAGE_HAS(input_error_of([&] { (void)Checkpoint(dir.file("m")); }), "2 checkpoint indexes",
                      "a.safetensors.index.json", "b.safetensors.index.json");
    fs::remove(dir.file("m/b.safetensors.index.json"));
    CHECK(Checkpoint(dir.file("m")).index_file() == dir.file("m/a.safetensors.index.json"));
    write_bytes(dir.file("m/b.safetensors.index.json"), "not json");
    fs::copy_file(dir.file("m/a.safetensors.index.json"), w.index_file);
    CHECK(Checkpoint(dir.file("m")).index_file() == w.index_file);
    CHECK(Checkpoint(dir.file("m")).read("b").data == std::vector<double>{3.0});
  }

  TEST_CASE("Checkpoint moves, does not copy, and reads from several threads") {
    static_assert(!std::is_copy_constructible_v<Checkpoint>);
    static_assert(!std::is_copy_assignable_v<Checkpoint>);
    static_assert(std::is_nothrow_move_constructible_v<Checkpoint>);
    static_assert(std::is_nothrow_move_assignable_v<Checkpoint>);
    TempDir dir;
    std::vector<SafetensorsTensor> tensors;
    ShardedCheckpointOptions o;
    for (int k = 0; k < 16; ++k) {
      tensors.push_back({std::string("t") + std::to_string(100 + k), "F64", {64}, ramp(64, 1.0, k)});
      o.shard_of.push_back(static_cast<std::size_t>(k % 4));
    }
    (void)write_sharded_checkpoint(dir.file("m"), tensors, o);
    Checkpoint a(dir.file("m"));
    Checkpoint b = std::move(a);
    CHECK(b.read("t100").data == tensors[0].values);
    Checkpoint c(dir.file("m/model-00001-of-00004.safetensors"));
    c = std::move(b);
    CHECK(c.size() == 16);
    std::vector<int> bad(4, 0);
    std::vector<std::thread> threads;
    for (int th = 0; th < 4; ++th)
      threads.emplace_back([&, th] {
        for (int rep = 0; rep < 20; ++rep)
          for (std::size_t k = 0; k < tensors.size(); ++k)
            if (c.read(tensors[(k + static_cast<std::size_t>(th)) % tensors.size()].name).data !=
                tensors[(k + static_cast<std::size_t>(th)) % tensors.size()].values)
              ++bad[static_cast<std::size_t>(th)];
      });
    for (std::thread& t : threads) t.join();
    CHECK(bad == std::vector<int>(4, 0));
  }
}
