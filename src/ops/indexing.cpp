// index_select, index_add, gather, scatter_add, embedding: ops that pick or
// accumulate entries by int64 indices. They come in adjoint pairs, and each
// one's backward is written with its partner, so gradients of gradients work:
//   index_select <-> index_add,   gather <-> scatter_add.
// Index values are checked before any kernel runs: a bad index is an error
// naming the value, never a read or write out of bounds.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/shape.h"
#include "core/tensor_internal.h"

namespace cr {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// ---- validation ---------------------------------------------------------------

// The index as a contiguous int64 tensor without history.
Tensor checked_index(const Tensor& index, const char* op, const SourceLocation& loc) {
  detail::check_defined(index, op, loc);
  if (index.dtype() != kInt64)
    throw_error(op, "expected an int64 index, got " + detail::describe(index), loc);
  return index.detach().contiguous();
}

// Throws naming the first entry of `index` outside [0, size).
void check_index_range(const Tensor& index, std::int64_t size, int dim, const char* op,
                       const SourceLocation& loc) {
  const std::int64_t* p = index.data_ptr<std::int64_t>();
  const std::int64_t n = index.numel();
  bool ok = true;  // one compare per index: not worth threads
  for (std::int64_t i = 0; i < n; ++i) ok = ok && p[i] >= 0 && p[i] < size;
  if (ok) return;
  const std::int64_t* bad = std::find_if(p, p + n, [&](std::int64_t v) { return v < 0 || v >= size; });
  throw_error(op, "index " + std::to_string(*bad) + " is out of range for dim " + std::to_string(dim) +
                      " with size " + std::to_string(size),
              loc);
}

void check_not_scalar(const Tensor& x, const char* op, const SourceLocation& loc) {
  if (x.dim() == 0) throw_error(op, "cannot index a 0-dim tensor " + detail::describe(x), loc);
}

// index_select / index_add take a list of positions: a 1-D (or 0-D) index.
Tensor checked_index_list(const Tensor& index, const char* op, const SourceLocation& loc) {
  Tensor idx = checked_index(index, op, loc);
  if (idx.dim() > 1) throw_error(op, "expected a 1-D index, got " + detail::describe(idx), loc);
  return idx.dim() == 0 ? idx.reshape({1}) : idx;
}

// ---- kernels --------------------------------------------------------------------

// Sizes of x around `dim`: x is read as [outer, size(dim), inner].
struct Around {
  std::int64_t outer = 1, inner = 1;
};
Around around(const Shape& sizes, int dim) {
  Around a;
  for (int k = 0; k < dim; ++k) a.outer *= sizes[k];
  for (int k = dim + 1; k < sizes.size(); ++k) a.inner *= sizes[k];
  return a;
}

// out[o, j, :] = x[o, idx[j], :], where out is contiguous with x's shape but
// idx's length at `dim`. Contiguous x copies whole rows.
void index_select_kernel(const Tensor& x, int dim, const Tensor& idx, Tensor& out) {
  const std::int64_t* pi = idx.data_ptr<std::int64_t>();
  const std::int64_t m = idx.numel();
  if (out.numel() == 0) return;
  if (!x.is_contiguous()) {
    // Any strides: one strided copy per picked slice.
    Shape slice_sizes = x.sizes();
    slice_sizes[dim] = 1;
    for (std::int64_t j = 0; j < m; ++j) {
      Tensor src = detail::make_view(x, slice_sizes, x.strides(), x.storage_offset() + pi[j] * x.strides()[dim]);
      Tensor dst = detail::make_view(out, slice_sizes, out.strides(), out.storage_offset() + j * out.strides()[dim]);
      cpu::copy_into(dst, src);
    }
    return;
  }
  const auto [outer, inner] = around(x.sizes(), dim);
  const std::int64_t n = x.sizes()[dim];
  const std::int64_t rows = outer * m;
  const bool parallel = out.numel() > cpu::kParallelGrain;
  if (inner == 1) {  // picking single elements: a typed loop beats memcpy calls
    dispatch_all(x.dtype(), [&]<class T>() {
      const T* px = static_cast<const T*>(x.raw_data());
      T* po = static_cast<T*>(out.raw_data());
      cpu::parallel_for(rows, parallel, [&](std::int64_t r) { po[r] = px[(r / m) * n + pi[r % m]]; });
    });
    return;
  }
  const std::size_t row_bytes = static_cast<std::size_t>(inner) * x.element_size();
  const char* px = static_cast<const char*>(x.raw_data());
  char* po = static_cast<char*>(out.raw_data());
  cpu::parallel_for(rows, parallel, [&](std::int64_t r) {
    std::memcpy(po + r * row_bytes, px + ((r / m) * n + pi[r % m]) * row_bytes, row_bytes);
  });
}

// out[o, idx[j], :] += src[o, j, :], out and src contiguous. Repeated indices
// write the same row, so threads split by (o, column block), never by j.
void index_add_kernel(Tensor& out, int dim, const Tensor& idx, const Tensor& src) {
  const std::int64_t* pi = idx.data_ptr<std::int64_t>();
  const std::int64_t m = idx.numel();
  const auto [outer, inner] = around(out.sizes(), dim);
  const std::int64_t n = out.sizes()[dim];
  if (m == 0 || outer == 0 || inner == 0) return;
  constexpr std::int64_t kBlock = 1024;
  const std::int64_t blocks = (inner + kBlock - 1) / kBlock;
  const std::int64_t tasks = outer * blocks;
  dispatch_all(out.dtype(), [&]<class T>() {
    T* po = static_cast<T*>(out.raw_data());
    const T* ps = static_cast<const T*>(src.raw_data());
    cpu::parallel_for(tasks, src.numel() > cpu::kParallelGrain, [&](std::int64_t task) {
      const std::int64_t o = task / blocks;
      const std::int64_t c0 = (task % blocks) * kBlock;
      const std::int64_t c1 = std::min(inner, c0 + kBlock);
      for (std::int64_t j = 0; j < m; ++j) {
        T* dst = po + (o * n + pi[j]) * inner;
        const T* s = ps + (o * m + j) * inner;
        for (std::int64_t c = c0; c < c1; ++c) dst[c] = static_cast<T>(dst[c] + s[c]);
      }
    });
  });
}

// for_each_row over `sizes`, split across threads by the first dim when that is
// safe (the caller says whether rows of different first-dim index may collide).
template <std::size_t K, class RowFn>
void for_each_row_maybe_parallel(const Shape& sizes, const std::array<Shape, K>& strides, bool split_first_dim,
                                 RowFn&& row) {
  const std::int64_t numel = sizes.numel();
  if (numel == 0) return;
  if (!split_first_dim || sizes.size() < 2 || sizes[0] < 2 || numel <= cpu::kParallelGrain) {
    cpu::detail::for_each_row<K>(sizes, strides, row);
    return;
  }
  Shape sub = sizes;
  sub.erase(0);
  std::array<Shape, K> sub_strides = strides;
  for (Shape& s : sub_strides) s.erase(0);
#pragma omp parallel for
  for (std::int64_t i0 = 0; i0 < sizes[0]; ++i0) {
    cpu::detail::for_each_row<K>(sub, sub_strides, [&](auto off, std::int64_t count, auto st) {
      for (std::size_t k = 0; k < K; ++k) off[k] += i0 * strides[k][0];
      row(off, count, st);
    });
  }
}

// The strides of x with `dim` zeroed: the position along dim comes from the index.
Shape strides_without(const Tensor& x, int dim) {
  Shape s = x.strides();
  s[dim] = 0;
  return s;
}

// out[p] = x[p with p[dim] = idx[p]], over every position p of idx (contiguous).
void gather_kernel(const Tensor& x, int dim, const Tensor& idx, Tensor& out) {
  const std::int64_t step = x.strides()[dim];
  std::array<Shape, 3> strides{out.strides(), idx.strides(), strides_without(x, dim)};
  dispatch_all(x.dtype(), [&]<class T>() {
    T* po = static_cast<T*>(out.raw_data());
    const std::int64_t* pi = idx.data_ptr<std::int64_t>();
    const T* px = static_cast<const T*>(x.raw_data());
    for_each_row_maybe_parallel<3>(idx.sizes(), strides, true, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i)
        po[off[0] + i * st[0]] = px[off[2] + i * st[2] + pi[off[1] + i * st[1]] * step];
    });
  });
}

