#pragma once
// Ops that join, split and index tensors. The view ops (reshape, permute,
// slice, ...) are Tensor methods and have free-function twins here.

#include <vector>

#include "chainrule/core/tensor.h"

namespace cr {

Tensor reshape(const Tensor& x, const Shape& shape, CR_LOC);
Tensor permute(const Tensor& x, const Shape& dims, CR_LOC);
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1, CR_LOC);
Tensor unsqueeze(const Tensor& x, std::int64_t dim, CR_LOC);
Tensor squeeze(const Tensor& x, std::int64_t dim, CR_LOC);
Tensor flatten(const Tensor& x, std::int64_t start_dim = 0, std::int64_t end_dim = -1, CR_LOC);
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, CR_LOC);
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index, CR_LOC);

/// Joins tensors along an existing dim.
Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim = 0, CR_LOC);
/// Joins tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim = 0, CR_LOC);
/// Views of consecutive chunks of `split_size` along dim (the last may be smaller).
std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim = 0, CR_LOC);
/// Views of chunks with the given sizes along dim.
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<std::int64_t>& sizes,
                                     std::int64_t dim = 0, CR_LOC);

/// Picks entries of `dim` listed by the 1-D int64 `index`.
Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index, CR_LOC);
/// out[i][j] = x[index[i][j]][j] for dim 0 (and likewise for other dims).
Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index, CR_LOC);
/// A copy of x with src added at the positions index names along dim.
Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src,
                   CR_LOC);
/// A copy of x with slice j of src along dim added to slice index[j] of x
/// (1-D int64 index; repeated entries accumulate).
Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, CR_LOC);
/// Rows of `weight` (num_embeddings × dim) looked up by int64 `indices` of any shape.
Tensor embedding(const Tensor& weight, const Tensor& indices, CR_LOC);

}  // namespace cr
