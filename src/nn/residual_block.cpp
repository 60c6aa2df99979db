#include "chainrule/nn/residual.h"

#include "chainrule/ops/elementwise.h"

namespace cr::nn {

ResidualBlock::ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride)
    : Module("ResidualBlock") {
  conv1 = register_module(
      "conv1", std::make_shared<Conv2d>(Conv2dOptions(in_channels, out_channels, 3).stride(stride).padding(1).bias(false)));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(out_channels));
  relu = register_module("relu", std::make_shared<ReLU>());
  conv2 = register_module(
      "conv2", std::make_shared<Conv2d>(Conv2dOptions(out_channels, out_channels, 3).padding(1).bias(false)));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out_channels));
  if (stride != 1 || in_channels != out_channels) {
    downsample = register_module(
        "downsample",
        std::make_shared<Sequential>(
            std::make_shared<Conv2d>(Conv2dOptions(in_channels, out_channels, 1).stride(stride).bias(false)),
            std::make_shared<BatchNorm2d>(out_channels)));
  }
}

Tensor ResidualBlock::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  Tensor out = (*relu)((*bn1)((*conv1)(input, loc), loc), loc);
  out = (*bn2)((*conv2)(out, loc), loc);
  Tensor shortcut = downsample ? (*downsample)(input, loc) : input;
  return (*relu)(add(out, shortcut, loc), loc);
}

}  // namespace cr::nn
