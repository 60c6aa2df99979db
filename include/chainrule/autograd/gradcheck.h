#pragma once
// Checks analytical gradients against central finite differences, in float64.

#include <functional>
#include <string>
#include <vector>

#include "chainrule/core/tensor.h"

namespace cr::autograd {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;  // |analytical - numerical| <= atol + rtol·|numerical|
  double rtol = 1e-3;
};

/// The outcome of a check; `message` names the first mismatch.
struct GradcheckResult {
  bool ok = true;
  std::string message;
  explicit operator bool() const { return ok; }
};

using DifferentiableFn = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

/// Compares, for every float64 input that requires grad, the Jacobian that
/// backward computes with one estimated by central differences. Inputs may be
/// non-contiguous views; they are perturbed in place and restored.
GradcheckResult gradcheck(const DifferentiableFn& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});
/// Single-output convenience form.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

/// Checks second derivatives: gradcheck of the map (inputs, v) -> grad(fn(inputs)·v),
/// computed with create_graph, for a random v.
GradcheckResult gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                              const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace cr::autograd
