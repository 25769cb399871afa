// Hugging Face checkpoints (index + memory-mapped shards). See mhclab/io/checkpoint.hpp for what is accepted and
// every check made here.
#include "mhclab/io/checkpoint.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "mhclab/core/error.hpp"
#include "mhclab/io/atomic_file.hpp"

namespace mhclab {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kIndexName = "model.safetensors.index.json";

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

/// A read-only memory map of a whole regular file (empty for an empty file), unmapped on destruction.
class Mapping {
 public:
  Mapping() = default;
  explicit Mapping(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // O_NONBLOCK: a FIFO must not block
    if (fd < 0) throw InputError(path + ": cannot read: " + std::strerror(errno));
    struct Close {
      int fd;
      ~Close() { (void)::close(fd); }
    } const guard{fd};
    struct ::stat st {};
    if (::fstat(fd, &st) != 0) throw InputError(path + ": cannot read: " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw InputError(path + ": cannot read: not a regular file");
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ == 0) return;  // mmap refuses length 0; the header parser reports the empty file
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) throw InputError(path + ": cannot map the file: " + std::strerror(errno));
    data_ = static_cast<const char*>(p);
  }
  Mapping(Mapping&& o) noexcept : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept {
    if (this != &o) {
      release();
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { release(); }

  [[nodiscard]] std::string_view bytes() const { return {data_, data_ == nullptr ? 0 : size_}; }
  [[nodiscard]] std::size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (data_ != nullptr) (void)::munmap(const_cast<char*>(data_), size_);
    data_ = nullptr;
  }
  const char* data_ = nullptr;
  std::size_t size_ = 0;
};

/// One shard file: mapped and its header parsed on first use.
struct Shard {
  std::string path;  ///< as opened (index directory / file name)
  bool loaded = false;
  Mapping mapping;
  SafetensorsHeader header;
};

const SafetensorsEntry* find_entry(const SafetensorsHeader& h, const std::string& tensor) {
  const auto it = std::lower_bound(h.tensors.begin(), h.tensors.end(), tensor,
                                   [](const SafetensorsEntry& e, const std::string& t) { return e.name < t; });
  return it != h.tensors.end() && it->name == tensor ? &*it : nullptr;
}

}  // namespace

struct Checkpoint::Impl {
  std::string source;
  std::string index;  ///< "" without an index
  std::string metadata_json = "{}";
  mutable std::vector<Shard> shards;         ///< sorted by path; fixed in size after opening
  std::map<std::string, std::size_t> where;  ///< tensor → index into shards
  mutable std::mutex mutex;                  ///< guards the lazy loading of shards

  /// The shard `s`, mapped and its header parsed (once).
  const Shard& load(std::size_t s) const {
    const std::lock_guard<std::mutex> lock(mutex);
    Shard& sh = shards[s];
    if (!sh.loaded) {
      Mapping m(sh.path);
      SafetensorsHeader h = parse_safetensors_header(m.bytes(), m.size(), sh.path);  // reads the header pages only
      sh.mapping = std::move(m);
      sh.header = std::move(h);
      sh.loaded = true;
    }
    return sh;
  }

  std::size_t lookup(const std::string& tensor) const {
    const auto it = where.find(tensor);
    if (it == where.end()) {
      std::vector<std::string> all;
      all.reserve(where.size());
      for (const auto& [name, s] : where) all.push_back(name);
      throw InputError(source + ": no tensor '" + tensor + "'; the checkpoint holds " + std::to_string(all.size()) +
                       " tensor(s): " + safetensors_name_list(all));
    }
    return it->second;
  }

  /// The shard and header entry of `tensor`.
  std::pair<const Shard*, const SafetensorsEntry*> find(const std::string& tensor) const {
    const Shard& sh = load(lookup(tensor));
    const SafetensorsEntry* e = find_entry(sh.header, tensor);
    if (e == nullptr)  // only possible with an index: otherwise the names come from the headers
      throw InputError(sh.path + ": no tensor '" + tensor + "' (the index " + index +
                       " maps it here); the file holds " + std::to_string(sh.header.tensors.size()) +
                       " tensor(s): " + safetensors_name_list(sh.header.names()));
    return {&sh, e};
  }

  void add_shard(const std::string& path) {
    shards.emplace_back();
    shards.back().path = path;
  }

  /// (c): one safetensors file, its header read now for the names.
  void open_single(const std::string& path) {
    add_shard(path);
    for (const SafetensorsEntry& e : load(0).header.tensors) where.emplace(e.name, 0);
  }

