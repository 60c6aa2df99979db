// In-place ops. Every one bumps the storage version, so autograd can tell when
// a tensor it saved was overwritten.
//
// Without history to record (no-grad, or nothing requires grad) they write
// straight into the tensor: optimizers depend on that being allocation-free.
// While recording, the result is computed out of place from a copy of the old
// value and the tensor takes over the new node as its grad_fn.

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"
#include "ops/broadcast.h"

namespace cr {

using autograd::GradList;
using autograd::Node;

namespace {

bool records_history(const Tensor& self, const Tensor* other) {
  return autograd::is_grad_enabled() && (self.requires_grad() || (other && other->requires_grad()));
}

void check_target(const Tensor& self, const Tensor* other, const char* op, const SourceLocation& loc) {
  detail::check_defined(self, op, loc);
  if (other) detail::check_defined(*other, op, loc);
  if (!records_history(self, other)) return;
  if (self.is_leaf() && self.requires_grad())
    throw_error(op, "a leaf tensor that requires grad (" + detail::describe(self) +
                        ") cannot be modified in place while recording; wrap the update in cr::NoGradGuard",
                loc);
  if (self.impl()->is_view)
    throw_error(op, "in-place change of a view (" + detail::describe(self) +
                        ") while recording history is not supported; clone() it first",
                loc);
}

// Makes `self` hold `result`'s values and history (the recording path).
Tensor& take_over(Tensor& self, const Tensor& result) {
  {
    NoGradGuard no_grad;
    Tensor target = self.detach();
    cpu::copy_into(target, result);
  }
  self.storage().bump_version();
  TensorImpl* impl = self.impl();
  impl->grad_fn = result.grad_fn();
  impl->output_nr = result.output_nr();
  impl->requires_grad = result.requires_grad();
  return self;
}

// self = f(self, other) elementwise in place, other broadcast to self's shape.
template <class F>
Tensor& inplace_binary(Tensor& self, const Tensor& other, const char* op, const SourceLocation& loc, F f) {
  if (broadcast_shapes(self.sizes(), other.sizes(), op, loc) != self.sizes())
    throw_error(op, "cannot write a result of " + other.sizes().str() + " broadcast with " +
                        self.sizes().str() + " into " + detail::describe(self),
                loc);
  if (self.dtype() == kBool) throw_error(op, "is not defined for bool tensors", loc);
  if (is_floating(self.dtype()) && is_floating(other.dtype()) && self.dtype() != other.dtype())
    throw_error(op, "dtype mismatch: " + detail::describe(self) + " and " + detail::describe(other), loc);
  Tensor source = detail::broadcast_view(other.dtype() == self.dtype() ? other : other.detach().to(self.dtype()),
                                         self.sizes());
  dispatch_numeric(self.dtype(), [&]<class T>() {
    T* ps = static_cast<T*>(self.raw_data());
    const T* po = static_cast<const T*>(source.raw_data());
    const std::int64_t n = self.numel();
    if (self.is_contiguous() && source.is_contiguous()) {
      cpu::parallel_range(n, [&](std::int64_t begin, std::int64_t end) {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) ps[i] = f(ps[i], po[i]);
      });
      return;
    }
    std::array<Shape, 2> strides{self.strides(), source.strides()};
    cpu::detail::for_each_row<2>(self.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i)
        ps[off[0] + i * st[0]] = f(ps[off[0] + i * st[0]], po[off[1] + i * st[1]]);
    });
  });
  self.storage().bump_version();
  return self;
}

template <class F>
Tensor& inplace_unary(Tensor& self, const char* op, const SourceLocation& loc, F f) {
  if (self.dtype() == kBool) throw_error(op, "is not defined for bool tensors", loc);
  dispatch_numeric(self.dtype(), [&]<class T>() {
    T* ps = static_cast<T*>(self.raw_data());
    const std::int64_t n = self.numel();
    if (self.is_contiguous()) {
      cpu::parallel_range(n, [&](std::int64_t begin, std::int64_t end) {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) ps[i] = f(ps[i]);
      });
      return;
    }
    std::array<Shape, 1> strides{self.strides()};
    cpu::detail::for_each_row<1>(self.sizes(), strides, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i) ps[off[0] + i * st[0]] = f(ps[off[0] + i * st[0]]);
    });
  });
  self.storage().bump_version();
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, double alpha, SourceLocation loc) {
  check_target(*this, &other, "add_", loc);
  if (records_history(*this, &other))
    return take_over(*this, add(clone(loc), alpha == 1.0 ? other : mul(other, alpha, loc), loc));
  return inplace_binary(*this, other, "add_", loc, [alpha](auto x, auto y) {
    return static_cast<decltype(x)>(x + alpha * y);
  });
}