// out[p with p[dim] = idx[p]] += src[p], over every position p of idx.
void scatter_add_kernel(Tensor& out, int dim, const Tensor& idx, const Tensor& src) {
  const std::int64_t step = out.strides()[dim];
  std::array<Shape, 3> strides{strides_without(out, dim), idx.strides(), src.strides()};
  // Along dim 0 the index itself picks the row, so only other dims split safely.
  const bool split = dim != 0;
  dispatch_all(out.dtype(), [&]<class T>() {
    T* po = static_cast<T*>(out.raw_data());
    const std::int64_t* pi = idx.data_ptr<std::int64_t>();
    const T* ps = static_cast<const T*>(src.raw_data());
    for_each_row_maybe_parallel<3>(idx.sizes(), strides, split, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i) {
        T& dst = po[off[0] + i * st[0] + pi[off[1] + i * st[1]] * step];
        dst = static_cast<T>(dst + ps[off[2] + i * st[2]]);
      }
    });
  });
}

Tensor contiguous_copy(const Tensor& x) {
  Tensor out = detail::make_tensor(x.sizes(), x.dtype());
  cpu::copy_into(out, x);
  return out;
}

// `t` padded with zeros at the end of each dim up to `target` (a gradient for
// a src larger than the index that read it).
Tensor pad_with_zeros(Tensor t, const Shape& target) {
  for (int k = 0; k < target.size(); ++k) {
    if (t.sizes()[k] == target[k]) continue;
    Shape fill = t.sizes();
    fill[k] = target[k] - t.sizes()[k];
    t = cat({t, zeros(fill, t.dtype())}, k);
  }
  return t;
}

}  // namespace

