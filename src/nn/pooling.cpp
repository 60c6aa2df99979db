#include "chainrule/nn/pooling.h"

#include <string>

namespace cr::nn {

namespace {

// PyTorch prints what it was given: 2 for a square window, (2, 3) otherwise.
std::string size_repr(Size2 s) {
  return s.h == s.w ? std::to_string(s.h) : s.str();
}

}  // namespace

MaxPool2d::MaxPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding, Size2 dilation, bool ceil_mode)
    : Module("MaxPool2d"),
      kernel_size(kernel_size),
      stride(stride.value_or(kernel_size)),
      padding(padding),
      dilation(dilation),
      ceil_mode(ceil_mode) {}

Tensor MaxPool2d::forward(const Tensor& input) {
  return functional::max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, call_site());
}

std::string MaxPool2d::extra_repr() const {
  return "kernel_size=" + size_repr(kernel_size) + ", stride=" + size_repr(stride) + ", padding=" +
         size_repr(padding) + ", dilation=" + size_repr(dilation) + ", ceil_mode=" + repr::python_bool(ceil_mode);
}

AvgPool2d::AvgPool2d(Size2 kernel_size, std::optional<Size2> stride, Size2 padding, bool ceil_mode,
                     bool count_include_pad)
    : Module("AvgPool2d"),
      kernel_size(kernel_size),
      stride(stride.value_or(kernel_size)),
      padding(padding),
      ceil_mode(ceil_mode),
      count_include_pad(count_include_pad) {}

Tensor AvgPool2d::forward(const Tensor& input) {
  return functional::avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, call_site());
}

std::string AvgPool2d::extra_repr() const {
  return "kernel_size=" + size_repr(kernel_size) + ", stride=" + size_repr(stride) + ", padding=" +
         size_repr(padding);
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(Size2 output_size) : Module("AdaptiveAvgPool2d"), output_size(output_size) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& input) {
  return functional::adaptive_avg_pool2d(input, output_size, call_site());
}

std::string AdaptiveAvgPool2d::extra_repr() const { return "output_size=" + size_repr(output_size); }

}  // namespace cr::nn
