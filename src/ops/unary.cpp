// Unary elementwise ops and activations. Each backward rule is written in
// public ops (second order comes free) unless a fused rule is much cheaper.

#include <cmath>

#include "backend/cpu/loops.h"
#include "backend/cpu/vmath.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// Applies `f` to each element of a float tensor, computing in its own dtype.
template <class F>
Tensor unary_float(const Tensor& x, const char* op, const SourceLocation& loc, F f) {
  detail::check_floating(x, op, loc);
  Tensor out = detail::make_tensor(x.sizes(), x.dtype());
  dispatch_floating(x.dtype(), [&]<class T>() { cpu::map1<T, T>(out, x, [&](T v) { return static_cast<T>(f(v)); }); });
  return out;
}

// As unary_float, for ops also defined on int64 (neg, abs, sign).
template <class F>
Tensor unary_numeric(const Tensor& x, const char* op, const SourceLocation& loc, F f) {
  detail::check_defined(x, op, loc);
  if (x.dtype() == kBool) throw_error(op, "is not defined for bool tensors, got " + detail::describe(x), loc);
  Tensor out = detail::make_tensor(x.sizes(), x.dtype());
  dispatch_numeric(x.dtype(), [&]<class T>() { cpu::map1<T, T>(out, x, [&](T v) { return static_cast<T>(f(v)); }); });
  return out;
}

constexpr double kSqrt1_2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace

Tensor neg(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_numeric(x, "neg", loc, [](auto v) { return -v; });
  if (autograd::needs_grad(x))
    autograd::record("NegBackward", loc, {&x}, out, [](Node&, const Tensor& g) { return GradList{neg(g)}; });
  return out;
}

Tensor exp(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "exp", loc, [](auto v) { return std::exp(v); });
  if (autograd::needs_grad(x))
    autograd::record("ExpBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      return GradList{mul(g, y.unpack(self))};
    });
  return out;
}

Tensor log(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "log", loc, [](auto v) { return std::log(v); });
  if (autograd::needs_grad(x))
    autograd::record("LogBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      return GradList{div(g, sx.unpack(self))};
    });
  return out;
}

Tensor sqrt(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "sqrt", loc, [](auto v) { return std::sqrt(v); });
  if (autograd::needs_grad(x))
    autograd::record("SqrtBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      return GradList{div(g, mul(y.unpack(self), 2.0))};
    });
  return out;
}

Tensor rsqrt(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "rsqrt", loc, [](auto v) { return 1 / std::sqrt(v); });
  if (autograd::needs_grad(x))
    autograd::record("RsqrtBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      Tensor vy = y.unpack(self);
      return GradList{mul(g, mul(pow(vy, 3.0), -0.5))};
    });
  return out;
}

Tensor sign(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_numeric(x, "sign", loc, [](auto v) { return (v > 0) - (v < 0); });
  if (autograd::needs_grad(x))  // flat almost everywhere
    autograd::record("SignBackward", loc, {&x}, out, [](Node&, const Tensor& g) { return GradList{zeros_like(g)}; });
  return out;
}

Tensor abs(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_numeric(x, "abs", loc, [](auto v) { return v < 0 ? -v : v; });
  if (autograd::needs_grad(x))
    autograd::record("AbsBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      return GradList{mul(g, sign(sx.unpack(self)))};
    });
  return out;
}

Tensor sin(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "sin", loc, [](auto v) { return std::sin(v); });
  if (autograd::needs_grad(x))
    autograd::record("SinBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      return GradList{mul(g, cos(sx.unpack(self)))};
    });
  return out;
}

Tensor cos(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "cos", loc, [](auto v) { return std::cos(v); });
  if (autograd::needs_grad(x))
    autograd::record("CosBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      return GradList{neg(mul(g, sin(sx.unpack(self))))};
    });
  return out;
}

Tensor tanh(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "tanh", loc, [](auto v) {
    if constexpr (std::is_same_v<decltype(v), float>) return cpu::tanh_float(v);  // vectorises; libm's does not
    else return std::tanh(v);
  });
  if (autograd::needs_grad(x))
    autograd::record("TanhBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      return GradList{tanh_backward(g, y.unpack(self))};
    });
  return out;
}

Tensor sigmoid(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "sigmoid", loc, [](auto v) {
    // Two branches so exp never overflows.
    using T = decltype(v);
    if (v >= 0) return T(1) / (T(1) + std::exp(-v));
    const T e = std::exp(v);
    return e / (T(1) + e);
  });
  if (autograd::needs_grad(x))
    autograd::record("SigmoidBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      return GradList{sigmoid_backward(g, y.unpack(self))};
    });
  return out;
}

