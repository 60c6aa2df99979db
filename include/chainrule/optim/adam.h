#pragma once
// Adam (Kingma & Ba) with L2 weight decay folded into the gradient and the
// AMSGrad variant, exactly as torch.optim.Adam.

#include <tuple>

#include "chainrule/optim/optimizer.h"

namespace cr::optim {

class AdamOptions : public OptimizerOptions {
 public:
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's
  CR_OPTIM_ARG(double, lr, 1e-3);
  CR_OPTIM_ARG(double, eps, 1e-8);
  CR_OPTIM_ARG(double, weight_decay, 0.0);
  CR_OPTIM_ARG(bool, amsgrad, false);
  CR_OPTIM_ARG(bool, maximize, false);

 public:
  AdamOptions& betas(std::tuple<double, double> betas) {
    std::tie(beta1_, beta2_) = betas;
    return *this;
  }
  std::tuple<double, double> betas() const { return {beta1_, beta2_}; }

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdamOptions>(*this); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(OptionVisitor& v) override;
  void validate(std::string_view op, const SourceLocation& loc) const override;
  bool has_momentum() const override { return true; }
  double get_momentum() const override { return beta1_; }
  void set_momentum(double beta1) override { beta1_ = beta1; }

 protected:
  double beta1_ = 0.9, beta2_ = 0.999;
};

/// With t the parameter's step count (from 1) and g its gradient (negated when maximize):
///   g += weight_decay * p
///   m = beta1 * m + (1 - beta1) * g
///   v = beta2 * v + (1 - beta2) * g^2
///   vmax = max(vmax, v)                            (amsgrad; v below means vmax)
///   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// State: "step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions defaults = {}, CR_LOC);
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {}, CR_LOC);

 protected:
  Adam(std::string name, std::unique_ptr<OptimizerOptions> defaults) : Optimizer(std::move(name), std::move(defaults)) {}
  void update(ParamGroup& group, const SourceLocation& loc) override;
  bool accepts(const OptimizerOptions& options) const override;
  std::span<const char* const> buffer_names() const override;
  std::vector<int> required_buffers(const OptimizerOptions& options) const override;
  bool counts_steps() const override { return true; }
  /// The Adam update with weight decay either in the gradient (Adam) or decoupled (AdamW).
  void update_adam(ParamGroup& group, const AdamOptions& options, bool decoupled, const SourceLocation& loc);
};

}  // namespace cr::optim
