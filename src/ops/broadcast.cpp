#include "ops/broadcast.h"

#include "chainrule/autograd/record.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"
#include "core/tensor_internal.h"

namespace cr {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op, SourceLocation loc) {
  if (a == b) return a;
  const int ndim = std::max(a.size(), b.size());
  Shape out;
  out.resize(ndim);
  for (int i = 0; i < ndim; ++i) {
    const int ia = i - (ndim - a.size()), ib = i - (ndim - b.size());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw_error(op,
                  "shapes " + a.str() + " and " + b.str() + " cannot be broadcast (dim " +
                      std::to_string(i) + ": " + std::to_string(da) + " vs " + std::to_string(db) + ")",
                  loc);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape, SourceLocation loc) {
  if (grad.sizes() == shape) return grad;
  const int lead = grad.dim() - shape.size();
  if (lead < 0)
    throw_error("sum_to", "cannot sum " + detail::describe(grad) + " down to " + shape.str(), loc);
  std::vector<std::int64_t> dims;
  for (int i = 0; i < grad.dim(); ++i) {
    if (i < lead) dims.push_back(i);
    else if (shape[i - lead] == 1 && grad.sizes()[i] != 1) dims.push_back(i);
    else if (shape[i - lead] != grad.sizes()[i])
      throw_error("sum_to", "cannot sum " + detail::describe(grad) + " down to " + shape.str(), loc);
  }
  Tensor summed = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true, loc);
  return summed.reshape(shape, loc);
}

namespace detail {

Tensor broadcast_view(const Tensor& t, const Shape& shape) {
  if (t.sizes() == shape) return t;
  Shape strides;
  strides.resize(shape.size());
  const int lead = shape.size() - t.dim();
  for (int i = 0; i < shape.size(); ++i) {
    const int j = i - lead;
    strides[i] = (j < 0 || t.sizes()[j] == 1) ? 0 : t.strides()[j];
  }
  Tensor view = make_view(t, shape, strides, t.storage_offset());
  view.impl()->is_view = t.impl()->is_view;
  return view;
}

}  // namespace detail
}  // namespace cr
