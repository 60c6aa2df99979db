#pragma once
// Learning-rate schedulers, as torch.optim.lr_scheduler. A scheduler writes
// each group's lr when made (epoch 0) and at every step() after. The
// multiplicative ones use PyTorch's recursive ("chainable") forms, which
// scale the group's current lr, so two schedulers on one optimizer compose
// as in PyTorch; their closed forms are noted beside each.
//
//   cr::optim::StepLR sched(opt, /*step_size=*/30, /*gamma=*/0.1);
//   for (int epoch = 0; epoch < 90; ++epoch) { train(...); sched.step(); }

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chainrule/optim/optimizer.h"

namespace cr::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch (or iteration) and writes the new lrs into the optimizer.
  void step(CR_LOC);
  /// The lrs the last step (or the constructor) wrote, one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// Steps taken since epoch 0 (0 right after construction).
  std::int64_t last_epoch() const { return last_epoch_; }
  /// Each group's lr when the first scheduler attached to it ("initial_lr").
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  /// "last_epoch", "step_count", "base_lrs.<g>", "last_lr.<g>", as 0-dim float64.
  std::map<std::string, Tensor> state_dict() const;
  /// Restores what state_dict() saved (strict: same keys, same number of groups).
  void load_state_dict(const std::map<std::string, Tensor>& state_dict, CR_LOC);

 protected:
  LRScheduler(std::string name, Optimizer& optimizer);
  /// The lrs for last_epoch_ (already advanced), from the groups' current lrs.
  virtual std::vector<double> get_lr(const SourceLocation& loc) = 0;
  /// Derived constructors end with this: it takes PyTorch's step to epoch 0.
  void initial_step(const SourceLocation& loc) { step(loc); }
  std::vector<double> current_lrs() const;

  std::string name_;
  Optimizer& optimizer_;
  std::vector<double> base_lrs_;
  std::int64_t last_epoch_ = -1;
  std::int64_t step_count_ = 0;
  std::vector<double> last_lr_;
};

/// Multiplies the lr by gamma every step_size epochs: base * gamma^floor(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma = 0.1, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  std::int64_t step_size_;
  double gamma_;
};

/// Multiplies the lr by gamma at each milestone: base * gamma^(milestones <= epoch).
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma = 0.1, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  std::vector<std::int64_t> milestones_;  // sorted; repeats count repeatedly, as PyTorch's Counter
  double gamma_;
};

/// Multiplies the lr by gamma every epoch: base * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  double gamma_;
};

/// Cosine annealing from base to eta_min over T_max epochs (then back up, periodically):
/// eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min = 0.0, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  std::int64_t t_max_;
  double eta_min_;
};

/// Linear warm-up: scales the lr by a factor going linearly from start_factor
/// to end_factor over total_iters epochs, then holds it:
/// base * (start + (end - start) * min(epoch, total_iters) / total_iters).
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3.0, double end_factor = 1.0,
           std::int64_t total_iters = 5, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  double start_factor_, end_factor_;
  std::int64_t total_iters_;
};

enum class AnnealStrategy { Cos, Linear };

class OneCycleLROptions {
  CR_OPTIM_ARG(double, pct_start, 0.3);
  CR_OPTIM_ARG(AnnealStrategy, anneal_strategy, AnnealStrategy::Cos);
  CR_OPTIM_ARG(bool, cycle_momentum, true);
  CR_OPTIM_ARG(double, base_momentum, 0.85);
  CR_OPTIM_ARG(double, max_momentum, 0.95);
  CR_OPTIM_ARG(double, div_factor, 25.0);
  CR_OPTIM_ARG(double, final_div_factor, 1e4);
  CR_OPTIM_ARG(bool, three_phase, false);
};

/// The 1cycle policy (Smith & Topin), as torch.optim.lr_scheduler.OneCycleLR:
/// the lr rises from max_lr / div_factor to max_lr over the first pct_start of
/// total_steps, then anneals to max_lr / (div_factor * final_div_factor); the
/// momentum (SGD/RMSprop momentum, Adam beta1) cycles the opposite way. Step
/// it once per batch; more than total_steps steps is an error.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, OneCycleLROptions options = {},
             CR_LOC);
  /// One max_lr per parameter group.
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
             OneCycleLROptions options = {}, CR_LOC);

 protected:
  std::vector<double> get_lr(const SourceLocation& loc) override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;  // 0 initial, 1 max, 2 min
    double start_momentum, end_momentum;
  };
  double anneal(double start, double end, double pct) const;

  std::int64_t total_steps_;
  OneCycleLROptions options_;
  std::vector<Phase> phases_;
  std::vector<std::array<double, 3>> group_lrs_;  // initial, max, min per group
};

}  // namespace cr::optim