Tensor index_select(const Tensor& x, std::int64_t dim, const Tensor& index, SourceLocation loc) {
  detail::check_defined(x, "index_select", loc);
  check_not_scalar(x, "index_select", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "index_select", loc));
  Tensor idx = checked_index_list(index, "index_select", loc);
  check_index_range(idx, x.sizes()[d], d, "index_select", loc);
  Shape out_sizes = x.sizes();
  out_sizes[d] = idx.numel();
  Tensor out = detail::make_tensor(out_sizes, x.dtype());
  index_select_kernel(x, d, idx, out);
  if (autograd::needs_grad(x))
    autograd::record("IndexSelectBackward", loc, {&x}, out,
                     [shape = x.sizes(), d, si = SavedTensor(idx, false)](Node& self, const Tensor& g) {
                       return GradList{index_add(zeros(shape, g.dtype()), d, si.unpack(self), g)};
                     });
  return out;
}

Tensor index_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, SourceLocation loc) {
  detail::check_defined(x, "index_add", loc);
  detail::check_defined(src, "index_add", loc);
  check_not_scalar(x, "index_add", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "index_add", loc));
  Tensor idx = checked_index_list(index, "index_add", loc);
  detail::check_same_dtype(x, src, "index_add", loc);
  bool fits = src.dim() == x.dim() && src.sizes()[d] == idx.numel();
  for (int k = 0; fits && k < x.dim(); ++k) fits = k == d || src.sizes()[k] == x.sizes()[k];
  if (!fits)
    throw_error("index_add", "source " + detail::describe(src) + " must match " + detail::describe(x) +
                                 " except in dim " + std::to_string(d) + ", where it needs the index's length " +
                                 std::to_string(idx.numel()),
                loc);
  check_index_range(idx, x.sizes()[d], d, "index_add", loc);
  Tensor out = contiguous_copy(x);
  index_add_kernel(out, d, idx, src.is_contiguous() ? src : contiguous_copy(src));
  if (autograd::needs_grad(x, src))
    autograd::record("IndexAddBackward", loc, {&x, &src}, out,
                     [d, si = SavedTensor(idx, false)](Node& self, const Tensor& g) {
                       return GradList{g, self.needs_input_grad(1) ? index_select(g, d, si.unpack(self))
                                                                   : Tensor()};
                     });
  return out;
}

Tensor gather(const Tensor& x, std::int64_t dim, const Tensor& index, SourceLocation loc) {
  detail::check_defined(x, "gather", loc);
  check_not_scalar(x, "gather", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "gather", loc));
  Tensor idx = checked_index(index, "gather", loc);
  bool fits = idx.dim() == x.dim();
  for (int k = 0; fits && k < x.dim(); ++k) fits = k == d || idx.sizes()[k] <= x.sizes()[k];
  if (!fits)
    throw_error("gather", "index " + detail::describe(idx) + " must have the dims of " + detail::describe(x) +
                              " and be no larger outside dim " + std::to_string(d),
                loc);
  check_index_range(idx, x.sizes()[d], d, "gather", loc);
  Tensor out = detail::make_tensor(idx.sizes(), x.dtype());
  gather_kernel(x, d, idx, out);
  if (autograd::needs_grad(x))
    autograd::record("GatherBackward", loc, {&x}, out,
                     [shape = x.sizes(), d, si = SavedTensor(idx, false)](Node& self, const Tensor& g) {
                       return GradList{scatter_add(zeros(shape, g.dtype()), d, si.unpack(self), g)};
                     });
  return out;
}

