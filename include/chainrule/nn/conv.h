#pragma once
// Conv2d.

#include <cstdint>

#include "chainrule/nn/functional.h"
#include "chainrule/nn/module.h"

namespace cr::nn {

/// Conv2d's configuration, spelled as LibTorch's:
/// Conv2d(Conv2dOptions(3, 16, 3).stride(2).padding(1).bias(false)).
struct Conv2dOptions {
  Conv2dOptions(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv2dOptions& stride(Size2 v) { stride_ = v; return *this; }
  Conv2dOptions& padding(Size2 v) { padding_ = v; return *this; }
  Conv2dOptions& dilation(Size2 v) { dilation_ = v; return *this; }
  Conv2dOptions& groups(std::int64_t v) { groups_ = v; return *this; }
  Conv2dOptions& bias(bool v) { bias_ = v; return *this; }

  std::int64_t in_channels_, out_channels_;
  Size2 kernel_size_;
  Size2 stride_ = 1, padding_ = 0, dilation_ = 1;
  std::int64_t groups_ = 1;
  bool bias_ = true;
};

/// 2-D convolution of [N, C_in, H, W]; weight [C_out, C_in/groups, kH, kW].
/// Initialised as PyTorch: kaiming_uniform_(a=√5) weight, U(±1/√fan_in) bias.
class Conv2d : public Module {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, Size2 kernel_size, Size2 stride = 1,
         Size2 padding = 0, Size2 dilation = 1, std::int64_t groups = 1, bool bias = true);
  void reset_parameters();
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  Conv2dOptions options;
  Tensor weight;
  Tensor bias;  // undefined when built without bias
};

}  // namespace cr::nn
