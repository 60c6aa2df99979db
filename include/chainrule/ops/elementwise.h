#pragma once
// Elementwise ops with NumPy broadcasting. Arithmetic operators accept a
// tensor or a scalar on either side; the scalar takes the tensor's dtype.

#include "chainrule/core/tensor.h"

namespace cr {

/// Binds the caller's location to the left operand of an operator (operators
/// cannot take a defaulted extra parameter; a converting constructor can).
struct Located {
  Located(const Tensor& t, SourceLocation where = SourceLocation::current())  // NOLINT
      : tensor(t), loc(where) {}
  const Tensor& tensor;
  SourceLocation loc;
};

Tensor add(const Tensor& a, const Tensor& b, CR_LOC);
Tensor add(const Tensor& a, double b, CR_LOC);
Tensor sub(const Tensor& a, const Tensor& b, CR_LOC);
Tensor sub(const Tensor& a, double b, CR_LOC);
Tensor sub(double a, const Tensor& b, CR_LOC);
Tensor mul(const Tensor& a, const Tensor& b, CR_LOC);
Tensor mul(const Tensor& a, double b, CR_LOC);
Tensor div(const Tensor& a, const Tensor& b, CR_LOC);
Tensor div(const Tensor& a, double b, CR_LOC);
Tensor div(double a, const Tensor& b, CR_LOC);

Tensor operator+(Located a, const Tensor& b);
Tensor operator+(Located a, double b);
Tensor operator+(double a, Located b);
Tensor operator-(Located a, const Tensor& b);
Tensor operator-(Located a, double b);
Tensor operator-(double a, Located b);
Tensor operator*(Located a, const Tensor& b);
Tensor operator*(Located a, double b);
Tensor operator*(double a, Located b);
Tensor operator/(Located a, const Tensor& b);
Tensor operator/(Located a, double b);
Tensor operator/(double a, Located b);
Tensor operator-(Located a);

Tensor neg(const Tensor& x, CR_LOC);
Tensor exp(const Tensor& x, CR_LOC);
Tensor log(const Tensor& x, CR_LOC);
Tensor sqrt(const Tensor& x, CR_LOC);
Tensor rsqrt(const Tensor& x, CR_LOC);
Tensor abs(const Tensor& x, CR_LOC);
Tensor sin(const Tensor& x, CR_LOC);
Tensor cos(const Tensor& x, CR_LOC);
Tensor tanh(const Tensor& x, CR_LOC);
Tensor sigmoid(const Tensor& x, CR_LOC);
Tensor relu(const Tensor& x, CR_LOC);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01, CR_LOC);
/// GELU, exact (erf) form.
Tensor gelu(const Tensor& x, CR_LOC);
/// log(1 + exp(beta·x)) / beta, linear above `threshold` as in PyTorch.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0, CR_LOC);
Tensor clamp(const Tensor& x, double min, double max, CR_LOC);
Tensor pow(const Tensor& x, double exponent, CR_LOC);
Tensor pow(const Tensor& x, const Tensor& exponent, CR_LOC);
Tensor maximum(const Tensor& a, const Tensor& b, CR_LOC);
Tensor minimum(const Tensor& a, const Tensor& b, CR_LOC);
/// condition ? a : b, broadcasting all three.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, CR_LOC);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value, CR_LOC);

// Comparisons return bool tensors and record no history.
Tensor eq(const Tensor& a, const Tensor& b, CR_LOC);
Tensor ne(const Tensor& a, const Tensor& b, CR_LOC);
Tensor lt(const Tensor& a, const Tensor& b, CR_LOC);
Tensor le(const Tensor& a, const Tensor& b, CR_LOC);
Tensor gt(const Tensor& a, const Tensor& b, CR_LOC);
Tensor ge(const Tensor& a, const Tensor& b, CR_LOC);
Tensor eq(const Tensor& a, double b, CR_LOC);
Tensor ne(const Tensor& a, double b, CR_LOC);
Tensor lt(const Tensor& a, double b, CR_LOC);
Tensor le(const Tensor& a, double b, CR_LOC);
Tensor gt(const Tensor& a, double b, CR_LOC);
Tensor ge(const Tensor& a, double b, CR_LOC);

/// The shape two shapes broadcast to; throws naming `op` if they cannot.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op, CR_LOC);
/// Sums `grad` down to `shape` (undoes broadcasting); differentiable.
Tensor sum_to(const Tensor& grad, const Shape& shape, CR_LOC);

}  // namespace cr

namespace cr {

Tensor sign(const Tensor& x, CR_LOC);
Tensor erf(const Tensor& x, CR_LOC);
/// Logical ops on bool tensors (no history).
Tensor logical_and(const Tensor& a, const Tensor& b, CR_LOC);
Tensor logical_or(const Tensor& a, const Tensor& b, CR_LOC);
Tensor logical_not(const Tensor& a, CR_LOC);

/// grad where y > 0, else 0: the backward of relu, fused (and differentiable in grad).
Tensor relu_backward(const Tensor& grad, const Tensor& y, CR_LOC);
/// grad·(1 − y²) for y = tanh(x): the backward of tanh in one pass (one kernel
/// and one allocation instead of three), differentiable in grad and y.
Tensor tanh_backward(const Tensor& grad, const Tensor& y, CR_LOC);
/// grad·y·(1 − y) for y = sigmoid(x): the backward of sigmoid in one pass,
/// differentiable in grad and y.
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y, CR_LOC);

}  // namespace cr