Tensor& Tensor::sub_(const Tensor& other, double alpha, SourceLocation loc) { return add_(other, -alpha, loc); }

Tensor& Tensor::mul_(const Tensor& other, SourceLocation loc) {
  check_target(*this, &other, "mul_", loc);
  if (records_history(*this, &other)) return take_over(*this, mul(clone(loc), other, loc));
  return inplace_binary(*this, other, "mul_", loc, [](auto x, auto y) { return x * y; });
}

Tensor& Tensor::div_(const Tensor& other, SourceLocation loc) {
  check_target(*this, &other, "div_", loc);
  if (!is_floating(dtype())) throw_error("div_", "needs a float tensor to write into, got " + detail::describe(*this), loc);
  if (records_history(*this, &other)) return take_over(*this, div(clone(loc), other, loc));
  return inplace_binary(*this, other, "div_", loc, [](auto x, auto y) { return x / y; });
}

Tensor& Tensor::add_(double other, SourceLocation loc) {
  check_target(*this, nullptr, "add_", loc);
  if (records_history(*this, nullptr)) return take_over(*this, add(clone(loc), other, loc));
  return inplace_unary(*this, "add_", loc, [other](auto x) { return static_cast<decltype(x)>(x + other); });
}

Tensor& Tensor::sub_(double other, SourceLocation loc) { return add_(-other, loc); }

Tensor& Tensor::mul_(double other, SourceLocation loc) {
  check_target(*this, nullptr, "mul_", loc);
  if (records_history(*this, nullptr)) return take_over(*this, mul(clone(loc), other, loc));
  return inplace_unary(*this, "mul_", loc, [other](auto x) { return static_cast<decltype(x)>(x * other); });
}

Tensor& Tensor::div_(double other, SourceLocation loc) {
  check_target(*this, nullptr, "div_", loc);
  if (!is_floating(dtype())) throw_error("div_", "needs a float tensor to write into, got " + detail::describe(*this), loc);
  if (records_history(*this, nullptr)) return take_over(*this, div(clone(loc), other, loc));
  return inplace_unary(*this, "div_", loc, [other](auto x) { return static_cast<decltype(x)>(x / other); });
}

Tensor& Tensor::clamp_(double min, double max, SourceLocation loc) {
  check_target(*this, nullptr, "clamp_", loc);
  if (min > max) throw_error("clamp_", "min " + std::to_string(min) + " is greater than max " + std::to_string(max), loc);
  if (records_history(*this, nullptr)) return take_over(*this, cr::clamp(clone(loc), min, max, loc));
  return inplace_unary(*this, "clamp_", loc, [min, max](auto x) {
    using T = decltype(x);
    return x < T(min) ? T(min) : (x > T(max) ? T(max) : x);
  });
}

Tensor& Tensor::fill_(double value, SourceLocation loc) {
  check_target(*this, nullptr, "fill_", loc);
  if (records_history(*this, nullptr)) {
    // The new value does not depend on the old one: the gradient stops here.
    Tensor result = full(sizes(), value, dtype(), loc);
    autograd::record("FillBackward", loc, {this}, result, [](Node&, const Tensor&) { return GradList{Tensor()}; });
    return take_over(*this, result);
  }
  dispatch_all(dtype(), [&]<class T>() {
    T* p = static_cast<T*>(raw_data());
    const T v = static_cast<T>(value);
    std::array<Shape, 1> strides{this->strides()};
    cpu::detail::for_each_row<1>(sizes(), strides, [&](auto off, std::int64_t count, auto st) {
      for (std::int64_t i = 0; i < count; ++i) p[off[0] + i * st[0]] = v;
    });
  });
  storage().bump_version();
  return *this;
}

Tensor& Tensor::zero_(SourceLocation loc) { return fill_(0.0, loc); }

Tensor& Tensor::copy_(const Tensor& src, SourceLocation loc) {
  check_target(*this, &src, "copy_", loc);
  if (broadcast_shapes(sizes(), src.sizes(), "copy_", loc) != sizes())
    throw_error("copy_", "cannot copy " + detail::describe(src) + " into " + detail::describe(*this), loc);
  if (records_history(*this, &src)) {
    Tensor result = src.to(dtype(), loc).expand(sizes(), loc).clone(loc);
    Tensor old = *this;
    autograd::record("CopyBackward", loc, {&old, &result}, result,
                     [](Node&, const Tensor& g) { return GradList{Tensor(), g}; });
    return take_over(*this, result);
  }
  Tensor source = detail::broadcast_view(src, sizes());
  cpu::copy_into(*this, source);
  storage().bump_version();
  return *this;
}

}  // namespace cr
