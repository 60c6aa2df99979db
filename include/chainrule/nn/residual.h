#pragma once
// Residual connections: Residual(f) computes x + f(x); ResidualBlock is
// ResNet's basic block.

#include <cstdint>
#include <memory>

#include "chainrule/nn/container.h"
#include "chainrule/nn/conv.h"
#include "chainrule/nn/normalization.h"
#include "chainrule/nn/activation.h"

namespace cr::nn {

/// x + fn(x); fn must keep x's shape. Its child is named "fn".
class Residual : public Module {
 public:
  explicit Residual(std::shared_ptr<Module> fn);
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<Module> fn;
};

/// ResNet's basic block, named as torchvision's BasicBlock so checkpoints move:
///   out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
/// conv1 is 3×3 with `stride`, conv2 3×3, both without bias. The shortcut is
/// the identity, or when stride ≠ 1 or the channel count changes a projection
/// `downsample` = Sequential(1×1 conv with stride, BatchNorm2d).
class ResidualBlock : public Module {
 public:
  ResidualBlock(std::int64_t in_channels, std::int64_t out_channels, std::int64_t stride = 1);
  Tensor forward(const Tensor& input) override;

  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  std::shared_ptr<ReLU> relu;
  std::shared_ptr<Conv2d> conv2;
  std::shared_ptr<BatchNorm2d> bn2;
  std::shared_ptr<Sequential> downsample;  // null when the shortcut is the identity
};

}  // namespace cr::nn
