// sum and mean, and the helpers every reduction shares.

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"
#include "core/tensor_internal.h"
#include "ops/reduction_util.h"

namespace cr {

using autograd::GradList;
using autograd::Node;

namespace detail {

ReductionDims reduction_dims(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim,
                             const char* op, const SourceLocation& loc) {
  check_defined(x, op, loc);
  ReductionDims r;
  const int ndim = static_cast<int>(x.dim());
  r.reduced.assign(static_cast<std::size_t>(ndim), dims.empty());
  for (std::int64_t d : dims) {
    const auto at = static_cast<std::size_t>(wrap_dim(d, ndim, op, loc));
    if (ndim == 0) continue;
    if (r.reduced[at]) throw_error(op, "dim " + std::to_string(d) + " appears twice", loc);
    r.reduced[at] = true;
  }
  for (int i = 0; i < ndim; ++i) {
    if (r.reduced[static_cast<std::size_t>(i)]) {
      r.count *= x.sizes()[i];
      r.kept_shape.push_back(1);
      if (keepdim) r.out_shape.push_back(1);
    } else {
      r.kept_shape.push_back(x.sizes()[i]);
      r.out_shape.push_back(x.sizes()[i]);
    }
  }
  return r;
}

Shape reduction_out_strides(const ReductionDims& r, int ndim) {
  Shape strides = contiguous_strides(r.kept_shape);
  for (int i = 0; i < ndim; ++i)
    if (r.reduced[static_cast<std::size_t>(i)]) strides[i] = 0;
  return strides;
}

Tensor expand_reduced(const Tensor& grad, const ReductionDims& r, const Shape& input_shape) {
  return grad.reshape(r.kept_shape).expand(input_shape);
}

}  // namespace detail

namespace {

// Sums x over the reduced dims into a kept_shape-shaped tensor of `out_dtype`.
// Floats accumulate in double, so long sums in float32 stay accurate.
Tensor sum_kernel(const Tensor& x, const detail::ReductionDims& r, DType out_dtype) {
  Tensor out = detail::make_tensor(r.kept_shape, out_dtype);
  const std::int64_t n_out = out.numel();
  const Shape out_strides = detail::reduction_out_strides(r, static_cast<int>(x.dim()));
  std::array<Shape, 2> strides{out_strides, x.strides()};
  dispatch_all(x.dtype(), [&]<class T>() {
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, std::int64_t>;
    std::vector<Acc> acc(static_cast<std::size_t>(n_out), Acc(0));
    const T* px = static_cast<const T*>(x.raw_data());
    if (n_out == 1 && x.is_contiguous()) {
      const std::int64_t n = x.numel();
      Acc total = 0;
      if (n <= cpu::kParallelGrain) {
        for (std::int64_t i = 0; i < n; ++i) total += static_cast<Acc>(px[i]);
      } else {
#pragma omp parallel for reduction(+ : total)
        for (std::int64_t i = 0; i < n; ++i) total += static_cast<Acc>(px[i]);
      }
      acc[0] = total;
    } else {
      cpu::detail::for_each_row<2>(x.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
        Acc* pa = acc.data() + off[0];
        const T* q = px + off[1];
        if (st[0] == 0) {
          Acc s = 0;
          for (std::int64_t i = 0; i < count; ++i) s += static_cast<Acc>(q[i * st[1]]);
          *pa += s;
        } else if (st[0] == 1 && st[1] == 1) {  // a dense row into a dense row (bias gradients): vectorises
          for (std::int64_t i = 0; i < count; ++i) pa[i] += static_cast<Acc>(q[i]);
        } else {
          for (std::int64_t i = 0; i < count; ++i) pa[i * st[0]] += static_cast<Acc>(q[i * st[1]]);
        }
      });
    }
    dispatch_all(out_dtype, [&]<class O>() {
      O* po = out.data_ptr<O>();
      for (std::int64_t i = 0; i < n_out; ++i) po[i] = static_cast<O>(acc[static_cast<std::size_t>(i)]);
    });
  });
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) {
  detail::ReductionDims r = detail::reduction_dims(x, dims, keepdim, "sum", loc);
  const DType out_dtype = is_floating(x.dtype()) ? x.dtype() : kInt64;
  Tensor out = sum_kernel(x, r, out_dtype);
  out.impl()->sizes = r.out_shape;  // same elements, reduced dims dropped unless keepdim
  out.impl()->strides = contiguous_strides(r.out_shape);
  if (autograd::needs_grad(x))
    autograd::record("SumBackward", loc, {&x}, out, [r, shape = x.sizes()](Node&, const Tensor& g) {
      return GradList{detail::expand_reduced(g, r, shape)};
    });
  return out;
}

Tensor sum(const Tensor& x, SourceLocation loc) { return sum(x, {}, false, loc); }

Tensor mean(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) {
  detail::check_floating(x, "mean", loc);
  detail::ReductionDims r = detail::reduction_dims(x, dims, keepdim, "mean", loc);
  return div(sum(x, dims, keepdim, loc), static_cast<double>(r.count), loc);
}

Tensor mean(const Tensor& x, SourceLocation loc) { return mean(x, {}, false, loc); }

Tensor Tensor::sum(SourceLocation loc) const { return cr::sum(*this, loc); }
Tensor Tensor::sum(std::int64_t dim, bool keepdim, SourceLocation loc) const {
  return cr::sum(*this, {dim}, keepdim, loc);
}
Tensor Tensor::sum(const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) const {
  return cr::sum(*this, dims, keepdim, loc);
}
Tensor Tensor::mean(SourceLocation loc) const { return cr::mean(*this, loc); }
Tensor Tensor::mean(std::int64_t dim, bool keepdim, SourceLocation loc) const {
  return cr::mean(*this, {dim}, keepdim, loc);
}
Tensor Tensor::mean(const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) const {
  return cr::mean(*this, dims, keepdim, loc);
}

}  // namespace cr
