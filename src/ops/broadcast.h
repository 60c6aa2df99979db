#pragma once
// Broadcasting helpers shared by the elementwise ops.

#include "chainrule/core/tensor.h"

namespace cr::detail {

/// A stride-0 view of `t` with the (broadcast-compatible) shape `shape`; no history.
Tensor broadcast_view(const Tensor& t, const Shape& shape);

}  // namespace cr::detail
