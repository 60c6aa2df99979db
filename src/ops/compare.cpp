// Comparisons and logical ops (bool results, no history), where and masked_fill.

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

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, const SourceLocation& loc, F f) {
  detail::check_defined(a, op, loc);
  detail::check_defined(b, op, loc);
  if (is_floating(a.dtype()) && is_floating(b.dtype()) && a.dtype() != b.dtype())
    throw_error(op, "dtype mismatch: " + detail::describe(a) + " and " + detail::describe(b), loc);
  const Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op, loc);
  const DType dtype = promote_types(a.dtype(), b.dtype());
  Tensor ca = a.dtype() == dtype ? a : a.detach().to(dtype);
  Tensor cb = b.dtype() == dtype ? b : b.detach().to(dtype);
  Tensor out = detail::make_tensor(shape, kBool);
  Tensor va = detail::broadcast_view(ca, shape), vb = detail::broadcast_view(cb, shape);
  dispatch_all(dtype, [&]<class T>() { cpu::map2<bool, T, T>(out, va, vb, f); });
  return out;
}

template <class F>
Tensor compare_scalar(const Tensor& a, double b, const char* op, const SourceLocation& loc, F f) {
  detail::check_defined(a, op, loc);
  Tensor out = detail::make_tensor(a.sizes(), kBool);
  dispatch_all(a.dtype(), [&]<class T>() {
    cpu::map1<bool, T>(out, a, [&](T v) { return f(static_cast<double>(v), b); });
  });
  return out;
}

Tensor as_bool(const Tensor& t, const char* op, const SourceLocation& loc) {
  detail::check_defined(t, op, loc);
  if (t.dtype() != kBool) throw_error(op, "expected a bool tensor, got " + detail::describe(t), loc);
  return t;
}

}  // namespace

#define CR_COMPARISON(name, expr)                                                   \
  Tensor name(const Tensor& a, const Tensor& b, SourceLocation loc) {               \
    return compare(a, b, #name, loc, [](auto x, auto y) { return expr; });          \
  }                                                                                 \
  Tensor name(const Tensor& a, double b, SourceLocation loc) {                      \
    return compare_scalar(a, b, #name, loc, [](double x, double y) { return expr; }); \
  }                                                                                 \
  Tensor Tensor::name(const Tensor& other, SourceLocation loc) const {              \
    return cr::name(*this, other, loc);                                             \
  }                                                                                 \
  Tensor Tensor::name(double other, SourceLocation loc) const { return cr::name(*this, other, loc); }
CR_COMPARISON(eq, x == y)
CR_COMPARISON(ne, x != y)
CR_COMPARISON(lt, x < y)
CR_COMPARISON(le, x <= y)
CR_COMPARISON(gt, x > y)
CR_COMPARISON(ge, x >= y)
#undef CR_COMPARISON

Tensor logical_and(const Tensor& a, const Tensor& b, SourceLocation loc) {
  return compare(as_bool(a, "logical_and", loc), as_bool(b, "logical_and", loc), "logical_and", loc,
                 [](bool x, bool y) { return x && y; });
}

Tensor logical_or(const Tensor& a, const Tensor& b, SourceLocation loc) {
  return compare(as_bool(a, "logical_or", loc), as_bool(b, "logical_or", loc), "logical_or", loc,
                 [](bool x, bool y) { return x || y; });
}

Tensor logical_not(const Tensor& a, SourceLocation loc) {
  Tensor out = detail::make_tensor(a.sizes(), kBool);
  cpu::map1<bool, bool>(out, as_bool(a, "logical_not", loc), [](bool x) { return !x; });
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, SourceLocation loc) {
  as_bool(condition, "where", loc);
  detail::check_defined(a, "where", loc);
  detail::check_defined(b, "where", loc);
  detail::check_same_dtype(a, b, "where", loc);
  const Shape shape = broadcast_shapes(condition.sizes(), broadcast_shapes(a.sizes(), b.sizes(), "where", loc),
                                       "where", loc);
  Tensor out = detail::make_tensor(shape, a.dtype());
  Tensor vc = detail::broadcast_view(condition, shape);
  Tensor va = detail::broadcast_view(a, shape), vb = detail::broadcast_view(b, shape);
  dispatch_all(a.dtype(), [&]<class T>() {
    cpu::map3<T, bool, T, T>(out, vc, va, vb, [](bool c, T x, T y) { return c ? x : y; });
  });
  if (autograd::needs_grad(a, b))
    autograd::record("WhereBackward", loc, {&a, &b}, out, [condition](Node& self, const Tensor& g) {
      Tensor zero = zeros({}, g.dtype());
      return GradList{self.needs_input_grad(0) ? where(condition, g, zero) : Tensor(),
                      self.needs_input_grad(1) ? where(condition, zero, g) : Tensor()};
    });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value, SourceLocation loc) {
  detail::check_defined(x, "masked_fill", loc);
  as_bool(mask, "masked_fill", loc);
  if (broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill", loc) != x.sizes())
    throw_error("masked_fill", "mask " + mask.sizes().str() + " does not broadcast to " + detail::describe(x), loc);
  Tensor out = detail::make_tensor(x.sizes(), x.dtype());
  Tensor vm = detail::broadcast_view(mask, x.sizes());
  dispatch_all(x.dtype(), [&]<class T>() {
    const T fill = static_cast<T>(value);
    cpu::map2<T, T, bool>(out, x, vm, [fill](T v, bool m) { return m ? fill : v; });
  });
  if (autograd::needs_grad(x))
    autograd::record("MaskedFillBackward", loc, {&x}, out, [mask](Node&, const Tensor& g) {
      return GradList{masked_fill(g, mask, 0.0)};
    });
  return out;
}

Tensor Tensor::masked_fill(const Tensor& mask, double value, SourceLocation loc) const {
  return cr::masked_fill(*this, mask, value, loc);
}

}  // namespace cr
