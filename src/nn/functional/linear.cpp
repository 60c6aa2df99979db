// linear: input·weightᵀ + bias as one GEMM. weight.t() is a view, so BLAS reads
// the weight transposed in place; inputs of more than 2 dims are flattened to
// rows (a view when contiguous) and the result reshaped back.

#include "chainrule/nn/functional.h"
#include "chainrule/ops/linalg.h"
#include "core/tensor_internal.h"

namespace cr::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias, SourceLocation loc) {
  constexpr const char* op = "linear";
  detail::check_floating(input, op, loc);
  detail::check_floating(weight, op, loc);
  auto operands = [&] {
    std::string s = "input " + detail::describe(input) + ", weight " + detail::describe(weight);
    if (bias.defined()) s += ", bias " + detail::describe(bias);
    return s;
  };
  if (weight.dim() != 2) throw_error(op, "weight must be 2-D [out_features, in_features], got " + operands(), loc);
  if (input.dim() == 0) throw_error(op, "input must have at least 1 dim, got " + operands(), loc);
  const std::int64_t in_features = weight.sizes()[1], out_features = weight.sizes()[0];
  if (input.sizes().back() != in_features)
    throw_error(op,
                "input has " + std::to_string(input.sizes().back()) + " features but weight expects " +
                    std::to_string(in_features) + ": " + operands(),
                loc);
  if (input.dtype() != weight.dtype()) throw_error(op, "dtype mismatch: " + operands(), loc);
  if (bias.defined()) {
    detail::check_floating(bias, op, loc);
    if (bias.dim() != 1 || bias.sizes()[0] != out_features)
      throw_error(op, "bias must be 1-D of " + std::to_string(out_features) + " elements, got " + operands(), loc);
    if (bias.dtype() != input.dtype()) throw_error(op, "dtype mismatch: " + operands(), loc);
  }

  const Tensor weight_t = weight.t(loc);
  if (input.dim() == 2) return bias.defined() ? addmm(bias, input, weight_t, loc) : mm(input, weight_t, loc);

  Shape out_shape = input.sizes();
  out_shape[out_shape.size() - 1] = out_features;
  const Tensor rows = input.reshape({-1, in_features}, loc);
  const Tensor out = bias.defined() ? addmm(bias, rows, weight_t, loc) : mm(rows, weight_t, loc);
  return out.reshape(out_shape, loc);
}

}  // namespace cr::nn::functional
