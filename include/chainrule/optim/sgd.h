#pragma once
// Stochastic gradient descent with optional momentum, dampening, Nesterov
// momentum, L2 weight decay and maximisation, exactly as torch.optim.SGD.

#include "chainrule/optim/optimizer.h"

namespace cr::optim {

class SGDOptions : public OptimizerOptions {
 public:
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's
  CR_OPTIM_ARG(double, lr, 0.0);
  CR_OPTIM_ARG(double, momentum, 0.0);
  CR_OPTIM_ARG(double, dampening, 0.0);
  CR_OPTIM_ARG(double, weight_decay, 0.0);
  CR_OPTIM_ARG(bool, nesterov, false);
  CR_OPTIM_ARG(bool, maximize, false);

 public:
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<SGDOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(OptionVisitor& v) override;
  void validate(std::string_view op, const SourceLocation& loc) const override;
  bool has_momentum() const override { return true; }
  double get_momentum() const override { return momentum_; }
  void set_momentum(double momentum) override { momentum_ = momentum; }
};

/// For each parameter with gradient g (negated when maximize):
///   g += weight_decay * p
///   b = g on the first step, else b = momentum * b + (1 - dampening) * g
///   g = nesterov ? g + momentum * b : b          (when momentum != 0)
///   p -= lr * g
/// State: "momentum_buffer" (only with momentum).
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions defaults, CR_LOC);
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults, CR_LOC);

 protected:
  void update(ParamGroup& group, const SourceLocation& loc) override;
  bool accepts(const OptimizerOptions& options) const override;
  std::span<const char* const> buffer_names() const override;
  std::vector<int> required_buffers(const OptimizerOptions& options) const override;
  bool counts_steps() const override { return false; }
};

}  // namespace cr::optim
