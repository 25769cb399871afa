#pragma once
// Test helpers for file I/O: a self-removing temp dir, raw text/byte files, and checks on InputError messages.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <vector>
#include <fstream>
#include <initializer_list>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unistd.h>

#include "mhclab/core/error.hpp"

namespace mhclab::test {
namespace fs = std::filesystem;

/// A fresh directory under the system temp dir, removed with its contents at scope exit.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& prefix = "mhclab_test_") {
    std::random_device rd;
    path = fs::temp_directory_path() / (prefix + std::to_string(::getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
  /// Names of the files in the directory (to spot left-over temporaries), sorted.
  [[nodiscard]] std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

template <class F>
inline std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    FAIL_CHECK("expected InputError, got another exception: " << e.what());
    return "";
  }
  FAIL_CHECK("expected InputError, nothing was thrown");
  return "";
}

/// Checks that the message contains every given substring (shown on failure).
#define CHECK_MESSAGE_HAS(msg, ...)                                                              \
  do {                                                                                           \
    const std::string msg_ = (msg);                                                              \
    INFO("message: " << msg_);                                                                   \
    for (const std::string_view part_ : std::initializer_list<std::string_view>{__VA_ARGS__})    \
      CHECK_MESSAGE(msg_.find(part_) != std::string::npos, "missing '" << std::string(part_) << "'"); \
  } while (0)

/// Binary aliases of write_text / read_text.
inline void write_bytes(const std::string& path, const std::string& bytes) { write_text(path, bytes); }
inline std::string read_bytes(const std::string& path) { return read_text(path); }

}  // namespace mhclab::test
