// IDX reading. zlib's gzread serves raw and gzipped files alike (it passes a
// non-gzip file through unchanged); the gzip magic only decides which size
// checks can be made before reading. Memory grows with the bytes that really
// arrive, so a header that claims gigabytes costs nothing until they exist.

#include "chainrule/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

namespace cr::data {

namespace {

constexpr const char* kOp = "read_idx";
constexpr int kMaxIdxDims = 8;
constexpr std::size_t kChunk = std::size_t{4} << 20;

[[noreturn]] void fail(const std::string& path, const std::string& problem, const SourceLocation& loc) {
  throw_error(kOp, path + ": " + problem, loc);
}

std::string hex_byte(unsigned v) {
  static const char digits[] = "0123456789abcdef";
  return std::string{"0x"} + digits[(v >> 4) & 15] + digits[v & 15];
}

const char* type_code_name(unsigned code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
  }
}

std::string dims_string(const std::vector<std::int64_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

class Reader {
 public:
  Reader(const std::string& path, const SourceLocation& loc) : path_(path), loc_(loc) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) fail(path, "no such file", loc);
    if (!std::filesystem::is_regular_file(status)) fail(path, "not a regular file", loc);
    file_size_ = static_cast<std::int64_t>(std::filesystem::file_size(path, ec));
    if (ec) fail(path, "cannot read its size: " + ec.message(), loc);
    file_.reset(gzopen(path.c_str(), "rb"));
    if (!file_) fail(path, std::string("cannot open: ") + std::strerror(errno), loc);
    gzbuffer(file_.get(), 1 << 17);
    gzipped_ = gzdirect(file_.get()) == 0;
  }

  bool gzipped() const { return gzipped_; }
  std::int64_t file_size() const { return file_size_; }

  // Reads up to n bytes; fewer only at the end of the data. A damaged gzip
  // stream is an error, not a short read.
  std::size_t read(void* buffer, std::size_t n) {
    std::size_t total = 0;
    auto* out = static_cast<unsigned char*>(buffer);
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min(n - total, kChunk));
      const int got = gzread(file_.get(), out + total, want);
      if (got < 0) check_stream();
      if (got <= 0) break;
      total += static_cast<std::size_t>(got);
    }
    check_stream();
    return total;
  }

  void check_stream() {
    int code = Z_OK;
    const char* message = gzerror(file_.get(), &code);
    if (code == Z_OK) return;
    if (code == Z_BUF_ERROR) fail(path_, "truncated: the gzip stream ends early", loc_);
    fail(path_, std::string("corrupt gzip data: ") + (message ? message : "unknown zlib error"), loc_);
  }

 private:
  std::string path_;
  SourceLocation loc_;
  std::unique_ptr<gzFile_s, GzCloser> file_;
  std::int64_t file_size_ = 0;
  bool gzipped_ = false;
};

std::uint32_t big_endian_u32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

}  // namespace

IdxArray read_idx(const std::string& path, SourceLocation loc) {
  Reader reader(path, loc);

  unsigned char magic[4];
  if (reader.read(magic, 4) < 4) fail(path, "truncated: the file ends inside the 4-byte IDX magic", loc);
  if (magic[0] != 0 || magic[1] != 0 || magic[3] == 0 || magic[3] > kMaxIdxDims)
    fail(path,
         "not an IDX file: wrong magic " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " + hex_byte(magic[2]) +
             " " + hex_byte(magic[3]) + " (expected 0x00 0x00 <type> <1..8 dims>, e.g. 0x00000803 for images)",
         loc);
  if (magic[2] != 0x08)
    fail(path,
         "unsupported type code " + hex_byte(magic[2]) + " (" + type_code_name(magic[2]) +
             "); only unsigned bytes (0x08) are supported",
         loc);

  const int ndims = magic[3];
  unsigned char dim_bytes[4 * kMaxIdxDims];
  if (reader.read(dim_bytes, 4 * ndims) < static_cast<std::size_t>(4 * ndims))
    fail(path, "truncated: the file ends inside the header's " + std::to_string(ndims) + " dims", loc);

  IdxArray result;
  bool too_big = false;
  std::int64_t payload = 1;
  for (int i = 0; i < ndims; ++i) {
    const std::int64_t d = big_endian_u32(dim_bytes + 4 * i);
    result.dims.push_back(d);
    // Checked before multiplying, so the product never overflows.
    if (d != 0 && payload > kMaxIdxBytes / d) too_big = true;
    else payload *= d;
  }
  if (too_big || payload > kMaxIdxBytes)
    fail(path,
         "dims " + dims_string(result.dims) + " describe more than " + std::to_string(kMaxIdxBytes) +
             " bytes; the header is damaged",
         loc);

  const std::int64_t header = 4 + 4 * ndims;
  if (!reader.gzipped()) {
    // A raw file's size is known: check the header's claim before allocating.
    const std::int64_t expected = header + payload;
    if (reader.file_size() < expected)
      fail(path,
           "truncated: dims " + dims_string(result.dims) + " need " + std::to_string(payload) +
               " bytes of data, the file holds " + std::to_string(reader.file_size() - header),
           loc);
    if (reader.file_size() > expected)
      fail(path, "trailing garbage: " + std::to_string(reader.file_size() - expected) + " bytes after the data of dims " +
                     dims_string(result.dims),
           loc);
  }

  // Grow with what arrives: the reservation is capped, resize at most doubles it.
  const auto want = static_cast<std::size_t>(payload);
  // Deflate expands at most ~1032:1, which bounds what a gzip file of this size can hold.
  const auto gzip_bound = static_cast<std::size_t>(reader.file_size()) * 1032 + 4096;
  result.data.reserve(reader.gzipped() ? std::min(want, gzip_bound) : want);
  while (result.data.size() < want) {
    const std::size_t have = result.data.size();
    const std::size_t step = std::min(want - have, kChunk);
    result.data.resize(have + step);
    const std::size_t got = reader.read(result.data.data() + have, step);
    if (got < step) {
      fail(path,
           "truncated: dims " + dims_string(result.dims) + " need " + std::to_string(payload) +
               " bytes of data, the file holds " + std::to_string(have + got),
           loc);
    }
  }
  unsigned char extra[256];
  if (const std::size_t n = reader.read(extra, sizeof extra); n > 0)
    fail(path, "trailing garbage: " + std::string(n == sizeof extra ? "at least " : "") + std::to_string(n) +
                   " bytes after the data of dims " + dims_string(result.dims),
         loc);
  return result;
}

}  // namespace cr::data
