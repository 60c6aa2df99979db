// var, std, max, min, argmax and logsumexp. Each forward lays the input out as
// rows (kept dims) × columns (reduced dims) and reduces every row with a small
// kernel; each backward is written in public ops, so it can be differentiated again.

#include <cmath>
#include <limits>
#include <utility>

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
using autograd::SavedTensor;

namespace {

// A 2-D [kept elements, reduced elements] view of x (a copy only when the
// layout cannot be expressed with two strides). No history is recorded.
Tensor as_rows(const Tensor& x, const detail::ReductionDims& r) {
  Tensor xd = x.detach();
  if (x.dim() == 0) return xd.reshape({1, 1});
  Shape order;
  std::int64_t kept = 1;
  for (int i = 0; i < x.dim(); ++i)
    if (!r.reduced[static_cast<std::size_t>(i)]) {
      order.push_back(i);
      kept *= x.sizes()[i];
    }
  for (int i = 0; i < x.dim(); ++i)
    if (r.reduced[static_cast<std::size_t>(i)]) order.push_back(i);
  return xd.permute(order).reshape({kept, r.count});
}

// Calls fn(row, first, stride, count) for every row of a 2-D tensor of T.
template <class T, class RowFn>
void for_each_reduced_row(const Tensor& rows, RowFn fn) {
  const T* base = static_cast<const T*>(rows.raw_data());
  const std::int64_t m = rows.sizes()[0], n = rows.sizes()[1];
  const std::int64_t s0 = rows.strides()[0], s1 = rows.strides()[1];
  cpu::parallel_for(m, m * n > cpu::kParallelGrain, [&](std::int64_t i) { fn(i, base + i * s0, s1, n); });
}

// Accumulation type: double for floats, so long float32 rows stay accurate.
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;

// ---- var / std ---------------------------------------------------------------

// Two passes per row (mean, then squared deviations): no cancellation, unlike
// the one-pass E[x²] - E[x]² formula.
Tensor variance_kernel(const Tensor& x, const detail::ReductionDims& r, double ddof, bool take_sqrt) {
  Tensor rows = as_rows(x, r);
  Tensor out = detail::make_tensor(r.out_shape, x.dtype());
  dispatch_floating(x.dtype(), [&]<class T>() {
    T* po = out.data_ptr<T>();
    const double divisor = static_cast<double>(r.count) - ddof;
    for_each_reduced_row<T>(rows, [&](std::int64_t row, const T* p, std::int64_t s, std::int64_t n) {
      double total = 0;
      for (std::int64_t k = 0; k < n; ++k) total += static_cast<double>(p[k * s]);
      const double mean = total / static_cast<double>(n);
      double squares = 0;
      for (std::int64_t k = 0; k < n; ++k) {
        const double d = static_cast<double>(p[k * s]) - mean;
        squares += d * d;
      }
      const double v = squares / divisor;
      po[row] = static_cast<T>(take_sqrt ? std::sqrt(v) : v);
    });
  });
  return out;
}

Tensor var_or_std(const Tensor& x, const std::vector<std::int64_t>& dims, bool unbiased, bool keepdim,
                  bool take_sqrt, const char* op, const SourceLocation& loc) {
  detail::check_floating(x, op, loc);
  detail::ReductionDims r = detail::reduction_dims(x, dims, keepdim, op, loc);
  const double ddof = unbiased ? 1.0 : 0.0;
  Tensor out = variance_kernel(x, r, ddof, take_sqrt);
  if (!autograd::needs_grad(x)) return out;
  const double divisor = static_cast<double>(r.count) - ddof;
  if (!take_sqrt) {
    // d var / dx = 2 (x - mean) / (N - ddof)
    autograd::record("VarBackward", loc, {&x}, out,
                     [r, dims, divisor, sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
                       Tensor vx = sx.unpack(self);
                       Tensor centered = sub(vx, mean(vx, dims, /*keepdim=*/true));
                       return GradList{mul(mul(g.reshape(r.kept_shape), centered), 2.0 / divisor)};
                     });
  } else {
    // d std / dx = (x - mean) / ((N - ddof) std)
    autograd::record("StdBackward", loc, {&x}, out,
                     [r, dims, divisor, sx = SavedTensor(x, false), sy = SavedTensor(out, true)](
                         Node& self, const Tensor& g) {
                       Tensor vx = sx.unpack(self);
                       Tensor centered = sub(vx, mean(vx, dims, /*keepdim=*/true));
                       Tensor scale = div(g.reshape(r.kept_shape), mul(sy.unpack(self).reshape(r.kept_shape), divisor));
                       return GradList{mul(scale, centered)};
                     });
  }
  return out;
}

// ---- max / min / argmax --------------------------------------------------------

// The first extreme element of a row, or the first NaN (NaN wins, as in PyTorch).
template <bool IsMax, class T>
std::pair<T, std::int64_t> row_extreme(const T* p, std::int64_t s, std::int64_t n) {
  T best = p[0];
  std::int64_t at = 0;
  if (best != best) return {best, 0};
  for (std::int64_t k = 1; k < n; ++k) {
    const T v = p[k * s];
    if (v != v) return {v, k};
    if (IsMax ? v > best : v < best) {
      best = v;
      at = k;
    }
  }
  return {best, at};
}

void check_nonempty(const Tensor& x, const detail::ReductionDims& r, const char* op, const SourceLocation& loc) {
  if (r.count == 0)
    throw_error(op, "cannot reduce over an empty dimension, got " + detail::describe(x) +
                        " (the result would have no value)",
                loc);
}

// Values (x's dtype) and/or indices (int64) of the extreme of each row, in r.out_shape.
template <bool IsMax>
void extreme_kernel(const Tensor& x, const detail::ReductionDims& r, Tensor* values, Tensor* indices) {
  Tensor rows = as_rows(x, r);
  if (values) *values = detail::make_tensor(r.out_shape, x.dtype());
  if (indices) *indices = detail::make_tensor(r.out_shape, kInt64);
  dispatch_all(x.dtype(), [&]<class T>() {
    T* pv = values ? values->data_ptr<T>() : nullptr;
    std::int64_t* pi = indices ? indices->data_ptr<std::int64_t>() : nullptr;
    for_each_reduced_row<T>(rows, [&](std::int64_t row, const T* p, std::int64_t s, std::int64_t n) {
      const auto [best, at] = row_extreme<IsMax>(p, s, n);
      if (pv) pv[row] = best;
      if (pi) pi[row] = at;
    });
  });
}

template <bool IsMax>
Tensor extreme_all(const Tensor& x, const char* op, const SourceLocation& loc) {
  detail::ReductionDims r = detail::reduction_dims(x, {}, false, op, loc);
  check_nonempty(x, r, op, loc);
  Tensor out;
  extreme_kernel<IsMax>(x, r, &out, nullptr);
  if (autograd::needs_grad(x)) {
    // The gradient is split evenly among the elements equal to the result
    // (all NaNs when the result is NaN), as PyTorch does.
    const double value = out.item<double>();
    autograd::record(IsMax ? "MaxBackward" : "MinBackward", loc, {&x}, out,
                     [value, sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
                       Tensor vx = sx.unpack(self);
                       Tensor hits = std::isnan(value) ? ne(vx, vx) : eq(vx, value);
                       const double count = sum(hits).item<double>();
                       return GradList{where(hits, div(g, count), zeros({}, g.dtype()))};
                     });
  }
  return out;
}

// Sends g (reduced shape) to the positions `indices` name along `dim`, zeros
// elsewhere. Differentiable in g: a one-hot mask built with eq against arange.
Tensor scatter_to_indices(const Tensor& g, const Tensor& indices, const detail::ReductionDims& r,
                          const Shape& input_shape, int dim) {
  if (input_shape.size() == 0) return g;
  Shape positions_shape(std::vector<std::int64_t>(static_cast<std::size_t>(input_shape.size()), 1));
  positions_shape[dim] = input_shape[dim];
  Tensor positions = arange(static_cast<double>(input_shape[dim])).reshape(positions_shape);
  Tensor hits = eq(positions, indices.reshape(r.kept_shape));
  return where(hits, g.reshape(r.kept_shape), zeros({}, g.dtype()));
}

template <bool IsMax>
std::tuple<Tensor, Tensor> extreme_dim(const Tensor& x, std::int64_t dim, bool keepdim, const char* op,
                                       const SourceLocation& loc) {
  detail::check_defined(x, op, loc);
  const int d = static_cast<int>(detail::wrap_dim(dim, x.dim(), op, loc));
  detail::ReductionDims r = detail::reduction_dims(x, {dim}, keepdim, op, loc);
  check_nonempty(x, r, op, loc);
  Tensor values, indices;
  extreme_kernel<IsMax>(x, r, &values, &indices);
  if (autograd::needs_grad(x))
    autograd::record(IsMax ? "MaxBackward" : "MinBackward", loc, {&x}, values,
                     [r, d, shape = x.sizes(), si = SavedTensor(indices, false)](Node& self, const Tensor& g) {
                       return GradList{scatter_to_indices(g, si.unpack(self), r, shape, d)};
                     });
  return {values, indices};
}

}  // namespace

