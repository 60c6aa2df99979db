// Learning-rate schedulers: PyTorch's recursive update rules, step by step.

#include "chainrule/optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "chainrule/core/factories.h"
#include "core/tensor_internal.h"

namespace cr::optim {

// ---- LRScheduler ------------------------------------------------------------

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer) : name_(std::move(name)), optimizer_(optimizer) {
  for (ParamGroup& group : optimizer_.param_groups()) {
    if (!group.initial_lr()) group.set_initial_lr(group.lr());
    base_lrs_.push_back(*group.initial_lr());
  }
}

std::vector<double> LRScheduler::current_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& group : optimizer_.param_groups()) lrs.push_back(group.lr());
  return lrs;
}

void LRScheduler::step(SourceLocation loc) {
  auto& groups = optimizer_.param_groups();
  if (groups.size() != base_lrs_.size())
    throw_error(name_ + ".step",
                "the optimizer has " + std::to_string(groups.size()) + " parameter groups but the scheduler was made for " +
                    std::to_string(base_lrs_.size()),
                loc);
  ++step_count_;
  ++last_epoch_;
  std::vector<double> lrs = get_lr(loc);
  for (std::size_t g = 0; g < groups.size(); ++g) groups[g].set_lr(lrs[g]);
  last_lr_ = std::move(lrs);
}

std::map<std::string, Tensor> LRScheduler::state_dict() const {
  std::map<std::string, Tensor> out;
  out["last_epoch"] = scalar_tensor(static_cast<double>(last_epoch_), kFloat64);
  out["step_count"] = scalar_tensor(static_cast<double>(step_count_), kFloat64);
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    out["base_lrs." + std::to_string(g)] = scalar_tensor(base_lrs_[g], kFloat64);
    out["last_lr." + std::to_string(g)] = scalar_tensor(last_lr_[g], kFloat64);
  }
  return out;
}

void LRScheduler::load_state_dict(const std::map<std::string, Tensor>& dict, SourceLocation loc) {
  const std::string op = name_ + ".load_state_dict";
  std::set<std::string> expected;
  for (const auto& [key, value] : state_dict()) expected.insert(key);
  for (const auto& [key, value] : dict) {
    if (!expected.count(key))
      throw_error(op, "unexpected key '" + key + "' (the scheduler has " + std::to_string(base_lrs_.size()) +
                          " parameter group(s))",
                  loc);
    if (!value.defined() || value.numel() != 1 || value.dtype() == kBool)
      throw_error(op, "'" + key + "' must hold one number, got " + (value.defined() ? detail::describe(value) : "undefined"),
                  loc);
  }
  for (const std::string& key : expected)
    if (!dict.count(key)) throw_error(op, "missing key '" + key + "'", loc);
  last_epoch_ = static_cast<std::int64_t>(dict.at("last_epoch").item<double>());
  step_count_ = static_cast<std::int64_t>(dict.at("step_count").item<double>());
  for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
    base_lrs_[g] = dict.at("base_lrs." + std::to_string(g)).item<double>();
    last_lr_[g] = dict.at("last_lr." + std::to_string(g)).item<double>();
  }
}

// ---- StepLR, MultiStepLR, ExponentialLR -----------------------------------------

StepLR::StepLR(Optimizer& optimizer, std::int64_t step_size, double gamma, SourceLocation loc)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  if (step_size <= 0) throw_error(name_, "step_size must be positive, got " + std::to_string(step_size), loc);
  initial_step(loc);
}

std::vector<double> StepLR::get_lr(const SourceLocation&) {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ != 0 && last_epoch_ % step_size_ == 0)
    for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<std::int64_t> milestones, double gamma, SourceLocation loc)
    : LRScheduler("MultiStepLR", optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step(loc);
}

std::vector<double> MultiStepLR::get_lr(const SourceLocation&) {
  std::vector<double> lrs = current_lrs();
  const auto hits = std::count(milestones_.begin(), milestones_.end(), last_epoch_);
  if (hits > 0)
    for (double& lr : lrs) lr *= std::pow(gamma_, static_cast<double>(hits));
  return lrs;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma, SourceLocation loc)
    : LRScheduler("ExponentialLR", optimizer), gamma_(gamma) {
  initial_step(loc);
}

std::vector<double> ExponentialLR::get_lr(const SourceLocation&) {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ != 0)
    for (double& lr : lrs) lr *= gamma_;
  return lrs;
}

// ---- CosineAnnealingLR ------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, std::int64_t T_max, double eta_min, SourceLocation loc)
    : LRScheduler("CosineAnnealingLR", optimizer), t_max_(T_max), eta_min_(eta_min) {
  if (T_max <= 0) throw_error(name_, "T_max must be positive, got " + std::to_string(T_max), loc);
  initial_step(loc);
}

std::vector<double> CosineAnnealingLR::get_lr(const SourceLocation&) {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) return lrs;
  const double pi = std::numbers::pi, t = static_cast<double>(t_max_), e = static_cast<double>(last_epoch_);
  // Python's modulo: (last_epoch - 1 - T_max) mod 2 T_max, never negative.
  const std::int64_t period = 2 * t_max_;
  const std::int64_t phase = ((last_epoch_ - 1 - t_max_) % period + period) % period;
  for (std::size_t g = 0; g < lrs.size(); ++g) {
    if (phase == 0) {
      // At the bottom of the cosine the ratio below is 0/0: step up from eta_min directly.
      lrs[g] += (base_lrs_[g] - eta_min_) * (1 - std::cos(pi / t)) / 2;
    } else {
      lrs[g] = (1 + std::cos(pi * e / t)) / (1 + std::cos(pi * (e - 1) / t)) * (lrs[g] - eta_min_) + eta_min_;
    }
  }
  return lrs;
}

