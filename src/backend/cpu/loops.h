#pragma once
// Elementwise loops over strided tensors. The output is always a fresh
// contiguous tensor; inputs may have any strides (0 for broadcast dims).
// Contiguous inputs take a flat loop the compiler vectorises; the rest walk
// the outer dims with an odometer and run a strided inner loop.

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "chainrule/core/tensor.h"

namespace cr::cpu {

/// Elements above which an elementwise loop is split across OpenMP threads:
/// below it the fork/join costs more than it saves.
inline constexpr std::int64_t kParallelGrain = 1 << 15;

/// Runs body(begin, end) over [0, n), split across the OpenMP threads when n
/// is large enough to pay for waking them. Small ops must not enter an OpenMP
/// region at all: even a serialised one costs about a microsecond.
template <class Body>
void parallel_range(std::int64_t n, Body&& body) {
  if (n <= kParallelGrain) {
    body(std::int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const std::int64_t threads = omp_get_num_threads(), me = omp_get_thread_num();
    const std::int64_t chunk = (n + threads - 1) / threads;
    const std::int64_t begin = std::min(n, me * chunk), end = std::min(n, begin + chunk);
    if (begin < end) body(begin, end);
  }
}

/// Calls body(i) for i in [0, n), on all OpenMP threads when `parallel`.
/// Callers decide `parallel` from the work size; a false one never touches
/// OpenMP (unlike an if-clause, which still pays for a serialised region).
template <class Body>
void parallel_for(std::int64_t n, bool parallel, Body&& body) {
  if (!parallel || n < 2) {
    for (std::int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) body(i);
}

namespace detail {

// Calls row(offsets, count, inner_strides) for every innermost row of a tensor
// of `sizes`, where offsets are in elements for each of the K operands.
template <std::size_t K, class RowFn>
void for_each_row(const Shape& sizes, const std::array<Shape, K>& strides, RowFn&& row) {
  const int ndim = sizes.size();
  if (ndim == 0) {
    std::array<std::int64_t, K> offsets{};
    std::array<std::int64_t, K> inner{};
    row(offsets, 1, inner);
    return;
  }
  // Merge adjacent dims that are laid out as one, so a transposed-but-dense
  // or broadcast tensor still gets long inner rows.
  std::int64_t merged_sizes[kMaxDims];
  std::int64_t merged_strides[K][kMaxDims];
  int m = 0;
  for (int d = 0; d < ndim; ++d) {
    if (sizes[d] == 1) continue;
    bool can_merge = m > 0;
    for (std::size_t k = 0; k < K && can_merge; ++k)
      can_merge = merged_strides[k][m - 1] == strides[k][d] * sizes[d];
    if (can_merge) {
      merged_sizes[m - 1] *= sizes[d];
      for (std::size_t k = 0; k < K; ++k) merged_strides[k][m - 1] = strides[k][d];
    } else {
      merged_sizes[m] = sizes[d];
      for (std::size_t k = 0; k < K; ++k) merged_strides[k][m] = strides[k][d];
      ++m;
    }
  }
  if (m == 0) {
    merged_sizes[0] = 1;
    for (std::size_t k = 0; k < K; ++k) merged_strides[k][0] = 0;
    m = 1;
  }
  const std::int64_t inner_size = merged_sizes[m - 1];
  std::array<std::int64_t, K> inner;
  for (std::size_t k = 0; k < K; ++k) inner[k] = merged_strides[k][m - 1];
  std::int64_t rows = 1;
  for (int d = 0; d < m - 1; ++d) rows *= merged_sizes[d];

  std::int64_t index[kMaxDims] = {};
  std::array<std::int64_t, K> offsets{};
  for (std::int64_t r = 0; r < rows; ++r) {
    row(offsets, inner_size, inner);
    for (int d = m - 2; d >= 0; --d) {  // odometer increment
      ++index[d];
      for (std::size_t k = 0; k < K; ++k) offsets[k] += merged_strides[k][d];
      if (index[d] < merged_sizes[d]) break;
      for (std::size_t k = 0; k < K; ++k) offsets[k] -= merged_strides[k][d] * merged_sizes[d];
      index[d] = 0;
    }
  }
}

}  // namespace detail

/// out[i] = f(a[i]) where `a` has out's shape (any strides) and out is contiguous.
template <class Out, class A, class F>
void map1(Tensor& out, const Tensor& a, F f) {
  Out* o = out.data_ptr<Out>();
  const A* pa = static_cast<const A*>(a.raw_data());
  const std::int64_t n = out.numel();
  if (a.is_contiguous()) {
    parallel_range(n, [&](std::int64_t begin, std::int64_t end) {
#pragma omp simd
      for (std::int64_t i = begin; i < end; ++i) o[i] = f(pa[i]);
    });
    return;
  }
  std::array<Shape, 2> strides{out.strides(), a.strides()};
  detail::for_each_row<2>(out.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
    Out* po = o + off[0];
    const A* qa = pa + off[1];
    for (std::int64_t i = 0; i < count; ++i) po[i * st[0]] = f(qa[i * st[1]]);
  });
}

/// out[i] = f(a[i], b[i]) where a and b have out's shape (any strides).
template <class Out, class A, class B, class F>
void map2(Tensor& out, const Tensor& a, const Tensor& b, F f) {
  Out* o = out.data_ptr<Out>();
  const A* pa = static_cast<const A*>(a.raw_data());
  const B* pb = static_cast<const B*>(b.raw_data());
  const std::int64_t n = out.numel();
  if (a.is_contiguous() && b.is_contiguous()) {
    parallel_range(n, [&](std::int64_t begin, std::int64_t end) {
#pragma omp simd
      for (std::int64_t i = begin; i < end; ++i) o[i] = f(pa[i], pb[i]);
    });
    return;
  }
  std::array<Shape, 3> strides{out.strides(), a.strides(), b.strides()};
  detail::for_each_row<3>(out.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
    Out* po = o + off[0];
    const A* qa = pa + off[1];
    const B* qb = pb + off[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 0) {  // row plus broadcast scalar
      const B vb = *qb;
      for (std::int64_t i = 0; i < count; ++i) po[i] = f(qa[i], vb);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const A va = *qa;
      for (std::int64_t i = 0; i < count; ++i) po[i] = f(va, qb[i]);
    } else {
      for (std::int64_t i = 0; i < count; ++i) po[i * st[0]] = f(qa[i * st[1]], qb[i * st[2]]);
    }
  });
}

/// out[i] = f(a[i], b[i], c[i]) where a, b, c have out's shape (any strides).
template <class Out, class A, class B, class C, class F>
void map3(Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, F f) {
  Out* o = out.data_ptr<Out>();
  const A* pa = static_cast<const A*>(a.raw_data());
  const B* pb = static_cast<const B*>(b.raw_data());
  const C* pc = static_cast<const C*>(c.raw_data());
  std::array<Shape, 4> strides{out.strides(), a.strides(), b.strides(), c.strides()};
  detail::for_each_row<4>(out.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
    for (std::int64_t i = 0; i < count; ++i)
      o[off[0] + i * st[0]] =
          f(pa[off[1] + i * st[1]], pb[off[2] + i * st[2]], pc[off[3] + i * st[3]]);
  });
}

/// Copies `src` (any strides, any dtype) into `dst` (any strides, same shape), converting.
void copy_into(Tensor& dst, const Tensor& src);

}  // namespace cr::cpu
