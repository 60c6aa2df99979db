// View ops: new sizes/strides over the same storage, no copy. Their backward
// rules reshape the gradient back; slicing ones scatter it into zeros.

#include <algorithm>
#include <numeric>

#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/shape.h"
#include "core/tensor_internal.h"
#include "ops/broadcast.h"

namespace cr {

using autograd::GradList;
using autograd::Node;

namespace {

Shape infer_shape(const Shape& requested, std::int64_t numel, const char* op, const SourceLocation& loc) {
  Shape shape = requested;
  int infer = -1;
  std::int64_t known = 1;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) throw_error(op, "only one dim can be -1, got " + requested.str(), loc);
      infer = i;
    } else if (shape[i] < 0) {
      throw_error(op, "invalid size in " + requested.str(), loc);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw_error(op, "shape " + requested.str() + " is invalid for a tensor of " + std::to_string(numel) + " elements", loc);
    shape[infer] = numel / known;
  } else if (known != numel) {
    throw_error(op, "shape " + requested.str() + " is invalid for a tensor of " + std::to_string(numel) + " elements", loc);
  }
  return shape;
}

// Records a view whose gradient is `g` reshaped back to the input's shape.
Tensor record_reshaping_view(const Tensor& x, Tensor out, const char* name, const SourceLocation& loc) {
  if (autograd::needs_grad(x))
    autograd::record(name, loc, {&x}, out, [shape = x.sizes()](Node&, const Tensor& g) {
      return GradList{g.reshape(shape)};
    });
  return out;
}

// The gradient of a strided slice: `g` placed into zeros of the input's shape.
Tensor slice_backward(const Tensor& g, const Shape& input_shape, std::int64_t dim, std::int64_t start,
                      std::int64_t step) {
  Tensor out = zeros(input_shape, g.dtype());
  {
    NoGradGuard no_grad;
    out.slice(dim, start, start + (g.sizes()[static_cast<int>(dim)] - 1) * step + 1, step).copy_(g);
  }
  if (autograd::needs_grad(g))
    autograd::record("SliceBackwardBackward", SourceLocation::current(), {&g}, out,
                     [dim, start, step, n = g.sizes()[static_cast<int>(dim)]](Node&, const Tensor& gg) {
                       return GradList{gg.slice(dim, start, start + (n - 1) * step + 1, step)};
                     });
  return out;
}

}  // namespace

Tensor Tensor::view(const Shape& shape, SourceLocation loc) const {
  detail::check_defined(*this, "view", loc);
  const Shape target = infer_shape(shape, numel(), "view", loc);
  if (!is_contiguous())
    throw_error("view", "cannot view a non-contiguous " + detail::describe(*this) +
                            " tensor as " + target.str() + "; use reshape() (it copies)",
                loc);
  Tensor out = detail::make_view(*this, target, contiguous_strides(target), storage_offset());
  return record_reshaping_view(*this, std::move(out), "ViewBackward", loc);
}

Tensor Tensor::reshape(const Shape& shape, SourceLocation loc) const {
  detail::check_defined(*this, "reshape", loc);
  const Shape target = infer_shape(shape, numel(), "reshape", loc);
  if (target == sizes()) return *this;
  if (is_contiguous()) {
    Tensor out = detail::make_view(*this, target, contiguous_strides(target), storage_offset());
    return record_reshaping_view(*this, std::move(out), "ReshapeBackward", loc);
  }
  return clone(loc).view(target, loc);
}

Tensor Tensor::permute(const Shape& dims, SourceLocation loc) const {
  detail::check_defined(*this, "permute", loc);
  if (dims.size() != dim())
    throw_error("permute", "got " + std::to_string(dims.size()) + " dims " + dims.str() + " for " + detail::describe(*this), loc);
  Shape sizes_out, strides_out, inverse;
  inverse.resize(dims.size(), -1);
  for (int i = 0; i < dims.size(); ++i) {
    const auto d = static_cast<int>(detail::wrap_dim(dims[i], dim(), "permute", loc));
    if (inverse[d] != -1) throw_error("permute", "dim " + std::to_string(d) + " repeats in " + dims.str(), loc);
    inverse[d] = i;
    sizes_out.push_back(sizes()[d]);
    strides_out.push_back(strides()[d]);
  }
  Tensor out = detail::make_view(*this, sizes_out, strides_out, storage_offset());
  if (autograd::needs_grad(*this))
    autograd::record("PermuteBackward", loc, {this}, out,
                     [inverse](Node&, const Tensor& g) { return GradList{g.permute(inverse)}; });
  return out;
}

Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1, SourceLocation loc) const {
  detail::check_defined(*this, "transpose", loc);
  const auto d0 = static_cast<int>(detail::wrap_dim(dim0, dim(), "transpose", loc));
  const auto d1 = static_cast<int>(detail::wrap_dim(dim1, dim(), "transpose", loc));
  Shape sizes_out = sizes(), strides_out = strides();
  if (dim() == 0) return record_reshaping_view(*this, detail::make_view(*this, sizes_out, strides_out, storage_offset()), "TransposeBackward", loc);
  std::swap(sizes_out[d0], sizes_out[d1]);
  std::swap(strides_out[d0], strides_out[d1]);
  Tensor out = detail::make_view(*this, sizes_out, strides_out, storage_offset());
  if (autograd::needs_grad(*this))
    autograd::record("TransposeBackward", loc, {this}, out,
                     [d0, d1](Node&, const Tensor& g) { return GradList{g.transpose(d0, d1)}; });
  return out;
}

