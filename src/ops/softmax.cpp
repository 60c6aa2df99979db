// softmax and log_softmax along one dim: fused, numerically stable kernels
// (subtract the row max before exp) that allocate nothing but the result.
// Backward rules are written in public ops, so they can be differentiated again.

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "chainrule/ops/reduction.h"
#include "core/tensor_internal.h"

namespace cr {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// NaN-propagating max: once a NaN is seen it sticks, so the row becomes NaN.
template <class T>
inline T nan_max(T m, T v) {
  return (v > m || v != v) ? v : m;
}

// Fast path: contiguous rows of `cols` elements, reduced along the row.
template <class T, bool Log>
void softmax_rows(const T* x, T* y, std::int64_t rows, std::int64_t cols) {
  cpu::parallel_for(rows, rows * cols > cpu::kParallelGrain, [&](std::int64_t r) {
    const T* p = x + r * cols;
    T* q = y + r * cols;
    T m = -std::numeric_limits<T>::infinity();
    for (std::int64_t k = 0; k < cols; ++k) m = nan_max(m, p[k]);
    double total = 0;
    if constexpr (Log) {
      for (std::int64_t k = 0; k < cols; ++k) total += std::exp(p[k] - m);
      const T log_total = static_cast<T>(std::log(total));
      for (std::int64_t k = 0; k < cols; ++k) q[k] = (p[k] - m) - log_total;
    } else {
      for (std::int64_t k = 0; k < cols; ++k) {
        const T e = std::exp(p[k] - m);
        q[k] = e;
        total += e;
      }
      const T inv = static_cast<T>(1.0 / total);
      for (std::int64_t k = 0; k < cols; ++k) q[k] *= inv;
    }
  });
}

// General path: any strides, any dim. The output is contiguous, viewed as
// [outer, n, inner]. Work is split into blocks of up to kBlock neighbouring
// inner positions, reduced together so a contiguous input is read along its
// rows (cache- and vector-friendly) rather than down a column at a time.
template <class T, bool Log>
void softmax_strided(const Tensor& x, T* y, int dim) {
  constexpr std::int64_t kBlock = 32;
  const Shape& sizes = x.sizes();
  const Shape& strides = x.strides();
  const int ndim = sizes.size();
  const std::int64_t n = sizes[dim], x_step = strides[dim];
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= sizes[d];
  for (int d = dim + 1; d < ndim; ++d) inner *= sizes[d];
  const std::int64_t blocks = (inner + kBlock - 1) / kBlock;
  const T* px = static_cast<const T*>(x.raw_data());
  const bool contiguous = x.is_contiguous();

  // Element offset of x at (o, dim index 0, i): o and i decomposed row-major
  // over the dims before and after `dim`.
  auto x_offset = [&](std::int64_t o, std::int64_t i) {
    if (contiguous) return (o * n) * inner + i;
    std::int64_t off = 0;
    for (int d = ndim - 1; d > dim; --d) {
      off += (i % sizes[d]) * strides[d];
      i /= sizes[d];
    }
    for (int d = dim - 1; d >= 0; --d) {
      off += (o % sizes[d]) * strides[d];
      o /= sizes[d];
    }
    return off;
  };

  const std::int64_t items = outer * blocks;
  cpu::parallel_for(items, x.numel() > cpu::kParallelGrain, [&](std::int64_t item) {
    const std::int64_t o = item / blocks;
    const std::int64_t i0 = (item % blocks) * kBlock;
    const std::int64_t width = std::min(kBlock, inner - i0);
    std::int64_t xoff[kBlock];
    T m[kBlock];
    double total[kBlock];
    for (std::int64_t b = 0; b < width; ++b) {
      xoff[b] = x_offset(o, i0 + b);
      m[b] = -std::numeric_limits<T>::infinity();
      total[b] = 0;
    }
    T* q = y + o * n * inner + i0;
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t b = 0; b < width; ++b) m[b] = nan_max(m[b], px[xoff[b] + k * x_step]);
    for (std::int64_t k = 0; k < n; ++k)
      for (std::int64_t b = 0; b < width; ++b) {
        const T e = std::exp(px[xoff[b] + k * x_step] - m[b]);
        if constexpr (!Log) q[k * inner + b] = e;
        total[b] += e;
      }
    if constexpr (Log) {
      T log_total[kBlock];
      for (std::int64_t b = 0; b < width; ++b) log_total[b] = static_cast<T>(std::log(total[b]));
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t b = 0; b < width; ++b)
          q[k * inner + b] = (px[xoff[b] + k * x_step] - m[b]) - log_total[b];
    } else {
      T inv[kBlock];
      for (std::int64_t b = 0; b < width; ++b) inv[b] = static_cast<T>(1.0 / total[b]);
      for (std::int64_t k = 0; k < n; ++k)
        for (std::int64_t b = 0; b < width; ++b) q[k * inner + b] *= inv[b];
    }
  });
}

template <bool Log>
Tensor softmax_forward(const Tensor& x, std::int64_t dim, const char* op, const SourceLocation& loc) {
  detail::check_floating(x, op, loc);
  const int d = static_cast<int>(detail::wrap_dim(dim, x.dim(), op, loc));
  Tensor out = detail::make_tensor(x.sizes(), x.dtype());
  if (x.numel() == 0) return out;
  std::int64_t inner = 1;
  for (int i = d + 1; i < x.dim(); ++i) inner *= x.sizes()[i];
  dispatch_floating(x.dtype(), [&]<class T>() {
    if (x.dim() == 0) {
      softmax_rows<T, Log>(static_cast<const T*>(x.raw_data()), out.data_ptr<T>(), 1, 1);
    } else if (inner == 1 && x.is_contiguous()) {
      const std::int64_t cols = x.sizes()[d];
      softmax_rows<T, Log>(static_cast<const T*>(x.raw_data()), out.data_ptr<T>(), x.numel() / cols, cols);
    } else {
      softmax_strided<T, Log>(x, out.data_ptr<T>(), d);
    }
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim, SourceLocation loc) {
  Tensor out = softmax_forward<false>(x, dim, "softmax", loc);
  if (autograd::needs_grad(x))
    // dx = y·(g - Σ g·y)
    autograd::record("SoftmaxBackward", loc, {&x}, out, [dim, sy = SavedTensor(out, true)](Node& self, const Tensor& g) {
      Tensor y = sy.unpack(self);
      return GradList{mul(y, sub(g, sum(mul(g, y), {dim}, /*keepdim=*/true)))};
    });
  return out;
}

Tensor log_softmax(const Tensor& x, std::int64_t dim, SourceLocation loc) {
  Tensor out = softmax_forward<true>(x, dim, "log_softmax", loc);
  if (autograd::needs_grad(x))
    // dx = g - softmax·Σ g
    autograd::record("LogSoftmaxBackward", loc, {&x}, out,
                     [dim, sy = SavedTensor(out, true)](Node& self, const Tensor& g) {
                       Tensor y = sy.unpack(self);
                       return GradList{sub(g, mul(exp(y), sum(g, {dim}, /*keepdim=*/true)))};
                     });
  return out;
}

Tensor Tensor::softmax(std::int64_t dim, SourceLocation loc) const { return cr::softmax(*this, dim, loc); }
Tensor Tensor::log_softmax(std::int64_t dim, SourceLocation loc) const { return cr::log_softmax(*this, dim, loc); }

}  // namespace cr
