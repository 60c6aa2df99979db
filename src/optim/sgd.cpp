// SGD: one fused pass per parameter over its data, gradient and momentum buffer.

#include "chainrule/optim/sgd.h"

#include "optim/fused.h"

namespace cr::optim {

void SGDOptions::visit(OptionVisitor& v) {
  v("lr", lr_);
  v("momentum", momentum_);
  v("dampening", dampening_);
  v("weight_decay", weight_decay_);
  v("nesterov", nesterov_);
  v("maximize", maximize_);
}

void SGDOptions::validate(std::string_view op, const SourceLocation& loc) const {
  if (!(lr_ >= 0)) throw_error(op, "invalid learning rate " + std::to_string(lr_) + " (must be >= 0)", loc);
  if (!(momentum_ >= 0)) throw_error(op, "invalid momentum " + std::to_string(momentum_) + " (must be >= 0)", loc);
  if (!(weight_decay_ >= 0))
    throw_error(op, "invalid weight_decay " + std::to_string(weight_decay_) + " (must be >= 0)", loc);
  if (nesterov_ && (momentum_ <= 0 || dampening_ != 0))
    throw_error(op, "Nesterov momentum requires a momentum > 0 and zero dampening (got momentum " +
                        std::to_string(momentum_) + ", dampening " + std::to_string(dampening_) + ")",
                loc);
}

SGD::SGD(std::vector<Tensor> params, SGDOptions defaults, SourceLocation loc)
    : SGD(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults), loc) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults, SourceLocation loc)
    : Optimizer("SGD", defaults.clone()) {
  init(std::move(groups), loc);
}

bool SGD::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const SGDOptions*>(&options) != nullptr;
}

std::span<const char* const> SGD::buffer_names() const {
  static constexpr const char* names[] = {"momentum_buffer"};
  return names;
}

std::vector<int> SGD::required_buffers(const OptimizerOptions& options) const {
  if (static_cast<const SGDOptions&>(options).momentum() != 0) return {0};
  return {};
}

void SGD::update(ParamGroup& group, const SourceLocation& loc) {
  const auto& o = static_cast<const SGDOptions&>(group.options());
  const double lr = o.lr(), mu = o.momentum(), wd = o.weight_decay(), damp = 1.0 - o.dampening();
  const double sign = o.maximize() ? -1.0 : 1.0;
  const bool nesterov = o.nesterov();
  for (Tensor& p : group.params()) {
    const Tensor grad = checked_grad(p, loc);
    if (!grad.defined()) continue;
    if (mu == 0) {
      detail::fused_update(p, grad, [&]<class T>(T* x, const T* g, std::int64_t begin, std::int64_t end) {
        const T step = static_cast<T>(-lr), decay = static_cast<T>(wd), s = static_cast<T>(sign);
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) x[i] += step * (s * g[i] + decay * x[i]);
      });
      continue;
    }
    ParamState& state = state_of(p);
    // PyTorch's first-step rule: the buffer starts as the gradient itself, undamped.
    const bool first = ensure_buffer(state, 0, p, loc);
    Tensor& buffer = state.buffers[0];
    const double keep = first ? 0.0 : mu, take = first ? 1.0 : damp;
    detail::fused_update(p, grad, [&]<class T>(T* x, const T* g, std::int64_t begin, std::int64_t end) {
      T* b = detail::data<T>(buffer);
      const T step = static_cast<T>(-lr), decay = static_cast<T>(wd), s = static_cast<T>(sign);
      const T m = static_cast<T>(mu), kb = static_cast<T>(keep), tg = static_cast<T>(take);
      if (nesterov) {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) {
          const T d = s * g[i] + decay * x[i];
          b[i] = kb * b[i] + tg * d;
          x[i] += step * (d + m * b[i]);
        }
      } else {
#pragma omp simd
        for (std::int64_t i = begin; i < end; ++i) {
          const T d = s * g[i] + decay * x[i];
          b[i] = kb * b[i] + tg * d;
          x[i] += step * b[i];
        }
      }
    });
    buffer.storage().bump_version();
  }
}

}  // namespace cr::optim
