#include "chainrule/nn/normalization.h"

#include <string>

#include "chainrule/autograd/grad_mode.h"
#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "chainrule/nn/init.h"
#include "core/tensor_internal.h"

namespace cr::nn {

BatchNorm::BatchNorm(std::string type_name, std::int64_t num_features, double eps, double momentum, bool affine,
                     bool track_running_stats)
    : Module(std::move(type_name)),
      num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats) {
  if (num_features <= 0)
    throw_error(this->type_name(), "needs num_features > 0, got " + std::to_string(num_features),
                SourceLocation::current());
  if (affine) {
    weight = register_parameter("weight", empty({num_features}));
    bias = register_parameter("bias", empty({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void BatchNorm::reset_running_stats() {
  if (!track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  init::zeros_(num_batches_tracked);
}

void BatchNorm::reset_parameters() {
  reset_running_stats();
  if (!affine) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor BatchNorm::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  detail::check_defined(input, type_name().c_str(), loc);
  check_rank(input);
  if (input.sizes()[1] != num_features)
    throw_error(type_name(),
                describe_call() + " expects " + std::to_string(num_features) + " channels in dim 1, got " +
                    detail::describe(input),
                loc);
  if (is_training() && track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1.0);
  }
  // Without running stats there is nothing to use in eval: batch stats always.
  const bool use_batch_stats = is_training() || !track_running_stats;
  return functional::batch_norm(input, running_mean, running_var, weight, bias, use_batch_stats, momentum, eps,
                                loc);
}

std::string BatchNorm::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + repr::python_float(eps) +
         ", momentum=" + repr::python_float(momentum) + ", affine=" + repr::python_bool(affine) +
         ", track_running_stats=" + repr::python_bool(track_running_stats);
}

void BatchNorm1d::check_rank(const Tensor& input) const {
  if (input.dim() != 2 && input.dim() != 3)
    throw_error("BatchNorm1d",
                describe_call() + " expects 2D or 3D input ([N, C] or [N, C, L]), got " + detail::describe(input),
                call_site());
}

void BatchNorm2d::check_rank(const Tensor& input) const {
  if (input.dim() != 4)
    throw_error("BatchNorm2d", describe_call() + " expects 4D input [N, C, H, W], got " + detail::describe(input),
                call_site());
}

LayerNorm::LayerNorm(Shape normalized_shape, double eps, bool elementwise_affine, bool with_bias)
    : Module("LayerNorm"), normalized_shape(normalized_shape), eps(eps), elementwise_affine(elementwise_affine) {
  if (normalized_shape.empty())
    throw_error("LayerNorm", "needs a non-empty normalized_shape", SourceLocation::current());
  if (elementwise_affine) {
    weight = register_parameter("weight", empty(normalized_shape));
    if (with_bias) bias = register_parameter("bias", empty(normalized_shape));
  }
  reset_parameters();
}

void LayerNorm::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNorm::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  detail::check_defined(input, "LayerNorm", loc);
  const int k = normalized_shape.size();
  bool fits = input.dim() >= k;
  for (int i = 0; fits && i < k; ++i) fits = input.sizes()[input.dim() - k + i] == normalized_shape[i];
  if (!fits)
    throw_error("LayerNorm",
                describe_call() + " normalises trailing dims " + normalized_shape.str() + ", got " +
                    detail::describe(input),
                loc);
  return functional::layer_norm(input, normalized_shape, weight, bias, eps, loc);
}

std::string LayerNorm::extra_repr() const {
  std::string dims = "(";
  for (int i = 0; i < normalized_shape.size(); ++i)
    dims += (i ? ", " : "") + std::to_string(normalized_shape[i]);
  dims += normalized_shape.size() == 1 ? ",)" : ")";
  return dims + ", eps=" + repr::python_float(eps) +
         ", elementwise_affine=" + repr::python_bool(elementwise_affine);
}

}  // namespace cr::nn