Tensor var(const Tensor& x, const std::vector<std::int64_t>& dims, bool unbiased, bool keepdim,
           SourceLocation loc) {
  return var_or_std(x, dims, unbiased, keepdim, /*take_sqrt=*/false, "var", loc);
}

Tensor std(const Tensor& x, const std::vector<std::int64_t>& dims, bool unbiased, bool keepdim,
           SourceLocation loc) {
  return var_or_std(x, dims, unbiased, keepdim, /*take_sqrt=*/true, "std", loc);
}

Tensor max(const Tensor& x, SourceLocation loc) { return extreme_all<true>(x, "max", loc); }
Tensor min(const Tensor& x, SourceLocation loc) { return extreme_all<false>(x, "min", loc); }

std::tuple<Tensor, Tensor> max(const Tensor& x, std::int64_t dim, bool keepdim, SourceLocation loc) {
  return extreme_dim<true>(x, dim, keepdim, "max", loc);
}
std::tuple<Tensor, Tensor> min(const Tensor& x, std::int64_t dim, bool keepdim, SourceLocation loc) {
  return extreme_dim<false>(x, dim, keepdim, "min", loc);
}

Tensor argmax(const Tensor& x, SourceLocation loc) {
  detail::ReductionDims r = detail::reduction_dims(x, {}, false, "argmax", loc);
  check_nonempty(x, r, "argmax", loc);
  Tensor indices;
  extreme_kernel<true>(x, r, nullptr, &indices);
  return indices;
}