  /// (b) without an index: several files, the map built from their headers.
  void open_several(const std::string& dir, const std::vector<std::string>& files) {
    for (const std::string& f : files) add_shard(f);
    for (std::size_t s = 0; s < shards.size(); ++s)
      for (const SafetensorsEntry& e : load(s).header.tensors) {
        const auto [it, fresh] = where.emplace(e.name, s);
        if (!fresh)
          throw InputError(dir + ": tensor '" + e.name + "' is in both " + shards[it->second].path + " and " +
                           shards[s].path + "; expected every tensor in one file (or a " + std::string(kIndexName) +
                           " saying which file holds it)");
      }
  }

  /// (a): an index file.
  void open_index(const std::string& path) {
    index = path;
    const CheckpointIndex parsed = parse_checkpoint_index(read_file_bytes(path), path);
    metadata_json = parsed.metadata_json;
    fs::path dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
    std::map<std::string, std::vector<std::string>> by_file;  // shard file name → its tensors (sorted)
    for (const auto& [name, file] : parsed.weight_map) by_file[file].push_back(name);
    std::map<std::string, std::size_t> shard_of_file;
    for (const auto& [file, tensors] : by_file) {  // eager existence check (a stat per shard, nothing read)
      const std::string shard_path = (dir / file).string();
      std::error_code ec;
      const fs::file_status st = fs::status(shard_path, ec);
      if (!fs::is_regular_file(st)) {
        const std::string needed = "(needed by tensor '" + tensors.front() + "'" +
                                   (tensors.size() > 1 ? " and " + std::to_string(tensors.size() - 1) + " more" : "") +
                                   ")";
        throw InputError(path + ": shard '" + file + "' " + needed +
                         (fs::exists(st) ? " is not a regular file" : " does not exist") + " in " + dir.string() +
                         "; expected every shard the index names next to it");
      }
      shard_of_file.emplace(file, shards.size());
      add_shard(shard_path);
    }
    for (const auto& [file, tensors] : by_file)
      for (const std::string& t : tensors) where.emplace(t, shard_of_file.at(file));
  }

  /// (b): a directory.
  void open_directory(const std::string& dir) {
    std::vector<std::string> indexes, files;
    bool canonical = false;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code ec2;
      if (!it->is_regular_file(ec2)) continue;  // follows symbolic links
      const std::string name = it->path().filename().string();
      if (name == kIndexName) canonical = true;
      if (ends_with(name, ".safetensors.index.json"))
        indexes.push_back(it->path().string());
      else if (ends_with(name, ".safetensors"))
        files.push_back(it->path().string());
    }
    if (ec) throw InputError(dir + ": cannot list the directory: " + ec.message());
    std::sort(indexes.begin(), indexes.end());
    std::sort(files.begin(), files.end());
    if (canonical) return open_index((fs::path(dir) / kIndexName).string());
    if (indexes.size() == 1) return open_index(indexes.front());
    if (indexes.size() > 1)
      throw InputError(dir + ": " + std::to_string(indexes.size()) + " checkpoint indexes (" +
                       safetensors_name_list(indexes) + ") and no " + std::string(kIndexName) +
                       "; expected one (pass the index file meant)");
    if (files.empty())
      throw InputError(dir + ": no " + std::string(kIndexName) +
                       " and no *.safetensors file; expected a Hugging Face checkpoint directory (an index and its "
                       "shards, or .safetensors files)");
    if (files.size() == 1) return open_single(files.front());
    open_several(dir, files);
  }
};