Tensor scatter_add(const Tensor& x, std::int64_t dim, const Tensor& index, const Tensor& src, SourceLocation loc) {
  detail::check_defined(x, "scatter_add", loc);
  detail::check_defined(src, "scatter_add", loc);
  check_not_scalar(x, "scatter_add", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "scatter_add", loc));
  Tensor idx = checked_index(index, "scatter_add", loc);
  detail::check_same_dtype(x, src, "scatter_add", loc);
  bool fits = idx.dim() == x.dim() && src.dim() == x.dim();
  for (int k = 0; fits && k < x.dim(); ++k)
    fits = idx.sizes()[k] <= src.sizes()[k] && (k == d || idx.sizes()[k] <= x.sizes()[k]);
  if (!fits)
    throw_error("scatter_add", "index " + detail::describe(idx) + " must have the dims of self " +
                                   detail::describe(x) + " and src " + detail::describe(src) +
                                   ", be no larger than src, and no larger than self outside dim " +
                                   std::to_string(d),
                loc);
  check_index_range(idx, x.sizes()[d], d, "scatter_add", loc);
  Tensor out = contiguous_copy(x);
  scatter_add_kernel(out, d, idx, src);
  if (autograd::needs_grad(x, src))
    autograd::record("ScatterAddBackward", loc, {&x, &src}, out,
                     [d, src_shape = src.sizes(), si = SavedTensor(idx, false)](Node& self, const Tensor& g) {
                       Tensor gsrc;
                       if (self.needs_input_grad(1))
                         gsrc = pad_with_zeros(gather(g, d, si.unpack(self)), src_shape);
                       return GradList{g, gsrc};
                     });
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, SourceLocation loc) {
  detail::check_defined(weight, "embedding", loc);
  if (weight.dim() != 2)
    throw_error("embedding", "expected a 2-D weight (num_embeddings × embedding_dim), got " +
                                 detail::describe(weight),
                loc);
  Tensor idx = checked_index(indices, "embedding", loc);
  if (idx.dim() >= kMaxDims)
    throw_error("embedding", "indices " + detail::describe(idx) + " have too many dims for the result", loc);
  check_index_range(idx, weight.sizes()[0], 0, "embedding", loc);
  const std::int64_t n = idx.numel(), width = weight.sizes()[1];
  Shape out_sizes = idx.sizes();
  out_sizes.push_back(width);
  Tensor out = detail::make_tensor(out_sizes, weight.dtype());
  Tensor flat = idx.reshape({n});
  Tensor rows = detail::make_view(out, {n, width}, contiguous_strides({n, width}), 0);
  index_select_kernel(weight, 0, flat, rows);
  if (autograd::needs_grad(weight))
    autograd::record("EmbeddingBackward", loc, {&weight}, out,
                     [shape = weight.sizes(), n, width, si = SavedTensor(flat, false)](Node& self, const Tensor& g) {
                       return GradList{index_add(zeros(shape, g.dtype()), 0, si.unpack(self), g.reshape({n, width}))};
                     });
  return out;
}

Tensor Tensor::index_select(std::int64_t dim, const Tensor& index, SourceLocation loc) const {
  return cr::index_select(*this, dim, index, loc);
}
Tensor Tensor::index_add(std::int64_t dim, const Tensor& index, const Tensor& source, SourceLocation loc) const {
  return cr::index_add(*this, dim, index, source, loc);
}
Tensor Tensor::gather(std::int64_t dim, const Tensor& index, SourceLocation loc) const {
  return cr::gather(*this, dim, index, loc);
}
Tensor Tensor::scatter_add(std::int64_t dim, const Tensor& index, const Tensor& src, SourceLocation loc) const {
  return cr::scatter_add(*this, dim, index, src, loc);
}

}  // namespace cr
