// Gradient clipping: one pass to measure the gradients, one to scale them.

#include "chainrule/optim/clip_grad.h"

#include <cmath>

#include "backend/cpu/loops.h"
#include "chainrule/autograd/grad_mode.h"
#include "core/tensor_internal.h"

namespace cr::optim {

namespace {

// sum |g|^p (or max |g| when p is infinite) of one gradient, in double.
double grad_power_sum(const Tensor& grad, double p) {
  const Tensor g = grad.is_contiguous() ? grad : grad.contiguous();
  const std::int64_t n = g.numel();
  const bool inf = std::isinf(p);
  return dispatch_floating(g.dtype(), [&]<class T>() {
    const T* x = static_cast<const T*>(g.raw_data());
    double acc = 0;
    if (inf) {
      for (std::int64_t i = 0; i < n; ++i) {
        const double a = std::abs(static_cast<double>(x[i]));
        if (a > acc || std::isnan(a)) acc = a;  // NaN propagates, as torch.norm does
        if (std::isnan(acc)) break;
      }
    } else if (p == 2.0) {
#pragma omp simd reduction(+ : acc)
      for (std::int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    } else if (p == 1.0) {
#pragma omp simd reduction(+ : acc)
      for (std::int64_t i = 0; i < n; ++i) acc += std::abs(static_cast<double>(x[i]));
    } else {
      for (std::int64_t i = 0; i < n; ++i) acc += std::pow(std::abs(static_cast<double>(x[i])), p);
    }
    return acc;
  });
}

void check_grad(const Tensor& p, const Tensor& grad, const char* op, const SourceLocation& loc) {
  if (!is_floating(grad.dtype()))
    throw_error(op, "the gradient " + detail::describe(grad) + " of parameter " + detail::describe(p) +
                        " is not floating point",
                loc);
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite, SourceLocation loc) {
  const char* op = "clip_grad_norm_";
  if (!(norm_type > 0)) throw_error(op, "norm_type must be positive or infinity, got " + std::to_string(norm_type), loc);
  if (!(max_norm >= 0)) throw_error(op, "max_norm must be >= 0, got " + std::to_string(max_norm), loc);
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters) {
    detail::check_defined(p, op, loc);
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check_grad(p, g, op, loc);
    grads.push_back(g);
  }
  if (grads.empty()) return 0.0;
  const bool inf = std::isinf(norm_type);
  double total = 0;
  for (const Tensor& g : grads) {
    const double part = grad_power_sum(g, norm_type);
    total = inf ? ((part > total || std::isnan(part)) ? part : total) : total + part;
  }
  if (!inf) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    throw_error(op, "the total norm of order " + std::to_string(norm_type) + " of the gradients is " +
                        std::to_string(total) + "; they cannot be clipped (pass error_if_nonfinite=false to allow it)",
                loc);
  // PyTorch's rule: the clamped coefficient is below 1 exactly when total + 1e-6 > max_norm.
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0 || std::isnan(coef)) {
    NoGradGuard no_grad;
    for (Tensor& g : grads) g.mul_(coef);  // in place, bumps the version
  }
  return total;
}

double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type, bool error_if_nonfinite,
                       SourceLocation loc) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite, loc);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value, SourceLocation loc) {
  const char* op = "clip_grad_value_";
  if (!(clip_value >= 0)) throw_error(op, "clip_value must be >= 0, got " + std::to_string(clip_value), loc);
  NoGradGuard no_grad;
  for (const Tensor& p : parameters) {
    detail::check_defined(p, op, loc);
    Tensor g = p.grad();
    if (!g.defined()) continue;
    check_grad(p, g, op, loc);
    g.clamp_(-clip_value, clip_value);
  }
}

void clip_grad_value_(const Tensor& parameter, double clip_value, SourceLocation loc) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value, loc);
}

}  // namespace cr::optim
