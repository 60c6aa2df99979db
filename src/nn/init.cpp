#include "chainrule/nn/init.h"

#include <cmath>
#include <string>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/core/factories.h"
#include "chainrule/ops/elementwise.h"
#include "core/tensor_internal.h"

namespace cr::nn::init {

namespace {

void check_target(const Tensor& tensor, const char* op, const SourceLocation& loc) {
  detail::check_defined(tensor, op, loc);
  detail::check_floating(tensor, op, loc);
}

// Values are drawn in float64 and rounded once into the target, so a float32
// tensor gets the same distribution a float64 one does.
Tensor fill_uniform(Tensor& tensor, double low, double high) {
  NoGradGuard no_grad;
  Tensor u = rand(tensor.sizes(), kFloat64);
  tensor.copy_(u * (high - low) + low);
  return tensor;
}

Tensor fill_normal(Tensor& tensor, double mean, double std) {
  NoGradGuard no_grad;
  Tensor z = randn(tensor.sizes(), kFloat64);
  tensor.copy_(z * std + mean);
  return tensor;
}

std::int64_t fan(const Tensor& tensor, FanMode mode, const SourceLocation& loc) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor, loc);
  return mode == kFanIn ? fan_in : fan_out;
}

}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
  switch (nonlinearity) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv1d:
    case Nonlinearity::Conv2d:
    case Nonlinearity::Conv3d:
    case Nonlinearity::Sigmoid: return 1.0;
    case Nonlinearity::Tanh: return 5.0 / 3.0;
    case Nonlinearity::ReLU: return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::SELU: return 3.0 / 4.0;
  }
  return 1.0;
}

std::pair<std::int64_t, std::int64_t> calculate_fan_in_and_fan_out(const Tensor& tensor, SourceLocation loc) {
  detail::check_defined(tensor, "calculate_fan_in_and_fan_out", loc);
  if (tensor.dim() < 2)
    throw_error("calculate_fan_in_and_fan_out",
                "needs a tensor of at least 2 dims ([out, in, ...]), got " + detail::describe(tensor), loc);
  std::int64_t receptive_field = 1;
  for (int d = 2; d < tensor.dim(); ++d) receptive_field *= tensor.sizes()[d];
  return {tensor.sizes()[1] * receptive_field, tensor.sizes()[0] * receptive_field};
}

Tensor uniform_(Tensor tensor, double low, double high, SourceLocation loc) {
  check_target(tensor, "uniform_", loc);
  if (!(low <= high))
    throw_error("uniform_", "needs low <= high, got [" + std::to_string(low) + ", " + std::to_string(high) + ")", loc);
  return fill_uniform(tensor, low, high);
}

Tensor normal_(Tensor tensor, double mean, double std, SourceLocation loc) {
  check_target(tensor, "normal_", loc);
  if (!(std >= 0.0)) throw_error("normal_", "needs std >= 0, got " + std::to_string(std), loc);
  return fill_normal(tensor, mean, std);
}

Tensor constant_(Tensor tensor, double value, SourceLocation loc) {
  detail::check_defined(tensor, "constant_", loc);
  NoGradGuard no_grad;
  tensor.fill_(value, loc);
  return tensor;
}

Tensor zeros_(Tensor tensor, SourceLocation loc) { return constant_(std::move(tensor), 0.0, loc); }
Tensor ones_(Tensor tensor, SourceLocation loc) { return constant_(std::move(tensor), 1.0, loc); }

Tensor xavier_uniform_(Tensor tensor, double gain, SourceLocation loc) {
  check_target(tensor, "xavier_uniform_", loc);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor, loc);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * std;
  return fill_uniform(tensor, -bound, bound);
}

Tensor xavier_normal_(Tensor tensor, double gain, SourceLocation loc) {
  check_target(tensor, "xavier_normal_", loc);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(tensor, loc);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  return fill_normal(tensor, 0.0, std);
}

Tensor kaiming_uniform_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity, SourceLocation loc) {
  check_target(tensor, "kaiming_uniform_", loc);
  const std::int64_t n = fan(tensor, mode, loc);
  if (tensor.numel() == 0) return tensor;  // nothing to fill, and fan may be 0
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(n));
  const double bound = std::sqrt(3.0) * std;
  return fill_uniform(tensor, -bound, bound);
}

Tensor kaiming_normal_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity, SourceLocation loc) {
  check_target(tensor, "kaiming_normal_", loc);
  const std::int64_t n = fan(tensor, mode, loc);
  if (tensor.numel() == 0) return tensor;
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(n));
  return fill_normal(tensor, 0.0, std);
}

}  // namespace cr::nn::init
