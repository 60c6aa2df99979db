#pragma once
// safetensors files, byte for byte as Hugging Face's safetensors library and
// PyTorch write them:
//
//   8 bytes   N, the header length, little-endian uint64
//   N bytes   UTF-8 JSON: {"__metadata__": {str: str},
//                          name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
//             padded with spaces so the data starts 8-byte aligned
//   rest      the tensors' raw little-endian bytes, in name order, back to back;
//             data_offsets count from the start of this region
//
// Saving writes a temporary file next to the target, fsyncs it and renames it
// into place: a save that fails or is interrupted leaves the old file intact.
// Loading checks everything a hostile file could get wrong before it
// allocates: header size, JSON, dtypes, shapes against byte counts, and that
// the tensors tile the data region exactly.

#include <cstdint>
#include <map>
#include <string>

#include "chainrule/core/tensor.h"

namespace cr::io {

using TensorMap = std::map<std::string, Tensor>;
using Metadata = std::map<std::string, std::string>;

/// Headers longer than this are rejected, as the reference implementation does.
inline constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

/// Writes `tensors` (any strides; float32 "F32", float64 "F64", int64 "I64",
/// bool "BOOL") and optional string metadata to `path`, atomically.
void save_tensors(const TensorMap& tensors, const std::string& path, const Metadata& metadata = {}, CR_LOC);

struct SafetensorsFile {
  TensorMap tensors;
  Metadata metadata;
};

/// Reads a whole safetensors file; the tensors are new, contiguous, and require no grad.
SafetensorsFile read_safetensors(const std::string& path, CR_LOC);

/// The tensors of read_safetensors(path).
TensorMap load_tensors(const std::string& path, CR_LOC);

}  // namespace cr::io
