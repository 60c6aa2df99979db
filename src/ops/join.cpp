// cat, stack, split: joining tensors along a dim and cutting one into views.
// cat copies whole contiguous blocks; its backward narrows the gradient back
// into one slice per input. split returns narrow() views, so it needs no rule.

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/ops/shape.h"
#include "core/tensor_internal.h"

namespace cr {

using autograd::GradList;
using autograd::Node;

namespace {

std::string entry(std::size_t i) { return "entry " + std::to_string(i); }

// Checks that `tensors` can be joined along `dim` and returns the wrapped dim.
int check_cat_inputs(const std::vector<Tensor>& tensors, std::int64_t dim, const SourceLocation& loc) {
  if (tensors.empty()) throw_error("cat", "expected a non-empty list of tensors", loc);
  for (const Tensor& t : tensors) detail::check_defined(t, "cat", loc);
  const Tensor& first = tensors[0];
  if (first.dim() == 0) throw_error("cat", "zero-dimensional tensors cannot be concatenated", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, first.dim(), "cat", loc));
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (t.dtype() != first.dtype())
      throw_error("cat", "expected all tensors to have one dtype, got " + detail::describe(first) + " at entry 0 and " +
                             detail::describe(t) + " at " + entry(i) + " (convert with .to())",
                  loc);
    bool same = t.dim() == first.dim();
    for (int k = 0; same && k < first.dim(); ++k) same = k == d || t.sizes()[k] == first.sizes()[k];
    if (!same)
      throw_error("cat", "sizes must match except in dim " + std::to_string(d) + ", got " + detail::describe(first) +
                             " at entry 0 and " + detail::describe(t) + " at " + entry(i),
                  loc);
  }
  return d;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, std::int64_t dim, SourceLocation loc) {
  const int d = check_cat_inputs(tensors, dim, loc);
  const Tensor& first = tensors[0];
  Shape out_sizes = first.sizes();
  out_sizes[d] = 0;
  for (const Tensor& t : tensors) out_sizes[d] += t.sizes()[d];
  Tensor out = detail::make_tensor(out_sizes, first.dtype());

  // Viewed as [outer, size(d) * inner], each input fills a column block of every row.
  std::int64_t outer = 1, inner = 1;
  for (int k = 0; k < d; ++k) outer *= out_sizes[k];
  for (int k = d + 1; k < out_sizes.size(); ++k) inner *= out_sizes[k];
  const std::size_t elem = out.element_size();
  char* out_base = static_cast<char*>(out.raw_data());
  const std::int64_t out_row = out_sizes[d] * inner;
  std::int64_t offset = 0;  // along d
  for (const Tensor& t : tensors) {
    const std::int64_t n = t.sizes()[d];
    if (n > 0 && outer > 0 && inner > 0) {
      if (t.is_contiguous()) {
        const std::int64_t block = n * inner;
        const char* src = static_cast<const char*>(t.raw_data());
        cpu::parallel_for(outer, outer * block > cpu::kParallelGrain, [&](std::int64_t o) {
          std::memcpy(out_base + (o * out_row + offset * inner) * elem, src + o * block * elem,
                      static_cast<std::size_t>(block) * elem);
        });
      } else {
        Tensor slot = detail::make_view(out, t.sizes(), out.strides(), offset * out.strides()[d]);
        cpu::copy_into(slot, t);
      }
    }
    offset += n;
  }

  std::span<const Tensor> inputs(tensors);
  if (autograd::needs_grad(inputs)) {
    std::vector<std::int64_t> lengths;
    lengths.reserve(tensors.size());
    for (const Tensor& t : tensors) lengths.push_back(t.sizes()[d]);
    autograd::record("CatBackward", loc, inputs, out, [d, lengths](Node& self, const Tensor& g) {
      GradList grads;
      grads.reserve(lengths.size());
      std::int64_t start = 0;
      for (std::size_t i = 0; i < lengths.size(); ++i) {
        grads.push_back(self.needs_input_grad(i) ? g.narrow(d, start, lengths[i]) : Tensor());
        start += lengths[i];
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim, SourceLocation loc) {
  if (tensors.empty()) throw_error("stack", "expected a non-empty list of tensors", loc);
  for (const Tensor& t : tensors) detail::check_defined(t, "stack", loc);
  const Tensor& first = tensors[0];
  for (std::size_t i = 1; i < tensors.size(); ++i) {
    if (tensors[i].sizes() != first.sizes())
      throw_error("stack", "expected all tensors to have one shape, got " + detail::describe(first) +
                               " at entry 0 and " + detail::describe(tensors[i]) + " at " + entry(i),
                  loc);
    if (tensors[i].dtype() != first.dtype())
      throw_error("stack", "expected all tensors to have one dtype, got " + detail::describe(first) +
                               " at entry 0 and " + detail::describe(tensors[i]) + " at " + entry(i),
                  loc);
  }
  const std::int64_t d = detail::wrap_dim(dim, first.dim() + 1, "stack", loc);
  std::vector<Tensor> expanded;
  expanded.reserve(tensors.size());
  for (const Tensor& t : tensors) expanded.push_back(t.unsqueeze(d, loc));
  return cat(expanded, d, loc);
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<std::int64_t>& sizes, std::int64_t dim,
                                     SourceLocation loc) {
  detail::check_defined(x, "split_with_sizes", loc);
  if (x.dim() == 0) throw_error("split_with_sizes", "cannot split a 0-dim tensor", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "split_with_sizes", loc));
  std::int64_t total = 0;
  for (std::int64_t s : sizes) {
    if (s < 0)
      throw_error("split_with_sizes", "split sizes must be non-negative, got " + Shape(sizes).str(), loc);
    total += s;
  }
  if (total != x.sizes()[d])
    throw_error("split_with_sizes", "split sizes " + Shape(sizes).str() + " must sum to " +
                                        std::to_string(x.sizes()[d]) + " (dim " + std::to_string(d) + " of " +
                                        detail::describe(x) + "), they sum to " + std::to_string(total),
                loc);
  std::vector<Tensor> parts;
  parts.reserve(sizes.size());
  std::int64_t start = 0;
  for (std::int64_t s : sizes) {
    parts.push_back(x.narrow(d, start, s, loc));
    start += s;
  }
  return parts;
}

std::vector<Tensor> split(const Tensor& x, std::int64_t split_size, std::int64_t dim, SourceLocation loc) {
  detail::check_defined(x, "split", loc);
  if (x.dim() == 0) throw_error("split", "cannot split a 0-dim tensor", loc);
  const auto d = static_cast<int>(detail::wrap_dim(dim, x.dim(), "split", loc));
  const std::int64_t n = x.sizes()[d];
  if (split_size < 0 || (split_size == 0 && n != 0))
    throw_error("split", "split_size must be positive, got " + std::to_string(split_size) + " for dim " +
                             std::to_string(d) + " of " + detail::describe(x),
                loc);
  // As PyTorch does, an empty dim still gives one (empty) chunk.
  std::vector<Tensor> parts;
  if (n == 0) {
    parts.push_back(x.narrow(d, 0, 0, loc));
    return parts;
  }
  for (std::int64_t start = 0; start < n; start += split_size)
    parts.push_back(x.narrow(d, start, std::min(split_size, n - start), loc));
  return parts;
}

std::vector<Tensor> Tensor::split(std::int64_t split_size, std::int64_t dim, SourceLocation loc) const {
  return cr::split(*this, split_size, dim, loc);
}

}  // namespace cr
