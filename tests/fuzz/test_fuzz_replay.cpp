// The fuzz smoke of the test suite: every committed fuzz input (seed corpora and past findings, tests/fuzz/corpus/
// <reader>/) is replayed through the reader's entry point (tests/fuzz/fuzz_entries.hpp), the same function the
// libFuzzer target calls (scripts/fuzz.sh). Under the sanitizer build this catches a reader change that crashes,
// leaks or misbehaves on any of them.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <string>

#include "fuzz/fuzz_entries.hpp"
#include "support/check.hpp"
#include "support/files.hpp"

namespace {
namespace fs = std::filesystem;

std::size_t replay(const std::string& reader, const std::function<void(std::string_view)>& entry) {
  const fs::path dir = fs::path(mhclab::test::testdata("")).parent_path().parent_path() / "fuzz" / "corpus" / reader;
  std::size_t n = 0;
  for (const fs::directory_entry& f : fs::directory_iterator(dir)) {
    INFO(f.path().string());
    const std::string bytes = mhclab::test::read_bytes(f.path().string());
    CHECK_NOTHROW(entry(bytes));
    // Every prefix of a corpus file too: truncations are the commonest damage.
    for (std::size_t k = 0; k < bytes.size(); k += 1 + bytes.size() / 64) CHECK_NOTHROW(entry(std::string_view(bytes).substr(0, k)));
    ++n;
  }
  return n;
}
}  // namespace

TEST_SUITE("fuzz_replay") {
  TEST_CASE("every committed fuzz input ends in a result or an InputError") {
    CHECK(replay("npy", mhclab::fuzz::npy) >= 1);
    CHECK(replay("safetensors", mhclab::fuzz::safetensors) >= 1);
    CHECK(replay("csv", mhclab::fuzz::csv) >= 1);
    CHECK(replay("experiment", mhclab::fuzz::experiment) >= 1);
    CHECK(replay("train_config", mhclab::fuzz::train_config) >= 1);
    CHECK(replay("checkpoint_index", mhclab::fuzz::checkpoint_index) >= 1);
  }
}
