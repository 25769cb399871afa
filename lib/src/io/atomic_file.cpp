// Atomic file replacement (temp file in the same directory, fsync, rename). See mhclab/io/atomic_file.hpp.
#include "mhclab/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <sstream>

#include "mhclab/core/error.hpp"

namespace mhclab {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw InputError(path + ": cannot write: " + what + ": " + std::strerror(err));
}

std::string temp_name(const std::string& path) {
  static std::atomic<unsigned long> seq{0};
  return path + ".tmp." + std::to_string(static_cast<long>(::getpid())) + "." + std::to_string(seq++);
}

/// Best-effort fsync of the directory holding `path`, so the rename itself is durable.
void sync_parent_dir(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  (void)::close(fd);
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  write_file_atomically(path, std::vector<std::string_view>{bytes});
}

void write_file_atomically(const std::string& path, const std::vector<std::string_view>& chunks) {
  write_file_atomically_streamed(path, [&](const ByteSink& sink) {
    for (const std::string_view bytes : chunks) sink(bytes);
  });
}

void write_file_atomically_streamed(const std::string& path, const std::function<void(const ByteSink&)>& producer) {
  if (path.empty()) throw InputError("cannot write a file with an empty name");
  const std::string tmp = temp_name(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "cannot create temporary file '" + tmp + "'", errno);

  // From here on every failure closes and removes the temporary file before throwing.
  bool abandoned = false;
  auto abandon = [&](const std::string& what, int err, bool close_fd) {
    abandoned = true;
    if (close_fd) (void)::close(fd);
    (void)::unlink(tmp.c_str());
    fail(path, what, err);
  };
  // Bytes written, and how many of them have been handed to the kernel's writeback: a large file is flushed to
  // disk while the producer is still computing, so the final fsync has little left to wait for.
  std::uint64_t written = 0, flushed = 0;
  const ByteSink sink = [&](std::string_view bytes) {
    if (abandoned) throw InputError(path + ": cannot write: the file was abandoned after an earlier failure");
    const char* p = bytes.data();
    std::size_t left = bytes.size();
    while (left > 0) {
      const ::ssize_t w = ::write(fd, p, left);
      if (w < 0) {
        if (errno == EINTR) continue;
        abandon("write to '" + tmp + "' failed", errno, true);
      }
      if (w == 0) abandon("write to '" + tmp + "' made no progress", EIO, true);
      p += w;
      left -= static_cast<std::size_t>(w);
      written += static_cast<std::uint64_t>(w);
    }
#ifdef SYNC_FILE_RANGE_WRITE
    constexpr std::uint64_t kWritebackBytes = std::uint64_t{1} << 20;
    if (written - flushed >= kWritebackBytes) {  // start writeback, do not wait (best effort: fsync decides)
      (void)::sync_file_range(fd, static_cast<::off_t>(flushed), static_cast<::off_t>(written - flushed),
                              SYNC_FILE_RANGE_WRITE);
      flushed = written;
    }
#endif
  };
  try {
    producer(sink);
  } catch (...) {
    if (!abandoned) {  // the producer's own error: abandon() has not closed and removed the file yet
      (void)::close(fd);
      (void)::unlink(tmp.c_str());
    }
    throw;
  }
  if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS) abandon("fsync of '" + tmp + "' failed", errno, true);
  if (::close(fd) != 0) abandon("close of '" + tmp + "' failed", errno, false);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) abandon("rename of '" + tmp + "' failed", errno, false);
  sync_parent_dir(path);
}

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& writer) {
  std::ostringstream buf(std::ios::out | std::ios::binary);
  writer(buf);  // may throw: nothing has touched the disk yet
  if (!buf) throw InputError(path + ": cannot write: the output stream failed while formatting the contents");
  write_file_atomically(path, std::string_view(buf.view()));
}

std::string read_file_bytes(const std::string& path) {
  auto fail_read = [&](const std::string& why) -> void { throw InputError(path + ": cannot read: " + why); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_read(std::strerror(errno));
  struct ::stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    (void)::close(fd);
    fail_read(std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    (void)::close(fd);
    fail_read(S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
  }
  std::string out;
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) out.resize(out.size() + 4096);  // the file may have grown since fstat
    const ::ssize_t r = ::read(fd, out.data() + got, out.size() - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      (void)::close(fd);
      fail_read(std::strerror(err));
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  (void)::close(fd);
  out.resize(got);
  return out;
}

}  // namespace mhclab
