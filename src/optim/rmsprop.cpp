// RMSprop: one fused pass per parameter over its data, gradient and averages.

#include "chainrule/optim/rmsprop.h"

#include <cmath>

#include "optim/fused.h"

namespace cr::optim {

void RMSpropOptions::visit(OptionVisitor& v) {
  v("lr", lr_);
  v("alpha", alpha_);
  v("eps", eps_);
  v("weight_decay", weight_decay_);
  v("momentum", momentum_);
  v("centered", centered_);
  v("maximize", maximize_);
}

void RMSpropOptions::validate(std::string_view op, const SourceLocation& loc) const {
  if (!(lr_ >= 0)) throw_error(op, "invalid learning rate " + std::to_string(lr_) + " (must be >= 0)", loc);
  if (!(eps_ >= 0)) throw_error(op, "invalid eps " + std::to_string(eps_) + " (must be >= 0)", loc);
  if (!(momentum_ >= 0)) throw_error(op, "invalid momentum " + std::to_string(momentum_) + " (must be >= 0)", loc);
  if (!(weight_decay_ >= 0))
    throw_error(op, "invalid weight_decay " + std::to_string(weight_decay_) + " (must be >= 0)", loc);
  if (!(alpha_ >= 0)) throw_error(op, "invalid alpha " + std::to_string(alpha_) + " (must be >= 0)", loc);
}

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions defaults, SourceLocation loc)
    : RMSprop(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults), loc) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults, SourceLocation loc)
    : Optimizer("RMSprop", defaults.clone()) {
  init(std::move(groups), loc);
}

bool RMSprop::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const RMSpropOptions*>(&options) != nullptr;
}

std::span<const char* const> RMSprop::buffer_names() const {
  static constexpr const char* names[] = {"square_avg", "momentum_buffer", "grad_avg"};
  return names;
}

std::vector<int> RMSprop::required_buffers(const OptimizerOptions& options) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  std::vector<int> needed{0};
  if (o.momentum() > 0) needed.push_back(1);
  if (o.centered()) needed.push_back(2);
  return needed;
}

void RMSprop::update(ParamGroup& group, const SourceLocation& loc) {
  const auto& o = static_cast<const RMSpropOptions&>(group.options());
  const double lr = o.lr(), alpha = o.alpha(), eps = o.eps(), wd = o.weight_decay(), mu = o.momentum();
  const double sign = o.maximize() ? -1.0 : 1.0;
  const bool centered = o.centered(), with_momentum = mu > 0;
  for (Tensor& p : group.params()) {
    const Tensor grad = checked_grad(p, loc);
    if (!grad.defined()) continue;
    ParamState& state = state_of(p);
    ensure_buffer(state, 0, p, loc);
    if (with_momentum) ensure_buffer(state, 1, p, loc);
    if (centered) ensure_buffer(state, 2, p, loc);
    state.step += 1;
    detail::fused_update(p, grad, [&]<class T>(T* x, const T* g, std::int64_t begin, std::int64_t end) {
      T* sq = detail::data<T>(state.buffers[0]);
      T* buf = with_momentum ? detail::data<T>(state.buffers[1]) : nullptr;
      T* avg = centered ? detail::data<T>(state.buffers[2]) : nullptr;
      const T s = sign, decay = wd, a = alpha, c = 1.0 - alpha, e = eps, rate = lr, m = mu;
      // One loop per variant, so the inner loop has no branches to vectorise around.
      auto loop = [&]<bool Centered, bool Momentum>() {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) {
          const T d = s * g[i] + decay * x[i];
          sq[i] = a * sq[i] + c * d * d;
          T denom;
          if constexpr (Centered) {
            avg[i] += c * (d - avg[i]);
            denom = std::sqrt(sq[i] - avg[i] * avg[i]) + e;
          } else {
            denom = std::sqrt(sq[i]) + e;
          }
          if constexpr (Momentum) {
            buf[i] = m * buf[i] + d / denom;
            x[i] -= rate * buf[i];
          } else {
            x[i] -= rate * d / denom;
          }
        }
      };
      if (centered) {
        with_momentum ? loop.template operator()<true, true>() : loop.template operator()<true, false>();
      } else {
        with_momentum ? loop.template operator()<false, true>() : loop.template operator()<false, false>();
      }
    });
    for (int k = 0; k < 3; ++k)
      if (state.buffers[k].defined()) state.buffers[k].storage().bump_version();
  }
}

}  // namespace cr::optim
