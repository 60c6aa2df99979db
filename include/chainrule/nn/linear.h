#pragma once
// Linear, Identity and Flatten.

#include <cstdint>

#include "chainrule/nn/module.h"

namespace cr::nn {

/// y = x·Wᵀ + b with W [out_features, in_features]. Initialised as PyTorch:
/// W ~ kaiming_uniform_(a=√5), i.e. U(±1/√in_features); b ~ U(±1/√in_features).
class Linear : public Module {
 public:
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true);
  /// Draws the initial weight and bias again (from cr's global generator).
  void reset_parameters();
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  std::int64_t in_features, out_features;
  Tensor weight;
  Tensor bias;  // undefined when built with bias = false
};

/// Returns its input.
class Identity : public Module {
 public:
  Identity() : Module("Identity") {}
  Tensor forward(const Tensor& input) override { return input; }
};

/// Flattens dims start_dim..end_dim into one ([N, C, H, W] -> [N, C·H·W] by default).
class Flatten : public Module {
 public:
  explicit Flatten(std::int64_t start_dim = 1, std::int64_t end_dim = -1);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  std::int64_t start_dim, end_dim;
};

}  // namespace cr::nn
