// safetensors reading and writing. Reading validates the whole header before
// it allocates a tensor, then reads each tensor's bytes straight into its
// storage (no second copy of the file in memory). Writing goes through a
// temporary file in the target's directory, fsync and rename.

#include "chainrule/io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "chainrule/io/checkpoint.h"
#include "core/tensor_internal.h"

namespace cr::io {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host would need byte swaps here");

namespace {

using nlohmann::json;

constexpr int kMaxJsonDepth = 3;  // top object > tensor entry > shape array > dim

struct DTypeName {
  DType dtype;
  const char* name;
};
constexpr DTypeName kDTypes[] = {{kFloat32, "F32"}, {kFloat64, "F64"}, {kInt64, "I64"}, {kBool, "BOOL"}};

const char* safetensors_name(DType dtype) {
  for (const auto& d : kDTypes)
    if (d.dtype == dtype) return d.name;
  return "?";
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

std::string shape_string(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// A file descriptor closed on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// ---- writing -------------------------------------------------------------------

bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30));
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Creates a new file next to `path` that no one else uses; returns its descriptor.
int create_temporary(const std::string& path, std::string& temp_path, const SourceLocation& loc) {
  static std::atomic<std::uint64_t> counter{0};
  std::random_device entropy;
  for (int attempt = 0; attempt < 100; ++attempt) {
    temp_path = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) + "." +
                std::to_string(entropy());
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    if (errno != EEXIST)
      throw_error("save_tensors", path + ": cannot create the temporary file " + temp_path + ": " + std::strerror(errno),
                  loc);
  }
  throw_error("save_tensors", path + ": cannot find an unused temporary file name", loc);
}

// Makes the rename itself durable; a failure here loses nothing already written.
void sync_directory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() >= 0) ::fsync(fd.get());
}

// ---- reading -------------------------------------------------------------------

bool read_all_at(int fd, void* data, std::size_t n, std::uint64_t offset) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, std::min<std::size_t>(n, std::size_t{1} << 30), static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<std::size_t>(r);
    offset += static_cast<std::uint64_t>(r);
  }
  return true;
}

struct Entry {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

struct DuplicateKey {
  std::string key;
};
struct TooDeep {};

// Parses the header, rejecting duplicate keys (which JSON parsers otherwise
// resolve silently, last one wins) and nesting no valid header has.
json parse_header(const std::string& text) {
  std::vector<std::set<std::string>> keys;
  return json::parse(text, [&keys](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) throw TooDeep{};
    switch (event) {
      case json::parse_event_t::object_start: keys.emplace_back(); break;
      case json::parse_event_t::object_end: keys.pop_back(); break;
      case json::parse_event_t::key:
        if (!keys.back().insert(parsed.get<std::string>()).second) throw DuplicateKey{parsed.get<std::string>()};
        break;
      default: break;
    }
    return true;
  });
}

// A non-negative integer that fits in uint64; false otherwise.
bool as_unsigned(const json& v, std::uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<std::uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) {
    out = static_cast<std::uint64_t>(v.get<std::int64_t>());
    return true;
  }
  return false;
}

class HeaderReader {
 public:
  HeaderReader(const char* op, const std::string& path, const SourceLocation& loc) : op_(op), path_(path), loc_(loc) {}

  [[noreturn]] void fail(const std::string& problem) const { throw_error(op_, path_ + ": " + problem, loc_); }