Tensor argmax(const Tensor& x, std::int64_t dim, bool keepdim, SourceLocation loc) {
  detail::ReductionDims r = detail::reduction_dims(x, {dim}, keepdim, "argmax", loc);
  check_nonempty(x, r, "argmax", loc);
  Tensor indices;
  extreme_kernel<true>(x, r, nullptr, &indices);
  return indices;
}

Tensor logsumexp(const Tensor& x, const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) {
  detail::check_defined(x, "logsumexp", loc);
  // Integers are promoted to float32, as in PyTorch (they never require grad).
  const Tensor xf = is_floating(x.dtype()) ? x : x.to(kFloat32, loc);
  detail::ReductionDims r = detail::reduction_dims(xf, dims, keepdim, "logsumexp", loc);
  Tensor rows = as_rows(xf, r);
  Tensor out = detail::make_tensor(r.out_shape, xf.dtype());
  dispatch_floating(xf.dtype(), [&]<class T>() {
    T* po = out.data_ptr<T>();
    for_each_reduced_row<T>(rows, [&](std::int64_t row, const T* p, std::int64_t s, std::int64_t n) {
      // Subtract the row's max so exp never overflows; an infinite max is left
      // out (shift 0) so rows of -inf give -inf and rows with +inf give +inf.
      double m = -std::numeric_limits<double>::infinity();
      for (std::int64_t k = 0; k < n; ++k) m = std::max(m, static_cast<double>(p[k * s]));
      if (std::isinf(m)) m = 0;
      double total = 0;
      for (std::int64_t k = 0; k < n; ++k) total += std::exp(static_cast<double>(p[k * s]) - m);
      po[row] = static_cast<T>(std::log(total) + m);
    });
  });
  if (autograd::needs_grad(xf))
    autograd::record("LogsumexpBackward", loc, {&xf}, out,
                     [r, sx = SavedTensor(xf, false), sy = SavedTensor(out, true)](Node& self, const Tensor& g) {
                       Tensor weights = exp(sub(sx.unpack(self), sy.unpack(self).reshape(r.kept_shape)));
                       return GradList{mul(g.reshape(r.kept_shape), weights)};
                     });
  return out;
}

// ---- Tensor methods -------------------------------------------------------------

Tensor Tensor::var(bool unbiased, SourceLocation loc) const { return cr::var(*this, {}, unbiased, false, loc); }
Tensor Tensor::var(const std::vector<std::int64_t>& dims, bool unbiased, bool keepdim, SourceLocation loc) const {
  return cr::var(*this, dims, unbiased, keepdim, loc);
}
Tensor Tensor::std(bool unbiased, SourceLocation loc) const { return cr::std(*this, {}, unbiased, false, loc); }
Tensor Tensor::std(const std::vector<std::int64_t>& dims, bool unbiased, bool keepdim, SourceLocation loc) const {
  return cr::std(*this, dims, unbiased, keepdim, loc);
}
Tensor Tensor::var(std::initializer_list<std::int64_t> dims, bool unbiased, bool keepdim,
                   SourceLocation loc) const {
  return cr::var(*this, std::vector<std::int64_t>(dims), unbiased, keepdim, loc);
}
Tensor Tensor::std(std::initializer_list<std::int64_t> dims, bool unbiased, bool keepdim,
                   SourceLocation loc) const {
  return cr::std(*this, std::vector<std::int64_t>(dims), unbiased, keepdim, loc);
}
Tensor Tensor::max(SourceLocation loc) const { return cr::max(*this, loc); }
std::tuple<Tensor, Tensor> Tensor::max(std::int64_t dim, bool keepdim, SourceLocation loc) const {
  return cr::max(*this, dim, keepdim, loc);
}
Tensor Tensor::min(SourceLocation loc) const { return cr::min(*this, loc); }
std::tuple<Tensor, Tensor> Tensor::min(std::int64_t dim, bool keepdim, SourceLocation loc) const {
  return cr::min(*this, dim, keepdim, loc);
}
Tensor Tensor::argmax(SourceLocation loc) const { return cr::argmax(*this, loc); }
Tensor Tensor::argmax(std::int64_t dim, bool keepdim, SourceLocation loc) const {
  return cr::argmax(*this, dim, keepdim, loc);
}
Tensor Tensor::logsumexp(const std::vector<std::int64_t>& dims, bool keepdim, SourceLocation loc) const {
  return cr::logsumexp(*this, dims, keepdim, loc);
}

}  // namespace cr
