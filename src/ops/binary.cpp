// add, sub, mul, div, pow, maximum, minimum: broadcasting binary ops and their
// scalar forms. Backward rules are written in these same ops, so they can be
// differentiated again; broadcasting is undone by the engine (Node::run).

#include <cmath>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/record.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"
#include "ops/broadcast.h"

namespace cr {

using autograd::GradList;
using autograd::Node;
using autograd::SavedTensor;

namespace {

// The dtype two operands compute in. Mixing float32 with float64 is refused:
// a silent change of precision is a bug more often than an intent.
DType compute_dtype(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc) {
  detail::check_defined(a, op, loc);
  detail::check_defined(b, op, loc);
  if (is_floating(a.dtype()) && is_floating(b.dtype()) && a.dtype() != b.dtype())
    throw_error(op, "dtype mismatch: " + detail::describe(a) + " and " + detail::describe(b) +
                        " (convert one with .to())",
                loc);
  DType d = promote_types(a.dtype(), b.dtype());
  return d == kBool ? kInt64 : d;
}

template <class F>
Tensor binary_forward(const Tensor& a, const Tensor& b, DType dtype, const char* op,
                      const SourceLocation& loc, F f) {
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op, loc);
  Tensor ca = a.dtype() == dtype ? a : a.detach().to(dtype);
  Tensor cb = b.dtype() == dtype ? b : b.detach().to(dtype);
  Tensor out = detail::make_tensor(shape, dtype);
  Tensor va = detail::broadcast_view(ca, shape), vb = detail::broadcast_view(cb, shape);
  dispatch_numeric(dtype, [&]<class T>() { cpu::map2<T, T, T>(out, va, vb, f); });
  return out;
}

template <class F>
Tensor scalar_forward(const Tensor& a, double s, const char* op, const SourceLocation& loc, F f) {
  detail::check_defined(a, op, loc);
  const DType dtype = a.dtype() == kBool ? kInt64 : a.dtype();
  Tensor ca = a.dtype() == dtype ? a : a.detach().to(dtype);
  Tensor out = detail::make_tensor(a.sizes(), dtype);
  dispatch_numeric(dtype, [&]<class T>() {
    const T scalar = static_cast<T>(s);
    cpu::map1<T, T>(out, ca, [&](T x) { return f(x, scalar); });
  });
  return out;
}

struct Add { template <class T> T operator()(T x, T y) const { return x + y; } };
struct Sub { template <class T> T operator()(T x, T y) const { return x - y; } };
struct Mul { template <class T> T operator()(T x, T y) const { return x * y; } };
struct Div { template <class T> T operator()(T x, T y) const { return x / y; } };
struct Max { template <class T> T operator()(T x, T y) const { return (x > y || x != x) ? x : y; } };
struct Min { template <class T> T operator()(T x, T y) const { return (x < y || x != x) ? x : y; } };
struct Pow {
  template <class T> T operator()(T x, T y) const {
    return static_cast<T>(std::pow(static_cast<double>(x), static_cast<double>(y)));
  }
};

// Integer division truncating would surprise; divide in float32 as PyTorch does.
DType division_dtype(DType d) { return is_floating(d) ? d : kFloat32; }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, compute_dtype(a, b, "add", loc), "add", loc, Add{});
  if (autograd::needs_grad(a, b))
    autograd::record("AddBackward", loc, {&a, &b}, out,
                     [](Node&, const Tensor& g) { return GradList{g, g}; });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, compute_dtype(a, b, "sub", loc), "sub", loc, Sub{});
  if (autograd::needs_grad(a, b))
    autograd::record("SubBackward", loc, {&a, &b}, out, [](Node& self, const Tensor& g) {
      return GradList{g, self.needs_input_grad(1) ? neg(g) : Tensor()};
    });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, compute_dtype(a, b, "mul", loc), "mul", loc, Mul{});
  if (autograd::needs_grad(a, b)) {
    // Save only what the other input's gradient needs.
    SavedTensor sa(b.requires_grad() ? a : Tensor(), false);
    SavedTensor sb(a.requires_grad() ? b : Tensor(), false);
    autograd::record("MulBackward", loc, {&a, &b}, out, [sa, sb](Node& self, const Tensor& g) {
      return GradList{self.needs_input_grad(0) ? mul(g, sb.unpack(self)) : Tensor(),
                      self.needs_input_grad(1) ? mul(g, sa.unpack(self)) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, division_dtype(compute_dtype(a, b, "div", loc)), "div", loc, Div{});
  if (autograd::needs_grad(a, b)) {
    SavedTensor sa(b.requires_grad() ? a : Tensor(), false);
    SavedTensor sb(b, false);
    autograd::record("DivBackward", loc, {&a, &b}, out, [sa, sb](Node& self, const Tensor& g) {
      Tensor vb = sb.unpack(self);
      Tensor ga = self.needs_input_grad(0) ? div(g, vb) : Tensor();
      Tensor gb = self.needs_input_grad(1) ? neg(div(mul(g, sa.unpack(self)), mul(vb, vb))) : Tensor();
      return GradList{ga, gb};
    });
  }
  return out;
}

Tensor pow(const Tensor& x, const Tensor& exponent, SourceLocation loc) {
  Tensor out = binary_forward(x, exponent, division_dtype(compute_dtype(x, exponent, "pow", loc)),
                              "pow", loc, Pow{});
  if (autograd::needs_grad(x, exponent)) {
    autograd::record("PowBackward", loc, {&x, &exponent}, out,
                     [sx = SavedTensor(x, false), se = SavedTensor(exponent, false),
                      sy = SavedTensor(out, true)](Node& self, const Tensor& g) {
                       Tensor vx = sx.unpack(self), ve = se.unpack(self);
                       Tensor gx, ge;
                       if (self.needs_input_grad(0)) gx = mul(g, mul(ve, pow(vx, sub(ve, 1.0))));
                       // d/de x^e = x^e·log x, taken as 0 where x == 0 (as PyTorch does).
                       if (self.needs_input_grad(1))
                         ge = mul(g, where(eq(vx, 0.0), zeros_like(vx), mul(sy.unpack(self), log(vx))));
                       return GradList{gx, ge};
                     });
  }
  return out;
}

Tensor maximum(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, compute_dtype(a, b, "maximum", loc), "maximum", loc, Max{});
  if (autograd::needs_grad(a, b))
    autograd::record("MaximumBackward", loc, {&a, &b}, out,
                     [sa = SavedTensor(a, false), sb = SavedTensor(b, false)](Node& self, const Tensor& g) {
                       Tensor va = sa.unpack(self), vb = sb.unpack(self);
                       // Ties share the gradient equally, as in PyTorch.
                       Tensor share = where(eq(va, vb), mul(g, 0.5), g);
                       Tensor zero = zeros_like(g);
                       return GradList{where(lt(va, vb), zero, share), where(gt(va, vb), zero, share)};
                     });
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b, SourceLocation loc) {
  Tensor out = binary_forward(a, b, compute_dtype(a, b, "minimum", loc), "minimum", loc, Min{});
  if (autograd::needs_grad(a, b))
    autograd::record("MinimumBackward", loc, {&a, &b}, out,
                     [sa = SavedTensor(a, false), sb = SavedTensor(b, false)](Node& self, const Tensor& g) {
                       Tensor va = sa.unpack(self), vb = sb.unpack(self);
                       Tensor share = where(eq(va, vb), mul(g, 0.5), g);
                       Tensor zero = zeros_like(g);
                       return GradList{where(gt(va, vb), zero, share), where(lt(va, vb), zero, share)};
                     });
  return out;
}

// ---- scalar forms ----------------------------------------------------------

Tensor add(const Tensor& a, double b, SourceLocation loc) {
  Tensor out = scalar_forward(a, b, "add", loc, Add{});
  if (autograd::needs_grad(a))
    autograd::record("AddBackward", loc, {&a}, out, [](Node&, const Tensor& g) { return GradList{g}; });
  return out;
}

Tensor sub(const Tensor& a, double b, SourceLocation loc) { return add(a, -b, loc); }

Tensor sub(double a, const Tensor& b, SourceLocation loc) {
  Tensor out = scalar_forward(b, a, "sub", loc, [](auto x, auto s) { return s - x; });
  if (autograd::needs_grad(b))
    autograd::record("RsubBackward", loc, {&b}, out,
                     [](Node&, const Tensor& g) { return GradList{neg(g)}; });
  return out;
}

Tensor mul(const Tensor& a, double b, SourceLocation loc) {
  Tensor out = scalar_forward(a, b, "mul", loc, Mul{});
  if (autograd::needs_grad(a))
    autograd::record("MulBackward", loc, {&a}, out,
                     [b](Node&, const Tensor& g) { return GradList{mul(g, b)}; });
  return out;
}

Tensor div(const Tensor& a, double b, SourceLocation loc) {
  if (!is_floating(a.dtype())) return div(a.to(kFloat32, loc), b, loc);
  Tensor out = scalar_forward(a, b, "div", loc, Div{});
  if (autograd::needs_grad(a))
    autograd::record("DivBackward", loc, {&a}, out,
                     [b](Node&, const Tensor& g) { return GradList{div(g, b)}; });
  return out;
}

Tensor div(double a, const Tensor& b, SourceLocation loc) {
  if (!is_floating(b.dtype())) return div(a, b.to(kFloat32, loc), loc);
  Tensor out = scalar_forward(b, a, "div", loc, [](auto x, auto s) { return s / x; });
  if (autograd::needs_grad(b))
    autograd::record("RdivBackward", loc, {&b}, out,
                     [a, sb = SavedTensor(b, false)](Node& self, const Tensor& g) {
                       Tensor vb = sb.unpack(self);
                       return GradList{neg(div(mul(g, a), mul(vb, vb)))};
                     });
  return out;
}

Tensor pow(const Tensor& x, double exponent, SourceLocation loc) {
  detail::check_defined(x, "pow", loc);
  Tensor base = is_floating(x.dtype()) ? x : x.to(kFloat32, loc);
  Tensor out;
  if (exponent == 2.0) out = scalar_forward(base, exponent, "pow", loc, [](auto v, auto) { return v * v; });
  else out = scalar_forward(base, exponent, "pow", loc, Pow{});
  if (autograd::needs_grad(base))
    autograd::record("PowBackward", loc, {&base}, out,
                     [exponent, sx = SavedTensor(base, false)](Node& self, const Tensor& g) {
                       if (exponent == 0.0) return GradList{zeros_like(g)};
                       Tensor vx = sx.unpack(self);
                       Tensor dx = exponent == 2.0 ? mul(vx, 2.0) : mul(pow(vx, exponent - 1.0), exponent);
                       return GradList{mul(g, dx)};
                     });
  return out;
}

// ---- operators -------------------------------------------------------------

Tensor operator+(Located a, const Tensor& b) { return add(a.tensor, b, a.loc); }
Tensor operator+(Located a, double b) { return add(a.tensor, b, a.loc); }
Tensor operator+(double a, Located b) { return add(b.tensor, a, b.loc); }
Tensor operator-(Located a, const Tensor& b) { return sub(a.tensor, b, a.loc); }
Tensor operator-(Located a, double b) { return sub(a.tensor, b, a.loc); }
Tensor operator-(double a, Located b) { return sub(a, b.tensor, b.loc); }
Tensor operator*(Located a, const Tensor& b) { return mul(a.tensor, b, a.loc); }
Tensor operator*(Located a, double b) { return mul(a.tensor, b, a.loc); }
Tensor operator*(double a, Located b) { return mul(b.tensor, a, b.loc); }
Tensor operator/(Located a, const Tensor& b) { return div(a.tensor, b, a.loc); }
Tensor operator/(Located a, double b) { return div(a.tensor, b, a.loc); }
Tensor operator/(double a, Located b) { return div(a, b.tensor, b.loc); }
Tensor operator-(Located a) { return neg(a.tensor, a.loc); }

Tensor Tensor::pow(double exponent, SourceLocation loc) const { return cr::pow(*this, exponent, loc); }
Tensor Tensor::pow(const Tensor& exponent, SourceLocation loc) const { return cr::pow(*this, exponent, loc); }
Tensor Tensor::maximum(const Tensor& other, SourceLocation loc) const { return cr::maximum(*this, other, loc); }
Tensor Tensor::minimum(const Tensor& other, SourceLocation loc) const { return cr::minimum(*this, other, loc); }

}  // namespace cr
