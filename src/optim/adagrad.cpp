// Adagrad: one fused pass per parameter over its data, gradient and sum of squares.

#include "chainrule/optim/adagrad.h"

#include <cmath>

#include "optim/fused.h"

namespace cr::optim {

void AdagradOptions::visit(OptionVisitor& v) {
  v("lr", lr_);
  v("lr_decay", lr_decay_);
  v("weight_decay", weight_decay_);
  v("initial_accumulator_value", initial_accumulator_value_);
  v("eps", eps_);
  v("maximize", maximize_);
}

void AdagradOptions::validate(std::string_view op, const SourceLocation& loc) const {
  if (!(lr_ >= 0)) throw_error(op, "invalid learning rate " + std::to_string(lr_) + " (must be >= 0)", loc);
  if (!(lr_decay_ >= 0)) throw_error(op, "invalid lr_decay " + std::to_string(lr_decay_) + " (must be >= 0)", loc);
  if (!(weight_decay_ >= 0))
    throw_error(op, "invalid weight_decay " + std::to_string(weight_decay_) + " (must be >= 0)", loc);
  if (!(initial_accumulator_value_ >= 0))
    throw_error(op,
                "invalid initial_accumulator_value " + std::to_string(initial_accumulator_value_) + " (must be >= 0)",
                loc);
  if (!(eps_ >= 0)) throw_error(op, "invalid eps " + std::to_string(eps_) + " (must be >= 0)", loc);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions defaults, SourceLocation loc)
    : Adagrad(std::vector<ParamGroup>{ParamGroup(std::move(params))}, std::move(defaults), loc) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults, SourceLocation loc)
    : Optimizer("Adagrad", defaults.clone()) {
  init(std::move(groups), loc);
}

bool Adagrad::accepts(const OptimizerOptions& options) const {
  return dynamic_cast<const AdagradOptions*>(&options) != nullptr;
}

std::span<const char* const> Adagrad::buffer_names() const {
  static constexpr const char* names[] = {"sum"};
  return names;
}

std::vector<int> Adagrad::required_buffers(const OptimizerOptions&) const { return {0}; }

void Adagrad::update(ParamGroup& group, const SourceLocation& loc) {
  const auto& o = static_cast<const AdagradOptions&>(group.options());
  const double sign = o.maximize() ? -1.0 : 1.0, wd = o.weight_decay(), eps = o.eps();
  for (Tensor& p : group.params()) {
    const Tensor grad = checked_grad(p, loc);
    if (!grad.defined()) continue;
    ParamState& state = state_of(p);
    if (ensure_buffer(state, 0, p, loc)) state.buffers[0].fill_(o.initial_accumulator_value());
    state.step += 1;
    const double clr = o.lr() / (1.0 + (state.step - 1.0) * o.lr_decay());
    detail::fused_update(p, grad, [&]<class T>(T* x, const T* g, std::int64_t begin, std::int64_t end) {
      T* sum = detail::data<T>(state.buffers[0]);
      const T s = sign, decay = wd, e = eps, rate = clr;
#pragma omp simd
      for (std::int64_t i = begin; i < end; ++i) {
        const T d = s * g[i] + decay * x[i];
        sum[i] += d * d;
        x[i] -= rate * d / (std::sqrt(sum[i]) + e);
      }
    });
    state.buffers[0].storage().bump_version();
  }
}

}  // namespace cr::optim
