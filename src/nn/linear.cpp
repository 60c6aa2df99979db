#include "chainrule/nn/linear.h"

#include <cmath>
#include <string>

#include "chainrule/core/factories.h"
#include "chainrule/nn/functional.h"
#include "chainrule/nn/init.h"
#include "core/tensor_internal.h"

namespace cr::nn {

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias)
    : Module("Linear"), in_features(in_features), out_features(out_features) {
  if (in_features < 0 || out_features < 0)
    throw_error("Linear", "needs non-negative sizes, got in_features=" + std::to_string(in_features) +
                              ", out_features=" + std::to_string(out_features),
                SourceLocation::current());
  weight = register_parameter("weight", empty({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", empty({out_features}));
  reset_parameters();
}

void Linear::reset_parameters() {
  // PyTorch's defaults: kaiming_uniform_(a=√5) is U(±1/√fan_in) for the weight,
  // and the bias takes the same bound.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& input) {
  const SourceLocation loc = call_site();
  detail::check_defined(input, "Linear", loc);
  if (input.dim() < 1 || input.sizes().back() != in_features)
    throw_error("Linear",
                describe_call() + " expects input [..., " + std::to_string(in_features) + "], got " +
                    detail::describe(input),
                loc);
  return functional::linear(input, weight, bias, loc);
}

std::string Linear::extra_repr() const {
  return "in_features=" + std::to_string(in_features) + ", out_features=" + std::to_string(out_features) +
         ", bias=" + repr::python_bool(bias.defined());
}

}  // namespace cr::nn
