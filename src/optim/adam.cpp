// Adam and AdamW: one fused pass per parameter updates exp_avg, exp_avg_sq
// (and max_exp_avg_sq) and the parameter together.

#include "chainrule/optim/adam.h"

#include <cmath>
#include <typeinfo>

#include "chainrule/optim/adamw.h"
#include "optim/fused.h"

namespace cr::optim {

void AdamOptions::visit(OptionVisitor& v) {
  v("lr", lr_);
  v("betas.0", beta1_);
  v("betas.1", beta2_);
  v("eps", eps_);
  v("weight_decay", weight_decay_);
  v("amsgrad", amsgrad_);
  v("maximize", maximize_);
}

void AdamOptions::validate(std::string_view op, const SourceLocation& loc) const {
  if (!(lr_ >= 0)) throw_error(op, "invalid learning rate " + std::to_string(lr_) + " (must be >= 0)", loc);
  if (!(eps_ >= 0)) throw_error(op, "invalid eps " + std::to_string(eps_) + " (must be >= 0)", loc);
  if (!(beta1_ >= 0 && beta1_ < 1))
    throw_error(op, "invalid beta1 " + std::to_string(beta1_) + " (must be in [0, 1))", loc);
  if (!(beta2_ >= 0 && beta2_ < 1))
    throw_error(op, "invalid beta2 " + std::to_string(beta2_) + " (must be in [0, 1))", loc);
  if (!(weight_decay_ >= 0))
    throw_error(op, "invalid weight_decay " + std::to_string(weight_decay_) + " (must be >= 0)", loc);
}

Adam::Adam(std::vector<Tensor> params, AdamOptions defaults, SourceLocation loc)
    : Adam(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults), loc) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults, SourceLocation loc)
    : Optimizer("Adam", defaults.clone()) {
  init(std::move(groups), loc);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions defaults, SourceLocation loc)
    : AdamW(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults), loc) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults, SourceLocation loc)
    : Adam("AdamW", defaults.clone()) {
  init(std::move(groups), loc);
}

// Exact types: AdamW's options default to a different weight decay, so the two never mix.
bool Adam::accepts(const OptimizerOptions& options) const { return typeid(options) == typeid(AdamOptions); }
bool AdamW::accepts(const OptimizerOptions& options) const { return typeid(options) == typeid(AdamWOptions); }

std::span<const char* const> Adam::buffer_names() const {
  static constexpr const char* names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return names;
}

std::vector<int> Adam::required_buffers(const OptimizerOptions& options) const {
  if (static_cast<const AdamOptions&>(options).amsgrad()) return {0, 1, 2};
  return {0, 1};
}

void Adam::update(ParamGroup& group, const SourceLocation& loc) {
  update_adam(group, static_cast<const AdamOptions&>(group.options()), false, loc);
}

void AdamW::update(ParamGroup& group, const SourceLocation& loc) {
  update_adam(group, static_cast<const AdamOptions&>(group.options()), true, loc);
}

void Adam::update_adam(ParamGroup& group, const AdamOptions& o, bool decoupled, const SourceLocation& loc) {
  const auto [beta1, beta2] = o.betas();
  const double lr = o.lr(), eps = o.eps(), sign = o.maximize() ? -1.0 : 1.0;
  const double l2 = decoupled ? 0.0 : o.weight_decay();
  const double shrink = decoupled ? 1.0 - lr * o.weight_decay() : 1.0;
  const bool amsgrad = o.amsgrad();
  for (Tensor& p : group.params()) {
    const Tensor grad = checked_grad(p, loc);
    if (!grad.defined()) continue;
    ParamState& state = state_of(p);
    const int used = amsgrad ? 3 : 2;
    for (int k = 0; k < used; ++k) ensure_buffer(state, k, p, loc);
    state.step += 1;
    const double step_size = lr / (1.0 - std::pow(beta1, state.step));
    const double inv_bias2_sqrt = 1.0 / std::sqrt(1.0 - std::pow(beta2, state.step));
    detail::fused_update(p, grad, [&]<class T>(T* x, const T* g, std::int64_t begin, std::int64_t end) {
      T* m = detail::data<T>(state.buffers[0]);
      T* v = detail::data<T>(state.buffers[1]);
      const T s = sign, decay = l2, keep = shrink, b1 = 1.0 - beta1, b2 = beta2, c2 = 1.0 - beta2;
      const T step = step_size, inv = inv_bias2_sqrt, e = eps;
      if (amsgrad) {
        T* vmax = detail::data<T>(state.buffers[2]);
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) {
          const T d = s * g[i] + decay * x[i];
          m[i] += b1 * (d - m[i]);
          v[i] = b2 * v[i] + c2 * d * d;
          vmax[i] = std::max(vmax[i], v[i]);
          x[i] = keep * x[i] - step * m[i] / (std::sqrt(vmax[i]) * inv + e);
        }
      } else {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) {
          const T d = s * g[i] + decay * x[i];
          m[i] += b1 * (d - m[i]);
          v[i] = b2 * v[i] + c2 * d * d;
          x[i] = keep * x[i] - step * m[i] / (std::sqrt(v[i]) * inv + e);
        }
      }
    });
    for (int k = 0; k < used; ++k) state.buffers[k].storage().bump_version();
  }
}

}  // namespace cr::optim