  Entry entry(const std::string& name, const json& value, std::uint64_t data_bytes) const {
    const std::string who = "tensor " + quoted(name);
    if (!value.is_object()) fail(who + ": expected an object {dtype, shape, data_offsets}, got " + value.dump());
    for (const auto& [key, unused] : value.items())
      if (key != "dtype" && key != "shape" && key != "data_offsets") fail(who + ": unknown field " + quoted(key));
    for (const char* key : {"dtype", "shape", "data_offsets"})
      if (!value.contains(key)) fail(who + ": missing field '" + key + "'");

    Entry e;
    e.name = name;
    const json& dtype = value["dtype"];
    if (!dtype.is_string()) fail(who + ": dtype must be a string, got " + dtype.dump());
    bool known = false;
    for (const auto& d : kDTypes)
      if (dtype.get<std::string>() == d.name) e.dtype = d.dtype, known = true;
    if (!known) fail(who + ": unsupported dtype " + dtype.dump() + " (chainrule reads F32, F64, I64 and BOOL)");

    const json& shape = value["shape"];
    if (!shape.is_array()) fail(who + ": shape must be an array, got " + shape.dump());
    if (shape.size() > static_cast<std::size_t>(kMaxDims))
      fail(who + ": shape " + shape.dump() + " has more than " + std::to_string(kMaxDims) + " dims");
    const std::uint64_t element = element_size(e.dtype);
    bool has_zero = false;
    for (const json& d : shape) {
      std::uint64_t n = 0;
      if (!as_unsigned(d, n) || n > static_cast<std::uint64_t>(INT64_MAX))
        fail(who + ": shape " + shape.dump() + " holds " + d.dump() + ", not a dim in [0, 2^63)");
      e.shape.push_back(static_cast<std::int64_t>(n));
      has_zero = has_zero || n == 0;
    }
    // In 128 bits, saturated, so a hostile shape cannot overflow the count.
    constexpr unsigned __int128 kCap = static_cast<unsigned __int128>(UINT64_MAX);
    unsigned __int128 nbytes = has_zero ? 0 : element;
    for (std::int64_t n : e.shape) nbytes = std::min(kCap + 1, nbytes * static_cast<std::uint64_t>(n));

    const json& offsets = value["data_offsets"];
    std::uint64_t begin = 0, end = 0;
    if (!offsets.is_array() || offsets.size() != 2 || !as_unsigned(offsets[0], begin) || !as_unsigned(offsets[1], end))
      fail(who + ": data_offsets must be [begin, end] with integers >= 0, got " + offsets.dump());
    if (begin > end) fail(who + ": data_offsets " + offsets.dump() + " end before they begin");
    if (end > data_bytes)
      fail(who + ": data_offsets " + offsets.dump() + " are out of range: the data region holds " +
           std::to_string(data_bytes) + " bytes");
    if (nbytes != end - begin)
      fail(who + ": shape " + shape_string(e.shape) + " " + dtype.get<std::string>() + " needs " +
           (nbytes > kCap ? std::string("more than 2^64") : std::to_string(static_cast<std::uint64_t>(nbytes))) +
           " bytes, but data_offsets " + offsets.dump() + " span " + std::to_string(end - begin));
    e.begin = begin;
    e.end = end;
    return e;
  }

  // The tensors must tile [0, data_bytes): sorted by offset, each starts where the last ended.
  void check_tiling(std::vector<Entry>& entries, std::uint64_t data_bytes) const {
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
    std::uint64_t expected = 0;
    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (e.begin < expected)
        fail("tensors " + quoted(previous->name) + " and " + quoted(e.name) + " overlap (data_offsets [" +
             std::to_string(previous->begin) + ", " + std::to_string(previous->end) + "] and [" +
             std::to_string(e.begin) + ", " + std::to_string(e.end) + "])");
      if (e.begin > expected)
        fail("data bytes [" + std::to_string(expected) + ", " + std::to_string(e.begin) +
             ") belong to no tensor (a gap before " + quoted(e.name) + ")");
      expected = e.end;
      previous = &e;
    }
    if (expected != data_bytes)
      fail(std::to_string(data_bytes - expected) + " bytes of data after the last tensor (the data region holds " +
           std::to_string(data_bytes) + " bytes, the tensors cover " + std::to_string(expected) + ")");
  }

 private:
  const char* op_;
  const std::string& path_;
  const SourceLocation& loc_;
};

