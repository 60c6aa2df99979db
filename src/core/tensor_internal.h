#pragma once
// Helpers shared by the implementation files; not part of the public API.

#include <string>

#include "chainrule/core/tensor.h"

namespace cr::detail {

/// A new contiguous tensor of `sizes` with uninitialised contents.
Tensor make_tensor(const Shape& sizes, DType dtype);
/// A view of `base`'s storage with the given layout; no history attached.
Tensor make_view(const Tensor& base, const Shape& sizes, const Shape& strides, std::int64_t offset);
/// True when `t` is the only handle to its data (one handle on its impl, one
/// impl on its storage), fills its storage exactly, contiguously, and has no
/// autograd history. A backward rule handed such a gradient by the engine may
/// write its result over it, and AccumulateGrad may keep it as .grad(),
/// instead of allocating a buffer of the same size.
bool is_exclusive_buffer(const Tensor& t);
/// Maps a possibly negative dim into [0, ndim); throws naming `op` if out of range.
std::int64_t wrap_dim(std::int64_t dim, std::int64_t ndim, const char* op, const SourceLocation& loc);
/// "[2, 3] float32", for error messages.
std::string describe(const Tensor& t);
void check_defined(const Tensor& t, const char* op, const SourceLocation& loc);
void check_floating(const Tensor& t, const char* op, const SourceLocation& loc);
void check_same_dtype(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc);

}  // namespace cr::detail