Tensor Tensor::t(SourceLocation loc) const {
  detail::check_defined(*this, "t", loc);
  if (dim() > 2) throw_error("t", "expects a tensor of at most 2 dims, got " + detail::describe(*this), loc);
  return dim() < 2 ? *this : transpose(0, 1, loc);
}

Tensor Tensor::unsqueeze(std::int64_t d, SourceLocation loc) const {
  detail::check_defined(*this, "unsqueeze", loc);
  const auto at = static_cast<int>(detail::wrap_dim(d, dim() + 1, "unsqueeze", loc));
  Shape sizes_out = sizes(), strides_out = strides();
  const std::int64_t stride = at < dim() ? strides()[at] * sizes()[at] : 1;
  sizes_out.insert(at, 1);
  strides_out.insert(at, stride);
  return record_reshaping_view(*this, detail::make_view(*this, sizes_out, strides_out, storage_offset()),
                               "UnsqueezeBackward", loc);
}

Tensor Tensor::squeeze(SourceLocation loc) const {
  detail::check_defined(*this, "squeeze", loc);
  Shape sizes_out, strides_out;
  for (int i = 0; i < dim(); ++i)
    if (sizes()[i] != 1) {
      sizes_out.push_back(sizes()[i]);
      strides_out.push_back(strides()[i]);
    }
  return record_reshaping_view(*this, detail::make_view(*this, sizes_out, strides_out, storage_offset()),
                               "SqueezeBackward", loc);
}

Tensor Tensor::squeeze(std::int64_t d, SourceLocation loc) const {
  detail::check_defined(*this, "squeeze", loc);
  const auto at = static_cast<int>(detail::wrap_dim(d, dim(), "squeeze", loc));
  if (dim() == 0 || sizes()[at] != 1) return *this;
  Shape sizes_out = sizes(), strides_out = strides();
  sizes_out.erase(at);
  strides_out.erase(at);
  return record_reshaping_view(*this, detail::make_view(*this, sizes_out, strides_out, storage_offset()),
                               "SqueezeBackward", loc);
}

Tensor Tensor::expand(const Shape& shape, SourceLocation loc) const {
  detail::check_defined(*this, "expand", loc);
  if (shape.size() < dim())
    throw_error("expand", "cannot expand " + detail::describe(*this) + " to fewer dims " + shape.str(), loc);
  Shape target = shape;
  const int lead = shape.size() - dim();
  for (int i = 0; i < shape.size(); ++i) {
    const int j = i - lead;
    if (target[i] == -1) {
      if (j < 0) throw_error("expand", "-1 is not allowed for a new leading dim in " + shape.str(), loc);
      target[i] = sizes()[j];
    }
    if (j >= 0 && sizes()[j] != 1 && sizes()[j] != target[i])
      throw_error("expand", "cannot expand " + detail::describe(*this) + " to " + shape.str(), loc);
  }
  Tensor out = detail::broadcast_view(*this, target);
  if (out.is_same(*this)) return out;
  out.impl()->is_view = true;
  // The engine sums the gradient back to the input's shape (Node::run).
  if (autograd::needs_grad(*this))
    autograd::record("ExpandBackward", loc, {this}, out, [](Node&, const Tensor& g) { return GradList{g}; });
  return out;
}

