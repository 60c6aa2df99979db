#pragma once
// The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (two zero bytes,
// a type code, the number of dims), one big-endian uint32 per dim, then the
// values in row-major order. Files may be gzipped (detected by the gzip magic
// bytes 1f 8b, not by the name).
//
// A hostile or damaged file is an error naming the file, never a crash or an
// allocation larger than the data that is really there.

#include <cstdint>
#include <string>
#include <vector>

#include "chainrule/core/error.h"

namespace cr::data {

/// The contents of an unsigned-byte IDX file (type code 0x08).
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;  // row-major, the product of dims bytes
};

/// Largest payload read_idx accepts (4 GiB): bigger claims are hostile headers.
inline constexpr std::int64_t kMaxIdxBytes = std::int64_t{1} << 32;

/// Reads a raw or gzipped IDX file of unsigned bytes. Throws cr::Error
/// ("read_idx: <path>: ...") for a missing file, a wrong magic, another type
/// code, dims whose product overflows or exceeds kMaxIdxBytes, truncated data
/// and bytes after the data.
IdxArray read_idx(const std::string& path, CR_LOC);

}  // namespace cr::data
