#include "chainrule/core/factories.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <random>

#include "core/tensor_internal.h"

namespace cr {

namespace {

// One generator for every random factory; a mutex keeps it safe when a data
// loader thread draws from it too.
struct GlobalGenerator {
  std::mutex mutex;
  std::mt19937_64 engine{0x5eedULL};
};
GlobalGenerator& generator() {
  static GlobalGenerator g;
  return g;
}

void check_shape(const Shape& shape, const char* op, const SourceLocation& loc) {
  for (std::int64_t d : shape)
    if (d < 0) throw_error(op, "negative size in shape " + shape.str(), loc);
}

Tensor make(const Shape& shape, const TensorOptions& options, const char* op, const SourceLocation& loc) {
  check_shape(shape, op, loc);
  if (options.requires_grad() && !is_floating(options.dtype()))
    throw_error(op, "only float tensors can require grad, asked for " + std::string(dtype_name(options.dtype())), loc);
  return detail::make_tensor(shape, options.dtype());
}

Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad()) t.impl()->requires_grad = true;
  return t;
}

template <class Fill>
void fill_each(Tensor& t, Fill&& value_at) {
  dispatch_all(t.dtype(), [&]<class T>() {
    T* p = t.data_ptr<T>();
    const std::int64_t n = t.numel();  // out of line: in the loop condition it cost 4× the fill
    for (std::int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(value_at(i));
  });
}

}  // namespace

void manual_seed(std::uint64_t seed) {
  std::lock_guard lock(generator().mutex);
  generator().engine.seed(seed);
}

Tensor empty(const Shape& shape, TensorOptions options, SourceLocation loc) {
  return finish(make(shape, options, "empty", loc), options);
}

Tensor full(const Shape& shape, double value, TensorOptions options, SourceLocation loc) {
  Tensor t = make(shape, options, "full", loc);
  if (value == 0.0) std::memset(t.raw_data(), 0, t.numel() * t.element_size());
  else dispatch_all(t.dtype(), [&]<class T>() { std::fill_n(t.data_ptr<T>(), t.numel(), static_cast<T>(value)); });
  return finish(std::move(t), options);
}

Tensor zeros(const Shape& shape, TensorOptions options, SourceLocation loc) {
  return full(shape, 0.0, options, loc);
}
Tensor ones(const Shape& shape, TensorOptions options, SourceLocation loc) {
  return full(shape, 1.0, options, loc);
}
Tensor zeros_like(const Tensor& t, SourceLocation loc) { return full(t.sizes(), 0.0, t.dtype(), loc); }
Tensor ones_like(const Tensor& t, SourceLocation loc) { return full(t.sizes(), 1.0, t.dtype(), loc); }
Tensor full_like(const Tensor& t, double value, SourceLocation loc) {
  return full(t.sizes(), value, t.dtype(), loc);
}
Tensor empty_like(const Tensor& t, SourceLocation loc) { return empty(t.sizes(), t.dtype(), loc); }

Tensor arange(double end, TensorOptions options, SourceLocation loc) {
  return arange(0.0, end, 1.0, options, loc);
}

