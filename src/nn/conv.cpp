#include "chainrule/nn/conv.h"

#include <cmath>
#include <string>

#include "chainrule/core/factories.h"
#include "chainrule/nn/init.h"
#include "core/tensor_internal.h"

namespace cr::nn {

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride,
               Size2 padding, Size2 dilation, std::int64_t groups, bool bias)
    : Conv2d(Conv2dOptions(in_channels, out_channels, kernel_size)
                 .stride(stride)
                 .padding(padding)
                 .dilation(dilation)
                 .groups(groups)
                 .bias(bias)) {}

Conv2d::Conv2d(const Conv2dOptions& opts) : Module("Conv2d"), options(opts) {
  const SourceLocation here = SourceLocation::current();
  const auto& o = options;
  if (o.in_channels_ <= 0 || o.out_channels_ <= 0 || o.groups_ <= 0)
    throw_error("Conv2d", "needs positive in_channels, out_channels and groups, got " +
                              std::to_string(o.in_channels_) + ", " + std::to_string(o.out_channels_) + ", " +
                              std::to_string(o.groups_),
                here);
  if (o.in_channels_ % o.groups_ != 0 || o.out_channels_ % o.groups_ != 0)
    throw_error("Conv2d", "in_channels (" + std::to_string(o.in_channels_) + ") and out_channels (" +
                              std::to_string(o.out_channels_) + ") must both be divisible by groups (" +
                              std::to_string(o.groups_) + ")",
                here);
  if (o.kernel_size_.h <= 0 || o.kernel_size_.w <= 0 || o.stride_.h <= 0 || o.stride_.w <= 0 ||
      o.dilation_.h <= 0 || o.dilation_.w <= 0 || o.padding_.h < 0 || o.padding_.w < 0)
    throw_error("Conv2d", "needs positive kernel_size, stride and dilation and non-negative padding", here);
  weight = register_parameter(
      "weight", empty({o.out_channels_, o.in_channels_ / o.groups_, o.kernel_size_.h, o.kernel_size_.w}));
  if (o.bias_) bias = register_parameter("bias", empty({o.out_channels_}));
  reset_parameters();
}

void Conv2d::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(weight);
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2d::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  detail::check_defined(input, "Conv2d", loc);
  if (input.dim() != 4 || input.sizes()[1] != options.in_channels_)
    throw_error("Conv2d",
                describe_call() + " expects input [N, " + std::to_string(options.in_channels_) + ", H, W], got " +
                    detail::describe(input),
                loc);
  return functional::conv2d(input, weight, bias, options.stride_, options.padding_, options.dilation_,
                            options.groups_, loc);
}

std::string Conv2d::extra_repr() const {
  const auto& o = options;
  std::string s = std::to_string(o.in_channels_) + ", " + std::to_string(o.out_channels_) +
                  ", kernel_size=" + o.kernel_size_.str() + ", stride=" + o.stride_.str();
  if (o.padding_.h != 0 || o.padding_.w != 0) s += ", padding=" + o.padding_.str();
  if (o.dilation_.h != 1 || o.dilation_.w != 1) s += ", dilation=" + o.dilation_.str();
  if (o.groups_ != 1) s += ", groups=" + std::to_string(o.groups_);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

}  // namespace cr::nn
