#pragma once
// Adagrad (Duchi et al.) with learning-rate decay and L2 weight decay,
// exactly as torch.optim.Adagrad.

#include "chainrule/optim/optimizer.h"

namespace cr::optim {

class AdagradOptions : public OptimizerOptions {
 public:
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's
  CR_OPTIM_ARG(double, lr, 1e-2);
  CR_OPTIM_ARG(double, lr_decay, 0.0);
  CR_OPTIM_ARG(double, weight_decay, 0.0);
  CR_OPTIM_ARG(double, initial_accumulator_value, 0.0);
  CR_OPTIM_ARG(double, eps, 1e-10);
  CR_OPTIM_ARG(bool, maximize, false);

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdagradOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(OptionVisitor& v) override;
  void validate(std::string_view op, const SourceLocation& loc) const override;
};

/// With t the step count (from 1) and g the gradient (negated when maximize):
///   g += weight_decay * p
///   s += g^2                  (s starts at initial_accumulator_value)
///   p -= lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
/// State: "step", "sum".
class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions defaults = {}, CR_LOC);
  Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults = {}, CR_LOC);

 protected:
  void update(ParamGroup& group, const SourceLocation& loc) override;
  bool accepts(const OptimizerOptions& options) const override;
  std::span<const char* const> buffer_names() const override;
  std::vector<int> required_buffers(const OptimizerOptions& options) const override;
  bool counts_steps() const override { return true; }
};

}  // namespace cr::optim