CheckpointIndex parse_checkpoint_index(std::string_view text, const std::string& path) {
  // nlohmann keeps the last of two equal keys; a name given twice is ambiguous, so it is refused (seen through the
  // parser callback: depth 1 = the top object's keys, depth 2 under "weight_map" = the tensor names).
  std::string top, duplicate;
  std::set<std::string> top_keys, names;
  const nlohmann::json::parser_callback_t watch = [&](int depth, nlohmann::json::parse_event_t event,
                                                      nlohmann::json& parsed) {
    if (event != nlohmann::json::parse_event_t::key || !parsed.is_string() || !duplicate.empty()) return true;
    const std::string& k = parsed.get_ref<const std::string&>();
    if (depth == 1) {
      top = k;
      if (!top_keys.insert(k).second) duplicate = "the key '" + k + "'";
    } else if (depth == 2 && top == "weight_map" && !names.insert(k).second) {
      duplicate = "the tensor '" + k + "' in weight_map";
    }
    return true;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, watch);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": the checkpoint index is not valid JSON (" + e.what() + ")");
  }
  if (!duplicate.empty())
    throw InputError(path + ": the checkpoint index gives " + duplicate + " twice; expected unique keys");
  const std::string expected = "; expected {\"metadata\": {…}, \"weight_map\": {\"<tensor>\": \"<shard file>\", …}}";
  if (!j.is_object())
    throw InputError(path + ": the checkpoint index is a JSON " + std::string(j.type_name()) + expected);
  CheckpointIndex out;
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object())
      throw InputError(path + ": \"metadata\" is a JSON " + std::string(j["metadata"].type_name()) +
                       "; expected an object");
    out.metadata_json = j["metadata"].dump();
  }
  if (!j.contains("weight_map")) throw InputError(path + ": no \"weight_map\"" + expected);
  const nlohmann::json& map = j["weight_map"];
  if (!map.is_object())
    throw InputError(path + ": \"weight_map\" is a JSON " + std::string(map.type_name()) +
                     "; expected an object {\"<tensor>\": \"<shard file>\", …}");
  if (map.empty()) throw InputError(path + ": \"weight_map\" is empty; expected at least one tensor");
  for (const auto& [name, v] : map.items()) {
    const std::string where_ = path + ": weight_map['" + name + "']";
    if (name == "__metadata__")
      throw InputError(where_ + ": '__metadata__' is reserved by the safetensors format; expected a tensor name");
    if (!v.is_string()) throw InputError(where_ + " is " + v.dump() + "; expected a shard file name (a string)");
    const std::string& file = v.get_ref<const std::string&>();
    if (file.empty() || file == "." || file == ".." || file.find_first_of(std::string("/\\\0", 3)) != std::string::npos)
      throw InputError(where_ + " = \"" + file + "\" is not a plain file name; expected a shard file in the " +
                       "index's directory (no '/', '\\' or \"..\"), e.g. model-00001-of-00002.safetensors");
    out.weight_map.emplace(name, file);
  }
  return out;
}

Checkpoint::Checkpoint(const std::string& path) : impl_(std::make_unique<Impl>()) {
  impl_->source = path;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st))
    throw InputError(path + ": does not exist; expected a .safetensors file, a " + std::string(kIndexName) +
                     " or a checkpoint directory");
  if (fs::is_directory(st))
    impl_->open_directory(path);
  else if (!fs::is_regular_file(st))
    throw InputError(path + ": not a regular file or directory; expected a .safetensors file, an index or a directory");
  else if (ends_with(path, ".json"))
    impl_->open_index(path);
  else
    impl_->open_single(path);
}

Checkpoint::~Checkpoint() = default;
Checkpoint::Checkpoint(Checkpoint&& other) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&& other) noexcept = default;

namespace {
[[noreturn]] void moved_from() { throw std::logic_error("mhclab::Checkpoint: use of a moved-from checkpoint"); }
}  // namespace

const std::string& Checkpoint::source() const {
  if (!impl_) moved_from();
  return impl_->source;
}

const std::string& Checkpoint::index_file() const {
  if (!impl_) moved_from();
  return impl_->index;
}

const std::string& Checkpoint::index_metadata_json() const {
  if (!impl_) moved_from();
  return impl_->metadata_json;
}

std::vector<std::string> Checkpoint::shard_files() const {
  if (!impl_) moved_from();
  std::vector<std::string> out;
  for (const Shard& s : impl_->shards) out.push_back(s.path);  // path is fixed after opening: no lock needed
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Checkpoint::names() const {
  if (!impl_) moved_from();
  std::vector<std::string> out;
  out.reserve(impl_->where.size());
  for (const auto& [name, s] : impl_->where) out.push_back(name);
  return out;
}

std::size_t Checkpoint::size() const {
  if (!impl_) moved_from();
  return impl_->where.size();
}

bool Checkpoint::has(const std::string& tensor) const {
  if (!impl_) moved_from();
  return impl_->where.count(tensor) != 0;
}

const std::string& Checkpoint::shard_of(const std::string& tensor) const {
  if (!impl_) moved_from();
  return impl_->shards[impl_->lookup(tensor)].path;
}

CheckpointEntry Checkpoint::entry(const std::string& tensor) const {
  if (!impl_) moved_from();
  const auto [shard, e] = impl_->find(tensor);
  return {*e, shard->path, shard->header.data_start + e->begin};
}

NpyArray Checkpoint::read(const std::string& tensor) const {
  if (!impl_) moved_from();
  const auto [shard, e] = impl_->find(tensor);
  // The decoder checks the dtype before it looks at the bytes, so a refused dtype touches no data page.
  const std::string_view raw = shard->mapping.bytes().substr(shard->header.data_start + e->begin, e->end - e->begin);
  return decode_safetensors_tensor(*e, raw, shard->path);
}

Checkpoint open_checkpoint(const std::string& path) { return Checkpoint(path); }

}  // namespace mhclab
