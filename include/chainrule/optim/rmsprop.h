#pragma once
// RMSprop (Hinton) with optional momentum, centering and L2 weight decay,
// exactly as torch.optim.RMSprop.

#include "chainrule/optim/optimizer.h"

namespace cr::optim {

class RMSpropOptions : public OptimizerOptions {
 public:
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's
  CR_OPTIM_ARG(double, lr, 1e-2);
  CR_OPTIM_ARG(double, alpha, 0.99);
  CR_OPTIM_ARG(double, eps, 1e-8);
  CR_OPTIM_ARG(double, weight_decay, 0.0);
  CR_OPTIM_ARG(double, momentum, 0.0);
  CR_OPTIM_ARG(bool, centered, false);
  CR_OPTIM_ARG(bool, maximize, false);

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<RMSpropOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(OptionVisitor& v) override;
  void validate(std::string_view op, const SourceLocation& loc) const override;
  bool has_momentum() const override { return true; }
  double get_momentum() const override { return momentum_; }
  void set_momentum(double momentum) override { momentum_ = momentum; }
};

/// With g the gradient (negated when maximize):
///   g += weight_decay * p
///   v = alpha * v + (1 - alpha) * g^2
///   centered: a = alpha * a + (1 - alpha) * g;  d = sqrt(v - a^2) + eps
///   else:                                        d = sqrt(v) + eps
///   momentum > 0: b = momentum * b + g / d;  p -= lr * b
///   else:                                    p -= lr * g / d
/// State: "step", "square_avg", "momentum_buffer" (momentum > 0), "grad_avg" (centered).
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions defaults = {}, CR_LOC);
  RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults = {}, CR_LOC);

 protected:
  void update(ParamGroup& group, const SourceLocation& loc) override;
  bool accepts(const OptimizerOptions& options) const override;
  std::span<const char* const> buffer_names() const override;
  std::vector<int> required_buffers(const OptimizerOptions& options) const override;
  bool counts_steps() const override { return true; }
};

}  // namespace cr::optim
