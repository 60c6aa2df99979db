#pragma once
// Dropout.

#include "chainrule/nn/module.h"

namespace cr::nn {

/// In training, zeroes each element with probability p and scales the rest by
/// 1/(1−p); in eval, returns its input unchanged.
class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5);
  Tensor forward(const Tensor& input) override;
  std::string extra_repr() const override;

  double p;
};

}  // namespace cr::nn