SafetensorsFile read_file(const char* op, const std::string& path, const SourceLocation& loc) {
  HeaderReader reader(op, path, loc);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) reader.fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) reader.fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) reader.fail("not a regular file");
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  if (file_size < 8) reader.fail("too short (" + std::to_string(file_size) + " bytes) to hold the 8-byte header length");
  unsigned char length_bytes[8];
  if (!read_all_at(fd.get(), length_bytes, 8, 0)) reader.fail("cannot read the header length");
  std::uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length_bytes[i];
  if (header_bytes > kMaxHeaderBytes)
    reader.fail("header length " + std::to_string(header_bytes) + " exceeds the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file, or a damaged one)");
  if (header_bytes > file_size - 8)
    reader.fail("header length " + std::to_string(header_bytes) + " is larger than the " +
                std::to_string(file_size - 8) + " bytes after it (truncated file?)");

  std::string text(header_bytes, '\0');
  if (!read_all_at(fd.get(), text.data(), header_bytes, 8)) reader.fail("cannot read the header");
  if (text.empty() || text[0] != '{') reader.fail("the header does not start with '{' (not a safetensors file?)");
  json header;
  try {
    header = parse_header(text);
  } catch (const json::exception& e) {
    reader.fail(std::string("invalid JSON header: ") + e.what());
  } catch (const DuplicateKey& d) {
    reader.fail("duplicate key " + quoted(d.key) + " in the JSON header");
  } catch (const TooDeep&) {
    reader.fail("the JSON header nests deeper than a safetensors header can");
  }

  const std::uint64_t data_start = 8 + header_bytes;
  const std::uint64_t data_bytes = file_size - data_start;
  SafetensorsFile result;
  std::vector<Entry> entries;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      if (!value.is_object()) reader.fail("__metadata__ must be an object of strings, got " + value.dump());
      for (const auto& [key, v] : value.items()) {
        if (!v.is_string()) reader.fail("__metadata__ value of " + quoted(key) + " must be a string, got " + v.dump());
        result.metadata[key] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(reader.entry(name, value, data_bytes));
  }
  reader.check_tiling(entries, data_bytes);

  for (const Entry& e : entries) {
    Tensor t = cr::detail::make_tensor(Shape(e.shape), e.dtype);
    const std::size_t n = e.end - e.begin;
    if (n > 0 && !read_all_at(fd.get(), t.raw_data(), n, data_start + e.begin))
      reader.fail("cannot read the data of tensor " + quoted(e.name) + " (file changed while reading?)");
    if (e.dtype == kBool) {
      // Any byte but 0 or 1 in a C++ bool is undefined behaviour, not "true".
      const auto* bytes = static_cast<const unsigned char*>(t.raw_data());
      for (std::size_t i = 0; i < n; ++i)
        if (bytes[i] > 1)
          reader.fail("BOOL tensor " + quoted(e.name) + " holds byte " + std::to_string(bytes[i]) + " at element " +
                      std::to_string(i) + " (only 0 and 1 are booleans)");
    }
    result.tensors.emplace(e.name, std::move(t));
  }
  return result;
}

}  // namespace

void save_tensors(const TensorMap& tensors, const std::string& path, const Metadata& metadata, SourceLocation loc) {
  const char* op = "save_tensors";
  // Every check and conversion happens before the temporary file exists.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> contiguous;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__") throw_error(op, path + ": '__metadata__' is reserved and cannot name a tensor", loc);
    if (!t.defined()) throw_error(op, path + ": tensor " + quoted(name) + " is undefined", loc);
    const Tensor c = t.detach().contiguous(loc);
    const std::uint64_t nbytes = static_cast<std::uint64_t>(c.numel()) * c.element_size();
    header[name] = {{"dtype", safetensors_name(c.dtype())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    contiguous.push_back(c);
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw_error(op, path + ": a tensor name or metadata string is not valid UTF-8", loc);
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  if (text.size() > kMaxHeaderBytes)
    throw_error(op, path + ": the header would take " + std::to_string(text.size()) + " bytes, more than the " +
                        std::to_string(kMaxHeaderBytes) + " readers accept",
                loc);
  unsigned char length_bytes[8];
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  std::string temp_path;
  Fd fd(create_temporary(path, temp_path, loc));
  auto abandon = [&](const std::string& what) {
    const std::string reason = std::strerror(errno);
    ::close(fd.release());
    ::unlink(temp_path.c_str());
    throw_error(op, path + ": " + what + " " + temp_path + ": " + reason + " (the previous file, if any, is intact)",
                loc);
  };
  if (!write_all(fd.get(), length_bytes, 8) || !write_all(fd.get(), text.data(), text.size()))
    abandon("cannot write");
  for (const Tensor& c : contiguous)
    if (c.numel() > 0 && !write_all(fd.get(), c.raw_data(), static_cast<std::size_t>(c.numel()) * c.element_size()))
      abandon("cannot write");
  if (::fsync(fd.get()) != 0) abandon("cannot fsync");
  if (::close(fd.release()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp_path.c_str());
    throw_error(op, path + ": cannot close " + temp_path + ": " + reason, loc);
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp_path.c_str());
    throw_error(op, path + ": cannot rename " + temp_path + " into place: " + reason, loc);
  }
  sync_directory(path);
}

SafetensorsFile read_safetensors(const std::string& path, SourceLocation loc) {
  return read_file("read_safetensors", path, loc);
}

TensorMap load_tensors(const std::string& path, SourceLocation loc) {
  return read_file("load_tensors", path, loc).tensors;
}

// Declared in checkpoint.h; here because they need no Module.
TensorMap with_prefix(const TensorMap& tensors, const std::string& prefix) {
  TensorMap out;
  for (const auto& [name, t] : tensors) out.emplace(prefix + name, t);
  return out;
}

TensorMap strip_prefix(const TensorMap& tensors, const std::string& prefix) {
  TensorMap out;
  for (const auto& [name, t] : tensors)
    if (name.starts_with(prefix)) out.emplace(name.substr(prefix.size()), t);
  return out;
}

}  // namespace cr::io