namespace {

// out = f(grad, y) elementwise, for the fused backward of an activation whose
// derivative is a function of its output y. Both must have one shape and dtype.
template <class F>
Tensor activation_backward(const Tensor& grad, const Tensor& y, const char* op, const SourceLocation& loc, F f) {
  detail::check_floating(grad, op, loc);
  detail::check_defined(y, op, loc);
  detail::check_same_dtype(grad, y, op, loc);
  if (grad.sizes() != y.sizes())
    throw_error(op, "grad " + detail::describe(grad) + " and output " + detail::describe(y) + " differ in shape", loc);
  Tensor out = detail::make_tensor(grad.sizes(), grad.dtype());
  dispatch_floating(grad.dtype(), [&]<class T>() { cpu::map2<T, T, T>(out, grad, y, f); });
  return out;
}

}  // namespace

Tensor tanh_backward(const Tensor& grad, const Tensor& y, SourceLocation loc) {
  Tensor out = activation_backward(grad, y, "tanh_backward", loc, [](auto g, auto v) { return g * (1 - v * v); });
  if (autograd::needs_grad(grad, y))
    autograd::record("TanhBackwardBackward", loc, {&grad, &y}, out,
                     [sg = SavedTensor(grad, false), sy = SavedTensor(y, false)](Node& self, const Tensor& gg) {
                       Tensor vy = sy.unpack(self);
                       return GradList{self.needs_input_grad(0) ? tanh_backward(gg, vy) : Tensor(),
                                       self.needs_input_grad(1) ? mul(mul(gg, sg.unpack(self)), mul(vy, -2.0))
                                                                : Tensor()};
                     });
  return out;
}

Tensor sigmoid_backward(const Tensor& grad, const Tensor& y, SourceLocation loc) {
  Tensor out = activation_backward(grad, y, "sigmoid_backward", loc, [](auto g, auto v) { return g * (v * (1 - v)); });
  if (autograd::needs_grad(grad, y))
    autograd::record("SigmoidBackwardBackward", loc, {&grad, &y}, out,
                     [sg = SavedTensor(grad, false), sy = SavedTensor(y, false)](Node& self, const Tensor& gg) {
                       Tensor vy = sy.unpack(self);
                       return GradList{self.needs_input_grad(0) ? sigmoid_backward(gg, vy) : Tensor(),
                                       self.needs_input_grad(1) ? mul(mul(gg, sg.unpack(self)), sub(1.0, mul(vy, 2.0)))
                                                                : Tensor()};
                     });
  return out;
}

namespace {

// out = grad where y > 0, else 0; out may be grad itself. Zero only where
// y <= 0, so a NaN output passes its gradient on, as PyTorch's threshold_backward.
void mask_relu_gradient(Tensor& out, const Tensor& grad, const Tensor& y) {
  dispatch_floating(grad.dtype(), [&]<class T>() {
    cpu::map2<T, T, T>(out, grad, y, [](T g, T v) { return v <= 0 ? T(0) : g; });
  });
}

}  // namespace

Tensor relu(const Tensor& x, SourceLocation loc) {
  // NaN stays NaN (as in PyTorch): hiding it would hide the first NaN from the blame tooling.
  Tensor out = unary_float(x, "relu", loc, [](auto v) { return (v > 0 || v != v) ? v : decltype(v)(0); });
  if (autograd::needs_grad(x))
    autograd::record("ReluBackward", loc, {&x}, out, [y = SavedTensor(out, true)](Node& self, const Tensor& g) {
      const Tensor vy = y.unpack(self).detach();
      // A gradient nothing else holds is masked in place: in a CNN that saves
      // a buffer the size of the largest activation at the peak of backward.
      if (detail::is_exclusive_buffer(g) && g.dtype() == vy.dtype() && g.sizes() == vy.sizes()) {
        Tensor grad = g;
        mask_relu_gradient(grad, grad, vy);
        return GradList{grad};
      }
      return GradList{relu_backward(g, vy)};
    });
  return out;
}