// ---- LinearLR -------------------------------------------------------------------------

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, std::int64_t total_iters,
                   SourceLocation loc)
    : LRScheduler("LinearLR", optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  if (!(start_factor > 0 && start_factor <= 1))
    throw_error(name_, "start_factor must be in (0, 1], got " + std::to_string(start_factor), loc);
  if (!(end_factor >= 0 && end_factor <= 1))
    throw_error(name_, "end_factor must be in [0, 1], got " + std::to_string(end_factor), loc);
  if (total_iters <= 0) throw_error(name_, "total_iters must be positive, got " + std::to_string(total_iters), loc);
  initial_step(loc);
}

std::vector<double> LinearLR::get_lr(const SourceLocation&) {
  std::vector<double> lrs = current_lrs();
  if (last_epoch_ == 0) {
    for (double& lr : lrs) lr *= start_factor_;
  } else if (last_epoch_ <= total_iters_) {
    const double delta = end_factor_ - start_factor_;
    const double factor =
        1.0 + delta / (static_cast<double>(total_iters_) * start_factor_ + static_cast<double>(last_epoch_ - 1) * delta);
    for (double& lr : lrs) lr *= factor;
  }
  return lrs;
}

// ---- OneCycleLR -------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, std::int64_t total_steps, OneCycleLROptions options,
                       SourceLocation loc)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), total_steps, options, loc) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, std::int64_t total_steps,
                       OneCycleLROptions options, SourceLocation loc)
    : LRScheduler("OneCycleLR", optimizer), total_steps_(total_steps), options_(options) {
  auto& groups = optimizer.param_groups();
  if (max_lrs.size() != groups.size())
    throw_error(name_, "got " + std::to_string(max_lrs.size()) + " max_lrs for " + std::to_string(groups.size()) +
                           " parameter groups",
                loc);
  if (total_steps <= 0) throw_error(name_, "total_steps must be positive, got " + std::to_string(total_steps), loc);
  const double pct = options.pct_start();
  if (!(pct >= 0 && pct <= 1)) throw_error(name_, "pct_start must be in [0, 1], got " + std::to_string(pct), loc);
  if (!(options.div_factor() > 0) || !(options.final_div_factor() > 0))
    throw_error(name_, "div_factor and final_div_factor must be positive", loc);

  const double t = static_cast<double>(total_steps);
  const double base_m = options.base_momentum(), max_m = options.max_momentum();
  if (options.three_phase()) {
    phases_ = {{pct * t - 1, 0, 1, max_m, base_m}, {2 * pct * t - 2, 1, 0, base_m, max_m}, {t - 1, 0, 2, max_m, max_m}};
  } else {
    phases_ = {{pct * t - 1, 0, 1, max_m, base_m}, {t - 1, 1, 2, base_m, max_m}};
  }
  // Every phase must span some steps, or its progress would be 0/0.
  double start = 0;
  for (const Phase& phase : phases_) {
    if (!(phase.end_step > start))
      throw_error(name_, "total_steps " + std::to_string(total_steps) + " with pct_start " + std::to_string(pct) +
                             " leaves a phase of the cycle without steps",
                  loc);
    start = phase.end_step;
  }

  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (options.cycle_momentum() && !groups[g].options().has_momentum())
      throw_error(name_, optimizer.name() + " has no momentum to cycle; use cycle_momentum(false)", loc);
    const double initial = max_lrs[g] / options.div_factor();
    group_lrs_.push_back({initial, max_lrs[g], initial / options.final_div_factor()});
    groups[g].set_lr(initial);
    groups[g].set_initial_lr(initial);
    base_lrs_[g] = initial;
    if (options.cycle_momentum()) groups[g].options().set_momentum(max_m);
  }
  initial_step(loc);
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy() == AnnealStrategy::Linear) return (end - start) * pct + start;
  return end + (start - end) / 2.0 * (std::cos(std::numbers::pi * pct) + 1);
}

std::vector<double> OneCycleLR::get_lr(const SourceLocation& loc) {
  if (last_epoch_ > total_steps_) {
    --last_epoch_, --step_count_;  // leave the scheduler as it was
    throw_error(name_ + ".step",
                "tried to step " + std::to_string(last_epoch_ + 1) + " times; total_steps is " +
                    std::to_string(total_steps_),
                loc);
  }
  const double step = static_cast<double>(last_epoch_);
  auto& groups = optimizer_.param_groups();
  std::vector<double> lrs(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) {
    double start = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
      const Phase& phase = phases_[i];
      if (step <= phase.end_step || i + 1 == phases_.size()) {
        const double pct = (step - start) / (phase.end_step - start);
        lrs[g] = anneal(group_lrs_[g][phase.start_lr], group_lrs_[g][phase.end_lr], pct);
        if (options_.cycle_momentum())
          groups[g].options().set_momentum(anneal(phase.start_momentum, phase.end_momentum, pct));
        break;
      }
      start = phase.end_step;
    }
  }
  return lrs;
}

}  // namespace cr::optim
