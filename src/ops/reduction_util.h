#pragma once
// Shared by the reduction ops: which dims a reduction covers and its result shape.

#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::detail {

struct ReductionDims {
  std::vector<bool> reduced;  // per input dim
  Shape kept_shape;           // input shape with reduced dims set to 1
  Shape out_shape;            // kept_shape, or with reduced dims dropped
  std::int64_t count = 1;     // elements folded into each output
};

/// Empty `dims` means every dim. Repeated or out-of-range dims throw naming `op`.
ReductionDims reduction_dims(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim,
                             const char* op, const SourceLocation& loc);

/// Stride-0 view of a kept_shape-shaped output for iterating alongside the input.
Shape reduction_out_strides(const ReductionDims& r, int ndim);

/// Expands a reduction's gradient back over the reduced dims (differentiable).
Tensor expand_reduced(const Tensor& grad, const ReductionDims& r, const Shape& input_shape);

}  // namespace cr::detail
