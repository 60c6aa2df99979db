#pragma once
// cr::optim::Optimizer: the base of every optimizer. An optimizer holds
// parameter groups (parameters plus their own hyperparameters) and, per
// parameter, the state its update rule carries from step to step (momentum
// buffers, running averages, a step count).
//
//   cr::optim::SGD opt(model->parameters(), cr::optim::SGDOptions(0.1).momentum(0.9));
//   for (...) { opt.zero_grad(); loss(...).backward(); opt.step(); }
//
// state_dict() flattens everything needed to resume training into named
// tensors, the form checkpoint files store:
//   "param_groups.<g>.<hyperparameter>"  0-dim float64 ("param_groups.0.lr")
//   "param_groups.<g>.params"            1-D int64: the indices of the group's parameters
//   "state.<i>.step"                     0-dim float64, for optimizers that count steps
//   "state.<i>.<buffer>"                 the parameter's shape ("state.3.exp_avg")
// where <i> numbers the parameters of all groups in order, as PyTorch does.

#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::optim {

/// Declares a hyperparameter with a chaining setter and a getter, as LibTorch's
/// TORCH_ARG does: SGDOptions(0.1).momentum(0.9).nesterov(true).
#define CR_OPTIM_ARG(T, name, default_value) \
 public:                                     \
  auto& name(T value) {                      \
    name##_ = value;                         \
    return *this;                            \
  }                                          \
  const T& name() const { return name##_; }  \
                                             \
 private:                                    \
  T name##_ = default_value

/// Sees each hyperparameter of an options object by the name state_dict uses.
class OptionVisitor {
 public:
  virtual ~OptionVisitor() = default;
  virtual void operator()(const char* name, double& value) = 0;
  virtual void operator()(const char* name, bool& value) = 0;
};

/// The hyperparameters of one parameter group. Each optimizer has its own
/// subclass (SGDOptions, AdamOptions, ...).
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  /// Shows every hyperparameter to `visitor` (bools travel as 0/1 in state_dict).
  virtual void visit(OptionVisitor& visitor) = 0;
  /// Throws a cr::Error starting with `op` when a hyperparameter is out of range.
  virtual void validate(std::string_view op, const SourceLocation& loc) const = 0;
  /// The coefficient OneCycleLR cycles: SGD's and RMSprop's momentum, Adam's beta1.
  virtual bool has_momentum() const { return false; }
  virtual double get_momentum() const { return 0.0; }
  virtual void set_momentum(double) {}
};

/// Parameters that share hyperparameters. A group made without options takes
/// the optimizer's defaults when it is added.
class ParamGroup {
 public:
  ParamGroup(std::vector<Tensor> params);  // NOLINT: implicit, as LibTorch's OptimizerParamGroup
  template <class Options>
    requires std::derived_from<Options, OptimizerOptions>
  ParamGroup(std::vector<Tensor> params, const Options& options)
      : params_(std::move(params)), options_(options.clone()) {}
  ParamGroup(const ParamGroup& other);
  ParamGroup& operator=(const ParamGroup& other);
  ParamGroup(ParamGroup&&) noexcept = default;
  ParamGroup& operator=(ParamGroup&&) noexcept = default;

  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }
  bool has_options() const { return options_ != nullptr; }
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }

  /// The group's learning rate: what schedulers read and write.
  double lr() const { return options().get_lr(); }
  void set_lr(double lr) { options().set_lr(lr); }
  /// The learning rate the first scheduler attached to this group started from
  /// (PyTorch's group["initial_lr"]); chained schedulers share it as base.
  const std::optional<double>& initial_lr() const { return initial_lr_; }
  void set_initial_lr(std::optional<double> lr) { initial_lr_ = lr; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
  std::optional<double> initial_lr_;
};

class Optimizer {
 public:
  /// Re-evaluates the model and returns the loss (with grad mode on).
  using LossClosure = std::function<Tensor()>;

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter that has a gradient, under no-grad; parameters
  /// whose grad() is undefined are skipped. Calls `closure` first (when
  /// given) and returns its loss.
  Tensor step(const LossClosure& closure = nullptr, CR_LOC);
  /// Clears the gradient of every parameter: set_to_none drops it (the next
  /// backward allocates afresh); otherwise it is zeroed in place.
  void zero_grad(bool set_to_none = true);
  /// Adds parameters with their own hyperparameters (the defaults if the group has none).
  void add_param_group(ParamGroup group, CR_LOC);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  const OptimizerOptions& defaults() const { return *defaults_; }
  /// "SGD", "Adam", ...: what error messages start with.
  const std::string& name() const { return name_; }

  /// The named state of one parameter ("step", "exp_avg", ...), empty before
  /// its first update. The tensors are the optimizer's own (not copies).
  std::map<std::string, Tensor> state(const Tensor& param) const;
  /// Everything needed to resume (see the top of this file). Buffers are the
  /// optimizer's own tensors, not copies: save them before the next step.
  std::map<std::string, Tensor> state_dict() const;
  /// Restores hyperparameters and state saved by state_dict(), copying the
  /// tensors. Strict: every expected key must be present, no other key may
  /// be, and shapes must match the parameters; nothing changes on error.
  void load_state_dict(const std::map<std::string, Tensor>& state_dict, CR_LOC);

 protected:
  struct ParamState {
    double step = 0;
    std::vector<Tensor> buffers;  // indexed as buffer_names(); undefined until needed
  };

  Optimizer(std::string name, std::unique_ptr<OptimizerOptions> defaults);
  /// Adds the constructor's groups; derived constructors call it (it needs their overrides).
  void init(std::vector<ParamGroup> groups, const SourceLocation& loc);

  /// Updates the parameters of one group; runs under NoGradGuard.
  virtual void update(ParamGroup& group, const SourceLocation& loc) = 0;
  /// True when `options` is this optimizer's options type.
  virtual bool accepts(const OptimizerOptions& options) const = 0;
  /// Names of the per-parameter buffers, in ParamState::buffers order.
  virtual std::span<const char* const> buffer_names() const = 0;
  /// Indices of the buffers an update under `options` reads (load_state_dict requires them).
  virtual std::vector<int> required_buffers(const OptimizerOptions& options) const = 0;
  /// Whether ParamState::step is meaningful (and saved as "state.<i>.step").
  virtual bool counts_steps() const = 0;

  /// The state of `param`, made on first use (an allocation then, never after).
  ParamState& state_of(const Tensor& param);
  /// Makes buffer k of `state` a zero tensor like `param` when it is undefined
  /// (returning true), or checks that it still matches `param` (whose dtype or
  /// shape may have been changed by set_data since).
  bool ensure_buffer(ParamState& state, int k, const Tensor& param, const SourceLocation& loc) const;
  /// The gradient of `param`, checked to match it, or an undefined tensor.
  Tensor checked_grad(const Tensor& param, const SourceLocation& loc) const;

 private:
  std::string name_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

}  // namespace cr::optim
