#pragma once
// Reading Hugging Face style checkpoints: one `.safetensors` file, or a model split over several shard files with
// a `model.safetensors.index.json` naming the shard of every tensor (mhclab/io/safetensors.hpp describes one
// file; mhclab/io/safetensors_writer.hpp writes both layouts).
//
// What open_checkpoint(path) accepts:
//   (a) an index file (a path ending in ".json"):
//         {"metadata": {…}, "weight_map": {"<tensor>": "model-00001-of-00002.safetensors", …}}
//       shard file names are resolved in the index's own directory;
//   (b) a directory, holding
//         - an index: "model.safetensors.index.json" if present, else the one "*.safetensors.index.json"
//           file; read as (a). Several "*.safetensors.index.json" and none called model.safetensors.index.json
//           are refused, naming them (pass the one meant);
//         - else exactly one "*.safetensors" file: read as (c);
//         - else several "*.safetensors" files and no index: the name → shard map is built from their headers;
//           a tensor name in two files is refused, naming both files;
//         - else (none): InputError, "expected an index or *.safetensors files";
//       (entries are matched by name; symbolic links are followed, as in the Hugging Face cache's snapshots);
//   (c) any other regular file: one safetensors file.
//
// Index checks (InputError "<index>: …" saying what was expected):
//   - valid JSON, a top-level object, no key given twice at the top level or inside "weight_map";
//   - "weight_map" present, an object, not empty; every value a string that is a plain file name in the
//     index's directory: not empty, no '/' or '\', not "." or ".." (so no path can escape the directory);
//     the tensor name "__metadata__" (reserved by the format) is refused;
//   - "metadata", if present, an object (its content is kept verbatim, see index_metadata_json; it is not
//     otherwise checked); other top-level keys are ignored;
//   - every shard named must exist as a regular file. This is checked EAGERLY, when the checkpoint is opened
//     (a stat per shard, no reading): "<index>: shard 'f' (needed by tensor 'x' and k more) does not exist
//     in <dir>". The shards' headers are read lazily, see below.
//
// Reading. Every shard is memory-mapped read-only (PROT_READ, MAP_PRIVATE) the first time one of its tensors is
// asked for (with an index) or when the checkpoint is opened (a single file, or a directory without an index,
// whose headers give the names); its header is parsed and validated once by parse_safetensors_header (so a
// truncated shard — data_offsets beyond the file's size, a header cut short — is an InputError naming the
// shard) and cached. read() then decodes only the pages of that tensor (decode_safetensors_tensor: F64, F32,
// F16, BF16 to double exactly; integer and other dtypes refused; non-finite values refused), so a checkpoint of
// any size costs the headers plus the tensors read. The mappings are released by the destructor.
//   - a name not in the checkpoint: "<checkpoint>: no tensor 'x'; the checkpoint holds N tensor(s): a, b, …"
//     (at most 20 names, as safetensors_name_list prints them);
//   - a name the index maps to a shard whose header does not have it:
//     "<shard>: no tensor 'x' (the index <index> maps it here); the file holds N tensor(s): …". With an index,
//     the index is authoritative: tensors present in a shard but not listed in the index are not visible.
// The files must not be modified or truncated while the Checkpoint is open (as for any memory map: a file that
// shrinks under the mapping makes a later access fault). Checked at parse time: the sizes the header promises.
//
// Thread safety: every const member function may be called from several threads at once (loading a shard is
// serialised by a mutex inside; decoding runs outside it). Moving from or destroying a Checkpoint must not race
// with other calls on it. A moved-from Checkpoint may only be assigned to or destroyed.
#include <cstddef>
#include <map>
#include <string_view>
#include <memory>
#include <string>
#include <vector>

#include "mhclab/io/npy.hpp"
#include "mhclab/io/safetensors.hpp"

namespace mhclab {

/// One tensor of a checkpoint: its header entry and where it lives.
struct CheckpointEntry {
  SafetensorsEntry tensor;      ///< as in the shard's header (begin/end relative to the shard's data buffer)
  std::string shard;            ///< path of the shard file holding it
  std::size_t file_offset = 0;  ///< byte offset of the tensor's first byte in the shard file
};

/// A single-file or sharded safetensors checkpoint, opened for reading (see the header comment).
class Checkpoint {
 public:
  /// Opens `path` (an index file, a directory or a .safetensors file). Throws InputError as described above.
  explicit Checkpoint(const std::string& path);
  ~Checkpoint();
  Checkpoint(Checkpoint&& other) noexcept;
  Checkpoint& operator=(Checkpoint&& other) noexcept;
  Checkpoint(const Checkpoint&) = delete;
  Checkpoint& operator=(const Checkpoint&) = delete;

  /// The path as given to the constructor (names the checkpoint in errors).
  [[nodiscard]] const std::string& source() const;
  /// The index file read, or "" for a checkpoint without one.
  [[nodiscard]] const std::string& index_file() const;
  /// The index's "metadata" object as compact JSON ("{}" when absent or without an index).
  [[nodiscard]] const std::string& index_metadata_json() const;
  /// Paths of the shard files, sorted (one entry for a single file).
  [[nodiscard]] std::vector<std::string> shard_files() const;

  /// The tensor names, sorted.
  [[nodiscard]] std::vector<std::string> names() const;
  /// Number of tensors.
  [[nodiscard]] std::size_t size() const;
  /// Whether the checkpoint lists `tensor` (from the index alone: no shard is opened).
  [[nodiscard]] bool has(const std::string& tensor) const;
  /// Path of the shard file that holds `tensor` (from the index alone). InputError if not listed.
  [[nodiscard]] const std::string& shard_of(const std::string& tensor) const;
  /// The header entry of `tensor` and its shard (maps and parses the shard on first use). InputError if the
  /// checkpoint does not list it, or its shard does not hold it or is invalid.
  [[nodiscard]] CheckpointEntry entry(const std::string& tensor) const;
  /// Reads `tensor` as a float64 array (shape as stored, C order), touching only its bytes of the shard.
  [[nodiscard]] NpyArray read(const std::string& tensor) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Checkpoint(path): opens an index file, a checkpoint directory or a single .safetensors file.
[[nodiscard]] Checkpoint open_checkpoint(const std::string& path);

/// A parsed and validated index (the checks listed above for an index file; no file is opened).
struct CheckpointIndex {
  std::string metadata_json = "{}";              ///< "metadata" as compact JSON
  std::map<std::string, std::string> weight_map;  ///< tensor → shard file name (a plain name in the index's directory)
};
/// Parses the text of a model.safetensors.index.json (`path` names it in errors). Throws InputError.
[[nodiscard]] CheckpointIndex parse_checkpoint_index(std::string_view text, const std::string& path);

}  // namespace mhclab