Tensor Tensor::expand_as(const Tensor& other, SourceLocation loc) const { return expand(other.sizes(), loc); }

Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim, SourceLocation loc) const {
  detail::check_defined(*this, "flatten", loc);
  if (dim() == 0) return reshape({1}, loc);
  const auto start = static_cast<int>(detail::wrap_dim(start_dim, dim(), "flatten", loc));
  const auto end = static_cast<int>(detail::wrap_dim(end_dim, dim(), "flatten", loc));
  if (start > end) throw_error("flatten", "start_dim comes after end_dim", loc);
  Shape target;
  for (int i = 0; i < start; ++i) target.push_back(sizes()[i]);
  std::int64_t merged = 1;
  for (int i = start; i <= end; ++i) merged *= sizes()[i];
  target.push_back(merged);
  for (int i = end + 1; i < dim(); ++i) target.push_back(sizes()[i]);
  return reshape(target, loc);
}

Tensor Tensor::slice(std::int64_t d, std::int64_t start, std::int64_t end, std::int64_t step,
                     SourceLocation loc) const {
  detail::check_defined(*this, "slice", loc);
  if (dim() == 0) throw_error("slice", "cannot slice a 0-dim tensor", loc);
  const auto at = static_cast<int>(detail::wrap_dim(d, dim(), "slice", loc));
  if (step <= 0) throw_error("slice", "step must be positive, got " + std::to_string(step), loc);
  const std::int64_t n = sizes()[at];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<std::int64_t>(start, 0, n);
  end = std::clamp<std::int64_t>(end, start, n);
  Shape sizes_out = sizes(), strides_out = strides();
  sizes_out[at] = (end - start + step - 1) / step;
  strides_out[at] = strides()[at] * step;
  Tensor out = detail::make_view(*this, sizes_out, strides_out, storage_offset() + start * strides()[at]);
  if (autograd::needs_grad(*this))
    autograd::record("SliceBackward", loc, {this}, out, [shape = sizes(), at, start, step](Node&, const Tensor& g) {
      return GradList{slice_backward(g, shape, at, start, step)};
    });
  return out;
}

Tensor Tensor::narrow(std::int64_t d, std::int64_t start, std::int64_t length, SourceLocation loc) const {
  detail::check_defined(*this, "narrow", loc);
  const auto at = static_cast<int>(detail::wrap_dim(d, dim(), "narrow", loc));
  const std::int64_t n = dim() == 0 ? 0 : sizes()[at];
  if (start < 0) start += n;
  if (start < 0 || length < 0 || start + length > n)
    throw_error("narrow", "range [" + std::to_string(start) + ", " + std::to_string(start + length) +
                              ") is out of bounds for dim " + std::to_string(at) + " of " + detail::describe(*this),
                loc);
  return slice(at, start, start + length, 1, loc);
}

Tensor Tensor::select(std::int64_t d, std::int64_t index, SourceLocation loc) const {
  detail::check_defined(*this, "select", loc);
  const auto at = static_cast<int>(detail::wrap_dim(d, dim(), "select", loc));
  if (dim() == 0) throw_error("select", "cannot select from a 0-dim tensor", loc);
  const std::int64_t n = sizes()[at];
  if (index < -n || index >= n)
    throw_error("select", "index " + std::to_string(index) + " is out of range for dim " + std::to_string(at) +
                              " of " + detail::describe(*this),
                loc);
  if (index < 0) index += n;
  // A size-1 slice, then drop the dim: the gradient path reuses slice's.
  return slice(at, index, index + 1, 1, loc).squeeze(at, loc);
}

Tensor reshape(const Tensor& x, const Shape& shape, SourceLocation loc) { return x.reshape(shape, loc); }
Tensor permute(const Tensor& x, const Shape& dims, SourceLocation loc) { return x.permute(dims, loc); }
Tensor transpose(const Tensor& x, std::int64_t dim0, std::int64_t dim1, SourceLocation loc) {
  return x.transpose(dim0, dim1, loc);
}
Tensor unsqueeze(const Tensor& x, std::int64_t dim, SourceLocation loc) { return x.unsqueeze(dim, loc); }
Tensor squeeze(const Tensor& x, std::int64_t dim, SourceLocation loc) { return x.squeeze(dim, loc); }
Tensor flatten(const Tensor& x, std::int64_t start_dim, std::int64_t end_dim, SourceLocation loc) {
  return x.flatten(start_dim, end_dim, loc);
}
Tensor narrow(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t length, SourceLocation loc) {
  return x.narrow(dim, start, length, loc);
}
Tensor select(const Tensor& x, std::int64_t dim, std::int64_t index, SourceLocation loc) {
  return x.select(dim, index, loc);
}

}  // namespace cr
