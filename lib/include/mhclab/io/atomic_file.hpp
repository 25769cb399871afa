#pragma once
// Atomic file replacement: a file the library writes appears under its final name complete or not at all.
//
//   1. the bytes go to a temporary file in the same directory, `<path>.tmp.<pid>.<seq>` (created with O_EXCL, so
//      two writers never share one): from an in-memory buffer (write_file_atomically: if its writer throws, nothing
//      is created on disk), or as they are produced (write_file_atomically_streamed: the disk writeback of every
//      MiB written is started at once, so the final fsync has little left to wait for);
//   2. the file is fsync'ed and closed;
//   3. std::rename moves it over `path` (atomic on POSIX within one file system), then the directory is
//      fsync'ed (best effort).
// Any failure (the OS's, or the producer's error) removes the temporary file, leaves an existing `path` untouched
// and throws: mhclab::InputError "<path>: cannot write: <OS reason>", or the producer's exception unchanged.
//
// The read-side counterpart, read_file_bytes, is what the io readers use: it accepts only regular files
// (a FIFO or a device could block or never end) and reports the OS reason on failure.
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace mhclab {

/// Writes the bytes `writer` puts into the stream to `path`, atomically (see the header comment).
/// The stream is binary (no newline translation). Throws InputError naming `path` and the OS reason.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& writer);

/// Writes `bytes` to `path`, atomically.
void write_file_atomically(const std::string& path, std::string_view bytes);

/// Writes the concatenation of `chunks` to `path`, atomically (large outputs without a joined copy).
void write_file_atomically(const std::string& path, const std::vector<std::string_view>& chunks);

/// Receives consecutive pieces of a file's contents.
using ByteSink = std::function<void(std::string_view)>;

/// Writes what `producer` hands to its sink, in order, to `path`, atomically, as it is produced (a large output
/// never exists whole in memory). If `producer` throws, the temporary file is removed and the exception passes on.
void write_file_atomically_streamed(const std::string& path, const std::function<void(const ByteSink&)>& producer);

/// The whole contents of the regular file `path`. Throws InputError "<path>: cannot read: <reason>" if it
/// does not exist, is not a regular file, or cannot be read.
[[nodiscard]] std::string read_file_bytes(const std::string& path);

}  // namespace mhclab