Tensor arange(double start, double end, double step, TensorOptions options, SourceLocation loc) {
  if (step == 0.0 || !std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    throw_error("arange", "needs finite start/end and a non-zero step", loc);
  if ((end - start) / step < 0)
    throw_error("arange", "step " + std::to_string(step) + " never reaches " + std::to_string(end) + " from " + std::to_string(start), loc);
  const auto n = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor t = make({n}, options, "arange", loc);
  fill_each(t, [&](std::int64_t i) { return start + static_cast<double>(i) * step; });
  return finish(std::move(t), options);
}

Tensor linspace(double start, double end, std::int64_t steps, TensorOptions options, SourceLocation loc) {
  if (steps < 0) throw_error("linspace", "steps must be non-negative, got " + std::to_string(steps), loc);
  Tensor t = make({steps}, options, "linspace", loc);
  const double delta = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // Fill from both ends, as PyTorch does, so the last value is exactly `end`.
  fill_each(t, [&](std::int64_t i) {
    return i < steps / 2 ? start + delta * static_cast<double>(i)
                         : end - delta * static_cast<double>(steps - 1 - i);
  });
  return finish(std::move(t), options);
}

Tensor eye(std::int64_t n, TensorOptions options, SourceLocation loc) {
  Tensor t = make({n, n}, options, "eye", loc);
  fill_each(t, [n](std::int64_t i) { return i / n == i % n ? 1.0 : 0.0; });
  return finish(std::move(t), options);
}

Tensor rand(const Shape& shape, TensorOptions options, SourceLocation loc) {
  Tensor t = make(shape, options, "rand", loc);
  if (!is_floating(options.dtype())) throw_error("rand", "needs a float dtype", loc);
  std::lock_guard lock(generator().mutex);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  fill_each(t, [&](std::int64_t) { return uniform(generator().engine); });
  return finish(std::move(t), options);
}

Tensor randn(const Shape& shape, TensorOptions options, SourceLocation loc) {
  Tensor t = make(shape, options, "randn", loc);
  if (!is_floating(options.dtype())) throw_error("randn", "needs a float dtype", loc);
  std::lock_guard lock(generator().mutex);
  std::normal_distribution<double> normal(0.0, 1.0);
  fill_each(t, [&](std::int64_t) { return normal(generator().engine); });
  return finish(std::move(t), options);
}

Tensor randint(std::int64_t low, std::int64_t high, const Shape& shape, TensorOptions options,
               SourceLocation loc) {
  if (low >= high)
    throw_error("randint", "needs low < high, got [" + std::to_string(low) + ", " + std::to_string(high) + ")", loc);
  Tensor t = make(shape, options, "randint", loc);
  std::lock_guard lock(generator().mutex);
  std::uniform_int_distribution<std::int64_t> uniform(low, high - 1);
  fill_each(t, [&](std::int64_t) { return static_cast<double>(uniform(generator().engine)); });
  return finish(std::move(t), options);
}

Tensor randperm(std::int64_t n, SourceLocation loc) {
  Tensor t = make({n}, kInt64, "randperm", loc);
  std::int64_t* p = t.data_ptr<std::int64_t>();
  std::iota(p, p + n, 0);
  std::lock_guard lock(generator().mutex);
  std::shuffle(p, p + n, generator().engine);
  return t;
}

template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, TensorOptions options, SourceLocation loc) {
  Shape target = shape.empty() ? Shape{static_cast<std::int64_t>(values.size())} : shape;
  check_shape(target, "tensor", loc);
  if (target.numel() != static_cast<std::int64_t>(values.size()))
    throw_error("tensor",
                std::to_string(values.size()) + " values do not fill shape " + target.str(), loc);
  Tensor t = make(target, options, "tensor", loc);
  fill_each(t, [&](std::int64_t i) { return values[static_cast<std::size_t>(i)]; });
  return finish(std::move(t), options);
}

template Tensor tensor<float>(const std::vector<float>&, const Shape&, TensorOptions, SourceLocation);
template Tensor tensor<double>(const std::vector<double>&, const Shape&, TensorOptions, SourceLocation);
template Tensor tensor<std::int64_t>(const std::vector<std::int64_t>&, const Shape&, TensorOptions,
                                     SourceLocation);
template Tensor tensor<int>(const std::vector<int>&, const Shape&, TensorOptions, SourceLocation);

Tensor tensor(std::initializer_list<double> values, TensorOptions options, SourceLocation loc) {
  return tensor(std::vector<double>(values), Shape{}, options, loc);
}

Tensor scalar_tensor(double value, TensorOptions options, SourceLocation loc) {
  return full(Shape{}, value, options, loc);
}

Tensor from_blob(void* data, const Shape& shape, DType dtype, std::function<void(void*)> deleter,
                 SourceLocation loc) {
  check_shape(shape, "from_blob", loc);
  if (!data && shape.numel() > 0) throw_error("from_blob", "got a null pointer", loc);
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::wrap(data, static_cast<std::size_t>(shape.numel()) * element_size(dtype),
                                std::move(deleter));
  impl->sizes = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace cr