Tensor relu_backward(const Tensor& grad, const Tensor& y, SourceLocation loc) {
  detail::check_floating(grad, "relu_backward", loc);
  detail::check_same_dtype(grad, y, "relu_backward", loc);
  Tensor out = detail::make_tensor(grad.sizes(), grad.dtype());
  mask_relu_gradient(out, grad, y);
  if (autograd::needs_grad(grad))
    autograd::record("ReluBackwardBackward", loc, {&grad}, out,
                     [sy = SavedTensor(y, false)](Node& self, const Tensor& gg) {
                       return GradList{relu_backward(gg, sy.unpack(self))};
                     });
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope, SourceLocation loc) {
  Tensor out = unary_float(x, "leaky_relu", loc, [negative_slope](auto v) {
    return v > 0 ? v : static_cast<decltype(v)>(v * negative_slope);
  });
  if (autograd::needs_grad(x))
    autograd::record("LeakyReluBackward", loc, {&x}, out,
                     [negative_slope, sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
                       Tensor positive = gt(sx.unpack(self), 0.0);
                       return GradList{where(positive, g, mul(g, negative_slope))};
                     });
  return out;
}

Tensor erf(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "erf", loc, [](auto v) { return std::erf(v); });
  if (autograd::needs_grad(x))
    autograd::record("ErfBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      Tensor vx = sx.unpack(self);
      return GradList{mul(g, mul(exp(neg(mul(vx, vx))), 2.0 * kInvSqrt2Pi * std::sqrt(2.0)))};
    });
  return out;
}

Tensor gelu(const Tensor& x, SourceLocation loc) {
  Tensor out = unary_float(x, "gelu", loc, [](auto v) { return v * 0.5 * (1.0 + std::erf(v * kSqrt1_2)); });
  if (autograd::needs_grad(x))
    autograd::record("GeluBackward", loc, {&x}, out, [sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
      // d/dx x·Φ(x) = Φ(x) + x·φ(x)
      Tensor vx = sx.unpack(self);
      Tensor cdf = mul(add(erf(mul(vx, kSqrt1_2)), 1.0), 0.5);
      Tensor pdf = mul(exp(mul(mul(vx, vx), -0.5)), kInvSqrt2Pi);
      return GradList{mul(g, add(cdf, mul(vx, pdf)))};
    });
  return out;
}

Tensor softplus(const Tensor& x, double beta, double threshold, SourceLocation loc) {
  if (beta <= 0) throw_error("softplus", "beta must be positive, got " + std::to_string(beta), loc);
  Tensor out = unary_float(x, "softplus", loc, [beta, threshold](auto v) {
    const double bx = beta * v;
    return bx > threshold ? double(v) : std::log1p(std::exp(bx)) / beta;
  });
  if (autograd::needs_grad(x))
    autograd::record("SoftplusBackward", loc, {&x}, out,
                     [beta, threshold, sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
                       Tensor bx = mul(sx.unpack(self), beta);
                       return GradList{where(gt(bx, threshold), g, mul(g, sigmoid(bx)))};
                     });
  return out;
}

Tensor clamp(const Tensor& x, double min, double max, SourceLocation loc) {
  if (min > max)
    throw_error("clamp", "min " + std::to_string(min) + " is greater than max " + std::to_string(max), loc);
  Tensor out = unary_numeric(x, "clamp", loc, [min, max](auto v) {
    using T = decltype(v);
    return v < T(min) ? T(min) : (v > T(max) ? T(max) : v);
  });
  if (autograd::needs_grad(x))
    autograd::record("ClampBackward", loc, {&x}, out,
                     [min, max, sx = SavedTensor(x, false)](Node& self, const Tensor& g) {
                       Tensor vx = sx.unpack(self);
                       Tensor inside = logical_and(ge(vx, min), le(vx, max));
                       return GradList{where(inside, g, zeros_like(g))};
                     });
  return out;
}

#define CR_TENSOR_METHOD(name) \
  Tensor Tensor::name(SourceLocation loc) const { return cr::name(*this, loc); }
CR_TENSOR_METHOD(neg)
CR_TENSOR_METHOD(exp)
CR_TENSOR_METHOD(log)
CR_TENSOR_METHOD(sqrt)
CR_TENSOR_METHOD(rsqrt)
CR_TENSOR_METHOD(abs)
CR_TENSOR_METHOD(sin)
CR_TENSOR_METHOD(cos)
CR_TENSOR_METHOD(tanh)
CR_TENSOR_METHOD(sigmoid)
CR_TENSOR_METHOD(relu)
CR_TENSOR_METHOD(gelu)
#undef CR_TENSOR_METHOD

Tensor Tensor::leaky_relu(double negative_slope, SourceLocation loc) const {
  return cr::leaky_relu(*this, negative_slope, loc);
}
Tensor Tensor::softplus(double beta, double threshold, SourceLocation loc) const {
  return cr::softplus(*this, beta, threshold, loc);
}
Tensor Tensor::clamp(double min, double max, SourceLocation loc) const { return cr::clamp(*this, min, max, loc); }

}  // namespace cr
