#pragma once
// AdamW (Loshchilov & Hutter): Adam with weight decay decoupled from the
// gradient, exactly as torch.optim.AdamW.

#include "chainrule/optim/adam.h"

namespace cr::optim {

/// As AdamOptions, with weight_decay defaulting to 1e-2 as PyTorch's.
class AdamWOptions : public AdamOptions {
 public:
  AdamWOptions(double lr = 1e-3) : AdamOptions(lr) { weight_decay(1e-2); }  // NOLINT: implicit
  // The setters return AdamWOptions& so chains keep their type.
  AdamWOptions& lr(double v) { AdamOptions::lr(v); return *this; }
  AdamWOptions& eps(double v) { AdamOptions::eps(v); return *this; }
  AdamWOptions& weight_decay(double v) { AdamOptions::weight_decay(v); return *this; }
  AdamWOptions& amsgrad(bool v) { AdamOptions::amsgrad(v); return *this; }
  AdamWOptions& maximize(bool v) { AdamOptions::maximize(v); return *this; }
  AdamWOptions& betas(std::tuple<double, double> v) { AdamOptions::betas(v); return *this; }
  using AdamOptions::amsgrad;
  using AdamOptions::betas;
  using AdamOptions::eps;
  using AdamOptions::lr;
  using AdamOptions::maximize;
  using AdamOptions::weight_decay;

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdamWOptions>(*this); }
};

/// As Adam, except that weight decay shrinks the parameter directly instead of
/// entering the gradient (and so the moment estimates):
///   p *= 1 - lr * weight_decay, then the Adam step without L2.
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions defaults = {}, CR_LOC);
  AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {}, CR_LOC);

 protected:
  void update(ParamGroup& group, const SourceLocation& loc) override;
  bool accepts(const OptimizerOptions& options) const override;
};

}  // namespace cr::optim
