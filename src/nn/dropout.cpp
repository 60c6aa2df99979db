#include "chainrule/nn/dropout.h"

#include "chainrule/nn/functional.h"

namespace cr::nn {

Dropout::Dropout(double p) : Module("Dropout"), p(p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw_error("Dropout", "probability has to be between 0 and 1, got " + repr::python_float(p),
                SourceLocation::current());
}

Tensor Dropout::forward(const Tensor& input) { return functional::dropout(input, p, is_training(), call_site()); }

std::string Dropout::extra_repr() const { return "p=" + repr::python_float(p) + ", inplace=False"; }

}  // namespace cr::nn
